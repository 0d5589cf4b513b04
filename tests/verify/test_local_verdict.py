"""Every claim gets a verdict on the selected mixture, and that mixture joins the search.

The local verdict uses the thresholds of the global one (claims.record.AGREE_RTOL / REFUTE_RTOL); a user's
mixture on which a claim fails must never be reported "verified".
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from claims.papers.chang2025.cases import search_cases
from claims.record import AGREE_RTOL, REFUTE_RTOL, Claim, Comparison
from claims.registry import claims
from claims.verdicts import judge, local_verdict, shrink
from theory.mixture import TaskMixture, preset
from verify.report.build import build_report
from verify.run import run_checks

# No preset or generated mixture has a task of weight 0, so only the user's mixture can show a claim failing there.
CLAIMS = claims()
ZERO_WEIGHT = TaskMixture(np.eye(1), [1.0, 0.0], [[0.0], [2.0]], [np.eye(1), np.eye(1)], 0.0)


def _comparison(rel_error: float, holds: bool) -> Comparison:
    return Comparison("q", 1.0, 1.0 + rel_error, rel_error, holds)


def test_local_verdict_uses_the_global_thresholds() -> None:
    ns = [1, 10, 100]
    ok, grey, bad = _comparison(0.0, True), _comparison(10 * AGREE_RTOL, False), _comparison(10 * REFUTE_RTOL, False)
    assert local_verdict(True, ns, [ok, ok, ok]).to_json() == {"verdict": "holds", "max_rel_error": 0.0, "n": ns,
                                                               "first_failing_n": None, "note": ""}
    assert local_verdict(True, ns, [ok, grey, ok]).verdict == "inconclusive"
    failing = local_verdict(True, ns, [ok, bad, bad])
    assert failing.verdict == "fails" and failing.first_failing_n == 10
    assert failing.max_rel_error == pytest.approx(10 * REFUTE_RTOL)
    assert local_verdict(True, ns, [ok, "ZeroDivisionError: float division by zero", ok]).verdict == "inconclusive"
    assert local_verdict(False, ns, []).verdict == "not applicable"
    # a qualitative claim's rel_error of exactly 1.0 is a failure, as in the search
    assert local_verdict(True, [4], [_comparison(1.0, False)]).verdict == "fails"


def _fails_on_zero_weights(m: TaskMixture, n: int) -> Comparison:
    return _comparison(1.0 if np.any(m.weights == 0.0) else 0.0, not np.any(m.weights == 0.0))


ZERO_WEIGHT_CLAIM = Claim("X.zero-weight", "chang2025", "test", ("Test",), "a claim false on zero-weight mixtures",
                          _fails_on_zero_weights)


def test_a_failure_on_the_selected_mixture_fails_locally_and_refutes_globally() -> None:
    """A claim that holds on every search case but fails on the user's mixture: the global verdict must then be
    refuted with the counterexample found in 'selected: ...'."""
    assert judge(ZERO_WEIGHT_CLAIM, search_cases((1, 4, 20))).verdict == "verified"
    (v,) = run_checks([ZERO_WEIGHT_CLAIM], ZERO_WEIGHT, [1, 10], symbolic=False, progress=False, training=False,
                      mixture_name="zero-weight.json")
    out = v.to_json()
    assert out["on_selected_mixture"] == {"verdict": "fails", "max_rel_error": 1.0, "n": [1, 10], "first_failing_n": 1,
                                          "note": ""}
    assert out["verdict"] == "refuted" and out["evidence"]["theory"]["cases_failed"] == 4  # search n 1, 4, 20 and selected n 10
    ce = out["counterexample"]
    assert ce["found_in"] == "selected: zero-weight.json"
    assert 0.0 in [t["weight"] for t in ce["mixture"]["tasks"]]  # the shrunk counterexample keeps the zero weight
    assert out["reason"].startswith("fails on selected: zero-weight.json")
    json.dumps(out, allow_nan=False)


def test_a_task_of_weight_zero_is_never_drawn_so_its_mean_does_not_refute_corollary1() -> None:
    """Corollary 1: the equalities in (15) hold iff every mu_k = 0.  A task of weight 0 with a non-zero mean leaves
    Delta = sum_k pi_k mu_k mu_k^T = 0 and L*_PT = L*_FT = L*_JT; it is never drawn, so the claim's 'every task mean'
    is read over the tasks of positive weight, and the claim holds here."""
    (v,) = run_checks([CLAIMS["C1.equality"]], ZERO_WEIGHT, [1, 10], symbolic=False, progress=False, training=False,
                      mixture_name="zero-weight.json")
    out = v.to_json()
    assert out["on_selected_mixture"]["verdict"] == "holds" and out["verdict"] == "verified"


def test_shrinking_a_zero_weight_mixture_does_not_crash() -> None:
    m, n, comp = shrink(ZERO_WEIGHT_CLAIM, ZERO_WEIGHT, 20)
    assert n == 1 and not comp.holds and np.any(m.weights == 0.0)


def test_undefined_checks_on_the_selected_mixture_are_inconclusive_not_errors() -> None:
    """A check that cannot be evaluated on the selected mixture (here it divides by the zero weight) makes the
    local verdict inconclusive, with the error named, instead of crashing the run; the search still decides."""
    def check(m: TaskMixture, n: int) -> Comparison:
        if np.any(m.weights == 0.0):
            raise ZeroDivisionError("division by a zero task weight")
        return _comparison(0.5, False)  # fails everywhere else
    claim = Claim("X.undefined", "chang2025", "test", ("Test",), "a claim undefined on zero-weight mixtures", check)
    (v,) = run_checks([claim], ZERO_WEIGHT, [4], symbolic=False, progress=False, training=False)
    local = v.to_json()["on_selected_mixture"]
    assert local["verdict"] == "inconclusive" and "ZeroDivisionError" in local["note"]
    assert v.verdict == "refuted"  # it fails on the search cases whatever this mixture does
    assert any("could not be evaluated" in note for note in v.notes)


def test_shared_head_on_a_symmetric_mixture_measures_no_gap_locally_and_a_gap_globally() -> None:
    """S6.shared-head on fig2b (zero means, a symmetric task distribution): the exact unconstrained optimum equals
    L*_JT there, yet there is a gap elsewhere; the claim is a qualitative statement ('aligns'), so the report measures
    both (never a refutation), and its corrected statement (equality iff stationary) is verified by the search."""
    (v,) = run_checks([CLAIMS["S6.shared-head"]], preset("fig2b"), [1, 10, 100], symbolic=False, progress=False,
                      training=False, mixture_name="fig2b")
    out = v.to_json()
    assert out["on_selected_mixture"]["verdict"] == "measured" and out["on_selected_mixture"]["measured"] <= 1e-12
    assert out["verdict"] == "measured" and out["kind"] == "qualitative"
    assert out["measurement"]["largest"] > 0.1
    assert out["corrected"]["verdict"] == "verified"
    # fig2b is a preset, already a search case at n = 1, 4, 20: only n = 10 and 100 are added for it
    assert out["evidence"]["theory"]["cases_checked"] == len([c for c in search_cases((1, 4, 20)) if c.mixture.sigma2 == 0]) + 2


def test_shared_head_on_fig2c_has_a_gap_although_its_mean_task_is_zero() -> None:
    """fig2c's mean task is 0, so re-centring gains nothing, but its task means are skewed: the column A[:d, d]
    takes the exact optimum 0.27% below L*_JT at n = 10."""
    (v,) = run_checks([CLAIMS["S6.shared-head"]], preset("fig2c"), [1, 10], symbolic=False, progress=False,
                      training=False, mixture_name="fig2c")
    local = v.to_json()["on_selected_mixture"]
    assert local["verdict"] == "measured" and 2.6e-3 < local["measured"] < 2.8e-3
    assert local["first_failing_n"] is None  # a measurement never fails, however large it is


def test_out_of_scope_claim_is_not_applicable_and_report_counts_local_verdicts() -> None:
    """T1.W is stated for sigma = 0 (main text); on a noisy mixture it does not apply."""
    noisy = preset("figA2-noisy")
    verdicts = run_checks([CLAIMS["T1.W"], CLAIMS["T1.W.appendix"]], noisy, [1], symbolic=False, progress=False,
                          training=False, mixture_name="figA2-noisy")
    report = build_report(verdicts, noisy, "figA2-noisy", [1], 0, 1.0)
    local = [c["on_selected_mixture"]["verdict"] for c in report["claims"]]
    assert local == ["not applicable", "holds"]
    assert report["summary_on_selected_mixture"] == {"holds": 1, "fails": 0, "inconclusive": 0, "not applicable": 1,
                                                     "measured": 0}
    assert report["claims"][0]["reason"].startswith("holds on all")
    rows = report["claims"][0]["evidence"]["selected_mixture"]
    assert rows[0]["in_scope"] is False and rows[0]["claimed_value"] is None


def test_selected_mixture_joins_the_search_up_to_the_validated_n() -> None:
    """The user's mixture enters the global search at the search n and at its own n up to SEARCH_MAX_N; larger n
    (where some checks lose float64 precision, e.g. C1.equality's Theta(n^-2) gaps at n = 1e5) stay local."""
    from claims.verdicts import SEARCH_NS
    from verify.run import SEARCH_MAX_N, selected_cases
    cases = search_cases((1, 4, 20))
    added = selected_cases(ZERO_WEIGHT, "z", [10, SEARCH_MAX_N, 10 * SEARCH_MAX_N], SEARCH_NS, cases)
    assert [c.n for c in added] == sorted({*SEARCH_NS, 10, SEARCH_MAX_N}) and {c.label for c in added} == {"selected: z"}
    assert [c.n for c in selected_cases(preset("fig2c"), "fig2c", [1, 10], SEARCH_NS, cases)] == [10]  # no duplicates


def test_contradicting_evidence_on_the_selected_mixture_makes_both_verdicts_inconclusive() -> None:
    """A minimiser or Monte Carlo disagreement is evidence on the selected mixture: 'holds' there becomes
    'inconclusive' like a global 'verified'; a refutation and a local failure stand."""
    from claims.record import Outcome
    from claims.verdicts import ClaimVerdict, Finding, LocalVerdict, Verdict, weigh_evidence
    holds = LocalVerdict(Outcome.HOLDS, 0.0, (1,))
    v = ClaimVerdict(CLAIMS["T1.W"], Verdict.VERIFIED, 10, 0, 0.0, on_selected_mixture=holds)
    weigh_evidence(v, [Finding("minimiser", True, "the numerical minimiser disagrees with the derived optimum")])
    assert v.verdict == "inconclusive" and v.on_selected_mixture is not None
    assert v.on_selected_mixture.verdict == "inconclusive"
    assert v.on_selected_mixture.note == "the numerical minimiser disagrees with the derived optimum" and v.notes
    failing = LocalVerdict(Outcome.FAILS, 0.0, (1,), first_failing_n=1)
    r = ClaimVerdict(CLAIMS["T2.loss"], Verdict.REFUTED, 10, 3, 0.1, on_selected_mixture=failing)
    weigh_evidence(r, [Finding("montecarlo_at_claimed", True, "Monte Carlo at the claimed parameters disagrees")])
    assert r.verdict == "refuted" and r.on_selected_mixture == failing and r.notes == []

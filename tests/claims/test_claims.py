"""Verdicts the toolkit reaches, on cases small enough to reason about by hand."""

from __future__ import annotations

import numpy as np
import pytest

from claims.record import Case
from claims.registry import claims, claims_for
from claims.verdicts import judge, symbolic_decision
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset

CLAIMS = claims()


def _one_task(sigma2: float, sigma_x: np.ndarray | None = None, cov: np.ndarray | None = None) -> TaskMixture:
    d = 2
    return TaskMixture(np.eye(d) if sigma_x is None else sigma_x, [1.0], [[0.0, 2.0]],
                       [np.eye(d) if cov is None else cov], sigma2)


def test_theorem4_appendix_loss_misses_the_noise_term() -> None:
    c = CLAIMS["T4.loss.appendix"].check(_one_task(1.5), 3)
    assert not c.holds and c.derived - c.claimed == pytest.approx(1.5, rel=1e-12)


def test_main_text_claims_hold_in_their_noiseless_scope() -> None:
    for cid in ("T1.W", "T1.loss", "T3.loss", "T4.W", "T4.loss"):
        assert CLAIMS[cid].check(preset("fig2c"), 10).holds
        assert not CLAIMS[cid].scope(preset("figA1b"))


def test_prompt_claims_hold_for_identity_features_and_fail_otherwise() -> None:
    iso = _one_task(0.0, cov=np.array([[1.0, 0.3], [0.3, 2.0]]))
    assert CLAIMS["T2.prompts.appendix"].check(iso, 2).holds
    noniso = _one_task(0.0, sigma_x=np.diag([1.0, 3.0]))
    assert not CLAIMS["T2.prompts.appendix"].check(noniso, 2).holds
    assert CLAIMS["T2.prompts"].check(noniso, 2).holds
    assert not CLAIMS["T3.prompts"].check(_one_task(0.0, cov=np.array([[1.0, 0.3], [0.3, 2.0]])), 1).holds


def test_proposition1_equality_fails_with_noise_and_two_task_variances() -> None:
    m = TaskMixture(np.eye(1), [0.5, 0.5], [[0.0], [0.0]], [[[1.0]], [[2.0]]], 1.0)
    c = CLAIMS["P1.equality"].check(m, 1)
    assert not c.holds and c.derived < c.claimed
    noiseless = TaskMixture(np.eye(1), [0.5, 0.5], [[0.0], [0.0]], [[[1.0]], [[2.0]]], 0.0)
    assert CLAIMS["P1.equality"].check(noiseless, 1).holds


def test_construction_and_reduced_form_are_exact_identities() -> None:
    for cid in ("P1.construction", "L4"):
        assert CLAIMS[cid].check(preset("figA1d"), 5).rel_error < 1e-12


def test_judge_shrinks_a_counterexample_to_one_dimension() -> None:
    cases = [Case("fig", preset("figA1b"), 4)]
    verdict = judge(CLAIMS["T4.loss.appendix"], cases, symbolic=False)
    assert verdict.verdict == "refuted"
    ce = verdict.counterexample
    assert ce["mixture"]["d"] == 1 and len(ce["mixture"]["tasks"]) == 1 and ce["n"] == 1


def test_judge_verifies_a_true_claim() -> None:
    cases = [Case("fig", preset(name), n) for name in ("fig2c", "figA1d") for n in (1, 20)]
    verdict = judge(CLAIMS["T3.W.appendix"], cases, symbolic=False)
    assert verdict.verdict == "verified" and verdict.checked == 4 and verdict.counterexample is None


def test_selectors_and_unknown_ids() -> None:
    assert {c.id for c in claims_for("theorem 4")} >= {"T4.W", "T4.loss.appendix", "T4.lower-bound"}
    assert [c.id for c in claims_for("T2.loss")] == ["T2.loss"]
    with pytest.raises(VerifyError, match="unknown id"):
        claims_for("T9.x")


@pytest.mark.slow
@pytest.mark.parametrize(("cid", "holds"), [("T1.loss.appendix", True), ("T2.loss", True), ("T3.W.appendix", True),
                                            ("T2.prompts.appendix", False), ("T4.loss.appendix", False),
                                            ("P1.equality", False)])
def test_symbolic_decisions_at_d1(cid: str, holds: bool) -> None:
    decision = symbolic_decision(CLAIMS[cid])
    assert decision is not None and decision.holds is holds


def test_a_not_applicable_comparison_is_not_counted_as_a_check() -> None:
    """A check may find a case outside the claim's hypothesis (claims.record.scoped): neither for nor against it."""
    from claims.record import Claim, compare, scoped

    def isotropic(m: TaskMixture) -> bool:
        return bool(np.allclose(m.sigma_x, np.eye(m.d)))

    check = scoped("x", isotropic, "Sigma_x is not I", lambda m, n: compare("x", 1.0, 1.0))
    claim = Claim("X.scoped", "chang2025", "test", ("Test",), "a claim about Sigma_x = I", check)
    cases = [Case("iso", preset("fig2c"), 1), Case("noniso", _one_task(0.0, sigma_x=np.diag([1.0, 3.0])), 1)]
    verdict = judge(claim, cases, symbolic=False)
    assert verdict.verdict == "verified" and verdict.checked == 1

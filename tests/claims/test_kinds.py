"""Kinds, readings, severities and root causes of the claim records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from claims.papers.chang2025.cases import boundary_mixtures
from claims.record import Case, Claim, Comparison, Kind, Severity
from claims.registry import claims
from claims.verdicts import Verdict, judge, measure
from theory.mixture import TaskMixture, preset
from verify.report.build import findings

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "verdicts.json").read_text(encoding="utf-8"))


def test_every_claim_states_a_kind_and_a_reading() -> None:
    for c in claims().values():
        assert isinstance(c.kind, Kind)
        assert c.stated_reading, c.id


def test_every_refuted_result_states_its_severity() -> None:
    refuted = [cid for cid, g in GOLDEN["claims"].items()
               if g["verdict"] == "refuted" and cid in claims() and claims()[cid].kind in (Kind.RESULT, Kind.ASYMPTOTIC)]
    assert refuted
    for cid in refuted:
        assert isinstance(claims()[cid].severity, Severity), cid


def test_assumptions_and_qualitative_statements_are_measured_never_refuted() -> None:
    cases = [Case(name, preset(name), n) for name in ("fig2a", "fig2c") for n in (1, 4)]
    for cid in ("A1.PT", "A1.JT", "S6.aligns-closely"):
        v = judge(claims()[cid], cases, symbolic=False)
        assert v.verdict is Verdict.MEASURED, cid
        assert v.measurement is not None and v.measurement["largest"] > 0, cid
        assert v.to_json()["kind"] in ("assumption", "qualitative")


def test_aligns_closely_has_no_threshold_of_the_toolkits_own() -> None:
    c = claims()["S6.aligns-closely"]
    comp = c.check(preset("fig2a"), 1)
    assert comp.measured is not None and 0 < comp.measured < 1e-2  # 0.2% at n = 1: measured, not judged against 1%
    assert "1%" not in c.statement and "threshold" not in c.statement


def test_a_claim_with_one_root_cause_is_one_finding() -> None:
    rows = [{"id": i, "verdict": "refuted", "finding": f, "severity": s, "correction": "x. y", "statement": ""}
            for i, f, s in (("A", "cause", str(Severity.SLIP)), ("B", "cause", str(Severity.MAIN)), ("C", "C", None))]
    rows.append({"id": "D", "verdict": "verified", "finding": "cause", "severity": None, "correction": "", "statement": ""})
    groups = findings(rows)
    assert [g["claims"] for g in groups] == [["A", "B"], ["C"]]
    assert groups[0]["severity"] == str(Severity.MAIN)  # the most severe of the group
    assert groups[1]["title"] == "x"


def test_heads_below_pgd_is_one_finding_for_two_claims() -> None:
    assert claims()["P1.equality"].root_cause == claims()["T4.lower-bound"].root_cause
    assert claims()["C1.rate.FT-JT"].root_cause == claims()["C1.rate.ratio"].root_cause


def test_measure_reports_the_largest_value_and_its_trend_in_n() -> None:
    m = TaskMixture(np.eye(1), np.array([1.0]), np.array([[1.0]]), np.ones((1, 1, 1)), 0.0)
    comps = [(Case("a", m, n), Comparison("gap", 0, 0, v, v == 0, measured=v)) for n, v in ((1, 0.0), (4, 0.02), (4, 0.03))]
    out = measure(comps, failed=2)
    assert out["largest"] == 0.03 and out["at"] == "a n=4"
    assert out["by_n"] == {"1": 0.0, "4": 0.03}
    assert out["zero_cases"] == 1


def test_asymptotic_counterexamples_name_no_n() -> None:
    cases = [Case(name, preset(name), 1) for name in ("fig2c",)]
    v = judge(claims()["C1.rate.FT-JT"], cases, symbolic=False)
    assert v.verdict is Verdict.REFUTED
    assert v.counterexample is not None and v.counterexample["n"] is None
    assert "n=" not in v.reason.split(":")[0]


def test_the_weaker_reading_of_a_rate_is_judged_beside_it() -> None:
    from claims.verdicts import judge_readings
    cases = [Case("fig2c", preset("fig2c"), 1)]
    [upper] = judge_readings(claims()["C1.rate.FT-JT"], cases)
    assert upper["verdict"] == "verified"  # n^-2 is O(1/n)
    [ratio] = judge_readings(claims()["C1.rate.ratio"], cases)
    assert ratio["verdict"] == "refuted"  # a positive limit is not O(1/n)


def test_the_boundary_family_holds_an_asymmetric_zero_mean_zero_skew_mixture() -> None:
    m = dict(boundary_mixtures())["boundary d=1 K=3 zero-mean zero-skew"]
    mu = m.means[:, 0]
    assert abs(m.weights @ mu) < 1e-15 and abs(m.weights @ mu**3) < 1e-14
    assert not np.allclose(np.sort(mu), np.sort(-mu))  # not symmetric under beta -> -beta


@pytest.mark.parametrize("cid", ["A1.PT", "A1.JT"])
def test_assumption1_equality_without_symmetry(cid: str) -> None:
    """The old correction ('equal iff the task distribution is symmetric') is false: this asymmetric mixture has a
    zero gap, and the stationarity that the new correction names holds there."""
    c: Claim = claims()[cid]
    m = dict(boundary_mixtures())["boundary d=1 K=3 zero-mean zero-skew"]
    for n in (1, 5):
        assert abs(c.check(m, n).measured or 0.0) <= 1e-8
        assert c.corrected is not None and c.corrected(m, n).holds

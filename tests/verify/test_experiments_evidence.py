"""The trained evidence of the experiments' claims (verify.evidence.experiments): the seed-paired decisions and what
the channel reports at the quick budget (no training: the numbers are constructed)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import t as student_t

from claims.registry import claim
from theory.mixture import preset
from verify.evidence.experiments import ALPHA, ExperimentsChannel, SeedDifference, depth_decision


def test_seed_difference_interval() -> None:
    d = SeedDifference("x", (1.0, 1.1, 0.9))
    se = 0.1 / math.sqrt(3)
    assert d.seed_se == pytest.approx(se)
    assert d.half_width == pytest.approx(student_t.isf(ALPHA / 2, 2) * se)
    assert d.sign == 1 and "help" in d.text("help", "hurt")


@pytest.mark.parametrize(("values", "sign"), [((1.0, -1.0, 0.5), 0), ((-2.0, -2.1, -1.9), -1), ((3.0,), 0)])
def test_seed_difference_resolves_only_beyond_the_seed_spread(values: tuple[float, ...], sign: int) -> None:
    d = SeedDifference("x", values)
    assert d.sign == sign
    if sign == 0:
        assert "not resolved at this budget" in d.text("a", "b")


ONE = {"PT": 20.0, "JT": 17.0, "PGD": 14.0}


def test_depth_trained_below_one_layer_and_narrower() -> None:
    losses = {"PT": [18.0, 18.1, 17.9], "JT": [16.0, 16.1, 15.9], "PGD": [13.0, 13.05, 12.95]}
    stderrs = {k: [0.01] * 3 for k in losses}
    out = depth_decision(ONE, losses, stderrs, 2)
    assert out["below_one_layer"] == {"PT": True, "JT": True, "PGD": True}
    assert out["gains"]["PGD"]["sign"] == 1  # task parameters still help at depth 2
    assert out["narrower_than_one_layer"]["PGD"]["sign"] == 1  # 6 - 5 = 1 > 0: the trained gap is narrower
    assert out["narrower_than_one_layer"]["JT"]["sign"] == 1


def test_depth_under_trained_stacks_are_not_compared() -> None:
    """Above the one-layer optimum a stack has not learned what depth adds: its narrow gap says nothing."""
    losses = {"PT": [25.0, 25.2, 24.8], "JT": [25.0, 25.1, 24.9], "PGD": [24.9, 25.2, 24.8]}
    out = depth_decision(ONE, losses, {k: [0.01] * 3 for k in losses}, 2)
    assert not any(out["below_one_layer"].values())
    assert not out["narrower_than_one_layer"]["PGD"]["comparable"]
    assert "not comparable" in out["text"] and "under-trained" in out["text"]
    assert out["gains"]["PGD"]["sign"] == 0


def test_depth_task_parameters_hurting_is_reported() -> None:
    losses = {"PT": [13.0, 13.1, 12.9], "JT": [16.0, 16.1, 15.9], "PGD": [15.0, 15.1, 14.9]}
    out = depth_decision(ONE, losses, {k: [0.01] * 3 for k in losses}, 3)
    assert out["gains"]["JT"]["sign"] == -1 and "task parameters hurt" in out["text"]


def test_channel_at_the_quick_budget_names_the_command() -> None:
    channel = ExperimentsChannel(preset("fig2c"), 10, 0, False, "cpu")
    ev = channel.for_claim(claim("E.A2-depth"))
    assert ev is not None and ev.data["run"] is False and ev.data["mixture"] == "figA2-clean"
    assert "verify --claim E.A2-depth --full" in ev.findings[0].note and not ev.findings[0].contradicts
    ev = channel.for_claim(claim("E.2c-predicts"))
    assert ev is not None and ev.data["mixture"] == "the selected mixture" and ev.data["n"] == 10
    assert channel.for_claim(claim("E.2d-gradual")) is None

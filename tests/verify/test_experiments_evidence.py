"""The trained evidence of the experiments' claims (verify.evidence.experiments): the seed-paired decisions and what
the channel reports at the quick budget (no training: the numbers are constructed)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import t as student_t

from claims.registry import claim
from theory.mixture import preset
from verify import trained as verify_trained
from verify.evidence.experiments import (
    ALPHA,
    SEEDS,
    ExperimentsChannel,
    SeedDifference,
    deciding_commands,
    depth_decision,
    depth_experiment,
)


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
    note = ev.findings[0].note
    assert not ev.findings[0].contradicts and "not resolved at this budget" in note
    # the deciding budget: the paper's protocol (as training.multilayer states it), its seeds, and the two commands
    assert verify_trained.training_budget_text(False, layers=3) in note and "best of 50 restarts" in note
    assert f"{SEEDS[True]} independent training seeds per strategy" in note and "5 x 3 = 15 independent trainings" in note
    assert all(f"`{c}`" in note for c in deciding_commands("E.A2-depth")) and ev.data["commands"] == list(
        deciding_commands("E.A2-depth"))
    ev = channel.for_claim(claim("E.2c-predicts"))
    assert ev is not None and ev.data["mixture"] == "the selected mixture" and ev.data["n"] == 10
    assert channel.for_claim(claim("E.2d-gradual")) is None


def test_deciding_commands_are_accepted_by_the_command_line() -> None:
    """What the quick note tells a reader to run passes the command line's checks (the Ray one runs in
    tests/verify/test_ray_executor.py)."""
    from verify.cli import _selection, build_parser, check_combinations

    for command in deciding_commands("E.A2-depth"):
        args = build_parser().parse_args(command.replace("[--address ADDR]", "--address 127.0.0.1:6379").split()[1:])
        check_combinations(args, _selection(args))  # no UsageError / VerifyError


def test_depth_experiment_units_in_process_are_seed_paired() -> None:
    """Two tiny trainings per strategy in this process: per seed and depth one loss, the gains taken seed by seed."""
    data = depth_experiment(preset("figA2-clean"), 2, full=True, seed=5, seeds=2, quick=True, steps=3, batch_size=16,
                            restarts=1, warmup_steps=0)
    assert data["seeds"][0] == 5 and len(data["seeds"]) == 2 and sorted(data["depths"]) == ["2", "3"]
    three = data["depths"]["3"]
    assert three["budget"]["steps"] == 3 + 1 and three["budget"]["restarts"] == 1  # 2 layers, then one deepening step
    assert three["gains"]["JT"]["per_seed"] == [a - b for a, b in zip(three["losses"]["PT"], three["losses"]["JT"],
                                                                        strict=True)]

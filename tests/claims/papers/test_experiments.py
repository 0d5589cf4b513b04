"""The experiments' statements (claims.papers.chang2025.experiments): each check fails where its statement is false,
and on the paper's presets says what an independent exact computation says."""

from __future__ import annotations

import pytest

from claims.papers.chang2025 import experiments as E
from claims.record import Comparison, Outcome
from claims.registry import claim
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.strategy import Strategy
from theory.unconstrained import unconstrained_optimum

PT, FT, JT, PGD = Strategy.PT, Strategy.FT, Strategy.JT, Strategy.PGD


def _measured(c: Comparison) -> float:
    assert c.measured is not None
    return c.measured


def _scaled_means(m: TaskMixture, t: float) -> TaskMixture:
    return TaskMixture(m.sigma_x, m.weights, t * m.means, m.covs, m.sigma2)


def test_registered_with_kinds_and_results() -> None:
    ids = [c.id for c in E.CLAIMS]
    assert len(set(ids)) == len(ids) == 10
    for c in E.CLAIMS:
        assert claim(c.id) is c
        assert c.reading and c.results and c.docs == "docs/experiments.md"


# ----- Figure 2(d) -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 10, 50])
def test_gradual_holds_on_fig2d(n: int) -> None:
    m = preset("fig2d")
    c = E.check_gradual(m, n)
    assert c.outcome is Outcome.HOLDS
    pt, jt, pgd = (optimum(s, m, n).loss for s in (PT, JT, PGD))
    ey2 = m.label_second_moment()
    assert c.derived[:2] == pytest.approx([(pt - jt) / ey2, (jt - pgd) / ey2], rel=1e-10)


def test_gradual_fails_where_task_parameters_do_not_help() -> None:
    """Zero means: prompts and heads learn nothing (Section 4.2), so there is no improvement to see."""
    c = E.check_gradual(preset("fig2d").with_zero_means(), 4)
    assert c.outcome is Outcome.FAILS
    assert "not strictly ordered" in c.note


# ----- Corollary 1's reading ---------------------------------------------------------------------------------------
def _first_crossover(m: TaskMixture) -> int | None:
    for n in E.FIGURE_RANGE:
        pt, ft, jt = (optimum(s, m, n).loss for s in (PT, FT, JT))
        if pt - ft <= ft - jt:
            return n
    return None


@pytest.mark.parametrize(("name", "first"), [("fig2a", 3), ("fig2c", 3), ("fig2d", 6), ("figA2-clean", 5)])
def test_crossover_on_the_presets(name: str, first: int) -> None:
    m = preset(name)
    assert _first_crossover(m) == first
    c = E.check_crossover(m, 1)
    assert c.outcome is Outcome.HOLDS and c.derived == first
    assert E.crossover(m).changes == (first,)


def test_crossover_ratio_on_fig2c() -> None:
    c = E.crossover(preset("fig2c"))
    assert c.ratio(1) == pytest.approx(2.635, abs=1e-3)
    assert c.ratio(50) == pytest.approx(0.1046, abs=1e-4)


def test_crossover_fails_when_means_are_small_against_the_task_variance() -> None:
    """Isotropic: the ratio tends to s/a (Corollary 1's correction); with a < s fine-tuning's gain stays the larger."""
    m = _scaled_means(preset("fig2c"), 0.1)  # a = 0.189 < s = 1
    c = E.check_crossover(m, 1)
    assert c.outcome is Outcome.FAILS and c.derived == "none"
    assert _first_crossover(m) is None


# ----- decoupling --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fig2a", "fig2b", "fig2d", "figA1d", "figA2-noisy"])
def test_decoupling_on_presets(name: str) -> None:
    assert E.check_decoupling(preset(name), 4).outcome is Outcome.HOLDS


def test_decoupling_fails_on_a_swapped_order(monkeypatch: pytest.MonkeyPatch) -> None:
    swapped = {PT: 1.0, FT: 2.0, JT: 0.5, PGD: 0.25}
    monkeypatch.setattr(E, "theory_loss", lambda s, m, n: swapped[s])
    c = E.check_decoupling(preset("fig2c"), 4)
    assert c.outcome is Outcome.FAILS and "PT-FT" in c.note


def test_decoupling_fails_when_zero_means_leave_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """With zero means the decoupling is nullified: a remaining gap contradicts the reading."""
    values = {PT: 2.0, FT: 2.0, JT: 2.0, PGD: 1.0}
    monkeypatch.setattr(E, "theory_loss", lambda s, m, n: values[s])
    assert E.check_decoupling(preset("fig2b"), 4).outcome is Outcome.FAILS


# ----- zero means --------------------------------------------------------------------------------------------------
def test_zero_mean_aligned_on_fig2b_and_fails_with_means() -> None:
    assert E.check_zero_mean_aligned(preset("fig2b"), 4).outcome is Outcome.HOLDS
    c = E.check_zero_mean_aligned(preset("fig2a"), 4)  # non-zero means: Assumption 1's cost
    assert c.outcome is Outcome.FAILS and c.derived > 1e-3
    assert not E.ZERO_MEAN_ALIGNED.scope(preset("fig2a"))


# ----- Figure 2(c), A1: predictions ---------------------------------------------------------------------------------
def test_predicts_measures_the_gap_to_the_exact_attention() -> None:
    m, n = preset("fig2c"), 10
    c = E.check_predicts(m, n)
    exact = unconstrained_optimum(m, n, "JT", starts=4).loss
    jt = optimum(JT, m, n).loss
    assert _measured(c) >= abs(jt - exact) / jt - 1e-9  # the largest over PT, FT, JT
    assert _measured(c) == pytest.approx(0.00269, abs=1e-5)


def test_predictions_vanish_where_assumption1_is_free() -> None:
    """Zero means (symmetric): the theory is the attention's optimum, nothing to measure."""
    c = E._prediction(preset("fig2b"), 4, (PT, FT, JT))
    assert c.outcome is Outcome.HOLDS and _measured(c) < 1e-8


def test_a1_uses_each_panels_strategies() -> None:
    assert E.settings_of(preset("figA1d")) == (PT, JT, PGD)
    assert "PGD" in E.check_a1(preset("figA1b"), 4).note
    assert "FT" not in E.check_a1(preset("figA1d"), 4).note


# ----- Appendix E.2 (1) --------------------------------------------------------------------------------------------
def test_few_shot_gain_is_larger_below_d() -> None:
    m = preset("figA2-clean")
    below, beyond = E.check_few_shot(m, 4), E.check_few_shot(m, 20)
    assert _measured(below) == pytest.approx(0.2108, abs=1e-4) and _measured(beyond) == pytest.approx(0.1041, abs=1e-4)
    assert "n < d" in below.quantity and "n >= d" in beyond.quantity


def test_few_shot_measures_nothing_without_means() -> None:
    c = E.check_few_shot(preset("figA2-clean").with_zero_means(), 4)
    assert abs(_measured(c)) < 1e-8 and c.outcome is Outcome.HOLDS


def test_diminishes_holds_on_figA2_clean() -> None:
    m = preset("figA2-clean")
    c = E.check_diminishes(m, 1)
    assert c.outcome is Outcome.HOLDS
    g = [optimum(PT, m, n).loss - optimum(PGD, m, n).loss for n in E.FIGURE_RANGE]
    assert all(b < a for a, b in zip(g, g[1:], strict=False))
    assert "smallest at n = 8" in c.note  # the heads' gain relative to L*_PT is not monotone


def test_diminishes_fails_exactly_where_a_gain_rises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(E, "gains", lambda m, n, exact=True: {"prompts": 1.0 / n, "prompts+heads": 1.0 / n + (n == 7)})
    c = E.check_diminishes(preset("figA2-clean"), 1)
    assert c.outcome is Outcome.FAILS and c.derived == [7]


# ----- Appendix E.2 (2) --------------------------------------------------------------------------------------------
def _impact(m: TaskMixture, n: int, shared: bool, mode: str) -> float:
    clean = TaskMixture(m.sigma_x, m.weights, m.means, m.covs, 0.0)
    return (unconstrained_optimum(m, n, mode, shared_head=shared, starts=2).loss
            - unconstrained_optimum(clean, n, mode, shared_head=shared, starts=2).loss)


@pytest.mark.parametrize(("n", "heads_mitigate"), [(2, True), (3, False)])
def test_noise_on_figA2_heads_stop_mitigating_at_n3(n: int, heads_mitigate: bool) -> None:
    m = preset("figA2-noisy")
    pt, heads, prompts = _impact(m, n, True, "PT"), _impact(m, n, False, "JT"), _impact(m, n, True, "JT")
    assert (heads < pt) is heads_mitigate and prompts < pt
    assert E.check_noise(m, n).holds is heads_mitigate
    assert E.check_noise_prompts(m, n).outcome is Outcome.HOLDS
    assert E.check_noise_still_helps(m, n).outcome is Outcome.HOLDS


def test_noise_fails_when_prompts_cannot_help() -> None:
    """Zero means: prompts learn nothing, so they cannot change what noise costs."""
    assert E.check_noise_prompts(preset("figA2-noisy").with_zero_means(), 4).outcome is Outcome.FAILS


def test_noise_claim_is_refuted_with_its_correction() -> None:
    c = claim("E.A2-noise")
    assert c.corrected is E.check_noise_prompts and c.weaker is not None and c.severity is not None


# ----- Appendix E.2 (3): the one-layer end ----------------------------------------------------------------------------
def test_depth_measures_the_one_layer_gap() -> None:
    m = preset("figA2-noisy")
    assert _measured(E.check_depth(m, 4)) == pytest.approx(E.gains(m, 4)["prompts+heads"])
    assert abs(_measured(E.check_depth(preset("figA2-clean").with_zero_means(), 4))) < 1e-8
    # with noise and unequal task covariances heads rescale the preconditioner per task: a gain even at zero means
    assert _measured(E.check_depth(preset("figA2-noisy").with_zero_means(), 4)) > 1e-4


def test_scopes_are_the_figures() -> None:
    assert E.GRADUAL.scope(preset("fig2d")) and not E.GRADUAL.scope(preset("fig2c"))
    assert E.DEPTH.scope(preset("figA2-clean")) and E.DEPTH.scope(preset("figA2-noisy"))
    assert not E.CROSSOVER.scope(preset("figA1a"))  # noisy: outside Corollary 1's setting
    assert E.ZERO_MEAN_ALIGNED.scope(preset("fig2b"))

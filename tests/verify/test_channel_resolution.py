"""Training and Monte Carlo say "cannot distinguish" where the claimed value is closer to the derived one than their
resolution, and show the resolution (the training tolerance included) wherever they show a result."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from claims.registry import claim
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.strategy import Strategy
from training.evidence import K_SIGMA, QUICK_TOLERANCE
from verify.evidence.montecarlo import MonteCarloChannel
from verify.evidence.training import TrainingChannel
from verify.report.schema import Evidence
from verify.run import cpu_threads
from verify.terminal import evidence_lines

MIXTURE = TaskMixture(np.eye(2), np.array([0.4, 0.6]), np.array([[1.0, 0.0], [0.0, -1.0]]),
                      np.stack([np.eye(2)] * 2), 0.0)
N = 3


@pytest.fixture(scope="module")
def trainer() -> Iterator[TrainingChannel]:
    """One quick training run (JT), shared by the claims as in ``verify``; one torch thread, as ``verify`` runs it."""
    with cpu_threads(1):
        yield TrainingChannel(MIXTURE, N, 0, False, "cpu")


def test_training_cannot_distinguish_a_claim_closer_than_its_resolution(trainer: TrainingChannel) -> None:
    derived = optimum(Strategy.JT, MIXTURE, N).loss
    ev = trainer.for_claim(claim("T3.loss"), derived * (1 + QUICK_TOLERANCE / 5))
    assert ev is not None
    tr = ev.data
    assert tr["tolerance"] == QUICK_TOLERANCE
    assert tr["resolution"] == pytest.approx(K_SIGMA * tr["trained_stderr"] + QUICK_TOLERANCE * derived, rel=1e-12)
    assert tr["distinguishes"] is False and tr["claimed_gap"] == pytest.approx(derived * QUICK_TOLERANCE / 5)
    assert tr["summary"].startswith("cannot distinguish claimed from derived at this budget (resolution "
                                    f"{tr['resolution']:.3g} = 5% optimisation tolerance of the loss + {K_SIGMA:.2f} se;")
    line = dict(evidence_lines(Evidence.from_json({"training": tr})))["training"]
    assert "cannot distinguish" in line and "5% optimisation tolerance" in line


def test_training_says_when_the_claim_is_beyond_its_resolution(trainer: TrainingChannel) -> None:
    derived = optimum(Strategy.JT, MIXTURE, N).loss
    ev = trainer.for_claim(claim("T3.loss"), derived * 1.5)
    assert ev is not None and ev.data["distinguishes"] is True
    assert "cannot distinguish" not in ev.data["summary"] and "beyond the resolution" in ev.data["summary"]
    assert "optimisation tolerance" in ev.data["summary"]


def test_training_compares_the_loss_at_stated_parameters(trainer: TrainingChannel) -> None:
    """T3.W.appendix states W (no loss): its claimed value is the exact loss at the stated parameters, which equals
    the optimum here (the formula is right), so the channel cannot tell them apart."""
    ev = trainer.for_claim(claim("T3.W.appendix"))
    assert ev is not None and ev.data["claimed_name"] == "the claimed parameters' loss"
    assert ev.data["claimed_loss"] == pytest.approx(ev.data["derived_loss"], rel=1e-9)
    assert ev.data["summary"].startswith("cannot distinguish the claimed parameters' loss from derived")


def test_montecarlo_cannot_distinguish_below_k_standard_errors() -> None:
    k = 5.0
    channel = MonteCarloChannel(MIXTURE, N, 0, "cpu", k)
    with cpu_threads(1):
        first = channel.at_derived(claim("T3.loss"), None)
    assert first is not None and first.data["distinguishes"] is None and first.data["summary"] == ""
    derived, resolution = first.data["derived"], first.data["resolution"]
    assert resolution == pytest.approx(k * first.data["stderr"], rel=1e-12)
    close = channel.at_derived(claim("T3.loss"), derived + resolution / 2)
    assert close is not None and close.data["distinguishes"] is False
    assert close.data["summary"].startswith(f"cannot distinguish claimed from derived at this budget (resolution "
                                            f"{resolution:.3g} = {k:.2f} se;")
    far = channel.at_derived(claim("T3.loss"), derived + 2 * resolution)
    assert far is not None and far.data["distinguishes"] is True and "beyond the resolution" in far.data["summary"]
    line = dict(evidence_lines(Evidence.from_json({"montecarlo": close.data})))["Monte Carlo"]
    assert "cannot distinguish" in line

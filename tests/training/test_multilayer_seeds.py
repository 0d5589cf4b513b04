"""Multi-layer points carry the spread over training seeds, or say that their error bar is evaluation-only."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import training.evidence as evidence_module
from theory.mixture import TaskMixture
from training.evidence import training_evidence
from training.multilayer import EVALUATION_ONLY, FULL_SEEDS, QUICK_SEEDS, multilayer_point
from verify.trained import from_training_evidence

SMALL = TaskMixture(np.array([[1.0, 0.3], [0.3, 0.7]]), np.array([0.4, 0.6]), np.array([[1.5, -1.0], [-0.5, 1.2]]),
                    np.stack([np.eye(2), 2 * np.eye(2)]), 0.5)
TINY: dict[str, Any] = {"steps": 40, "batch_size": 128, "restarts": 2}


def test_the_quick_budget_trains_one_seed_and_the_full_protocol_several() -> None:
    assert QUICK_SEEDS == 1 and FULL_SEEDS >= 3


def test_one_seed_is_labelled_evaluation_only() -> None:
    p = multilayer_point(SMALL, 4, 2, seeds=1, **TINY)
    assert p.seeds == 1 and p.error_bar == EVALUATION_ONLY and p.seed_stderr is None
    assert p.stderr == p.eval_stderr and p.seed_losses == [p.loss]


def test_several_seeds_give_the_standard_error_over_seeds_combined_with_evaluation() -> None:
    one = multilayer_point(SMALL, 4, 2, seeds=1, **TINY)
    three = multilayer_point(SMALL, 4, 2, seeds=3, **TINY)
    losses = three.seed_losses
    assert three.seeds == 3 and len(losses) == 3 and three.restarts == TINY["restarts"]
    assert len(three.restart_losses) == 3 * TINY["restarts"]
    assert losses[0] == one.loss  # group 0 is the single-seed point: restarts 0..R-1 of the same seed
    assert len(set(losses)) == 3  # independent initialisations land apart
    assert three.loss == pytest.approx(float(np.mean(losses)), rel=1e-14)
    assert three.seed_stderr == pytest.approx(float(np.std(losses, ddof=1) / np.sqrt(3)), rel=1e-12)
    assert three.seed_stderr is not None
    assert three.stderr == pytest.approx(math.hypot(three.seed_stderr, three.eval_stderr), rel=1e-14)
    assert three.stderr > three.eval_stderr and "3 seeds of 2 restarts" in three.error_bar


@pytest.mark.parametrize("seeds", [1, 2])
def test_the_evidence_payload_and_the_figure_point_carry_the_error_bar(monkeypatch: pytest.MonkeyPatch,
                                                                       seeds: int) -> None:
    def small(*args: Any, **kwargs: Any) -> Any:
        return multilayer_point(*args, **{**kwargs, "seeds": seeds, **TINY})

    monkeypatch.setattr(evidence_module, "multilayer_point", small)
    ev = training_evidence("JT", SMALL, 4, layers=2)
    assert ev["seeds"] == seeds and len(ev["seed_losses"]) == seeds
    assert f"(error bar: {ev['error_bar']})" in ev["note"]
    if seeds == 1:
        assert ev["error_bar"] == EVALUATION_ONLY and ev["seed_stderr"] is None
        assert ev["trained_stderr"] == ev["eval_stderr"]
    else:
        assert ev["seed_stderr"] is not None and ev["trained_stderr"] > ev["eval_stderr"]
    point = from_training_evidence(training_evidence)("JT", SMALL, 4, layers=2, seed=0, quick=True)  # type: ignore[arg-type]
    assert point.error_bar == ev["error_bar"] and point.stderr == ev["trained_stderr"]

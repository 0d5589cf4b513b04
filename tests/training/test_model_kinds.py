"""The registry of model kinds (training.models.KINDS) is the one place a kind is listed.

Every registered kind trains a step through :func:`training.train` (a one-cell panel) and through a two-cell panel,
its trained restart compiles to a :mod:`montecarlo.predictors` spec that ``compile_predictor`` accepts (the fast
estimator measures it), and every list of model names the trainer gives (the error of an unknown model) is the
registry's; no module of training/ spells the kinds' names as a list of its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from montecarlo.predictors import _COMPILERS, compile_predictor
from theory.errors import VerifyError
from theory.mixture import TaskMixture
from training import KINDS, make_config, train, train_panel
from training.models import model_kind

SMALL = TaskMixture(np.array([[1.0, 0.3], [0.3, 0.7]]), np.array([0.4, 0.6]), np.array([[1.5, -1.0], [-0.5, 1.2]]),
                    np.array([np.eye(2), 2 * np.eye(2)]), 0.5)
LAYERS = {"multilayer": 2}  # a kind with a depth is trained at its first depth beyond one layer
ONE_STEP: dict[str, Any] = {"steps": 1, "batch_size": 16, "restarts": 2}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_registered_kind_trains_and_compiles_a_predictor(name: str) -> None:
    cls = KINDS[name]
    assert cls.kind == name and model_kind(name) is cls
    assert cls.predictor in _COMPILERS, f"{name}: its predictor spec {cls.predictor.__name__} is not registered"
    res = train("JT", SMALL, 3, model=name, layers=LAYERS.get(name, 1), eval_max_samples=1000, **ONE_STEP)
    assert res.model_kind == name and res.steps_run == 1 and type(res.model) is cls
    assert res.trained.method == "fast" and np.isfinite(res.trained.mean)  # compile_predictor's query vector
    run = train_panel(name, SMALL, [2, 3], ["PT", "JT"], layers=LAYERS.get(name, 1), config=make_config(**ONE_STEP))
    assert [c.steps for c in run.cells] == [1, 1, 1, 1] and run.model.restarts == 2 * 2 * 2


def test_compile_predictor_accepts_only_registered_specs() -> None:
    with pytest.raises(VerifyError, match="predictor: expected one of") as info:
        compile_predictor(SMALL, object(), torch.device("cpu"), torch.float64)  # type: ignore[arg-type]
    assert all(t.__name__ in str(info.value) for t in _COMPILERS)


def test_the_trainer_lists_the_registered_kinds() -> None:
    expected = ", ".join(KINDS)
    for call in (lambda: train("JT", SMALL, 3, model="transformer", **ONE_STEP),
                 lambda: train_panel("transformer", SMALL, [3], ["JT"], config=make_config(**ONE_STEP))):
        with pytest.raises(VerifyError, match="model") as info:
            call()
        assert f"expected one of {expected}" in str(info.value)


def test_no_other_list_of_kind_names_in_training() -> None:
    """A tuple or list that names two registered kinds outside the registry would be a second list to update."""
    names = "|".join(map(re.escape, KINDS))
    pattern = re.compile(rf"[\(\[]\s*[\"']({names})[\"']\s*,\s*[\"']({names})[\"']")
    root = Path(__file__).resolve().parents[2] / "training"
    offenders = [f"{path.relative_to(root)}:{i}" for path in sorted(root.rglob("*.py"))
                 for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []

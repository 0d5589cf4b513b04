"""training_evidence: the JSON the verify command consumes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theory.mixture import TaskMixture
from training import training_evidence

KEYS = {"strategy", "model", "n", "trained_loss", "trained_stderr", "derived_loss", "rel_gap", "W_rel_distance",
        "P_rel_distance", "restarts", "steps", "agrees", "tolerance", "direction", "timings"}
MIXTURE = TaskMixture(np.eye(2), [0.4, 0.6], [[1.0, 0.5], [-0.5, 0.2]], [np.eye(2), 0.5 * np.eye(2)], 0.1)


@pytest.mark.parametrize("strategy", ["PT", "FT", "JT", "PGD"])
def test_evidence_is_json_with_the_agreed_keys(strategy: str) -> None:
    """Every strategy's quick evidence is JSON-serialisable and carries the keys verify reads."""
    evidence = training_evidence(strategy, MIXTURE, 3, quick=True, seed=1)
    assert KEYS <= set(evidence)
    text = json.dumps(evidence)  # no numpy scalars, no pickle
    assert json.loads(text)["strategy"] == strategy
    assert evidence["model"] == ("attention" if strategy == "PGD" else "reduced")
    assert isinstance(evidence["agrees"], bool)
    assert set(evidence["timings"]) == {"seconds", "train_seconds"}  # wall times only there (issue 11)
    assert evidence["trained_stderr"] > 0 and evidence["derived_loss"] > 0
    assert evidence["rel_gap"] == pytest.approx((evidence["trained_loss"] - evidence["derived_loss"])
                                                / evidence["derived_loss"])
    if strategy == "PGD":
        assert evidence["head_scaled_loss"] <= evidence["derived_loss"] * (1 + 1e-9)
    elif strategy in ("PT", "JT"):  # global minima: no trained parameters can go below them
        assert evidence["result"]["exact_loss"] >= evidence["derived_loss"] * (1 - 1e-9)

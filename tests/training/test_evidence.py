"""training_evidence: the JSON the verify command consumes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theory.errors import VerifyError
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
    assert set(evidence["timings"]) == {"seconds", "train_seconds"}  # wall times only there
    assert evidence["trained_stderr"] > 0 and evidence["derived_loss"] > 0
    assert evidence["rel_gap"] == pytest.approx((evidence["trained_loss"] - evidence["derived_loss"])
                                                / evidence["derived_loss"])
    if strategy == "PGD":
        assert evidence["head_scaled_loss"] <= evidence["derived_loss"] * (1 + 1e-9)
    elif strategy in ("PT", "JT"):  # global minima: no trained parameters can go below them
        assert evidence["result"]["exact_loss"] >= evidence["derived_loss"] * (1 - 1e-9)


def test_multilayer_evidence_compares_with_the_exact_one_layer_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """layers=2: the stack of Appendix E against the exact one-layer attention optimum of the same kind (here task
    heads for PGD); the keys say what depth bought, and the numbers are the multi-layer point's own."""
    import training.multilayer as multilayer
    from theory.unconstrained import unconstrained_optimum

    small = {"steps": 40, "batch_size": 256, "restarts": 2, "lr": 0.05, "lr_final_ratio": 0.05,
             "protocol": "variance-reduced", "tolerance": None, "warmup_steps": 5}
    monkeypatch.setattr(multilayer, "multilayer_options", lambda quick: dict(small))
    mixture = TaskMixture(np.array([[1.0, 0.3], [0.3, 0.7]]), [0.4, 0.6], [[1.5, -1.0], [-0.5, 1.2]],
                          [np.eye(2), 2 * np.eye(2)], 0.2)
    out = training_evidence("PGD", mixture, 4, layers=2, seed=3)
    json.dumps(out)
    assert out["model"] == "multilayer" and out["layers"] == 2 and out["steps"] == 40 and out["restarts"] == 2
    exact = unconstrained_optimum(mixture, 4, "JT", shared_head=False, starts=4).loss
    assert out["one_layer_loss"] == exact
    assert out["rel_gap"] == pytest.approx((out["trained_loss"] - exact) / exact, rel=1e-12)
    assert out["agrees"] == (out["trained_loss"] <= exact + out["k_sigma"] * out["trained_stderr"])
    assert out["result"]["loss"] == out["trained_loss"] and "2-layer stack" in out["note"]
    with pytest.raises(VerifyError, match="multi-layer stack"):
        training_evidence("JT", mixture, 4, layers=2, model="reduced")

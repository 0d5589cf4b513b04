"""What training found, in the paper's terms, next to the derived optima (JSON-able).

After a run, :func:`summarise` asks the model (:class:`training.models.TrainableModel`) to

1. score its restarts and picks the best (:meth:`~training.models.TrainableModel.score_restarts`): by the
   exact loss :func:`theory.loss.population_loss` for the reduced model; for the attention models by each
   restart's loss on one shared fresh Monte Carlo batch (a separate seed, so the reported estimate below is
   not the one that selected the winner);
2. measure the winner's loss on fresh samples (:meth:`~training.models.TrainableModel.estimate`):
   :func:`montecarlo.estimate_loss` for the one-layer models, a direct estimate on fresh sampled sequences
   for the multi-layer stack;
3. map the learned parameters back to the paper's quantities
   (:meth:`~training.models.TrainableModel.learned_quantities`):

   * reduced model: ``W`` and ``P`` themselves (eq. 7);
   * one-layer attention with a shared head ``a = W_v h`` (eq. 6): with ``z = [x; 0]``,
     ``f = x^T A[:d,:] (p_k p_k^T + G) a``, which is the reduced model exactly when ``a_x = 0`` and
     ``A[:d, d] = 0`` (Assumption 1); then ``W = a_y A[:d,:d]`` and ``W p_bar_k = A[:d,:] p_k (p_k . a)``.
     How far the learned weights are from that block structure is reported as two dimensionless
     ratios, ``head_offblock = sqrt(a_x^T Sigma_x a_x / (a_y^2 E[y^2]))`` (the share of the value
     read from x instead of y) and ``A_offblock = |A[:d, d]| sqrt(E[y^2]) / ||A[:d,:d] Sigma_x^{1/2}||_F``
     (keys read from y instead of x);
   * task-specific heads ``a_k = W_v h_k`` (eq. 17): per task ``W_k = a_{k,y} A[:d,:d]``, the
     mean the head subtracts ``-a_{k,x} / a_{k,y}`` and the prompt offset ``A[:d,:] p_k (p_k . a_k)``;
     Proposition 1's construction has ``W_k = c_k W``, both equal to ``mu_k``;

4. compares with the derived optimum of the strategy (:func:`theory.optima.optimum`; for
   task-specific heads, ``Strategy.PGD``, the debiased PGD optimum (19) and the head-scaled bound
   :func:`theory.attention.head_scaled_pgd_optimum`): loss gap and relative parameter distances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from montecarlo import Estimate
from theory.attention import head_scaled_pgd_optimum
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from training.config import TrainingConfig
from training.models import TrainableModel

SELECTION_SAMPLES = 20_000  # fresh samples shared by the restarts to pick the best attention restart


@dataclass
class TrainingRun:
    """One cell's trained restarts, the input of :func:`summarise`: the cell's own model and how it got there."""

    model: TrainableModel
    strategy: Strategy
    config: TrainingConfig
    seed: int
    steps_run: int
    seconds: float  # wall time of the training steps (monitor excluded; a panel's time shared by its cells)


@dataclass
class TrainingResult:
    """The outcome of :func:`training.train`: best-of-restarts loss, learned quantities, comparison.

    ``to_json()`` gives a JSON-serialisable dict (no pickle); ``model`` keeps the torch module.
    """

    strategy: Strategy
    model_kind: str
    layers: int
    n: int
    d: int
    K: int
    seed: int
    device: str
    config: dict[str, Any]
    steps_run: int
    train_seconds: float
    restart_losses: list[float]
    selection: str
    best_restart: int
    trained: Estimate
    exact_loss: float | None
    label_second_moment: float
    derived: dict[str, Any]
    learned: dict[str, Any]
    comparison: dict[str, Any]
    model: TrainableModel | None = field(default=None, repr=False)

    @property
    def trained_loss(self) -> float:
        return self.trained.mean

    def to_json(self) -> dict[str, Any]:
        """Everything above except the torch module, as plain floats, ints, strings and nested lists."""
        return _plain({
            "strategy": self.strategy.value, "model": self.model_kind, "layers": self.layers,
            "n": self.n, "d": self.d, "K": self.K, "seed": self.seed, "device": self.device,
            "config": self.config, "steps_run": self.steps_run, "train_seconds": self.train_seconds,
            "restart_losses": self.restart_losses, "selection": self.selection, "best_restart": self.best_restart,
            "trained_loss": self.trained.mean, "trained_stderr": self.trained.stderr,
            "trained_samples": self.trained.samples, "trained_method": self.trained.method,
            "exact_loss": self.exact_loss, "label_second_moment": self.label_second_moment,
            "derived": self.derived, "learned": self.learned, "comparison": self.comparison,
        })


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def rel_distance(learned: np.ndarray, derived: np.ndarray) -> float | None:
    """||learned - derived||_F / ||derived||_F; None when the derived quantity is 0 (not meaningful)."""
    scale = float(np.linalg.norm(derived))
    if scale == 0.0:
        return None
    return float(np.linalg.norm(np.asarray(learned) - derived)) / scale


def _compare(run: TrainingRun, mixture: TaskMixture, n: int, r: int, trained: Estimate
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    net, strategy = run.model, run.strategy
    heads = strategy.has_task_heads
    opt = optimum(strategy, mixture, n)  # for PGD: the debiased PGD optimum of eq. (19)
    derived: dict[str, Any] = {"strategy": strategy.value, "loss": opt.loss, "W": opt.W, "P": opt.P}
    learned = net.learned_quantities(r, mixture)
    comparison: dict[str, Any] = {"derived_loss": opt.loss, "rel_gap": (trained.mean - opt.loss) / opt.loss,
                                  "z_score": (trained.mean - opt.loss) / trained.stderr if trained.stderr > 0 else None,
                                  "W_rel_distance": None, "P_rel_distance": None}
    if heads:
        bound = head_scaled_pgd_optimum(mixture, n)
        derived["head_scaled"] = {"loss": bound.loss, "W": bound.W, "scales": bound.scales}
        comparison["head_scaled_loss"] = bound.loss
        comparison["rel_gap_head_scaled"] = (trained.mean - bound.loss) / bound.loss
    if heads and "W_per_task" in learned:  # the one-layer attention with task-specific heads
        w = mixture.weights
        comparison["W_rel_distance"] = float(sum(w[k] * rel_distance(learned["W_per_task"][k], opt.W)
                                                 for k in range(mixture.K)))
        comparison["W_rel_distance_head_scaled"] = float(sum(
            w[k] * rel_distance(learned["W_per_task"][k], bound.scales[k] * bound.W) for k in range(mixture.K)))
        comparison["P_rel_distance"] = rel_distance(learned["prompt_offsets"], mixture.means)
        comparison["implied_means_rel_distance"] = rel_distance(learned["implied_means"], mixture.means)
    if "W" in learned:
        comparison["W_rel_distance"] = rel_distance(learned["W"], opt.W)
        comparison["P_rel_distance"] = rel_distance(learned["P"], opt.P) if strategy.has_prompts else None
    if "block_deviation" in learned:
        comparison.update(learned["block_deviation"])
    return derived, learned, comparison


def summarise(run: TrainingRun, mixture: TaskMixture, n: int, *, model_kind: str, layers: int,
              device: torch.device, eval_rel_se: float = 2e-3, eval_max_samples: int = 2_000_000) -> TrainingResult:
    """Pick the best restart, estimate its loss on fresh samples, and compare with the derived optima."""
    net = run.model
    scores = net.score_restarts(mixture, n, samples=SELECTION_SAMPLES, seed=child_seed(run.seed, "training", "selection"),
                                device=device)
    losses = scores.losses
    r = int(np.nanargmin(losses))
    exact = float(losses[r]) if scores.exact else None
    trained = net.estimate(r, mixture, n, target_rel_se=eval_rel_se, max_samples=eval_max_samples,
                           seed=child_seed(run.seed, "training", "evaluation"), device=device)
    derived, learned, comparison = _compare(run, mixture, n, r, trained)
    config = {k: getattr(run.config, k) for k in run.config.__dataclass_fields__}
    return TrainingResult(
        strategy=run.strategy, model_kind=model_kind, layers=layers, n=n, d=mixture.d, K=mixture.K, seed=run.seed,
        device=str(device), config=config, steps_run=run.steps_run, train_seconds=run.seconds,
        restart_losses=[float(v) for v in losses], selection=scores.method, best_restart=r, trained=trained,
        exact_loss=exact, label_second_moment=mixture.label_second_moment(), derived=derived, learned=learned,
        comparison=comparison, model=net)

"""What training found, in the paper's terms, next to the derived optima (JSON-able).

After a run, :func:`summarise`

1. picks the best restart: by the exact loss :func:`theory.loss.population_loss` for the reduced
   model; for the attention models by each restart's loss on one shared fresh Monte Carlo batch
   (a separate seed, so the reported estimate below is not the one that selected the winner);
2. measures the winner's loss with :func:`montecarlo.estimate_loss` on fresh samples (one-layer
   models; the multi-layer stack with a direct estimate on fresh sampled sequences);
3. maps the learned parameters back to the paper's quantities:

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
   task-specific heads the debiased PGD optimum (19) and the head-scaled bound
   :func:`theory.attention.head_scaled_pgd_optimum`): loss gap and relative parameter distances.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from montecarlo import Estimate, ReducedPredictor, estimate_loss, make_generator, mixture_tensors, sample_batch
from montecarlo.sufficient import sample_context_statistics
from theory.attention import head_scaled_pgd_optimum
from theory.loss import population_loss
from theory.mixture import TaskMixture
from theory.optima import optimum, pgd_optimum
from training.models import AttentionModel, MultiLayerAttention, ReducedModel
from training.strategies import TrainingRun

SELECTION_SAMPLES = 20_000  # fresh samples shared by the restarts to pick the best attention restart
_SELECTION_SEED_OFFSET = 1_000_003
_EVAL_SEED_OFFSET = 2_000_003


@dataclass
class TrainingResult:
    """The outcome of :func:`training.train`: best-of-restarts loss, learned quantities, comparison.

    ``to_json()`` gives a JSON-serialisable dict (no pickle); ``model`` keeps the torch module.
    """

    strategy: str
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
    model: Any = field(default=None, repr=False)

    @property
    def trained_loss(self) -> float:
        return self.trained.mean

    def to_json(self) -> dict[str, Any]:
        """Everything above except the torch module, as plain floats, ints, strings and nested lists."""
        return _plain({
            "strategy": self.strategy, "model": self.model_kind, "layers": self.layers,
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


# ----- picking the best restart ------------------------------------------------------------
def _restart_losses(run: TrainingRun, mixture: TaskMixture, n: int, seed: int,
                    device: torch.device) -> tuple[np.ndarray, str]:
    net = run.model
    if isinstance(net, ReducedModel):
        W, P = net.reduced_parameters()
        return np.atleast_1d(population_loss(mixture, W, P, n)), "exact population loss"
    gen = make_generator(seed + _SELECTION_SEED_OFFSET, device)
    with torch.no_grad():
        if isinstance(net, AttentionModel):
            t = mixture_tensors(mixture, device, torch.float64)
            stats = sample_context_statistics(t, n, SELECTION_SAMPLES, gen)
            resid = net.query_vector(stats.task, stats.gram()) - stats.beta  # (R, B, d)
            chol = torch.as_tensor(np.linalg.cholesky(mixture.sigma_x), device=device)
            losses = (resid @ chol).pow(2).sum(-1).mean(-1) + mixture.sigma2
            return losses.cpu().numpy(), f"Monte Carlo, {SELECTION_SAMPLES} shared samples (query integrated)"
        batch = sample_batch(mixture, n, SELECTION_SAMPLES, generator=gen, device=device)
        losses = (net(batch) - batch.y_query).pow(2).mean(-1)
        return losses.cpu().numpy(), f"Monte Carlo, {SELECTION_SAMPLES} shared sequences"


def _direct_estimate(net: MultiLayerAttention, restart: int, mixture: TaskMixture, n: int, *, samples: int,
                     seed: int, device: torch.device) -> Estimate:
    """Direct Monte Carlo estimate of one restart of the multi-layer stack on fresh sequences."""
    gen = make_generator(seed, device)
    start, total, sq, count, chunk = time.perf_counter(), 0.0, 0.0, 0, 8192
    with torch.no_grad():
        while count < samples:
            size = min(chunk, samples - count)
            batch = sample_batch(mixture, n, size, generator=gen, device=device)
            err = (net(batch)[restart] - batch.y_query).pow(2).double()
            total, sq, count = total + float(err.sum()), sq + float(err.pow(2).sum()), count + size
    mean = total / count
    var = max(sq / count - mean * mean, 0.0) * count / max(count - 1, 1)
    return Estimate(mean=mean, stderr=math.sqrt(var / count), samples=count, seconds=time.perf_counter() - start,
                    method="direct", seed=seed)


# ----- mapping back to the paper's quantities -------------------------------------------------
def _block_deviation(A: np.ndarray, a: np.ndarray, mixture: TaskMixture) -> dict[str, float]:
    d, ey2 = mixture.d, mixture.label_second_moment()
    root = np.linalg.cholesky(mixture.sigma_x)
    ax, ay = a[:d], a[d]
    head = math.sqrt(float(ax @ mixture.sigma_x @ ax) / (ay * ay * ey2)) if ay != 0 else math.inf
    core = float(np.linalg.norm(A[:d, :d] @ root))
    offd = float(np.linalg.norm(A[:d, d])) * math.sqrt(ey2)
    return {"head_offblock": head, "A_offblock": offd / core if core > 0 else math.inf,
            "A_bottom_row_norm": float(np.linalg.norm(A[d]))}


def _shared_head_quantities(net: AttentionModel, r: int, mixture: TaskMixture) -> dict[str, Any]:
    params = net.attention_parameters()[r]
    d = mixture.d
    a = params.Wv @ params.heads[0]
    W = a[d] * params.A[:d, :d]
    offsets = np.array([params.A[:d] @ p * float(p @ a) for p in params.prompts])  # (K, d): W p_bar_k
    try:
        P = np.linalg.solve(W, offsets.T).T
    except np.linalg.LinAlgError:
        P = np.full_like(offsets, np.nan)
    return {"W": W, "P": P, "a": a, "block_deviation": _block_deviation(params.A, a, mixture),
            "A": params.A, "Wv": params.Wv, "prompts": params.prompts, "head": params.heads[0]}


def _task_head_quantities(net: AttentionModel, r: int, mixture: TaskMixture) -> dict[str, Any]:
    params = net.attention_parameters()[r]
    d = mixture.d
    a = params.heads @ params.Wv.T  # (K, d+1): rows a_k = W_v h_k
    Wk = np.array([a[k, d] * params.A[:d, :d] for k in range(mixture.K)])
    implied = np.array([-a[k, :d] / a[k, d] if a[k, d] != 0 else np.full(d, np.nan) for k in range(mixture.K)])
    offsets = np.array([params.A[:d] @ p * float(p @ a[k]) for k, p in enumerate(params.prompts)])
    deviation = _block_deviation(params.A, a[0], mixture)
    return {"W_per_task": Wk, "implied_means": implied, "prompt_offsets": offsets, "a": a,
            "A_offblock": deviation["A_offblock"], "A": params.A, "Wv": params.Wv, "prompts": params.prompts,
            "heads": params.heads}


def _compare(run: TrainingRun, mixture: TaskMixture, n: int, r: int, trained: Estimate
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    net, strategy = run.model, run.strategy
    heads = strategy == "JT-heads"
    theory_name = "PGD" if heads else strategy
    opt = pgd_optimum(mixture, n) if heads else optimum(strategy, mixture, n)
    derived: dict[str, Any] = {"strategy": theory_name, "loss": opt.loss, "W": opt.W, "P": opt.P}
    learned: dict[str, Any] = {}
    comparison: dict[str, Any] = {"derived_loss": opt.loss, "rel_gap": (trained.mean - opt.loss) / opt.loss,
                                  "z_score": (trained.mean - opt.loss) / trained.stderr if trained.stderr > 0 else None,
                                  "W_rel_distance": None, "P_rel_distance": None}
    if heads:
        bound = head_scaled_pgd_optimum(mixture, n)
        derived["head_scaled"] = {"loss": bound.loss, "W": bound.W, "scales": bound.scales}
        comparison["head_scaled_loss"] = bound.loss
        comparison["rel_gap_head_scaled"] = (trained.mean - bound.loss) / bound.loss
    if isinstance(net, ReducedModel):
        W, P = net.reduced_parameters()
        learned = {"W": W[r], "P": P[r]}
    elif isinstance(net, AttentionModel) and not heads:
        learned = _shared_head_quantities(net, r, mixture)
    elif isinstance(net, AttentionModel):
        learned = _task_head_quantities(net, r, mixture)
        w = mixture.weights
        comparison["W_rel_distance"] = float(sum(w[k] * rel_distance(learned["W_per_task"][k], opt.W)
                                                 for k in range(mixture.K)))
        comparison["W_rel_distance_head_scaled"] = float(sum(
            w[k] * rel_distance(learned["W_per_task"][k], bound.scales[k] * bound.W) for k in range(mixture.K)))
        comparison["P_rel_distance"] = rel_distance(learned["prompt_offsets"], mixture.means)
        comparison["implied_means_rel_distance"] = rel_distance(learned["implied_means"], mixture.means)
    if "W" in learned:
        comparison["W_rel_distance"] = rel_distance(learned["W"], opt.W)
        comparison["P_rel_distance"] = rel_distance(learned["P"], opt.P) if strategy != "PT" else None
    if "block_deviation" in learned:
        comparison.update(learned["block_deviation"])
    return derived, learned, comparison


def summarise(run: TrainingRun, mixture: TaskMixture, n: int, *, model_kind: str, layers: int,
              device: torch.device, eval_rel_se: float = 2e-3, eval_max_samples: int = 2_000_000) -> TrainingResult:
    """Pick the best restart, estimate its loss on fresh samples, and compare with the derived optima."""
    losses, selection = _restart_losses(run, mixture, n, run.seed, device)
    r = int(np.nanargmin(losses))
    net = run.model
    eval_seed = run.seed + _EVAL_SEED_OFFSET
    exact = None
    if isinstance(net, ReducedModel):
        W, P = net.reduced_parameters()
        exact = float(losses[r])
        trained = estimate_loss(mixture, n, ReducedPredictor(W[r], P[r]), target_rel_se=eval_rel_se,
                                max_samples=eval_max_samples, seed=eval_seed, device=device)
    elif isinstance(net, AttentionModel):
        trained = estimate_loss(mixture, n, net.attention_parameters()[r], target_rel_se=eval_rel_se,
                                max_samples=eval_max_samples, seed=eval_seed, device=device)
    else:
        trained = _direct_estimate(net, r, mixture, n, samples=min(eval_max_samples, 200_000), seed=eval_seed,
                                   device=device)
    derived, learned, comparison = _compare(run, mixture, n, r, trained)
    config = {k: getattr(run.config, k) for k in run.config.__dataclass_fields__}
    return TrainingResult(
        strategy=run.strategy, model_kind=model_kind, layers=layers, n=n, d=mixture.d, K=mixture.K, seed=run.seed,
        device=str(device), config=config, steps_run=run.steps_run, train_seconds=run.seconds,
        restart_losses=[float(v) for v in losses], selection=selection, best_restart=r, trained=trained,
        exact_loss=exact, label_second_moment=mixture.label_second_moment(), derived=derived, learned=learned,
        comparison=comparison, model=net)

"""Appendix E: the L-layer linear attention trained jointly, next to the exact one-layer optimum.

:func:`multilayer_point` trains the L-layer residual stack of Appendix E.1 (Figure A2(b), (c), (e), (f)) with
one strategy at one n and returns its best restart's loss with a standard error (Monte Carlo on fresh samples),
together with what one layer can reach: the exact optimum of the one-layer attention of the same kind
(:func:`theory.unconstrained.unconstrained_optimum`: a shared head for PT/JT, task-specific heads for PGD) and
the reduced model's derived optimum (:func:`theory.optima.optimum`).  An L-layer stack contains the one-layer
model (deeper ``W_v = 0``), so its optimum is at most the one-layer one; the gap is what depth buys.
:func:`multilayer_points` does several n at once (one panel model, :mod:`training.panel`).

Budgets (steps and samples, never seconds):

* ``quick=True``: the variance-reduced protocol (query integrated, Gram matrices drawn directly), 4 restarts,
  batch 1024, ``QUICK_STEPS`` steps; minutes per point on one CPU core.
* ``quick=False``: the paper's protocol (Section 6 / Appendix E: sampled sequences and query, batch 8192,
  20 000 Adam steps, best of 50 restarts); meant for a GPU.

The stack has no exact loss in this toolkit, so its cells run their whole budget (no early stop).

Error bars.  A point is the best of its restarts, a statistic whose spread over training runs (the 2-layer JT point of
figA2-clean at n = 10 has been seen between 13.87 and 14.94) far exceeds its evaluation error (+-0.03).  With ``seeds`` = S > 1
the panel trains S groups of R restarts each as one model (the restarts of group j are restarts jR .. jR + R - 1 of
the seed, so group 0 is the single-seed point); each group's best restart is measured on fresh samples, the point is
their mean, and its standard error combines the spread over the S groups with the evaluation error of the mean (in
quadrature: conservative, since the spread already contains evaluation noise).  The groups differ in their
initialisations and share the stream of training batches.  With S = 1 the error bar is the evaluation error only,
and the point says so (``error_bar``).  The quick budget trains one seed (S groups cost S times the member-steps;
the quick figures already take minutes), the full protocol ``FULL_SEEDS``.

Depth is added in stages.  Two layers train from the initialisation of :class:`training.models.MultiLayerAttention`;
a stack of L >= 3 layers continues from the trained (L-1)-layer stack of the same restarts (kept in this process: a
figure run's 3-layer point reuses the 2-layer stack its 2-layer point trained, with the same mixture, n, strategy,
seed, device and options) (its new layer a zero
residual update, :meth:`MultiLayerAttention.continue_from`) for ``DEEPEN_STEP_FRACTION`` of the steps at
``DEEPEN_LR_FACTOR`` times the learning rate.  Measured on figA2-clean, n = 10, quick budget (docs/training.md):
three layers trained from scratch ended at 20-47 (JT; above one layer's 17.93); continued from two layers at the
full learning rate they rose from 13.9 to 20.3 (the step is too large for three layers); at 0.3x JT went on down
(13.9 to 13.5) but PT ended with a heavy-tailed restart (18.7 to 24.5 +- 4.3); at 0.1x PT, JT and PGD all went
down (PT 18.66 to 18.39, JT 13.94 to 13.66, PGD 12.88 to 12.70).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from theory.attention import head_scaled_pgd_optimum
from theory.errors import VerifyError
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from theory.unconstrained import unconstrained_optimum
from training.config import as_strategy, check_positive_int, make_config
from training.panel import PanelRun, panel_results, train_panel

QUICK_STEPS = 1500
_QUICK: dict[str, Any] = {"steps": QUICK_STEPS, "batch_size": 1024, "restarts": 4, "lr": 0.05, "lr_final_ratio": 0.05,
                          "protocol": "variance-reduced", "tolerance": None, "warmup_steps": 100}
_FULL: dict[str, Any] = {"steps": 20_000, "batch_size": 8192, "restarts": 50, "lr": 0.05, "lr_final_ratio": 0.01,
                         "protocol": "literal", "tolerance": None, "warmup_steps": 1000}
DEEPEN_STEP_FRACTION = 1 / 3  # a deepening stage: this fraction of the budget's steps ...
DEEPEN_LR_FACTOR = 0.1  # ... at this factor of its learning rate
_STAGE_CACHE_SIZE = 32  # trained stacks kept per process (each a few MB at the full protocol's 50 restarts)
_STAGES: OrderedDict[tuple[Any, ...], PanelRun] = OrderedDict()
_QUICK_EVAL_REL_SE = 2e-3
QUICK_SEEDS = 1  # training seeds (groups of restarts) per point in the quick budget: error bars are evaluation-only
FULL_SEEDS = 3  # ... and in the paper-protocol budget: error bars include the spread over seeds
EVALUATION_ONLY = "evaluation only (one training seed)"
_FULL_EVAL_REL_SE = 5e-4
_EVAL_MAX_SAMPLES = 4_000_000


@dataclass(frozen=True)
class MultiLayerPoint:
    """One trained L-layer point: ``loss`` +- ``stderr`` (best restart, fresh samples) and the one-layer optima.

    ``one_layer`` is the exact optimum of the one-layer attention of the same kind (what depth must beat),
    ``one_layer_reduced`` the reduced model's derived optimum (Assumption 1; for PGD the debiased PGD optimum
    L~*_PGD), ``rel_gap`` = (loss - one_layer) / one_layer (negative: depth helps), ``z`` its size in standard
    errors.  ``restart_losses`` are the restarts' selection scores (query-integrated Monte Carlo on shared samples);
    ``steps`` counts the Adam steps of every stage (two layers, then each deepening stage).

    ``seeds`` training seeds (groups of ``restarts`` restarts, see the module docstring): ``seed_losses`` are their
    best restarts' losses (``loss`` is their mean), ``seed_stderr`` the standard error of that mean over the seeds
    (None for one seed), ``eval_stderr`` the evaluation error of the mean, and ``stderr`` the error bar:
    ``sqrt(seed_stderr^2 + eval_stderr^2)``, or ``eval_stderr`` alone for one seed, which ``error_bar`` then labels
    :data:`EVALUATION_ONLY`.
    """

    strategy: str
    n: int
    layers: int
    loss: float
    stderr: float
    samples: int
    one_layer: float
    one_layer_reduced: float
    rel_gap: float
    z: float
    restart_losses: list[float]
    steps: int
    restarts: int
    protocol: str
    quick: bool
    seed: int
    skewness: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    seeds: int = 1
    seed_losses: list[float] = field(default_factory=list)
    seed_stderr: float | None = None
    eval_stderr: float = 0.0
    error_bar: str = EVALUATION_ONLY

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def multilayer_options(quick: bool) -> dict[str, Any]:
    """The :class:`training.config.TrainingConfig` options :func:`multilayer_point` uses."""
    return dict(_QUICK if quick else _FULL)


def one_layer_optima(strategy: Strategy | str, mixture: TaskMixture, n: int) -> tuple[float, float]:
    """(exact optimum of the one-layer attention of the strategy's kind, the reduced model's derived optimum)."""
    strategy = as_strategy(strategy)
    if strategy is Strategy.PGD:
        return (unconstrained_optimum(mixture, n, "JT", shared_head=False, starts=4).loss,
                optimum(Strategy.PGD, mixture, n).loss)
    if strategy is Strategy.FT:
        raise VerifyError("strategy: Appendix E trains jointly (PT, JT, or PGD with task heads), not FT")
    return unconstrained_optimum(mixture, n, strategy.value, starts=4).loss, optimum(strategy, mixture, n).loss


def multilayer_points(mixture: TaskMixture, ns: list[int], layers: int, *, strategy: Strategy | str = "JT",
                      quick: bool = True, seed: int = 0, device: str | torch.device = "cpu", progress: bool = False,
                      seeds: int | None = None, **options: Any) -> dict[int, MultiLayerPoint]:
    """:func:`multilayer_point` at several n, trained together as one panel model (same seeds per restart).

    ``seeds``: training seeds per point (default :data:`QUICK_SEEDS` or :data:`FULL_SEEDS`; see the module
    docstring)."""
    strategy = as_strategy(strategy)
    layers = check_positive_int("layers", layers)
    seeds = check_positive_int("seeds", QUICK_SEEDS if quick else FULL_SEEDS) if seeds is None \
        else check_positive_int("seeds", seeds)
    if strategy is Strategy.FT:
        raise VerifyError("strategy: Appendix E trains jointly (PT, JT, or PGD with task heads), not FT")
    settings = {**multilayer_options(quick), **options}
    restarts = check_positive_int("restarts", settings["restarts"])
    config = make_config(**{**settings, "restarts": restarts * seeds})
    deepen_steps = max(1, round(settings["steps"] * DEEPEN_STEP_FRACTION))
    deepen = {**settings, "restarts": restarts * seeds, "steps": deepen_steps, "lr": settings["lr"] * DEEPEN_LR_FACTOR,
              "warmup_steps": min(settings.get("warmup_steps", 0), deepen_steps)}
    key = (json.dumps(mixture.to_dict(), sort_keys=True), tuple(ns), strategy.value, int(seed), str(device),
           json.dumps(settings, sort_keys=True, default=str), seeds)

    def stage(depth: int, below: PanelRun | None) -> PanelRun:
        """The trained ``depth``-layer stack: from its initialisation (2 layers or fewer) or continued from
        ``below``; kept for this process, so that a deeper stack of the same panel and seed reuses it."""
        cached = _STAGES.get((depth, *key))
        if cached is not None:
            _STAGES.move_to_end((depth, *key))
            return cached
        run = train_panel("multilayer", mixture, ns, [strategy], layers=depth, seed=seed, device=device,
                          progress=progress, config=config if below is None else make_config(**deepen),
                          warm_start=below)
        _STAGES[(depth, *key)] = run
        while len(_STAGES) > _STAGE_CACHE_SIZE:
            _STAGES.popitem(last=False)
        return run

    run = stage(min(layers, 2), None)
    steps = run.steps
    for depth in range(3, layers + 1):  # each deeper stack continues from the one below
        run = stage(depth, run)
        steps += run.steps
    if layers >= 3:
        settings = {**settings, "deepen": {key: deepen[key] for key in ("steps", "lr", "warmup_steps")}}
    eval_rel_se = _QUICK_EVAL_REL_SE if quick else _FULL_EVAL_REL_SE
    groups = [panel_results(_group(run, j, restarts), eval_rel_se=eval_rel_se, eval_max_samples=_EVAL_MAX_SAMPLES)
              for j in range(seeds)] if seeds > 1 else [panel_results(run, eval_rel_se=eval_rel_se,
                                                                      eval_max_samples=_EVAL_MAX_SAMPLES)]
    out: dict[int, MultiLayerPoint] = {}
    for key_n in groups[0]:
        n = key_n[1]
        exact, reduced = one_layer_optima(strategy, mixture, n)
        ests = [g[key_n].trained for g in groups]
        losses = [e.mean for e in ests]
        loss = sum(losses) / seeds
        eval_se = math.sqrt(sum(e.stderr ** 2 for e in ests)) / seeds
        seed_se = (math.sqrt(sum((v - loss) ** 2 for v in losses) / (seeds - 1) / seeds) if seeds > 1 else None)
        stderr = math.hypot(seed_se, eval_se) if seed_se is not None else eval_se
        out[n] = MultiLayerPoint(
            strategy=strategy.value, n=n, layers=layers, loss=loss, stderr=stderr, samples=sum(e.samples for e in ests),
            one_layer=exact, one_layer_reduced=reduced, rel_gap=(loss - exact) / exact,
            z=(loss - exact) / stderr if stderr > 0 else math.copysign(math.inf, loss - exact),
            restart_losses=[v for g in groups for v in g[key_n].restart_losses], steps=steps, restarts=restarts,
            protocol=config.protocol, quick=quick, seed=seed, skewness=ests[0].skewness, options=settings,
            seeds=seeds, seed_losses=losses, seed_stderr=seed_se, eval_stderr=eval_se,
            error_bar=(f"training seeds and evaluation ({seeds} seeds of {restarts} restarts)" if seeds > 1
                       else EVALUATION_ONLY))
    return out


def _group(run: PanelRun, j: int, restarts: int) -> PanelRun:
    """Group j of a panel trained with ``seeds`` x ``restarts`` restarts per cell: restarts jR .. jR + R - 1 of each
    cell, as a run of R restarts (measured with samples of its own: the seed tree's stream ('multilayer', 'group', j))."""
    cells = [dataclasses.replace(c, members=slice(c.members.start + j * restarts, c.members.start + (j + 1) * restarts))
             for c in run.cells]
    return dataclasses.replace(run, cells=cells, seed=run.seed if j == 0 else child_seed(run.seed, "multilayer", "group", j))


def multilayer_point(mixture: TaskMixture, n: int, layers: int, *, strategy: Strategy | str = "JT", quick: bool = True,
                     seed: int = 0, device: str | torch.device = "cpu", progress: bool = False,
                     seeds: int | None = None, **options: Any) -> MultiLayerPoint:
    """Train the L-layer stack of Appendix E (``strategy``: "PT", "JT", or "PGD" for prompts and task-specific
    heads, Figure A2's three settings) at context length n; the best restart's loss +- SE and the one-layer optima.

    ``options`` override :func:`multilayer_options` (:class:`training.config.TrainingConfig` fields).  Layer 1
    starts as the one-layer model does, deeper layers as zero residual updates, with the token rescaling and
    step scales of :class:`training.models.MultiLayerAttention`.

    Example
    -------
    >>> from theory.mixture import preset
    >>> p = multilayer_point(preset("figA2-clean"), 3, 2, steps=5, batch_size=64, restarts=2)
    >>> p.layers, p.strategy, p.stderr > 0
    (2, 'JT', True)
    """
    return multilayer_points(mixture, [n], layers, strategy=strategy, quick=quick, seed=seed, device=device,
                             progress=progress, seeds=seeds, **options)[n]


def pgd_reference(mixture: TaskMixture, n: int) -> float:
    """The head-scaled PGD loss (an attention loss task-specific heads can reach; at most L~*_PGD)."""
    return head_scaled_pgd_optimum(mixture, n).loss

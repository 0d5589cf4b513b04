"""The one trainer: every (n, strategy) cell x restart of a figure panel as the members of one model.

A single training point (:func:`training.train`) is a one-cell panel; a figure panel is many cells at once.

Strategies (:class:`theory.strategy.Strategy`, Sections 4-5), each a list of phases that name the parameters they
train (the model's :meth:`~training.models.TrainableModel.trainable_phases`):

* ``PT`` plain training: no prompts (P = 0), train the attention weights (eq. 10);
* ``FT`` fine-tuning: plain training with the prompts at zero, then the prompts alone, from their random
  initialisation, with the weights (and head) frozen (eq. 11);
* ``JT`` joint training: prompts and weights together (eq. 12);
* ``PGD`` joint training of prompts, weights and task-specific heads (Definition 4, eq. 18), whose reduced optimum
  is the debiased PGD of eq. (19); only the attention kinds have heads.

Section 6 trains, for each context length n and strategy, 50 restarts of 20 000 Adam steps on batches of
8192 and reports the best restart.  :func:`train_panel` does that for all the (n, strategy) *cells* of a panel
that share a model class in one :class:`~training.models.TrainableModel` whose members are the cells'
restarts (:class:`~training.panel_data.PanelLayout`), so that one step is a handful of large tensor
operations instead of a loop over points (the step time at the protocol's sizes is launch-bound, not
compute-bound).  Each member follows the trajectory it would follow alone:

* its own initialisation, from seed ``(seed, first_restart + r)`` at its cell's natural scales (the model's
  :meth:`~training.models.TrainableModel.natural_scales`: from n, d and E[y^2] only, never a derived optimum);
* its own loss on the shared batch (:mod:`training.panel_data`: a cell at n reads the first n tokens of the
  panel's sequences), summed over members so that each member's gradient is its own loss's.  The loss is the
  squared error on the sampled query label (``query="sampled"``, the paper's protocol) or its exact expectation
  over the query given the sampled task, beta and context (``query="integrated"``: the same population objective
  with less gradient noise);
* its own Adam state, step count, learning rate (``lr`` times its parameter's natural scale at its n, which is
  what a reparametrisation to O(1) parameters would do, decaying geometrically from ``lr`` to
  ``lr * lr_final_ratio`` over its phase's budget, after an optional linear warmup) and trainable mask (its
  strategy's phase), in :class:`MemberAdam`, which is torch's Adam update written per member.

Early stopping (budgets are steps, never seconds).  With ``tolerance`` set, every ``check_every`` steps of a
cell's phase, the model's exact loss of each of the cell's restarts
(:meth:`~training.models.TrainableModel.member_exact_losses`: the population loss of the reduced model, the exact
loss of the one-layer attention) is compared with the phase's optimum
(:meth:`~training.models.TrainableModel.member_targets`: the derived optimum of the model class; for the prompt
phase of "FT" each restart's own ``min_P L(W, P)``).  Once *every* restart is within ``tolerance`` of its optimum
the phase ends; a cell without an exact monitor (deeper stacks) runs its budget.  A finished cell's members are
frozen; a group whose cells are all finished is no longer computed.  The monitor only decides when to stop: the
reported loss is measured afterwards on fresh samples (:func:`panel_results`, :func:`training.results.summarise`).
A caller's own rule ``stop(step, model)`` can end the whole run early as well.

Protocols (:data:`training.config.PROTOCOLS`): ``"literal"`` (the default and the paper's: sampled sequences and
sampled query) and ``"variance-reduced"`` (query integrated out, Gram matrices drawn directly; the same population
objective, so the same optimum, with less gradient noise per step).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from montecarlo import mixture_tensors, resolve_device
from theory.errors import VerifyError
from theory.mixture import TaskMixture
from theory.seeds import child_seed
from theory.strategy import Strategy
from training.config import TrainingConfig, as_strategy, check_positive_int, check_seed, warmup_factor
from training.models import MultiLayerAttention, TrainableModel, model_kind
from training.panel_data import PanelLayout, PanelSampler, PanelStatistics
from training.results import TrainingResult, TrainingRun, summarise

StopRule = Callable[[int, TrainableModel], bool]
_CPU_CHUNK_BYTES = 1 << 30  # activations per forward/backward chunk (gradient accumulation beyond)
_CUDA_CHUNK_BYTES = 8 << 30


def restart_generator(seed: int, restart: int) -> torch.Generator:
    """CPU generator of restart r's initialisation (independent of R and of the panel, so batched == alone)."""
    return torch.Generator().manual_seed(child_seed(seed, "training", "restart", int(restart)) % (2**63 - 1))


class MemberAdam:
    """Adam (Kingma and Ba; torch's update, ``torch.optim.Adam`` defaults) for parameters whose leading axis is
    the members, each with its own step count, learning rate and trainable mask.

    A masked member's parameter, moments and step count do not change, exactly as a parameter outside the
    optimiser; :meth:`reset` clears a member's state, as a fresh optimiser does at a phase change.
    """

    def __init__(self, params: dict[str, torch.nn.Parameter], members: int, *, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.members, self.betas, self.eps = params, members, betas, eps
        self.exp_avg = {k: torch.zeros_like(p) for k, p in params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(p) for k, p in params.items()}
        device = next(iter(params.values())).device
        self.steps = {k: torch.zeros(members, dtype=torch.float64, device=device) for k in params}

    def reset(self, name: str, members: slice) -> None:
        self.exp_avg[name][members] = 0.0
        self.exp_avg_sq[name][members] = 0.0
        self.steps[name][members] = 0.0

    @torch.no_grad()
    def step(self, lrs: dict[str, Tensor], masks: dict[str, Tensor], active: set[str] | None = None) -> None:
        """One update: ``lrs[name]`` (M,) learning rates, ``masks[name]`` (M,) which members train ``name``;
        ``active``, when given, the names with some member training (known on the host: no device sync)."""
        beta1, beta2 = self.betas
        for name, p in self.params.items():
            mask = masks.get(name)
            if p.grad is None or mask is None or (active is not None and name not in active):
                continue
            if active is None and not bool(mask.any()):
                continue
            shape = (self.members,) + (1,) * (p.ndim - 1)
            m, v, grad = self.exp_avg[name], self.exp_avg_sq[name], p.grad
            keep = mask.view(shape)
            self.steps[name] += mask.to(torch.float64)
            t = self.steps[name].clamp(min=1.0)
            new_m = m.lerp(grad, 1 - beta1)
            new_v = v * beta2 + (1 - beta2) * grad * grad
            bc1 = (1 - beta1 ** t).to(p.dtype)
            bc2_sqrt = (1 - beta2 ** t).sqrt().to(p.dtype)
            step_size = (lrs[name].to(p.dtype) / bc1).view(shape)
            denom = new_v.sqrt() / bc2_sqrt.view(shape) + self.eps
            m.copy_(torch.where(keep, new_m, m))
            v.copy_(torch.where(keep, new_v, v))
            p.sub_(torch.where(keep, step_size * new_m / denom, torch.zeros((), dtype=p.dtype, device=p.device)))


@dataclass
class Cell:
    """One (n, strategy) point of the panel and where its training stands."""

    group: int
    strategy_index: int
    strategy: Strategy
    n: int
    members: slice
    phases: list[tuple[tuple[str, ...], int]]  # (trainable parameter names, step budget) per phase
    phase: int = 0
    phase_steps: int = 0
    steps: int = 0  # total steps trained (all phases)
    done: bool = False
    reached: list[bool] = field(default_factory=list)  # per finished phase: every restart within tolerance
    phase_end_steps: list[int] = field(default_factory=list)  # the panel step at which each phase ended
    last_exact: list[float] | None = None  # the exact losses at the last check (the final ones once done)
    last_targets: list[float] | None = None

    @property
    def key(self) -> tuple[Strategy, int]:
        return self.strategy, self.n


@dataclass
class PanelRun:
    """What :func:`train_panel` produced: the panel model, its cells, and how long it took."""

    model: TrainableModel
    model_kind: str
    layers: int
    layout: PanelLayout
    config: TrainingConfig
    seed: int
    mixture: TaskMixture
    cells: list[Cell]
    steps: int = 0  # panel steps (batches drawn)
    seconds: float = 0.0  # wall time of the training steps (monitor excluded)
    monitor_seconds: float = 0.0
    member_steps: int = 0  # sum over steps of the members computed (active groups x S x R)
    step_seconds: list[float] = field(default_factory=list)  # wall time of each step (monitor excluded)

    def cell(self, strategy: Strategy | str, n: int) -> Cell:
        strategy = as_strategy(strategy)
        for c in self.cells:
            if c.strategy is strategy and c.n == n:
                return c
        raise VerifyError(f"panel: no cell ({strategy.value}, n={n})")


def build_model(model: str, mixture: TaskMixture, layout: PanelLayout, *, layers: int = 1,
                device: str | torch.device = "cpu") -> TrainableModel:
    """An all-zero model of the registered kind ``model`` (:data:`training.models.KINDS`) whose members are the
    panel's: prompts unless every strategy is PT, task-specific heads for PGD (which needs a panel of its own)."""
    kind = model_kind(model)
    heads = {s.has_task_heads for s in layout.strategies}
    if len(heads) > 1:
        raise VerifyError("strategies: PGD (task-specific heads) and shared-head strategies are different models; "
                          "train them in separate panels")
    return kind.build(mixture, [int(v) for v in layout.member_ns()], layers=layers,
                      prompts=any(s.has_prompts for s in layout.strategies), task_heads=heads.pop(),
                      device=resolve_device(device))


def _chunk_size(net: TrainableModel, layout: PanelLayout, config: TrainingConfig, device: torch.device) -> int:
    """Samples per forward pass: the whole batch, unless the activations would exceed the memory budget."""
    if config.max_chunk is not None:
        return min(config.max_chunk, config.batch_size)
    if not net.reads_gram:  # the reduced model's moments: O(N B d^2) whatever the members
        return config.batch_size
    layers = getattr(net, "layers", 1)
    saved = 8 if layers == 1 else 12 * 4 ** (layers - 1)  # (members x samples x (d+1)) tensors kept for backward
    per_sample = layout.members * (net.d + 1) * 8 * saved
    budget = _CUDA_CHUNK_BYTES if device.type == "cuda" else _CPU_CHUNK_BYTES
    return max(1, min(config.batch_size, budget // per_sample))


@contextmanager
def _progress(enabled: bool, total: int, label: str, cells: int) -> Iterator[Callable[[int, int, Tensor], None]]:
    """A callback ``advance(step, cells_done, losses)`` that moves a rich progress bar (does nothing when disabled);
    ``total`` is the longest cell's budget (early stopping ends sooner)."""
    if not enabled:
        yield lambda step, cells_done, losses: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("cells done {task.fields[done]}/" + str(cells)), TextColumn("loss {task.fields[loss]}"),
               TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task_id = bar.add_task(label, total=total, done=0, loss="-")

        def advance(step: int, cells_done: int, losses: Tensor) -> None:
            bar.update(task_id, completed=step, done=cells_done, loss=f"{float(losses.min()):.4g}")

        yield advance


def train_panel(model: str, mixture: TaskMixture, ns: Sequence[int], strategies: Sequence[Strategy | str], *,
                layers: int = 1, config: TrainingConfig | None = None, seed: int = 0, device: str | torch.device = "cpu",
                progress: bool = False, warm_start: PanelRun | None = None, stop: StopRule | None = None,
                stop_every: int = 10) -> PanelRun:
    """Train every (n, strategy) cell of a panel, R restarts each, as the members of one model.

    ``model`` is a registered kind (:data:`training.models.KINDS`: ``"reduced"``, eq. 7; ``"attention"``, eqs. 6/17;
    ``"multilayer"``, Appendix E, ``layers``); the strategies share it (PGD, with task-specific heads, needs a panel
    of its own).  ``warm_start``: a finished ``"multilayer"`` run of the same panel with fewer layers; each member
    starts as that run's member ends, with the layers above as zero residual updates
    (:meth:`MultiLayerAttention.continue_from`).  ``stop(step, model)`` is called every ``stop_every`` steps (and
    after the last); training ends early when it returns True (its time is excluded from ``seconds``).  Returns the
    :class:`PanelRun`; :func:`panel_results` measures each cell's best restart on fresh samples.

    Example
    -------
    >>> from theory.mixture import preset
    >>> from training.config import make_config
    >>> run = train_panel("reduced", preset("fig2c"), [2, 5], ["PT", "JT"],
    ...                   config=make_config(steps=30, batch_size=256, restarts=2, tolerance=0.01, check_every=10))
    >>> [(c.strategy.value, c.n) for c in run.cells]
    [('PT', 2), ('JT', 2), ('PT', 5), ('JT', 5)]
    """
    config = config or TrainingConfig()
    seed = check_seed(seed)
    layers = check_positive_int("layers", layers)
    stop_every = check_positive_int("stop_every", stop_every)
    layout = PanelLayout(tuple(sorted(int(n) for n in ns)), tuple(as_strategy(s) for s in strategies), config.restarts)
    dev = resolve_device(device)
    net = build_model(model, mixture, layout, layers=layers, device=dev)
    scales = [net.natural_scales(mixture, n) for n in layout.ns]
    _initialise(net, layout, scales, config, seed)
    if warm_start is not None:
        if not isinstance(net, MultiLayerAttention) or warm_start.model_kind != "multilayer" \
                or warm_start.layout != layout or not isinstance(warm_start.model, MultiLayerAttention):
            raise VerifyError("warm start: only a 'multilayer' panel continues from a 'multilayer' run of the same "
                              "n, strategies and restarts")
        net.continue_from(warm_start.model)
    initial_prompts = net.prompt_parameter.detach().clone()  # where FT's prompt phase starts
    run = PanelRun(model=net, model_kind=model, layers=layers, layout=layout, config=config, seed=seed,
                   mixture=mixture, cells=_cells(net, layout, config))
    total = max(sum(budget for _, budget in c.phases) for c in run.cells)
    label = f"{model} L={layers} {layout.N} n x {layout.S} strategies x R={layout.R}"
    with _progress(progress, total, label, len(run.cells)) as advance:
        _loop(run, scales, initial_prompts, dev, advance, stop, stop_every)
    return run


def _initialise(net: TrainableModel, layout: PanelLayout, scales: list[dict[str, float]], config: TrainingConfig,
                seed: int) -> None:
    """Each member from its restart's own generator, at its cell's natural scales."""
    with torch.no_grad():
        for g in range(layout.N):
            for s in range(layout.S):
                first = layout.cell(g, s).start
                for r in range(layout.R):
                    generator = restart_generator(seed, config.first_restart + r)
                    net.initialise_restart(first + r, generator, scales[g], config.init_scale)


def _cells(net: TrainableModel, layout: PanelLayout, config: TrainingConfig) -> list[Cell]:
    """The cells with their phases' budgets; PT has no prompts, and FT pretrains without them (plain training)."""
    cells: list[Cell] = []
    for g, n in enumerate(layout.ns):
        for s, strategy in enumerate(layout.strategies):
            phases = net.trainable_phases(strategy)
            budgets = [config.steps if i == 0 else (config.ft_steps or config.steps) for i in range(len(phases))]
            cell = Cell(g, s, strategy, n, layout.cell(g, s), list(zip(phases, budgets, strict=True)))
            if net.prompt_name not in phases[0]:
                with torch.no_grad():
                    net.prompt_parameter[cell.members] = 0.0
            cells.append(cell)
    return cells


def _loop(run: PanelRun, scales: list[dict[str, float]], initial_prompts: Tensor, dev: torch.device,
          advance: Callable[[int, int, Tensor], None], stop: StopRule | None, stop_every: int) -> None:
    """The training loop: one shared batch and one member-wise Adam step per iteration, until every cell is done."""
    net, layout, config, cells = run.model, run.layout, run.config, run.cells
    names = list(scales[0])
    params = {name: net.get_parameter(name) for name in names}
    for p in params.values():
        p.requires_grad_(True)
    base_lr = {name: torch.tensor(np.repeat([config.lr * sc[name] for sc in scales], layout.S * layout.R),
                                  dtype=torch.float64, device=dev) for name in names}
    adam = MemberAdam(params, layout.members)
    sampler = PanelSampler(run.mixture, layout, data=config.data, batch_size=config.batch_size, seed=run.seed,
                           device=dev, gram=net.reads_gram)
    tensors = mixture_tensors(run.mixture, dev, torch.float64)
    chunk = _chunk_size(net, layout, config, dev)
    while active := [c for c in cells if not c.done]:
        start = time.perf_counter()
        group_list = sorted({c.group for c in active})
        groups = torch.tensor(group_list, device=dev)
        masks, lrs, trained = _masks_and_rates(active, names, base_lr, config, layout.members, dev)
        stats = sampler.draw(groups, group_list)
        for p in params.values():
            p.grad = None
        losses = _accumulate(net, stats, tensors, layout, config.query, chunk)
        adam.step(lrs, masks, trained)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        run.step_seconds.append(time.perf_counter() - start)
        run.seconds += run.step_seconds[-1]
        run.steps += 1
        run.member_steps += len(group_list) * layout.S * layout.R
        start = time.perf_counter()
        for c in active:
            c.phase_steps += 1
            c.steps += 1
            _check_cell(c, net, run.mixture, config, run.steps, adam, initial_prompts)
        advance(run.steps, sum(c.done for c in cells), losses)  # reads the losses only when a bar is shown
        if stop is not None and (run.steps % stop_every == 0 or all(c.done for c in cells)):
            with torch.no_grad():
                if stop(run.steps, net):
                    for c in cells:
                        c.done = True
        run.monitor_seconds += time.perf_counter() - start


def _masks_and_rates(active: list[Cell], names: list[str], base_lr: dict[str, Tensor], config: TrainingConfig,
                     members: int, device: torch.device) -> tuple[dict[str, Tensor], dict[str, Tensor], set[str]]:
    """Per parameter: which members train it this step and each member's learning rate (its phase's schedule),
    built on the host and sent once per parameter (a handful of copies per step, not one kernel per cell)."""
    masks = {name: np.zeros(members, dtype=bool) for name in names}
    factor = np.zeros(members)
    for c in active:
        trainable, budget = c.phases[c.phase]
        decay = config.lr_final_ratio ** (1.0 / max(budget - 1, 1))
        factor[c.members] = decay ** c.phase_steps * warmup_factor(c.phase_steps, config.warmup_steps)
        for name in trainable:
            masks[name][c.members] = True
    rate = torch.as_tensor(factor, device=device)
    trained = {name for name in names if masks[name].any()}
    return ({name: torch.as_tensor(m, device=device) for name, m in masks.items()},
            {name: base_lr[name] * rate for name in names}, trained)


def _accumulate(net: TrainableModel, stats: PanelStatistics, tensors: Any, layout: PanelLayout, query: str,
                chunk: int) -> Tensor:
    """Backward of the summed member losses on the batch, in chunks of samples (the same gradient); the last chunk's
    (Na, S, R) losses, detached (for the progress bar)."""
    B = stats.size
    for start in range(0, B, chunk):
        part = stats if chunk >= B else stats.chunk(start, min(B, start + chunk))
        losses = net.panel_losses(part, tensors, layout, query)
        (losses.sum() * (part.size / B)).backward()
    return losses.detach()


def _check_cell(c: Cell, net: TrainableModel, mixture: TaskMixture, config: TrainingConfig, step: int, adam: MemberAdam,
                initial_prompts: Tensor) -> None:
    """End the cell's phase at its budget, or early once every restart is within tolerance of its optimum (no
    monitor runs without a tolerance)."""
    _, budget = c.phases[c.phase]
    reached = False
    tol = config.tolerance
    if tol is not None and (c.phase_steps % config.check_every == 0 or c.phase_steps >= budget):
        with torch.no_grad():
            exact = net.member_exact_losses(mixture, c.n, c.members)
            targets = net.member_targets(c.strategy, c.phase, mixture, c.n, c.members) if exact is not None else None
        if exact is not None and targets is not None:
            c.last_exact, c.last_targets = [float(v) for v in exact], [float(v) for v in targets]
            reached = bool(np.all(exact <= targets + tol * np.abs(targets)))
    if not reached and c.phase_steps < budget:
        return
    c.reached.append(reached)
    c.phase_end_steps.append(step)
    if c.phase + 1 < len(c.phases):
        c.phase += 1
        c.phase_steps = 0
        trainable, _ = c.phases[c.phase]
        for name in trainable:
            adam.reset(name, c.members)
        if net.prompt_name in trainable:  # FT's prompt phase starts from the random initial prompts
            with torch.no_grad():
                net.prompt_parameter[c.members] = initial_prompts[c.members]
        return
    c.done = True


def panel_results(run: PanelRun, *, eval_rel_se: float = 2e-3, eval_max_samples: int = 2_000_000,
                  device: str | torch.device | None = None) -> dict[tuple[Strategy, int], TrainingResult]:
    """Each cell's :class:`~training.results.TrainingResult`: best restart, its loss on fresh samples, the comparison
    with the derived optimum (:func:`training.results.summarise` on the cell's restarts).

    ``train_seconds`` of a cell is the panel's training time divided by its number of cells (the cells share
    every step); ``steps_run`` is the cell's own number of steps.
    """
    dev = resolve_device(device) if device is not None else next(run.model.parameters()).device
    out: dict[tuple[Strategy, int], TrainingResult] = {}
    share = run.seconds / max(len(run.cells), 1)
    for c in run.cells:
        sub = run.model.extract(c.members, c.n)
        cell_run = TrainingRun(model=sub, strategy=c.strategy, config=run.config, seed=run.seed, steps_run=c.steps,
                               seconds=share)
        out[c.key] = summarise(cell_run, run.mixture, c.n, model_kind=run.model_kind, layers=run.layers, device=dev,
                               eval_rel_se=eval_rel_se, eval_max_samples=eval_max_samples)
    return out

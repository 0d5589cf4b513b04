"""The training strategies of Sections 4-5 (:class:`theory.strategy.Strategy`), as one plain training loop.

* ``Strategy.PT`` plain training: no prompts (P = 0), train the attention weights (eq. 10).
* ``Strategy.FT`` fine-tuning: plain training, then the prompts alone with the
  attention weights (and head) frozen (eq. 11).
* ``Strategy.JT`` joint training: prompts and attention weights together (eq. 12).
* ``Strategy.PGD`` joint training of prompts, attention weights and task-specific
  heads (Definition 4, eq. 18), whose reduced optimum is the debiased PGD of eq. (19);
  only the attention models have heads.

Every public function takes a :class:`~theory.strategy.Strategy` or its string value (``"PT"``, ...).

Every step draws a fresh batch from montecarlo's samplers (whole token sequences,
:func:`montecarlo.sample_batch`, or for one-layer models the context's Gram matrix drawn
directly, exact in law) and takes one Adam step on the loss summed over the R restarts (each
restart's gradient is its own mean loss's).  The per-sample loss is the squared error on the
sampled query label (the paper's protocol, ``query="sampled"``) or, for the one-layer models, its
exact expectation over the query given the sampled task, beta and context
(``query="integrated"``: the same population objective with less gradient noise).  The learning
rate decays geometrically from ``lr`` to ``lr * lr_final_ratio``.  Adam's step is set per
parameter group relative to each parameter's natural scale (the model's
:meth:`~training.models.TrainableModel.natural_scales`), which is what a reparametrisation to O(1)
parameters would do; it uses only n, d and E[y^2], never a derived optimum.  "FT" pretrains with
the prompts at zero (plain training), then tunes the prompts alone from their random
initialisation.  Which parameters each phase trains, the losses and the initialisation are the
model's own (:class:`training.models.TrainableModel`); the loop has no per-model code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from montecarlo import make_generator, mixture_tensors, resolve_device, sample_batch, sample_context_statistics
from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import TaskMixture
from theory.seeds import child_seed
from theory.strategy import Strategy
from training.models import (
    MODELS,
    AttentionModel,
    MultiLayerAttention,
    ReducedModel,
    TrainableModel,
    check_positive_int,
    stack_label_scale,
)

StopRule = Callable[[int, TrainableModel], bool]


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (keyword-only everywhere; unknown keys are rejected by :func:`make_config`).

    steps : Adam steps (for "FT": the pretraining steps; the prompt phase gets ``ft_steps``).
    batch_size : fresh sequences per step, shared by the restarts.
    lr : initial Adam step relative to each parameter's natural scale.
    lr_final_ratio : the learning rate decays geometrically to ``lr * lr_final_ratio``.
    restarts : R independent initialisations trained as one batched model.
    first_restart : index of the first restart (restart r is initialised from seed (seed, r), so
        ``restarts=1, first_restart=r`` reproduces restart r of a batched run).
    ft_steps : steps of the prompt phase of "FT" (default: ``steps``).
    init_scale : standard deviation of the random initialisation, relative to the natural scales.
    query : ``"sampled"``: the squared error on the sampled query label (the paper's protocol);
        ``"integrated"``: its exact expectation over the query given the sampled task, beta and
        context (one-layer models only; the same population objective with less gradient noise).
    data : ``"sequences"`` (whole token sequences) or ``"statistics"`` (the context Gram matrix drawn
        directly; models linear in the query, ``query="integrated"``); see :class:`_Data`.
    warmup_steps : the learning rate ramps up linearly over the first ``warmup_steps`` steps of each phase
        (0: none), on top of the decay.
    """

    steps: int = 400
    batch_size: int = 2048
    lr: float = 0.05
    lr_final_ratio: float = 0.01
    restarts: int = 4
    first_restart: int = 0
    ft_steps: int | None = None
    init_scale: float = 0.5
    query: str = "sampled"
    data: str = "sequences"
    warmup_steps: int = 0


def make_config(**options: Any) -> TrainingConfig:
    """A validated :class:`TrainingConfig`; unknown options and bad values raise VerifyError naming the field."""
    known = set(TrainingConfig.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise VerifyError(f"training option: unknown {unknown} (known: {', '.join(sorted(known))})")
    config = TrainingConfig(**options)
    for name in ("steps", "batch_size", "restarts"):
        check_positive_int(name, getattr(config, name))
    if config.ft_steps is not None:
        check_positive_int("ft_steps", config.ft_steps)
    if isinstance(config.warmup_steps, bool) or not isinstance(config.warmup_steps, int) or config.warmup_steps < 0:
        raise VerifyError(f"warmup_steps: must be an integer >= 0, got {config.warmup_steps!r}")
    if isinstance(config.first_restart, bool) or not isinstance(config.first_restart, int) or config.first_restart < 0:
        raise VerifyError(f"first_restart: must be an integer >= 0, got {config.first_restart!r}")
    if config.query not in ("sampled", "integrated"):
        raise VerifyError(f"query: expected 'sampled' or 'integrated', got {config.query!r}")
    if config.data not in ("sequences", "statistics"):
        raise VerifyError(f"data: expected 'sequences' or 'statistics', got {config.data!r}")
    for name in ("lr", "lr_final_ratio", "init_scale"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise VerifyError(f"{name}: must be a positive number, got {value!r}")
    return config


@dataclass
class TrainingRun:
    """What the loop produced: the trained model and how it got there."""

    model: TrainableModel
    strategy: Strategy
    config: Any  # a TrainingConfig, or a training.panel.PanelConfig for a panel's cell (a dataclass either way)
    seed: int
    steps_run: int
    seconds: float  # wall time of the training steps (excluding time spent in the stop rule)
    train_losses: list[list[float]] = field(default_factory=list)  # per logged step: (R,) minibatch losses
    stopped_early: bool = False


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The linear warmup's multiplier at (0-based) ``step``: ``min(1, (step + 1) / warmup_steps)``; 1 without warmup."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)


def as_strategy(strategy: object) -> Strategy:
    """The :class:`~theory.strategy.Strategy` named by ``strategy`` (a Strategy or its value), else VerifyError."""
    if not isinstance(strategy, str):
        raise VerifyError(f"strategy: expected a name, got {strategy!r}")
    try:
        return Strategy(strategy)
    except ValueError:
        raise VerifyError(f"strategy: unknown {strategy!r} (expected one of {', '.join(Strategy)})") from None


def check_strategy(strategy: object, model: str) -> Strategy:
    """The strategy, checked against the model name (task-specific heads need an attention model)."""
    strategy = as_strategy(strategy)
    if model not in MODELS:
        raise VerifyError(f"model: unknown {model!r} (expected one of {', '.join(MODELS)})")
    if strategy.has_task_heads and model == "reduced":
        raise VerifyError(f"strategy: {strategy.value!r} needs task-specific heads, which the reduced model does not "
                          "have (use model='attention' or 'multilayer')")
    return strategy


def restart_generator(seed: int, restart: int) -> torch.Generator:
    """CPU generator of restart r's initialisation (independent of R, so batched == alone)."""
    return torch.Generator().manual_seed(child_seed(seed, "training", "restart", int(restart)) % (2**63 - 1))


def _initialise(model: TrainableModel, scales: dict[str, float], config: TrainingConfig, seed: int) -> None:
    """Fill every trainable parameter of each restart from that restart's own generator."""
    with torch.no_grad():
        for i in range(model.restarts):
            model.initialise_restart(i, restart_generator(seed, config.first_restart + i), scales, config.init_scale)


def _param_groups(model: TrainableModel, scales: dict[str, float], lr: float,
                  trainable: tuple[str, ...]) -> list[dict[str, Any]]:
    """One Adam group per parameter in ``trainable`` (step ``lr`` times its natural scale); the others frozen."""
    groups = []
    for name, scale in scales.items():
        param = model.get_parameter(name)
        if name in trainable:
            param.requires_grad_(True)
            groups.append({"params": [param], "lr": lr * scale, "base_lr": lr * scale})
        else:
            param.requires_grad_(False)
    return groups


def _phases(strategy: Strategy, model: TrainableModel, config: TrainingConfig) -> list[tuple[tuple[str, ...], int]]:
    """(trainable parameter names, steps) per phase: ``steps`` for the first, ``ft_steps`` (default ``steps``) after."""
    return [(names, config.steps if i == 0 else config.ft_steps or config.steps)
            for i, names in enumerate(model.trainable_phases(strategy))]


class _Data:
    """Fresh training batches from montecarlo's samplers, and the per-restart loss on them.

    ``data="sequences"``: whole token sequences (:func:`montecarlo.sample_batch`);
    ``data="statistics"``: the context's Gram matrix drawn directly
    (:func:`montecarlo.sample_context_statistics`, exact in law, cost independent of n;
    one-layer models only, which read the context only through it).
    ``query="sampled"``: squared error on the sampled query label (the model's
    :meth:`~training.models.TrainableModel.sampled_losses`); ``"integrated"``: for a
    prediction f = x^T v with x ~ N(0, Sigma_x) and y = x^T beta + xi independent of the context,
    E[(f - y)^2 | task, beta, context] = (v - beta)^T Sigma_x (v - beta) + sigma^2, exactly
    (the model's :meth:`~training.models.TrainableModel.integrated_losses`).
    """

    def __init__(self, mixture: TaskMixture, n: int, config: TrainingConfig, net: TrainableModel, seed: int,
                 device: torch.device) -> None:
        if not net.linear_in_query and (config.query != "sampled" or config.data != "sequences"):
            raise VerifyError(f"query/data: {type(net).__name__} is not linear in the query and reads whole "
                              "sequences; use query='sampled', data='sequences'")
        if config.data == "statistics" and config.query != "integrated":
            raise VerifyError("query: data='statistics' draws no query; use query='integrated'")
        self.mixture, self.n, self.config, self.net, self.device = mixture, n, config, net, device
        self.generator = make_generator(int(seed), device)
        self.tensors = mixture_tensors(mixture, device, torch.float64)

    def losses(self) -> torch.Tensor:
        """(R,) mean losses of each restart on one fresh batch."""
        cfg, net = self.config, self.net
        if cfg.data == "statistics":
            stats = sample_context_statistics(self.tensors, self.n, cfg.batch_size, self.generator)
            return net.integrated_losses(stats, self.tensors)
        batch = sample_batch(self.mixture, self.n, cfg.batch_size, generator=self.generator, device=self.device)
        if cfg.query == "sampled":
            return net.sampled_losses(batch)
        return net.integrated_losses(batch, self.tensors)


def build_model(strategy: Strategy | str, mixture: TaskMixture, n: int, *, model: str = "reduced", layers: int = 1,
                restarts: int = 1, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float64) -> TrainableModel:
    """An uninitialised (all-zero) model for the strategy: prompts unless PT, task heads for PGD."""
    strategy = check_strategy(strategy, model)
    prompts = strategy.has_prompts
    if model == "reduced":
        return ReducedModel(mixture.d, mixture.K, restarts=restarts, prompts=prompts, dtype=dtype, device=device)
    heads = strategy.has_task_heads
    if model == "attention":
        if layers != 1:
            raise VerifyError(f"layers: the one-layer 'attention' model has layers=1, got {layers!r} (use 'multilayer')")
        return AttentionModel(mixture.d, mixture.K, n, restarts=restarts, prompts=prompts, task_heads=heads,
                              dtype=dtype, device=device)
    return MultiLayerAttention(mixture.d, mixture.K, n, layers=layers, restarts=restarts, prompts=prompts,
                               task_heads=heads, label_scale=stack_label_scale(mixture, layers), dtype=dtype,
                               device=device)


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int, torch.Tensor], None]]:
    """A callback ``advance(steps, losses)`` that moves a rich progress bar (does nothing when disabled)."""
    if not enabled:
        yield lambda advance, losses: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task_id = bar.add_task(label, total=total, loss="-")

        def advance(steps: int, losses: torch.Tensor) -> None:
            bar.update(task_id, advance=steps, loss=f"{float(losses.min()):.4g}")

        yield advance


def run_training(strategy: Strategy | str, mixture: TaskMixture, n: int, *, model: str = "reduced", layers: int = 1,
                 config: TrainingConfig | None = None, seed: int = 0, device: str | torch.device = "cpu",
                 stop: StopRule | None = None, stop_every: int = 10, progress: bool = False,
                 log_every: int = 0) -> TrainingRun:
    """Train R restarts of a model with one strategy; the plain loop behind :func:`training.train`.

    ``stop(step, model)`` is called every ``stop_every`` steps (and after the last);
    training ends early when it returns True.  Its time is excluded from ``seconds``.
    """
    strategy = check_strategy(strategy, model)
    n = check_context_length(n)
    config = config or TrainingConfig()
    check_positive_int("layers", layers)
    check_positive_int("stop_every", stop_every)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VerifyError(f"seed: must be an integer >= 0, got {seed!r}")
    dev = resolve_device(device)
    net = build_model(strategy, mixture, n, model=model, layers=layers, restarts=config.restarts, device=dev)
    scales = net.natural_scales(mixture, n)
    _initialise(net, scales, config, int(seed))
    data = _Data(mixture, n, config, net, int(seed), dev)
    phases = _phases(strategy, net, config)
    total = sum(steps for _, steps in phases)
    run = TrainingRun(model=net, strategy=strategy, config=config, seed=int(seed), steps_run=0, seconds=0.0)
    step = 0
    prompts = net.prompt_parameter
    initial_prompts = prompts.detach().clone()
    if strategy is Strategy.FT:  # pretraining is plain training: no prompts until the prompt phase
        with torch.no_grad():
            prompts.zero_()
    with _progress(progress, total, f"{strategy} {model} n={n} R={config.restarts}") as advance:
        for phase, (trainable, steps) in enumerate(phases):
            if strategy is Strategy.FT and phase == 1:  # prompt tuning starts from the random initial prompts
                with torch.no_grad():
                    prompts.copy_(initial_prompts)
            groups = _param_groups(net, scales, config.lr, trainable)
            optimiser = torch.optim.Adam(groups)
            decay = config.lr_final_ratio ** (1.0 / max(steps - 1, 1))
            for t in range(steps):
                start = time.perf_counter()
                for group in optimiser.param_groups:
                    group["lr"] = group["base_lr"] * decay**t * warmup_factor(t, config.warmup_steps)
                losses = data.losses()  # (R,)
                optimiser.zero_grad(set_to_none=True)
                losses.sum().backward()
                optimiser.step()
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                run.seconds += time.perf_counter() - start
                step += 1
                run.steps_run = step
                if log_every and (step % log_every == 0 or step == total):
                    run.train_losses.append(losses.detach().cpu().tolist())
                advance(1, losses.detach())  # reads the value only when a progress bar is shown
                if stop is not None and (step % stop_every == 0 or step == total):
                    with torch.no_grad():
                        if stop(step, net):
                            run.stopped_early = step < total
                            return run
    return run

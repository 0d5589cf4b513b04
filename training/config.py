"""The one training configuration: :class:`TrainingConfig` and its validating factory :func:`make_config`.

Every training run, one point (:func:`training.train`) or a whole figure panel (:func:`training.train_panel`),
is configured by the same dataclass; unknown keys are rejected and bad values raise VerifyError naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from theory.errors import VerifyError
from theory.strategy import Strategy

PROTOCOLS = {"literal": ("sampled", "sequences"), "variance-reduced": ("integrated", "statistics")}
"""Named (query, data) pairs.  ``literal``: sampled sequences and sampled query (the paper's protocol, Section 6);
``variance-reduced``: query integrated exactly and the Gram matrix drawn directly (the same population objective,
less noise per step)."""


def check_positive_int(name: str, value: object) -> int:
    """An integer >= 1, else VerifyError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VerifyError(f"{name}: must be an integer >= 1, got {value!r}")
    return int(value)


def check_seed(seed: object) -> int:
    """An integer >= 0, else VerifyError naming the field."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VerifyError(f"seed: must be an integer >= 0, got {seed!r}")
    return int(seed)


def as_strategy(strategy: object) -> Strategy:
    """The :class:`~theory.strategy.Strategy` named by ``strategy`` (a Strategy or its value), else VerifyError."""
    if not isinstance(strategy, str):
        raise VerifyError(f"strategy: expected a name, got {strategy!r}")
    try:
        return Strategy(strategy)
    except ValueError:
        raise VerifyError(f"strategy: unknown {strategy!r} (expected one of {', '.join(Strategy)})") from None


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (keyword-only everywhere; :func:`make_config` validates them).

    steps : Adam steps of each cell's first phase (for "FT": the pretraining; its prompt phase gets ``ft_steps``,
        default ``steps``).
    batch_size : fresh sequences per step, shared by every restart (and every cell of a panel).
    restarts : R independent initialisations per cell.
    first_restart : index of the first restart (restart r is initialised from seed (seed, r), so
        ``restarts=1, first_restart=r`` reproduces restart r of a batched run).
    lr, lr_final_ratio : initial Adam step relative to each parameter's natural scale, decaying geometrically to
        ``lr * lr_final_ratio`` over the phase's budget.
    init_scale : standard deviation of the random initialisation, relative to the natural scales.
    query : ``"sampled"``: the squared error on the sampled query label (the paper's protocol);
        ``"integrated"``: its exact expectation over the query given the sampled task, beta and context.
    data : ``"sequences"`` (whole token sequences) or ``"statistics"`` (the context Gram matrix drawn directly;
        needs ``query="integrated"``).  :data:`PROTOCOLS` names the two usual pairs; ``make_config(protocol=...)``
        sets both.
    warmup_steps : the learning rate ramps up linearly over the first ``warmup_steps`` steps of each phase
        (0: none), on top of the decay.
    tolerance : a cell's phase ends once every restart's exact loss is at most ``(1 + tolerance)`` times its
        optimum (the exact-loss monitor); None: every cell runs its budget and no monitor runs.
    check_every : steps between two checks of the monitor.
    max_chunk : samples per forward pass (gradients accumulate over the chunks of a batch; the same gradient);
        None: from a memory budget (1 GiB of activations on CPU, 8 GiB on CUDA).
    """

    steps: int = 400
    batch_size: int = 2048
    restarts: int = 4
    first_restart: int = 0
    lr: float = 0.05
    lr_final_ratio: float = 0.01
    init_scale: float = 0.5
    query: str = "sampled"
    data: str = "sequences"
    warmup_steps: int = 0
    ft_steps: int | None = None
    tolerance: float | None = None
    check_every: int = 50
    max_chunk: int | None = None

    @property
    def protocol(self) -> str:
        """The name of the (query, data) pair in :data:`PROTOCOLS`, else ``"query=..., data=..."``."""
        for name, pair in PROTOCOLS.items():
            if pair == (self.query, self.data):
                return name
        return f"query={self.query}, data={self.data}"


def _check_number(name: str, value: object, *, at_least: float, strict: bool) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > at_least if strict else value >= at_least))
    if not ok:
        raise VerifyError(f"{name}: must be a {'positive number' if strict else 'number >= 0'}, got {value!r}")


def make_config(**options: Any) -> TrainingConfig:
    """A validated :class:`TrainingConfig`; unknown options and bad values raise VerifyError naming the field.

    ``protocol`` (a key of :data:`PROTOCOLS`) may stand for ``query`` and ``data`` together.
    """
    known = {f.name for f in fields(TrainingConfig)}
    unknown = sorted(set(options) - known - {"protocol"})
    if unknown:
        raise VerifyError(f"training option: unknown {unknown} (known: {', '.join(sorted(known | {'protocol'}))})")
    if "protocol" in options:
        protocol = options.pop("protocol")
        if protocol not in PROTOCOLS:
            raise VerifyError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if "query" in options or "data" in options:
            raise VerifyError("protocol: names the query and the data together; give it or them, not both")
        options["query"], options["data"] = PROTOCOLS[protocol]
    config = TrainingConfig(**options)
    for name in ("steps", "batch_size", "restarts", "check_every"):
        check_positive_int(name, getattr(config, name))
    for name in ("ft_steps", "max_chunk"):
        if getattr(config, name) is not None:
            check_positive_int(name, getattr(config, name))
    for name in ("warmup_steps", "first_restart"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise VerifyError(f"{name}: must be an integer >= 0, got {value!r}")
    if config.query not in ("sampled", "integrated"):
        raise VerifyError(f"query: expected 'sampled' or 'integrated', got {config.query!r}")
    if config.data not in ("sequences", "statistics"):
        raise VerifyError(f"data: expected 'sequences' or 'statistics', got {config.data!r}")
    if config.data == "statistics" and config.query != "integrated":
        raise VerifyError("query: data='statistics' draws no query; use query='integrated'")
    for name in ("lr", "lr_final_ratio", "init_scale"):
        _check_number(name, getattr(config, name), at_least=0.0, strict=True)
    if config.tolerance is not None:
        _check_number("tolerance", config.tolerance, at_least=0.0, strict=False)
    return config


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The linear warmup's multiplier at (0-based) ``step``: ``min(1, (step + 1) / warmup_steps)``; 1 without warmup."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)

"""One call from a strategy name to a :class:`TrainingResult`: build, train, evaluate, compare."""

from __future__ import annotations

from typing import Any

import torch

from montecarlo import resolve_device
from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from training.models import check_positive_int
from training.results import TrainingResult, summarise
from training.strategies import StopRule, check_strategy, make_config, run_training


def train(strategy: Strategy | str, mixture: TaskMixture, n: int, *, model: str = "reduced", layers: int = 1, seed: int = 0,
          device: str | torch.device = "cpu", progress: bool = False, stop: StopRule | None = None,
          stop_every: int = 10, eval_rel_se: float = 2e-3, eval_max_samples: int = 2_000_000,
          **options: Any) -> TrainingResult:
    """Train R restarts of a model with a strategy of Sections 4-5 and compare with the derived optimum.

    Parameters
    ----------
    strategy : a :class:`theory.strategy.Strategy` or its value: ``"PT"`` (eq. 10), ``"FT"`` (eq. 11),
        ``"JT"`` (eq. 12) or ``"PGD"`` (eq. 18: prompts, attention and task-specific heads, compared with the
        debiased PGD optimum of eq. 19; attention models only).
    mixture : the task mixture (Definition 2).
    n : context length.
    model : ``"reduced"`` (Assumption 1, eq. 7), ``"attention"`` (eq. 6 / 17) or ``"multilayer"`` (Appendix E).
    layers : depth of the ``"multilayer"`` model.
    seed : data stream seed; restart r is initialised from (seed, r).
    device : ``"cpu"``, ``"cuda[:N]"`` or ``"auto"``.
    progress : show a rich progress bar.
    stop, stop_every : optional early-stopping rule ``stop(step, model) -> bool`` (see :func:`run_training`).
    eval_rel_se, eval_max_samples : precision and budget of the final Monte Carlo estimate.
    options : :class:`training.strategies.TrainingConfig` fields (``steps``, ``batch_size``, ``lr``,
        ``lr_final_ratio``, ``restarts``, ``first_restart``, ``ft_steps``, ``init_scale``, ``query``, ``data``).

    Example
    -------
    >>> from theory.mixture import preset
    >>> res = train("JT", preset("fig2c"), 10, steps=20, restarts=2, batch_size=256, eval_rel_se=5e-2)
    >>> sorted(res.to_json())[:3]
    ['K', 'best_restart', 'comparison']
    """
    if not isinstance(model, str):
        raise VerifyError(f"model: expected a name, got {model!r}")
    strategy = check_strategy(strategy, model)
    n = check_context_length(n)
    layers = check_positive_int("layers", layers)
    if model != "multilayer" and layers != 1:
        raise VerifyError(f"layers: only the 'multilayer' model has a depth, got layers={layers!r} for {model!r}")
    config = make_config(**options)
    dev = resolve_device(device)
    run = run_training(strategy, mixture, n, model=model, layers=layers, config=config, seed=seed, device=dev,
                       stop=stop, stop_every=stop_every, progress=progress)
    return summarise(run, mixture, n, model_kind=model, layers=layers, device=dev, eval_rel_se=eval_rel_se,
                     eval_max_samples=eval_max_samples)

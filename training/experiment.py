"""One call from a strategy name to a :class:`TrainingResult`: a one-cell panel trained, evaluated, compared."""

from __future__ import annotations

from typing import Any

import torch

from theory.loss import check_context_length
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from training.config import as_strategy, make_config
from training.models import model_kind
from training.panel import StopRule, panel_results, train_panel
from training.results import TrainingResult


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
    stop, stop_every : optional early-stopping rule ``stop(step, model) -> bool`` (see :func:`training.train_panel`).
    eval_rel_se, eval_max_samples : precision and budget of the final Monte Carlo estimate.
    options : :class:`training.config.TrainingConfig` fields (``steps``, ``batch_size``, ``lr``,
        ``lr_final_ratio``, ``restarts``, ``first_restart``, ``ft_steps``, ``init_scale``, ``query``, ``data``,
        ``tolerance``, ...; or ``protocol``).

    It is :func:`training.train_panel` with one n and one strategy, and its cell's :func:`training.panel_results`.

    Example
    -------
    >>> from theory.mixture import preset
    >>> res = train("JT", preset("fig2c"), 10, steps=20, restarts=2, batch_size=256, eval_rel_se=5e-2)
    >>> sorted(res.to_json())[:3]
    ['K', 'best_restart', 'comparison']
    """
    strategy = as_strategy(strategy)
    model_kind(model)
    n = check_context_length(n)
    config = make_config(**options)
    run = train_panel(model, mixture, [n], [strategy], layers=layers, config=config, seed=seed, device=device,
                      progress=progress, stop=stop, stop_every=stop_every)
    return panel_results(run, eval_rel_se=eval_rel_se, eval_max_samples=eval_max_samples)[(strategy, n)]

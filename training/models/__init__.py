"""The model kinds of the paper and their one registry, :data:`KINDS` (name -> class).

* ``"reduced"``: :class:`ReducedModel`, Assumption 1 / eq. (7), ``f = x^T W (X^T y + p_k)`` (eq. 8 prompts);
* ``"attention"``: :class:`AttentionModel`, one layer of linear attention, eqs. (6) / (17);
* ``"multilayer"``: :class:`MultiLayerAttention`, the L-layer residual stack of Appendix E.1.

Each kind is one class (a :class:`TrainableModel`) that owns its behaviour: how it is built for a strategy
(:meth:`TrainableModel.build`), its parameters' natural scales and initialisation, which parameters each strategy
trains, its losses on a batch, its exact loss and optimum where the toolkit has them (the early-stopping monitor),
how its restarts are scored and measured after training (through the :mod:`montecarlo.predictors` spec it names,
``predictor``), and how its learned parameters map back to the paper's quantities.  The trainer
(:mod:`training.panel`) and the summary (:mod:`training.results`) only call these methods, and every list of model
names (``train(model=...)``, ``train_panel``) reads :data:`KINDS`: a new kind is a class added here.
"""

from __future__ import annotations

from theory.errors import VerifyError
from training.models.attention import AttentionModel, MultiLayerAttention, stack_label_scale
from training.models.base import RestartScores, TrainableModel
from training.models.reduced import ReducedModel

KINDS: dict[str, type[TrainableModel]] = {cls.kind: cls for cls in (ReducedModel, AttentionModel, MultiLayerAttention)}
"""Every model kind by name: the one place a kind is registered."""


def model_kind(name: object) -> type[TrainableModel]:
    """The class registered under ``name`` in :data:`KINDS`, else VerifyError naming the field."""
    if not isinstance(name, str) or name not in KINDS:
        raise VerifyError(f"model: unknown {name!r} (expected one of {', '.join(KINDS)})")
    return KINDS[name]


__all__ = ["KINDS", "AttentionModel", "MultiLayerAttention", "ReducedModel", "RestartScores", "TrainableModel",
           "model_kind", "stack_label_scale"]

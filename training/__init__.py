"""Torch models and the training strategies of the paper, with restarts (and a panel's cells) batched in one model.

Public API::

    train, TrainingResult                               # one point: Strategy.PT, FT, JT, PGD (Sections 4-5)
    train_panel, panel_results, PanelRun                # every n x strategy x restart of a figure panel at once
    TrainingConfig, make_config, PROTOCOLS              # the one configuration of both; "literal" / "variance-reduced"
    training_evidence                                   # the training channel of ``verify``
    multilayer_point, multilayer_points, MultiLayerPoint  # Appendix E: L layers vs the exact one-layer optimum
    KINDS, TrainableModel                               # the registry of model kinds, and what a kind provides
    ReducedModel, AttentionModel, MultiLayerAttention   # the kinds: eq. (7); eqs. (6)/(17); Appendix E

``train`` is a one-cell panel: one loop (:func:`train_panel`), one Adam (:class:`training.panel.MemberAdam`), one
configuration.  Strategies are :class:`theory.strategy.Strategy` values; every function also takes the string value
(``"PT"``, ``"FT"``, ``"JT"``, ``"PGD"``).  ``PGD`` trains prompts, attention and task-specific heads (eq. 18) and is
compared with the debiased PGD optimum of eq. (19).  A model kind is one class registered in :data:`KINDS`.

Example
-------
>>> from theory.mixture import preset
>>> res = train("PT", preset("fig2c"), 10, steps=20, restarts=2, batch_size=256, eval_rel_se=5e-2)
>>> res.strategy.value, len(res.restart_losses)
('PT', 2)
"""

from training.config import PROTOCOLS, TrainingConfig, make_config
from training.evidence import training_evidence
from training.experiment import train
from training.models import KINDS, AttentionModel, MultiLayerAttention, ReducedModel, TrainableModel
from training.multilayer import MultiLayerPoint, multilayer_point, multilayer_points
from training.panel import PanelRun, panel_results, train_panel
from training.results import TrainingResult

__all__ = [
    "KINDS",
    "PROTOCOLS",
    "AttentionModel",
    "MultiLayerAttention",
    "MultiLayerPoint",
    "PanelRun",
    "ReducedModel",
    "TrainableModel",
    "TrainingConfig",
    "TrainingResult",
    "make_config",
    "multilayer_point",
    "multilayer_points",
    "panel_results",
    "train",
    "train_panel",
    "training_evidence",
]

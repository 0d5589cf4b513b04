"""Torch models and training strategies of the paper, with restarts batched in one model.

Public API::

    ReducedModel, AttentionModel, MultiLayerAttention   # eq. (7); eqs. (6)/(17); Appendix E
    TrainableModel                                      # what every model provides to the training loop
    train, TrainingResult                               # Strategy.PT, FT, JT, PGD (Sections 4-5)
    training_evidence                                   # the training channel of ``verify``
    train_panel, panel_results, PanelConfig, make_panel_config  # every n x strategy x restart of a panel at once
    PanelRun, PanelLayout, PROTOCOLS                    # ... its outcome, its members, "literal" / "variance-reduced"
    multilayer_point, multilayer_points, MultiLayerPoint  # Appendix E: L layers vs the exact one-layer optimum

Strategies are :class:`theory.strategy.Strategy` values; every function also takes the string value
(``"PT"``, ``"FT"``, ``"JT"``, ``"PGD"``).  ``PGD`` trains prompts, attention and task-specific heads
(eq. 18) and is compared with the debiased PGD optimum of eq. (19).

Example
-------
>>> from theory.mixture import preset
>>> res = train("PT", preset("fig2c"), 10, steps=20, restarts=2, batch_size=256, eval_rel_se=5e-2)
>>> res.strategy.value, len(res.restart_losses)
('PT', 2)
"""

from training.evidence import training_evidence
from training.experiment import train
from training.models import AttentionModel, MultiLayerAttention, ReducedModel, TrainableModel
from training.multilayer import MultiLayerPoint, multilayer_point, multilayer_points
from training.panel import PanelConfig, PanelRun, make_panel_config, panel_results, train_panel
from training.panel_data import PROTOCOLS, PanelLayout
from training.results import TrainingResult

__all__ = [
    "PROTOCOLS",
    "AttentionModel",
    "MultiLayerAttention",
    "MultiLayerPoint",
    "PanelConfig",
    "PanelLayout",
    "PanelRun",
    "ReducedModel",
    "TrainableModel",
    "TrainingResult",
    "make_panel_config",
    "multilayer_point",
    "multilayer_points",
    "panel_results",
    "train",
    "train_panel",
    "training_evidence",
]

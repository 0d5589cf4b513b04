"""Torch models and training strategies of the paper, with restarts batched in one model.

Public API::

    ReducedModel, AttentionModel, MultiLayerAttention   # eq. (7); eqs. (6)/(17); Appendix E
    STRATEGIES, train, TrainingResult                   # "PT", "FT", "JT", "JT-heads" (Sections 4-5)
    training_evidence                                   # the training channel of ``verify``

Example
-------
>>> from theory.mixture import preset
>>> res = train("PT", preset("fig2c"), 10, steps=20, restarts=2, batch_size=256, eval_rel_se=5e-2)
>>> res.strategy, len(res.restart_losses)
('PT', 2)
"""

from training.evidence import training_evidence
from training.experiment import train
from training.models import AttentionModel, MultiLayerAttention, ReducedModel
from training.results import TrainingResult
from training.strategies import STRATEGIES

__all__ = [
    "STRATEGIES",
    "AttentionModel",
    "MultiLayerAttention",
    "ReducedModel",
    "TrainingResult",
    "train",
    "training_evidence",
]

"""Monte Carlo evidence: sample the paper's sequences, estimate losses with standard errors (torch).

Public API::

    resolve_device, make_generator          # devices and seeded random streams
    Batch, sample_batch, token_sequences    # Definitions 1-3 and eq. (5)
    ReducedPredictor, PGDPredictor, predict # eq. (7), Section 5; AttentionParameters from theory.attention
    Estimate, estimate_loss                 # "direct" and "fast" estimators of eq. (4)
"""

from montecarlo.estimators import Estimate, estimate_loss
from montecarlo.predictors import PGDPredictor, ReducedPredictor, predict
from montecarlo.sampler import Batch, make_generator, resolve_device, sample_batch, token_sequences

__all__ = [
    "Batch",
    "Estimate",
    "PGDPredictor",
    "ReducedPredictor",
    "estimate_loss",
    "make_generator",
    "predict",
    "resolve_device",
    "sample_batch",
    "token_sequences",
]

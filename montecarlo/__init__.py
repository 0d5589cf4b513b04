"""Monte Carlo evidence: sample the paper's sequences, estimate losses with standard errors (torch).

Public API::

    resolve_device, make_generator              # devices and seeded random streams
    Batch, sample_batch, token_sequences        # Definitions 1-3 and eq. (5)
    MixtureTensors, mixture_tensors             # a mixture's fields as tensors on a device
    ContextStatistics, sample_context_statistics  # a context's Gram matrix drawn directly (Wishart)
    ReducedPredictor, PGDPredictor, predict     # eq. (7), Section 5; AttentionParameters from theory.attention
    reduced_query_vector, attention_query_vector  # f = x^T v: v of eq. (7) and of eqs. (6)/(17)
    integrated_query_loss                       # E[(x^T v - y)^2 | task, beta, context], exactly
    Estimate, estimate_loss, fixed_order_sum    # "direct" and "fast" estimators of eq. (4)
"""

from montecarlo.estimators import Estimate, estimate_loss, fixed_order_sum, integrated_query_loss
from montecarlo.predictors import (
    PGDPredictor,
    ReducedPredictor,
    attention_query_vector,
    predict,
    reduced_query_vector,
)
from montecarlo.sampler import (
    Batch,
    MixtureTensors,
    make_generator,
    mixture_tensors,
    resolve_device,
    sample_batch,
    token_sequences,
)
from montecarlo.sufficient import ContextStatistics, sample_context_statistics

__all__ = [
    "Batch",
    "ContextStatistics",
    "Estimate",
    "MixtureTensors",
    "PGDPredictor",
    "ReducedPredictor",
    "attention_query_vector",
    "estimate_loss",
    "fixed_order_sum",
    "integrated_query_loss",
    "make_generator",
    "mixture_tensors",
    "predict",
    "reduced_query_vector",
    "resolve_device",
    "sample_batch",
    "sample_context_statistics",
    "token_sequences",
]

"""Monte Carlo evidence: sample the paper's sequences, estimate losses with standard errors (torch).

Public API::

    resolve_device, make_generator              # devices and seeded random streams
    Batch, sample_batch, token_sequences        # Definitions 1-3 and eq. (5)
    sample_tasks                                # (k, beta) of Definitions 1-2
    MixtureTensors, mixture_tensors             # a mixture's fields as tensors on a device
    ContextStatistics, sample_context_statistics  # a context's Gram matrix drawn directly (Wishart)
    standard_wishart_factor                     # T with T T^T ~ Wishart(I_p, n) (Bartlett)
    GramColumn, sample_gram_columns             # one product G a per sample, drawn directly (the GPU path)
    ReducedPredictor, PGDPredictor, predict     # eq. (7), Section 5; AttentionParameters from theory.attention
    MultiLayerParameters                        # the L-layer stack of Appendix E.1
    reduced_query_vector, attention_query_vector  # f = x^T v: v of eq. (7) and of eqs. (6)/(17)
    multilayer_query_vector, masked_gram_times  # f = x^T v for L layers (Appendix E.1), G~ u = (p p^T + G) u
    integrated_query_loss                       # E[(x^T v - y)^2 | task, beta, context], exactly
    Estimate, estimate_loss, fixed_order_sum    # "direct" and "fast" estimators of eq. (4)
"""

from montecarlo.estimators import Estimate, estimate_loss, fixed_order_sum, integrated_query_loss
from montecarlo.predictors import (
    MultiLayerParameters,
    PGDPredictor,
    ReducedPredictor,
    attention_query_vector,
    masked_gram_times,
    multilayer_query_vector,
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
    sample_tasks,
    token_sequences,
)
from montecarlo.sufficient import (
    ContextStatistics,
    GramColumn,
    sample_context_statistics,
    sample_gram_columns,
    standard_wishart_factor,
)

__all__ = [
    "Batch",
    "ContextStatistics",
    "Estimate",
    "GramColumn",
    "MixtureTensors",
    "MultiLayerParameters",
    "PGDPredictor",
    "ReducedPredictor",
    "attention_query_vector",
    "estimate_loss",
    "fixed_order_sum",
    "integrated_query_loss",
    "make_generator",
    "masked_gram_times",
    "mixture_tensors",
    "multilayer_query_vector",
    "predict",
    "reduced_query_vector",
    "resolve_device",
    "sample_batch",
    "sample_context_statistics",
    "sample_gram_columns",
    "sample_tasks",
    "standard_wishart_factor",
    "token_sequences",
]

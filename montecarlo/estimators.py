"""Monte Carlo estimates of the multi-task ICL loss (eq. 4 / eq. 9) with standard errors.

Two estimators of the same quantity ``L = E[(f(Z^(k)) - y)^2]``:

* ``"direct"``: draw whole sequences (:func:`montecarlo.sampler.sample_batch`),
  run the predictor on them, average ``(f - y)^2``.
* ``"fast"``: draw only what the predictor reads, the context-token Gram
  matrix G given (k, beta) (:mod:`montecarlo.sufficient`, cost independent of
  n), and integrate the query exactly.  Every predictor here is ``f = x^T v``
  with v a function of (k, G), and ``y = x^T beta + xi`` with
  ``x ~ N(0, Sigma_x)``, ``xi ~ N(0, sigma^2)`` independent of the context, so

      E[(f - y)^2 | k, beta, context] = (v - beta)^T Sigma_x (v - beta) + sigma^2,

  an exact conditional expectation (not the population-loss formula of
  :mod:`theory.loss`, which this package never uses).

The fast estimator draws the Gram matrix in one of two exact ways (``sampler``): ``"wishart"``, the full
Bartlett factor (any predictor; the CPU default, whose numbers are those of earlier versions), or
``"column"``, only the product ``G a`` each one-layer predictor reads (:func:`montecarlo.sufficient.sample_gram_columns`:
d+1 random numbers per sample instead of (d+1)(d+2)/2 and O(d) memory instead of O(d^2); the CUDA default,
with larger batches).  Both are exact in law, so they estimate the same loss (statistically equivalent,
``tests/montecarlo/test_estimators.py``), with different random streams.

Both stream batches sized to a memory budget, accumulate in float64 (Chan's
parallel form of Welford's update) and stop at a target relative standard
error or a sample budget; memory does not grow with the budget.  There is deliberately no
wall-clock budget: with one seed, device and dtype an estimate is the same on any machine,
CPU count or load.  ``Estimate.seconds`` records the time spent and feeds no result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from montecarlo.predictors import PredictorSpec, compile_predictor
from montecarlo.sampler import make_generator, mixture_tensors, resolve_device, sample_batch
from montecarlo.sufficient import sample_context_statistics, sample_gram_columns
from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import TaskMixture

METHODS = ("fast", "direct")
SAMPLERS = ("auto", "wishart", "column")
_MAX_BATCH = 1 << 20  # per-batch cap on samples whatever the memory budget (CPU)
_MAX_BATCH_CUDA = 1 << 23  # on a GPU: large fused batches (a few launches and syncs per 8M samples)
_CPU_MEMORY_BYTES = 32 << 20  # CPU batches of ~32 MiB: large enough to amortise overhead, cache friendly
_CUDA_MEMORY_BYTES = 8 << 30  # at most 8 GiB per batch on a GPU (and at most 1/4 of free memory)
_WORKING_COPIES = 6  # live tensors of the per-sample size during one batch (draws, features, tokens, temporaries)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate of a loss.

    Attributes
    ----------
    mean : the sample mean of the per-sample losses.
    stderr : its standard error, sqrt(sample variance / samples).
    samples : number of independent samples used.
    seconds : wall-clock time spent (a measurement only: no result depends on it).
    method : ``"fast"`` or ``"direct"``.
    seed : the seed of the random stream (rerunning with it reproduces the estimate on the same device).
    skewness : sample skewness g1 of the per-sample losses.  Squared errors are
        right-skewed and heavy-tailed, so the standardized mean is skewed by
        g1 / sqrt(samples); a k-sigma test far in the tail should widen k by
        the Cornish-Fisher term |g1| (2 k^2 + 1) / (6 sqrt(samples)) (Hall 1992).
    """

    mean: float
    stderr: float
    samples: int
    seconds: float
    method: str = ""
    seed: int | None = None
    skewness: float = 0.0

    @property
    def rel_stderr(self) -> float:
        """stderr / |mean| (inf when the mean is 0)."""
        return self.stderr / abs(self.mean) if self.mean != 0 else math.inf

    @property
    def variance(self) -> float:
        """Per-sample variance of the loss (stderr^2 * samples): the estimator's cost per unit of precision."""
        return self.stderr**2 * self.samples


def integrated_query_loss(v: Tensor, beta: Tensor, chol_x: Tensor, noise_variance: float, *,
                          batch_mean: bool = False) -> Tensor:
    """The squared error of a predictor ``f = x^T v`` with the query integrated out exactly.

    For ``x ~ N(0, Sigma_x)`` and ``y = x^T beta + xi``, ``xi ~ N(0, sigma^2)``, independent of the context,

        E[(f - y)^2 | task, beta, context] = (v - beta)^T Sigma_x (v - beta) + sigma^2.

    ``v`` is (..., B, d) (a leading axis, e.g. restarts, broadcasts), ``beta`` (B, d), ``chol_x`` the lower
    Cholesky factor of Sigma_x and ``noise_variance`` sigma^2.  Returns the per-sample losses (..., B), or with
    ``batch_mean`` their mean over the batch (...,).  The fast estimator and the training loss both use it.
    """
    quad = ((v - beta) @ chol_x).pow(2).sum(-1)  # (v - beta)^T Sigma_x (v - beta) = |L_x^T (v - beta)|^2
    return (quad.mean(-1) if batch_mean else quad) + noise_variance


SUM_CHUNK = 4096  # fixed chunk of :func:`fixed_order_sum` (below torch's parallel grain size of 32768)


def fixed_order_sum(values: Tensor) -> Tensor:
    """Sum of a 1-D tensor in an order that does not depend on the number of CPU threads.

    ``Tensor.sum()`` over more than 32768 elements splits the work between torch's intra-op threads, so
    its last bits depend on the thread count (measured: a Monte Carlo stderr differed in the 16th digit
    between 1 and 2 threads on a d = 2 mixture).  Here the values are summed in zero-padded
    chunks of ``SUM_CHUNK`` (one output per chunk: each is reduced by one thread, in torch's fixed
    vectorised order) and then the chunk sums, which are few.
    """
    v = values.reshape(-1)
    pad = (-v.numel()) % SUM_CHUNK
    if pad:
        v = torch.cat([v, v.new_zeros(pad)])
    partial = v.reshape(-1, SUM_CHUNK).sum(-1)
    while partial.numel() > SUM_CHUNK:  # more than 2^24 values: reduce the partial sums the same way
        partial = fixed_order_sum(partial).reshape(1)
    return partial.sum()


class _Moments:
    """Streaming count, mean, and sums of squared and cubed deviations in float64.

    Batches are merged with the pairwise update of Chan et al. (1979) and Pebay (2008),
    so no sum of raw powers (and no catastrophic cancellation) is ever formed.  Every sum is
    :func:`fixed_order_sum`, so the moments are the same for any CPU thread count.
    """

    def __init__(self) -> None:
        self.count, self.mean, self.m2, self.m3 = 0, 0.0, 0.0, 0.0

    def add(self, values: Tensor) -> None:
        v = values.detach().to(torch.float64).reshape(-1)
        nb = int(v.numel())
        mean_b = float(fixed_order_sum(v)) / nb
        centred = v - mean_b
        m2_b, m3_b = float(fixed_order_sum(centred.pow(2))), float(fixed_order_sum(centred.pow(3)))
        na, total = self.count, self.count + nb
        delta = mean_b - self.mean
        self.m3 += (m3_b + delta**3 * na * nb * (na - nb) / total**2
                    + 3.0 * delta * (na * m2_b - nb * self.m2) / total)
        self.m2 += m2_b + delta * delta * na * nb / total
        self.mean += delta * nb / total
        self.count = total

    @property
    def stderr(self) -> float:
        if self.count < 2:
            return math.inf
        return math.sqrt(self.m2 / (self.count - 1) / self.count)

    @property
    def skewness(self) -> float:
        """Sample skewness g1 = sqrt(N) M3 / M2^(3/2) of the per-sample values (0 when they are constant)."""
        if self.count < 3 or self.m2 <= 0:
            return 0.0
        return math.sqrt(self.count) * self.m3 / self.m2**1.5


def _bytes_per_sample(method: str, n: int, d: int, dtype: torch.dtype, sampler: str = "wishart") -> int:
    item = torch.empty((), dtype=dtype).element_size()
    if method == "fast":  # Gram factor and Gram, or a handful of (d+1)-vectors
        per = 2 * (d + 1) ** 2 if sampler == "wishart" else 4 * (d + 1)
    else:  # the tokens
        per = (n + 2) * (d + 1)
    return _WORKING_COPIES * per * item


def _memory_budget(device: torch.device, memory_bytes: int | None) -> int:
    if memory_bytes is not None:
        if isinstance(memory_bytes, bool) or not isinstance(memory_bytes, (int, np.integer)) or memory_bytes < 1:
            raise VerifyError(f"memory_bytes: must be a positive integer, got {memory_bytes!r}")
        return int(memory_bytes)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(min(_CUDA_MEMORY_BYTES, free // 4))
    return _CPU_MEMORY_BYTES


def batch_size_for(method: str, n: int, d: int, *, device: torch.device, dtype: torch.dtype,
                   memory_bytes: int | None = None, sampler: str = "wishart") -> int:
    """Samples per batch so that one batch stays within the memory budget (never more than 2^20 on a CPU, 2^23 on
    a GPU)."""
    budget = _memory_budget(device, memory_bytes)
    cap = _MAX_BATCH_CUDA if device.type == "cuda" else _MAX_BATCH
    return max(1, min(cap, budget // _bytes_per_sample(method, n, d, dtype, sampler)))


def resolve_sampler(sampler: str, device: torch.device, single_product: bool) -> str:
    """The fast estimator's Gram sampler: ``"auto"`` is ``"column"`` on CUDA for predictors that read one product
    ``G a`` per sample, else ``"wishart"``; an explicit ``"column"`` for a predictor that needs G is a VerifyError."""
    if sampler not in SAMPLERS:
        raise VerifyError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if sampler == "auto":
        return "column" if device.type == "cuda" and single_product else "wishart"
    if sampler == "column" and not single_product:
        raise VerifyError("sampler: 'column' draws one product G a per sample; this predictor reads G itself "
                          "(use 'wishart')")
    return sampler


def _check_options(method: str, target_rel_se: float, max_samples: int, min_samples: int) -> None:
    if method not in METHODS:
        raise VerifyError(f"method: unknown estimator {method!r} (expected one of {', '.join(METHODS)})")
    if not (isinstance(target_rel_se, (int, float)) and math.isfinite(target_rel_se) and target_rel_se >= 0):
        raise VerifyError(f"target_rel_se: must be a finite number >= 0, got {target_rel_se!r}")
    for name, value, low in (("max_samples", max_samples, 2), ("min_samples", min_samples, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise VerifyError(f"{name}: must be an integer >= {low}, got {value!r}")


@contextmanager
def _progress_bar(enabled: bool, total: int, label: str) -> Iterator[Callable[[int, float], None]]:
    if not enabled:
        yield lambda advance, rel: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("rel SE {task.fields[rel]}"), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task_id = bar.add_task(label, total=total, rel="-")

        def update(advance: int, rel: float) -> None:
            bar.update(task_id, advance=advance, rel=f"{rel:.2e}")

        yield update


def estimate_loss(mixture: TaskMixture, n: int, predictor: PredictorSpec, *, method: str = "fast",
                  target_rel_se: float = 1e-3, max_samples: int = 10_000_000, min_samples: int = 1_000,
                  seed: int = 0, device: str | torch.device = "auto",
                  dtype: torch.dtype = torch.float64, memory_bytes: int | None = None,
                  progress: bool = False, sampler: str = "auto") -> Estimate:
    """Monte Carlo estimate of the multi-task ICL loss E[(f(Z^(k)) - y)^2] (eq. 4) with its standard error.

    Parameters
    ----------
    mixture : the task mixture (Definition 2).
    n : context length.
    predictor : :class:`ReducedPredictor` (eq. 7), :class:`PGDPredictor` (Section 5) or
        :class:`theory.attention.AttentionParameters` (eqs. 6/17).
    method : ``"fast"`` (sufficient statistics, query integrated exactly) or ``"direct"``
        (whole sequences through the predictor).
    target_rel_se : stop once stderr <= target_rel_se * |mean| (after ``min_samples``); 0 runs to the budget.
    max_samples : sample budget (memory stays bounded whatever it is).
    min_samples : no precision stop before this many samples (the stderr of few samples is unreliable).
    seed : seed of the sampler's random stream.
    device : ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.
    dtype : dtype of the sampled tensors; the accumulation is float64 regardless.
    memory_bytes : per-batch memory budget (default 32 MiB on CPU, min(8 GiB, free/4) on CUDA).
    progress : show a progress bar (off by default in library calls).
    sampler : the fast estimator's Gram sampler, ``"wishart"`` (full factor), ``"column"`` (one product per
        sample) or ``"auto"`` (column on CUDA where the predictor allows it, else wishart); see the module docstring.

    Note: stopping on a target precision is data-dependent; the stderr is the
    usual one of the samples drawn. Fix the budget (target_rel_se=0) when an
    exact k-sigma test is needed.

    Example
    -------
    >>> from montecarlo import ReducedPredictor
    >>> from theory.mixture import preset
    >>> from theory.optima import optimum
    >>> m = preset("fig2c"); opt = optimum("JT", m, 10)
    >>> est = estimate_loss(m, 10, ReducedPredictor(opt.W, opt.P), target_rel_se=1e-2, device="cpu")
    >>> abs(est.mean - opt.loss) < 6 * est.stderr
    True
    """
    n = check_context_length(n)
    _check_options(method, target_rel_se, max_samples, min_samples)
    dev = resolve_device(device)
    compiled = compile_predictor(mixture, predictor, dev, dtype)
    gram_sampler = resolve_sampler(sampler, dev, getattr(compiled, "single_product", True))
    generator = make_generator(seed, dev)
    tensors = mixture_tensors(mixture, dev, dtype)
    draw_stats = sample_gram_columns if gram_sampler == "column" else sample_context_statistics

    def fast_losses(size: int) -> Tensor:
        stats = draw_stats(tensors, n, size, generator)
        return integrated_query_loss(compiled.query_vector(stats), stats.beta, tensors.chol_x, tensors.sigma**2)

    def direct_losses(size: int) -> Tensor:
        batch = sample_batch(mixture, n, size, generator=generator, device=dev, dtype=dtype)
        return (compiled.predict(batch) - batch.y_query).pow(2)

    draw = fast_losses if method == "fast" else direct_losses
    per_batch = batch_size_for(method, n, mixture.d, device=dev, dtype=dtype, memory_bytes=memory_bytes,
                               sampler=gram_sampler)
    moments = _Moments()
    start = time.perf_counter()
    with torch.no_grad(), _progress_bar(progress, int(max_samples), f"{method} MC, n={n}") as update:
        while moments.count < max_samples:
            size = min(per_batch, int(max_samples) - moments.count)
            moments.add(draw(size))
            if not math.isfinite(moments.mean):
                raise VerifyError(f"{method} estimate at n={n}: the loss is not finite ({moments.mean}); "
                                  f"the predictor's parameters overflow {dtype}")
            update(size, moments.stderr / abs(moments.mean) if moments.mean else math.inf)
            if moments.count >= min_samples and moments.stderr <= target_rel_se * abs(moments.mean):
                break
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return Estimate(mean=moments.mean, stderr=moments.stderr, samples=moments.count,
                    seconds=time.perf_counter() - start, method=method, seed=seed, skewness=moments.skewness)

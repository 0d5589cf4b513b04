"""Hypothesis strategies for valid, bounded task mixtures and model parameters.

Every drawn mixture passes :class:`theory.mixture.TaskMixture` validation:
d in 1..4, K in 1..3, SPD matrices with eigenvalues in [0.3, 3] (condition
number <= 10), means in [-2, 2], weights >= 0 summing to 1 (the first one at
least 0.1 before normalisation), noise variance 0 or in [0.05, 2].  Failures
shrink towards d = 1, K = 1, identity-like matrices and zero noise.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theory.attention import AttentionParameters
from theory.mixture import TaskMixture

MIN_EIG, MAX_EIG = 0.3, 3.0  # condition number of every drawn SPD matrix <= 10


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def matrices(rows: int, cols: int, bound: float) -> st.SearchStrategy[np.ndarray]:
    """Dense float64 matrices with entries in [-bound, bound]."""
    return arrays(np.float64, (rows, cols), elements=_floats(-bound, bound))


@st.composite
def spd_matrices(draw: st.DrawFn, d: int) -> np.ndarray:
    """Q diag(lambda) Q^T with lambda in [MIN_EIG, MAX_EIG] and Q orthogonal (from a QR factorisation)."""
    eigenvalues = np.array(draw(st.lists(_floats(MIN_EIG, MAX_EIG), min_size=d, max_size=d)))
    q, _ = np.linalg.qr(draw(matrices(d, d, 1.0)) + np.eye(d))
    spd = (q * eigenvalues) @ q.T
    return (spd + spd.T) / 2


@st.composite
def task_mixtures(draw: st.DrawFn, *, max_d: int = 4, max_K: int = 3) -> TaskMixture:
    """A valid TaskMixture with d <= max_d, K <= max_K, bounded condition numbers, noise 0 or positive."""
    d = draw(st.integers(1, max_d))
    K = draw(st.integers(1, max_K))
    raw = np.array([draw(_floats(0.1, 1.0))] + draw(st.lists(_floats(0.0, 1.0), min_size=K - 1, max_size=K - 1)))
    return TaskMixture(
        sigma_x=draw(spd_matrices(d)),
        weights=raw / raw.sum(),
        means=draw(matrices(K, d, 2.0)),
        covs=np.array([draw(spd_matrices(d)) for _ in range(K)]),
        sigma2=draw(st.one_of(st.just(0.0), _floats(0.05, 2.0))),
    )


@st.composite
def reduced_parameters(draw: st.DrawFn, mixture: TaskMixture, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Arbitrary (W, P) of the reduced model at the natural scale W ~ 1/(n + d), prompts ~ n."""
    d, K = mixture.d, mixture.K
    W = draw(matrices(d, d, 2.0)) / (n + d)
    P = draw(matrices(K, d, 2.0)) * n
    return W, P


@st.composite
def attention_parameters(draw: st.DrawFn, mixture: TaskMixture, n: int) -> AttentionParameters:
    """Arbitrary full-model parameters (A, W_v, prompts, heads) at a scale where predictions stay O(1)."""
    p, K = mixture.d + 1, mixture.K
    return AttentionParameters(
        A=draw(matrices(p, p, 1.0)) / (n + p),
        Wv=draw(matrices(p, p, 1.0)),
        prompts=draw(matrices(K, p, 2.0)),
        heads=draw(matrices(K, p, 1.0)),
    )


def head_scales(K: int) -> st.SearchStrategy[np.ndarray]:
    """Per-task PGD scales c_k in [0.25, 2]."""
    return arrays(np.float64, (K,), elements=_floats(0.25, 2.0))

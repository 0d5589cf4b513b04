"""The independent minimiser: its hand-derived gradient, and convergence where plain BFGS stopped early."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from minimiser_cases import early_stop_mixture
from mixture_strategies import task_mixtures

from theory.loss import pgd_loss, population_loss
from theory.minimise import DECREMENT_RTOL, loss_gradient, numerical_optimum
from theory.mixture import TaskMixture
from theory.optima import optimum


def _central_difference(f: Callable[[np.ndarray], float], X: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Exact up to rounding: the loss is at most quadratic in each single coordinate."""
    out = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        out[idx] = (f(X + E) - f(X - E)) / (2 * h)
    return out


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_gradient_matches_central_differences_of_the_loss(mixture: TaskMixture, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    W, P = rng.standard_normal((mixture.d, mixture.d)), rng.standard_normal((mixture.K, mixture.d))
    gW, gP = loss_gradient(mixture, W, P, n)
    fdW = _central_difference(lambda V: population_loss(mixture, V, P, n), W)
    fdP = _central_difference(lambda Q: population_loss(mixture, W, Q, n), P)
    scale = max(np.abs(fdW).max(), np.abs(fdP).max(), 1.0)
    assert np.abs(gW - fdW).max() <= 1e-9 * scale and np.abs(gP - fdP).max() <= 1e-9 * scale
    gC, _ = loss_gradient(mixture, W, None, n, centred=True)
    fdC = _central_difference(lambda V: pgd_loss(mixture, V, n), W)
    assert np.abs(gC - fdC).max() <= 1e-9 * max(np.abs(fdC).max(), 1.0)


def test_gradient_is_batched() -> None:
    m = early_stop_mixture(1.0)
    rng = np.random.default_rng(0)
    W, P = rng.standard_normal((4, 3, 3)), rng.standard_normal((4, 3, 3))
    gW, gP = loss_gradient(m, W, P, 5)
    for b in range(4):
        one_W, one_P = loss_gradient(m, W[b], P[b], 5)
        assert np.allclose(gW[b], one_W, rtol=1e-13) and np.allclose(gP[b], one_P, rtol=1e-13)


@pytest.mark.parametrize("sigma2", [0.0, 1.0])
def test_converges_to_the_joint_optimum_where_bfgs_stopped_early(sigma2: float) -> None:
    m = early_stop_mixture(sigma2)
    derived = optimum("JT", m, 1)
    found = numerical_optimum("JT", m, 1, seed=0)
    assert found.converged and found.decrement <= DECREMENT_RTOL * found.loss
    assert found.loss == pytest.approx(derived.loss, rel=1e-10)
    assert found.W == pytest.approx(derived.W, rel=1e-4, abs=1e-6)


def test_a_tiny_budget_is_reported_as_not_converged() -> None:
    """One iteration per stage: Newton solves PT's quadratic at once, FT's second stage is left unfinished."""
    m = early_stop_mixture(0.0)
    found = numerical_optimum("FT", m, 1, seed=0, max_iterations=1)
    assert not found.converged
    assert found.gradient_norm > 1e-3 and found.loss > optimum("FT", m, 1).loss * (1 + 1e-3)

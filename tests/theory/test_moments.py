"""Lemmas 1-3: the Wick engine against closed forms, and against brute-force sampling."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.stats import norm

from theory.moments import (
    derive_noise_moment,
    derive_wishart_fourth_moment,
    gaussian_expectation,
    generic_lemma_inputs,
    wishart_fourth_moment,
)
from theory.symbolic import decide_lemma1, decide_lemma2, decide_lemma3

# k-sigma bound: 1e-6 false-alarm budget over the entrywise checks in this file (Bonferroni, two-sided).
_N_CHECKS = 2 * 9
K_SIGMA = float(norm.isf(1e-6 / (2 * _N_CHECKS)))


def test_standard_normal_moments() -> None:
    z = sp.Symbol("z")
    assert [gaussian_expectation(z**k, [z]) for k in range(7)] == [1, 0, 1, 0, 3, 0, 15]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_general_fourth_moment_equals_wick_derivation(d: int) -> None:
    A, L, n = generic_lemma_inputs(d)
    derived = derive_wishart_fourth_moment(A, L, n)
    closed = wishart_fourth_moment(L * L.T, A, n)
    assert (derived - closed).applyfunc(sp.expand) == sp.zeros(d, d)


def test_lemma1_fails_for_non_symmetric_and_holds_for_symmetric_a() -> None:
    result = decide_lemma1()
    assert not result.holds
    assert "a_01 - a_10" in result.difference and "symmetric the difference is zero" in result.difference


def test_lemma2_and_lemma3_hold_symbolically() -> None:
    assert decide_lemma2().holds
    assert decide_lemma3().holds
    L = sp.Matrix([[sp.Symbol("l", positive=True)]])
    s, n = sp.symbols("s n", positive=True)
    assert sp.expand(derive_noise_moment(L, s, n)[0, 0] - n * s**2 * L[0, 0] ** 2) == 0


def test_fourth_moment_against_brute_force_sampling() -> None:
    """E[X^T X A X^T X] at d = 3, n = 4, non-symmetric A, by 200k sampled X: within k standard errors."""
    rng = np.random.default_rng(12345)
    d, n, reps = 3, 4, 200_000
    B = rng.standard_normal((d, d))
    sigma = B @ B.T / d + 0.5 * np.eye(d)
    A = rng.standard_normal((d, d))
    X = rng.standard_normal((reps, n, d)) @ np.linalg.cholesky(sigma).T
    G = np.einsum("rti,rtj->rij", X, X)
    samples = G @ A @ G
    mean, se = samples.mean(0), samples.std(0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(mean - wishart_fourth_moment(sigma, A, n)) <= K_SIGMA * se)
    lemma1 = n * np.trace(sigma @ A) * sigma + n * (n + 1) * sigma @ A @ sigma
    assert np.any(np.abs(mean - lemma1) > K_SIGMA * se), "sampling must also see Lemma 1's error for this A"


def test_noise_moment_against_brute_force_sampling() -> None:
    rng = np.random.default_rng(7)
    d, n, reps, s2 = 3, 5, 200_000, 0.7
    X = rng.standard_normal((reps, n, d))
    xi = np.sqrt(s2) * rng.standard_normal((reps, n))
    v = np.einsum("rti,rt->ri", X, xi)
    samples = np.einsum("ri,rj->rij", v, v)
    mean, se = samples.mean(0), samples.std(0, ddof=1) / np.sqrt(reps)
    assert np.all(np.abs(mean - n * s2 * np.eye(d)) <= K_SIGMA * se)

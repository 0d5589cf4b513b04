"""The exact loss: equal to the Wick derivation from the predictor, and to a sampled mean."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from mixture_strategies import reduced_parameters, task_mixtures
from scipy.stats import norm

from theory.attention import reduced_predict
from theory.errors import VerifyError
from theory.loss import derive_task_loss, population_loss, task_loss_formula
from theory.mixture import TaskMixture, preset

SAMPLING_CHECKS = 15  # max_examples of the ci profile for the sampled-mean property
K_SIGMA = float(norm.isf(1e-6 / (2 * 60)))  # Bonferroni over the dev profile's 60 examples, two-sided


def _formula_minus_derivation(d: int) -> sp.Expr:
    L, s = derive_task_loss(d)
    B = s["Lb"] * s["Lb"].T + s["mu"] * s["mu"].T
    F = task_loss_formula(s["Lx"] * s["Lx"].T, B, s["mu"], s["sigma"] ** 2, s["W"], s["p"], s["n"])
    return sp.expand(F - L)


def test_matrix_form_equals_wick_derivation_d1() -> None:
    assert _formula_minus_derivation(1) == 0


@pytest.mark.slow
def test_matrix_form_equals_wick_derivation_d2() -> None:
    assert _formula_minus_derivation(2) == 0


@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 6), data=st.data())
def test_exact_loss_equals_sampled_mean(mixture: TaskMixture, n: int, data: st.DataObject) -> None:
    """Plain numpy sampling of Definition 2 and the predictor (7); bound from the sample's own standard error."""
    W, P = data.draw(reduced_parameters(mixture, n))
    rng = np.random.default_rng(2024)
    B = 100_000
    task = rng.choice(mixture.K, size=B, p=mixture.weights)
    lx = np.linalg.cholesky(mixture.sigma_x)
    beta = mixture.means[task] + np.einsum("bij,bj->bi", np.linalg.cholesky(mixture.covs)[task],
                                           rng.standard_normal((B, mixture.d)))
    X = rng.standard_normal((B, n, mixture.d)) @ lx.T
    y = np.einsum("bti,bi->bt", X, beta) + np.sqrt(mixture.sigma2) * rng.standard_normal((B, n))
    x = rng.standard_normal((B, mixture.d)) @ lx.T
    yq = np.einsum("bi,bi->b", x, beta) + np.sqrt(mixture.sigma2) * rng.standard_normal(B)
    sq = (reduced_predict(W, P, task, X, y, x) - yq) ** 2
    se = sq.std(ddof=1) / np.sqrt(B)
    # heavy tails: widen by the first-order Cornish-Fisher term with the sample skewness of the mean
    skew = float(((sq - sq.mean()) ** 3).mean() / sq.std() ** 3) / np.sqrt(B)
    k = K_SIGMA + skew * (K_SIGMA**2 - 1) / 6
    assert abs(sq.mean() - population_loss(mixture, W, P, n)) <= k * se


def test_batched_evaluation_equals_one_by_one() -> None:
    m = preset("figA1d")
    rng = np.random.default_rng(0)
    W, P = rng.standard_normal((5, 10, 10)) * 0.05, rng.standard_normal((5, 2, 10))
    batched = population_loss(m, W, P, 7)
    assert np.allclose(batched, [population_loss(m, W[i], P[i], 7) for i in range(5)], rtol=1e-13)


@pytest.mark.parametrize(("W", "P", "n", "message"), [
    (np.eye(3), None, 5, "W: expected shape (2, 2)"),
    (np.eye(2), np.zeros((3, 2)), 5, "P: expected shape (1, 2)"),
    (np.full((2, 2), np.nan), None, 5, "NaN"),
    (np.eye(2), None, 0, "n: context length must be an integer >= 1"),
])
def test_bad_parameters_are_named(W, P, n, message) -> None:
    m = TaskMixture(np.eye(2), [1.0], [[0.0, 1.0]], [np.eye(2)])
    with pytest.raises(VerifyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        population_loss(m, W, P, n)

"""An independent numerical minimiser of the exact loss (the check on every derived optimum).

It knows nothing of the stationarity conditions: it starts from a seeded
random point and runs scipy's BFGS on :func:`theory.loss.population_loss`
(or :func:`theory.loss.pgd_loss`).  The gradient is a central difference,
which is *exact* here up to rounding: the loss is a polynomial of degree at
most two in each single coordinate of W and of P, and a central difference
of a quadratic is its derivative.  All 2p perturbed points are evaluated in
one batched call.

Fine-tuning is minimised over P with W frozen at the *numerically* minimised
plain-training W, so no derived quantity enters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from theory.errors import VerifyError
from theory.loss import check_context_length, pgd_loss, population_loss
from theory.mixture import Array, TaskMixture

_STEP = 1e-3  # central-difference step; exact for quadratics, so only rounding (~1e-13 relative) matters


@dataclass(frozen=True)
class NumericalOptimum:
    """What BFGS found: parameters, loss, iterations and the final gradient norm."""

    W: Array
    P: Array
    loss: float
    iterations: int
    gradient_norm: float


def _bfgs(objective: Callable[[Array], Array], x0: Array) -> tuple[Array, float, int, float]:
    """Minimise a batched objective (rows of a (B, p) array -> (B,) losses) from x0."""
    p = x0.size
    eye = np.eye(p) * _STEP

    def fun(x: Array) -> tuple[float, Array]:
        points = np.concatenate([x[None, :], x + eye, x - eye])
        values = objective(points)
        grad = (values[1:p + 1] - values[p + 1:]) / (2 * _STEP)
        return float(values[0]), grad

    best_x, best_f, iterations = x0, np.inf, 0
    x = x0
    for _ in range(4):  # restart BFGS from its own answer: refreshes the inverse-Hessian estimate
        res = minimize(fun, x, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 20 * p + 200})
        iterations += int(res.nit)
        improved = best_f - res.fun
        if res.fun < best_f:
            best_x, best_f = res.x, float(res.fun)
        x = res.x
        if improved <= 1e-14 * max(1.0, abs(best_f)):
            break
    return best_x, best_f, iterations, float(np.linalg.norm(fun(best_x)[1]))


def numerical_optimum(strategy: str, mixture: TaskMixture, n: int, *, seed: int = 0) -> NumericalOptimum:
    """Minimise the exact loss numerically for ``"PT"``, ``"FT"``, ``"JT"`` or ``"PGD"``."""
    n = check_context_length(n)
    if strategy not in ("PT", "FT", "JT", "PGD"):
        raise VerifyError(f"strategy: unknown {strategy!r} (expected PT, FT, JT or PGD)")
    d, K = mixture.d, mixture.K
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal(d * d) / (n + d)
    zeros_P = np.zeros((K, d))

    if strategy in ("PT", "FT"):
        x, _, it_w, gn = _bfgs(lambda X: population_loss(mixture, X.reshape(-1, d, d), zeros_P, n), W0)
        W = x.reshape(d, d)
        if strategy == "PT":
            return NumericalOptimum(W, zeros_P, float(population_loss(mixture, W, None, n)), it_w, gn)
        P0 = rng.standard_normal(K * d)
        y, f, it_p, gn = _bfgs(lambda Y: population_loss(mixture, W, Y.reshape(-1, K, d), n), P0)
        return NumericalOptimum(W, y.reshape(K, d), f, it_w + it_p, gn)
    if strategy == "PGD":
        x, f, it, gn = _bfgs(lambda X: pgd_loss(mixture, X.reshape(-1, d, d), n), W0)
        return NumericalOptimum(x.reshape(d, d), zeros_P, f, it, gn)
    x0 = np.concatenate([W0, rng.standard_normal(K * d)])

    def joint(X: Array) -> Array:
        return population_loss(mixture, X[:, :d * d].reshape(-1, d, d), X[:, d * d:].reshape(-1, K, d), n)

    x, f, it, gn = _bfgs(joint, x0)
    return NumericalOptimum(x[:d * d].reshape(d, d), x[d * d:].reshape(K, d), f, it, gn)

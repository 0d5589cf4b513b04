"""An independent numerical minimiser of the exact loss (the check on every derived optimum).

It knows nothing of the stationarity conditions: it starts from a seeded random point and minimises
:func:`theory.loss.population_loss` (eq. 9; :func:`theory.loss.pgd_loss`, eq. 19, for PGD) with scipy:
BFGS first, then a trust-region Newton polish (``trust-exact``), until the point is a certified local
minimum or the iteration budget is spent.

Derivatives.  :func:`loss_gradient` differentiates the terms of :func:`theory.loss.task_loss_formula`
by hand (checked against central differences of the loss in tests/theory/test_minimise.py).  The loss is
a polynomial of degree at most two in each single coordinate of (W, P), so the gradient is of degree at
most two in each coordinate, and a central difference of the gradient along one coordinate is that
coordinate's Hessian column *exactly* (up to rounding): the Hessian is exact, not an estimate.

Convergence.  BFGS alone can stop far from a minimum on ill-conditioned valleys (seen at n = 1: a
d = 3 mixture ended 2.7e-3 above the optimum).  A point counts as converged when the Hessian there is
positive semidefinite (no eigenvalue below ``-EIG_RTOL`` times the largest) and the Newton decrement
``g^T H^+ g / 2`` - the second-order estimate of how far the loss still is above the local minimum - is at
most ``DECREMENT_RTOL`` times the loss.  The result says which, with the final gradient norm, so that a
minimiser that ran out of iterations is reported as such and never read as a disagreement.

Fine-tuning is minimised over P with W frozen at the *numerically* minimised plain-training W, so no
derived quantity enters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from theory.errors import VerifyError
from theory.loss import check_context_length, pgd_loss, population_loss
from theory.mixture import Array, TaskMixture
from theory.moments import wishart_fourth_moment

_STEP = 1e-3  # central-difference step of the Hessian; exact for the gradient's coordinate-wise quadratics
DECREMENT_RTOL = 1e-10  # converged: the loss is at most this (relative) above the local minimum, to second order
EIG_RTOL = 1e-9  # a Hessian eigenvalue below -EIG_RTOL * (largest) is a descent direction: not a minimum
MAX_ITERATIONS = 2000  # default budget of each stage (BFGS, then Newton), in iterations


@dataclass(frozen=True)
class NumericalOptimum:
    """What the minimiser found: parameters, loss, iterations, the final gradient norm, and whether it converged.

    ``decrement``: the Newton decrement ``g^T H^+ g / 2`` at the end (how far above the local minimum the loss
    still is, to second order); ``converged``: the Hessian is positive semidefinite there and ``decrement`` is
    at most :data:`DECREMENT_RTOL` times the loss.
    """

    W: Array
    P: Array
    loss: float
    iterations: int
    gradient_norm: float
    decrement: float = 0.0
    converged: bool = True


def loss_gradient(mixture: TaskMixture, W: Array, P: Array | None, n: int, *, centred: bool = False
                  ) -> tuple[Array, Array]:
    """(dL/dW, dL/dP) of :func:`theory.loss.population_loss` (eq. 9), batched over leading axes of W and P.

    Per task, with ``q = Sigma_x mu_k`` and ``m = n W q - mu_k`` (:func:`theory.loss.task_loss_formula`):
    ``dL_k/dW = Sigma_x W (C + C^T) + 2 n sigma^2 Sigma_x W Sigma_x - 2 n Sigma_x B^T Sigma_x
    + 2 n Sigma_x W (q p^T + p q^T) - 2 Sigma_x mu_k p^T + 2 Sigma_x W p p^T`` and
    ``dL_k/dp_k = 2 W^T Sigma_x (m + W p)``, with ``C = E[X^T X B X^T X]``.  ``centred``: the mixture with
    zero means, which is :func:`theory.loss.pgd_loss` with P = 0.
    """
    n = check_context_length(n)
    m_ = mixture.with_zero_means() if centred else mixture
    W = np.asarray(W, dtype=float)
    P = np.zeros((*W.shape[:-2], m_.K, m_.d)) if P is None else np.asarray(P, dtype=float)
    S, s2 = m_.sigma_x, m_.sigma2
    gW = np.zeros(np.broadcast_shapes(W.shape, P.shape[:-2] + W.shape[-2:]))
    gP = np.zeros(np.broadcast_shapes(P.shape, W.shape[:-2] + P.shape[-2:]))
    for k in range(m_.K):
        pi, B, mu = m_.weights[k], m_.second_moments[k], m_.means[k]
        C = wishart_fourth_moment(S, B, n)
        p = P[..., k, :]
        q = S @ mu
        Wp = np.einsum("...ij,...j->...i", W, p)
        Wq = W @ q
        m = n * Wq - mu
        g = (S @ W @ (C + C.T) + 2 * n * s2 * (S @ W @ S) - 2 * n * (S @ B.T @ S)
             + 2 * n * np.einsum("ij,...j,...k->...ik", S, Wq, p) + 2 * n * np.einsum("ij,...j,k->...ik", S, Wp, q)
             - 2 * np.einsum("i,...k->...ik", S @ mu, p) + 2 * np.einsum("ij,...j,...k->...ik", S, Wp, p))
        gW = gW + pi * g
        gP[..., k, :] = pi * 2 * np.einsum("...ji,jl,...l->...i", W, S, m + Wp)
    return gW, gP


@dataclass(frozen=True)
class _Problem:
    """A batched objective over flat parameter rows, with its exact gradient."""

    value: Callable[[Array], Array]  # (B, p) -> (B,)
    gradient: Callable[[Array], Array]  # (B, p) -> (B, p)

    def hessian(self, x: Array) -> Array:
        """Exact (to rounding): the gradient is at most quadratic along each coordinate."""
        p = x.size
        eye = np.eye(p) * _STEP
        g = self.gradient(np.concatenate([x + eye, x - eye]))
        H = (g[:p] - g[p:]) / (2 * _STEP)
        return (H + H.T) / 2


def _certificate(problem: _Problem, x: Array, f: float) -> tuple[float, float, bool]:
    """(gradient norm, Newton decrement, converged) at x (see the module docstring)."""
    g = problem.gradient(x[None, :])[0]
    H = problem.hessian(x)
    eig, vec = np.linalg.eigh(H)
    top = max(float(np.abs(eig).max()), 1e-300)
    coeff = vec.T @ g
    positive = eig > EIG_RTOL * top
    decrement = 0.5 * float(np.sum(coeff[positive] ** 2 / eig[positive]))
    # a flat direction (zero-weight task, unused prompt) must carry no gradient beyond rounding
    flat_gradient = float(np.linalg.norm(coeff[~positive])) if np.any(~positive) else 0.0
    scale = max(1.0, abs(f))
    converged = (bool(eig.min() >= -EIG_RTOL * top) and decrement <= DECREMENT_RTOL * scale
                 and flat_gradient <= 1e-8 * scale)
    return float(np.linalg.norm(g)), decrement, converged


def _minimise(problem: _Problem, x0: Array, max_iterations: int, *, bfgs: bool = True
              ) -> tuple[Array, float, int, float, float, bool]:
    """BFGS from x0 (``bfgs``), then, unless already converged, a trust-region Newton polish with the exact
    Hessian; returns (x, loss, iterations, gradient norm, decrement, converged)."""
    def fun(x: Array) -> tuple[float, Array]:
        return float(problem.value(x[None, :])[0]), problem.gradient(x[None, :])[0]

    x, f, iterations = x0, float(problem.value(x0[None, :])[0]), 0
    if bfgs:
        res = minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": max_iterations})
        x, f, iterations = res.x, float(res.fun), int(res.nit)
    gnorm, dec, ok = _certificate(problem, x, f)
    if not ok:
        res = minimize(fun, x, jac=True, hess=problem.hessian, method="trust-exact",
                       options={"gtol": 1e-13, "maxiter": max_iterations})
        iterations += int(res.nit)
        if float(res.fun) <= f:
            x, f = res.x, float(res.fun)
        gnorm, dec, ok = _certificate(problem, x, f)
    return x, f, iterations, gnorm, dec, ok


def _best_prompts(problem: _Problem, w: Array, p: int) -> Array:
    """argmin over the prompt block (the last ``p`` coordinates) at fixed W block ``w``: the loss is a quadratic
    in the prompts, so one Newton step from 0 with the exact block Hessian solves it (least squares where the
    block is singular, e.g. a zero-weight task)."""
    x = np.concatenate([w, np.zeros(p)])
    q = w.size
    eye = np.zeros((p, q + p))
    eye[:, q:] = np.eye(p) * _STEP
    g = problem.gradient(np.concatenate([x[None, :], x + eye, x - eye]))
    H = (g[1:p + 1, q:] - g[p + 1:, q:]) / (2 * _STEP)
    return np.asarray(-np.linalg.lstsq((H + H.T) / 2, g[0, q:], rcond=None)[0], dtype=float)


def _profile(joint: _Problem, q: int, p: int) -> _Problem:
    """The joint loss minimised over the prompts at each W (variable projection): the prompts' scale (up to
    1/sigma_min(W)) no longer conditions the search over W.  Its gradient is the joint W-gradient at the
    best prompts (their own gradient is zero there)."""
    def full(X: Array) -> Array:
        return np.stack([np.concatenate([w, _best_prompts(joint, w, p)]) for w in X])

    return _Problem(lambda X: joint.value(full(X)), lambda X: joint.gradient(full(X))[:, :q])


def numerical_optimum(strategy: str, mixture: TaskMixture, n: int, *, seed: int = 0,
                      max_iterations: int = MAX_ITERATIONS) -> NumericalOptimum:
    """Minimise the exact loss numerically for ``"PT"``, ``"FT"``, ``"JT"`` or ``"PGD"``.

    ``max_iterations`` bounds each stage (BFGS, then the Newton polish; FT: for W, then for P)."""
    n = check_context_length(n)
    if strategy not in ("PT", "FT", "JT", "PGD"):
        raise VerifyError(f"strategy: unknown {strategy!r} (expected PT, FT, JT or PGD)")
    d, K = mixture.d, mixture.K
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal(d * d) / (n + d)
    zeros_P = np.zeros((K, d))

    def over_W(centred: bool) -> _Problem:
        if centred:
            return _Problem(lambda X: pgd_loss(mixture, X.reshape(-1, d, d), n),
                            lambda X: loss_gradient(mixture, X.reshape(-1, d, d), None, n, centred=True)[0]
                            .reshape(len(X), -1))
        return _Problem(lambda X: population_loss(mixture, X.reshape(-1, d, d), zeros_P, n),
                        lambda X: loss_gradient(mixture, X.reshape(-1, d, d), None, n)[0].reshape(len(X), -1))

    if strategy in ("PT", "FT", "PGD"):
        x, f, it_w, gn, dec, ok = _minimise(over_W(strategy == "PGD"), W0, max_iterations)
        W = x.reshape(d, d)
        if strategy != "FT":
            return NumericalOptimum(W, zeros_P, f, it_w, gn, dec, ok)
        P0 = rng.standard_normal(K * d)
        prompts = _Problem(lambda Y: population_loss(mixture, W, Y.reshape(-1, K, d), n),
                           lambda Y: loss_gradient(mixture, W, Y.reshape(-1, K, d), n)[1].reshape(len(Y), -1))
        y, f, it_p, gn, dec, ok_p = _minimise(prompts, P0, max_iterations)
        return NumericalOptimum(W, y.reshape(K, d), f, it_w + it_p, gn, dec, ok and ok_p)
    def split(X: Array) -> tuple[Array, Array]:
        return X[:, :d * d].reshape(-1, d, d), X[:, d * d:].reshape(-1, K, d)

    def joint_gradient(X: Array) -> Array:
        gW, gP = loss_gradient(mixture, *split(X), n)
        return np.concatenate([gW.reshape(len(X), -1), gP.reshape(len(X), -1)], axis=1)

    joint = _Problem(lambda X: population_loss(mixture, *split(X), n), joint_gradient)
    # W first, prompts solved exactly at each W; then the joint (W, P) point is certified (or polished) as is
    w, _, it_w, *_ = _minimise(_profile(joint, d * d, K * d), W0, max_iterations)
    start = np.concatenate([w, _best_prompts(joint, w, K * d)])
    x, f, it, gn, dec, ok = _minimise(joint, start, max_iterations, bfgs=False)
    it += it_w
    return NumericalOptimum(x[:d * d].reshape(d, d), x[d * d:].reshape(K, d), f, it, gn, dec, ok)

"""An independent numerical minimiser of the exact loss (the check on every derived optimum).

It knows nothing of the stationarity conditions: it starts from a seeded random point and minimises
:func:`theory.loss.population_loss` (eq. 9; :func:`theory.loss.pgd_loss`, eq. 19, for PGD) with scipy's
trust-region Newton method (``trust-exact``) and the exact Hessian, falling back on BFGS and a second Newton
run where that does not end at a certified local minimum; the result says whether it did.

Joint training (W and P together) is searched over W with the prompts solved at each W (variable projection:
the loss is a quadratic in the prompts, solved numerically from its own gradient), by BFGS, and the joint
point it reaches is then certified, or polished, by the Newton method on (W, P).  Without the projection the
prompts' scale (up to ``1 / sigma_min(W)``) conditions the search: plain BFGS on (W, P) stopped 0.3% above the
optimum on a d = 3, K = 3 mixture at n = 1, near a singular W with prompts of norm ~1e4.

Derivatives.  :func:`loss_gradient` differentiates the terms of :func:`theory.loss.task_loss_formula`
by hand (checked against central differences of the loss in tests/theory/test_minimise.py).  The loss is
a polynomial of degree at most two in each single coordinate of (W, P), so the gradient is of degree at
most two in each coordinate, and a central difference of the gradient along one coordinate is that
coordinate's Hessian column *exactly* (up to rounding): the Hessian is exact, not an estimate.

Convergence.  A point counts as converged when the Hessian there is
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
MAX_ITERATIONS = 2000  # default budget of each stage (a Newton or a BFGS run), in iterations


@dataclass(frozen=True)
class NumericalOptimum:
    """What the minimiser found: parameters, loss, iterations (of every stage), the final gradient norm, and whether
    it converged.

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


def _bfgs(problem: _Problem, x0: Array, max_iterations: int) -> tuple[Array, float, int]:
    """scipy's BFGS with the exact gradient: (x, loss, iterations)."""
    def fun(x: Array) -> tuple[float, Array]:
        return float(problem.value(x[None, :])[0]), problem.gradient(x[None, :])[0]

    res = minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": max_iterations})
    return res.x, float(res.fun), int(res.nit)


def _minimise(problem: _Problem, x0: Array, max_iterations: int) -> tuple[Array, float, int, float, float, bool]:
    """A trust-region Newton method with the exact Hessian (scipy's ``trust-exact``) from x0; where that does not
    end at a certified minimum, BFGS from its end and the Newton method again.  Returns (x, loss, iterations,
    gradient norm, decrement, converged)."""
    def fun(x: Array) -> tuple[float, Array]:
        return float(problem.value(x[None, :])[0]), problem.gradient(x[None, :])[0]

    def newton(start: Array) -> tuple[Array, float, int]:
        res = minimize(fun, start, jac=True, hess=problem.hessian, method="trust-exact",
                       options={"gtol": 1e-13, "maxiter": max_iterations})
        return res.x, float(res.fun), int(res.nit)

    x, f, iterations = newton(x0)
    gnorm, dec, ok = _certificate(problem, x, f)
    if not ok:
        z, _, it_b = _bfgs(problem, x, max_iterations)
        y, g, it = newton(z)
        iterations += it_b + it
        if g <= f:
            x, f = y, g
        gnorm, dec, ok = _certificate(problem, x, f)
    return x, f, iterations, gnorm, dec, ok


def _best_prompts(problem: _Problem, w: Array, K: int, d: int) -> Array:
    """argmin over the prompts (the last K*d coordinates, K rows of d) at fixed W block ``w``.  The loss is a
    quadratic in the prompts and a sum over tasks (eq. 9: task k's prompt enters only L_k), so its prompt Hessian is
    block diagonal: perturbing coordinate i of every prompt at once gives column i of every block, and one Newton
    step from 0 solves each task (least squares where a block is singular, e.g. a zero-weight task)."""
    q, p = w.size, K * d
    x = np.concatenate([w, np.zeros(p)])
    eye = np.zeros((d, q + p))
    for i in range(d):
        eye[i, q + i::d] = _STEP
    g = problem.gradient(np.concatenate([x[None, :], x + eye, x - eye]))
    blocks = ((g[1:d + 1, q:] - g[d + 1:, q:]) / (2 * _STEP)).reshape(d, K, d).transpose(1, 2, 0)  # (K, d, d)
    g0 = g[0, q:].reshape(K, d)
    out = np.stack([np.linalg.lstsq((H + H.T) / 2, -gk, rcond=None)[0] for H, gk in zip(blocks, g0, strict=True)])
    return np.asarray(out, dtype=float).reshape(-1)


def _profile(joint: _Problem, K: int, d: int) -> _Problem:
    """The joint loss minimised over the prompts at each W (variable projection): the prompts' scale (up to
    1/sigma_min(W)) no longer conditions the search over W.  Its gradient is the joint W-gradient at the
    best prompts (their own gradient is zero there)."""
    def full(X: Array) -> Array:
        return np.stack([np.concatenate([w, _best_prompts(joint, w, K, d)]) for w in X])

    return _Problem(lambda X: joint.value(full(X)), lambda X: joint.gradient(full(X))[:, :d * d])


def numerical_optimum(strategy: str, mixture: TaskMixture, n: int, *, seed: int = 0,
                      max_iterations: int = MAX_ITERATIONS) -> NumericalOptimum:
    """Minimise the exact loss numerically for ``"PT"``, ``"FT"``, ``"JT"`` or ``"PGD"``.

    ``max_iterations`` bounds each stage (each Newton or BFGS run; FT: for W, then for P)."""
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
    # (BFGS there: a Hessian of the profile would cost 2 d^2 of its gradients, each 2d + 1 joint gradients)
    w, _, it_w = _bfgs(_profile(joint, K, d), W0, max_iterations)
    start = np.concatenate([w, _best_prompts(joint, w, K, d)])
    x, f, it, gn, dec, ok = _minimise(joint, start, max_iterations)
    it += it_w
    return NumericalOptimum(x[:d * d].reshape(d, d), x[d * d:].reshape(K, d), f, it, gn, dec, ok)

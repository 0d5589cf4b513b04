"""The exact population loss of the reduced predictor, eqs. (7) and (9).

For task k the predictor is ``f = x^T W (X^T y + p_k)`` and the loss is
``L_k(W, p_k) = E[(f - y)^2]``.  Writing ``y = X beta + xi`` and
``c = (W X^T X - I) beta + W X^T xi + W p`` (x independent of c):

    L_k = tr(E[c c^T] Sigma_x) + sigma^2,
    E[c c^T] = W E[X^T X B X^T X] W^T - n W Sigma_x B - n B Sigma_x W^T + B
               + n sigma^2 W Sigma_x W^T + W p m^T + m p^T W^T + W p p^T W^T,

with ``B = E[beta beta^T] = Sigma_beta_k + mu_k mu_k^T`` and
``m = E[c - W p] = (n W Sigma_x - I) mu_k``.  The fourth moment comes from
:func:`theory.moments.wishart_fourth_moment` (derived, general A).

:func:`task_loss_formula` is that one expression, written over operations
that numpy arrays and sympy matrices share, so the *same code* is
(i) proved equal, symbolically, to :func:`derive_task_loss` - a brute-force
Wick expansion of ``E[(f - y)^2]`` straight from the predictor at d = 1, 2 -
and (ii) evaluated in float64 as :func:`population_loss`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from theory.errors import VerifyError
from theory.mixture import Array, TaskMixture
from theory.moments import gaussian_expectation, standard_normals, wishart_fourth_moment


# numpy arrays (possibly batched) get axis-aware versions; anything else (sympy matrices, the
# commuting-block matrices of theory.isotropic) provides .T, .trace() and [0, 0] itself.
def _transpose(A: Any) -> Any:
    return np.swapaxes(A, -1, -2) if isinstance(A, np.ndarray) else A.T


def _trace(A: Any) -> Any:
    return np.trace(A, axis1=-2, axis2=-1) if isinstance(A, np.ndarray) else A.trace()


def _scalar(A: Any) -> Any:
    return A[..., 0, 0] if isinstance(A, np.ndarray) else A[0, 0]


def task_loss_formula(sigma_x: Any, second_moment: Any, mean: Any, sigma2: Any,
                      W: Any, p: Any, n: Any) -> Any:
    """L_k(W, p) for one task; ``mean`` and ``p`` are (d, 1) columns.

    numpy inputs may carry leading batch axes on W and p (evaluated at once);
    sympy matrices give the symbolic expression.
    """
    C = wishart_fourth_moment(sigma_x, second_moment, n)
    Wp = W @ p
    Wt = _transpose(W)
    m = n * (W @ (sigma_x @ mean)) - mean
    return (_trace(W @ C @ Wt @ sigma_x)
            + n * sigma2 * _trace(W @ sigma_x @ Wt @ sigma_x)
            - 2 * n * _trace(W @ sigma_x @ second_moment @ sigma_x)
            + _trace(second_moment @ sigma_x)
            + sigma2
            + 2 * _scalar(_transpose(Wp) @ sigma_x @ m)
            + _scalar(_transpose(Wp) @ sigma_x @ Wp))


def check_context_length(n: Any) -> int:
    """n must be an integer >= 1 (a context of n demonstrations)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise VerifyError(f"n: context length must be an integer >= 1, got {n!r}")
    return int(n)


def check_parameters(mixture: TaskMixture, W: Any, P: Any) -> tuple[Array, Array]:
    """Validate the reduced-model parameters W (..., d, d) and prompts P (..., K, d)."""
    W = np.asarray(W)
    P = np.zeros((mixture.K, mixture.d)) if P is None else np.asarray(P)
    if W.ndim < 2 or W.shape[-2:] != (mixture.d, mixture.d):
        raise VerifyError(f"W: expected shape ({mixture.d}, {mixture.d}), got {W.shape}")
    if P.ndim < 2 or P.shape[-2:] != (mixture.K, mixture.d):
        raise VerifyError(f"P: expected shape ({mixture.K}, {mixture.d}) (one prompt per task), got {P.shape}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(P))):
        raise VerifyError("W, P: contain NaN or infinity")
    return W, P


def population_loss(mixture: TaskMixture, W: Any, P: Any, n: int) -> Any:
    """Exact multi-task ICL loss L(W, P) = sum_k pi_k L_k(W, p_k), eq. (9), in float64.

    ``P=None`` means no prompts (plain training).  W (..., d, d) and
    P (..., K, d) may carry matching leading batch axes; the result then has
    those axes.
    """
    n = check_context_length(n)
    W, P = check_parameters(mixture, W, P)
    moments = mixture.second_moments
    total = 0.0
    for k in range(mixture.K):
        total = total + mixture.weights[k] * task_loss_formula(
            mixture.sigma_x, moments[k], mixture.means[k][:, None],
            mixture.sigma2, W, P[..., k, :, None], n)
    return total


def pgd_loss(mixture: TaskMixture, W: Any, n: int, *, scales: Any = None) -> Any:
    """Loss of the debiased PGD predictor x^T mu_k + x^T W_k X^T (y - X mu_k), eq. (19).

    With ``y0 = y - X mu_k`` the task-k problem is the zero-mean problem with
    covariance Sigma_beta_k, so L_k^PGD(W) = L_k(W, 0) on the mixture with
    all means set to zero.  ``scales`` (K,) gives per-task W_k = c_k W (what a
    task-specific head can realise, see :mod:`theory.attention`); default all 1.
    """
    n = check_context_length(n)
    centred = mixture.with_zero_means()
    c = np.ones(mixture.K) if scales is None else np.asarray(scales)
    zero = np.zeros((mixture.d, 1))
    moments = centred.second_moments
    total = 0.0
    for k in range(mixture.K):
        total = total + mixture.weights[k] * task_loss_formula(
            centred.sigma_x, moments[k], zero, centred.sigma2, c[k] * np.asarray(W), zero, n)
    return total


def derive_task_loss(d: int) -> tuple[sp.Expr, dict[str, Any]]:
    """E[(x^T W (X^T y + p) - y)^2] for one task, derived by Wick expansion from the predictor.

    Explicit dimension ``d`` (1 or 2 in practice), symbolic n, W, p, mu,
    Cholesky factors of Sigma_x and Sigma_beta, and noise sigma.  Conditioned
    on (beta, x, xi_q) the n context terms g_i = x^T W x_i y_i are i.i.d., so
    E[(S + h)^2] = n E[g^2] + n(n-1) E[g]^2 + 2 n E[g] h + h^2 with
    S = sum_i g_i and h = x^T W p - y; the remaining expectation is Wick again.

    Returns the loss and the symbols used (keys: n, W, p, mu, Lx, Lb, sigma).
    """
    n = sp.Symbol("n", positive=True, integer=True)
    W = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    p = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"p_{i}", real=True))
    mu = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"mu_{i}", real=True))
    Lx = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"lx_{i}{j}", real=True) if j <= i else 0)
    Lb = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"lb_{i}{j}", real=True) if j <= i else 0)
    sigma = sp.Symbol("sigma", nonnegative=True)
    u, b, q = standard_normals("u", d), standard_normals("b", d), standard_normals("q", d)
    e, eq = sp.Symbol("e", real=True), sp.Symbol("eq", real=True)
    beta = mu + Lb * sp.Matrix(b)
    x_i = Lx * sp.Matrix(u)
    x = Lx * sp.Matrix(q)
    y_i = (x_i.T * beta)[0, 0] + sigma * e
    y = (x.T * beta)[0, 0] + sigma * eq
    g = (x.T * W * x_i)[0, 0] * y_i
    h = (x.T * W * p)[0, 0] - y
    Eg = gaussian_expectation(g, [*u, e])
    Eg2 = gaussian_expectation(g**2, [*u, e])
    inner = n * Eg2 + n * (n - 1) * Eg**2 + 2 * n * Eg * h + h**2
    loss = gaussian_expectation(inner, [*b, *q, eq])
    return loss, {"n": n, "W": W, "p": p, "mu": mu, "Lx": Lx, "Lb": Lb, "sigma": sigma}

"""Zhang, Frei and Bartlett (JMLR 25, 2024): their data model, their formulas (transcribed), and the mapping.

Their setting (Section 3).  A prompt of N labelled examples and a query is embedded as

    E = [[x_1, ..., x_N, x_query], [y_1, ..., y_N, 0]]   ((d+1) x (N+1)),

with ``x_i, x_query ~ N(0, Lambda)``, a task ``w ~ N(0, I_d)`` drawn per prompt and noiseless labels
``y_i = <w, x_i>``.  The linear self-attention (LSA) layer is
``f_LSA(E) = E + W^{PV} E (E^T W^{KQ} E) / N`` and the prediction is its bottom-right entry; training
minimises ``L = 1/2 E[(y_hat - <w, x_query>)^2]`` by gradient flow from Assumption 3.3's balanced start.

Mapping onto :class:`theory.mixture.TaskMixture` (Definition 2 of Chang et al.): one task (K = 1) with mean 0
and covariance ``I_d``, ``Sigma_x = Lambda``, ``sigma^2 = 0``; the context length n of this toolkit is their
N (the query is not counted).  With ``W^{PV}`` zero except ``W^{PV}_22`` and ``W^{KQ}`` zero except the block
``W^{KQ}_11``, the prediction is ``x^T (W^{PV}_22 W^{KQ}_11) (1/N) X^T y``, the reduced predictor of eq. (7)
with no prompts (Strategy.PT) and ``W = W^{PV}_22 W^{KQ}_11 / N``.  On a test prompt of length M their
prediction is ``x^T Gamma^{-1} (1/M) sum_i y_i x_i`` (the normalisation is the prompt length), so
``W = Gamma^{-1} / M`` at context length M.  Their loss carries a factor 1/2; the toolkit's
``E[(f - y)^2]`` (with the query's noise) does not: the errors of Theorem 4.2 are stated without it.

Everything named ``claimed_*`` below transcribes a formula of the paper (the thing under test); nothing
here derives an optimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from claims.papers.single_task import is_standard_task, standard_task_mixture
from theory.mixture import Array, TaskMixture

KEY = "zhang2024"
DOCS = "docs/papers/zhang2024.md"
SOURCE = "Zhang, Frei, Bartlett 2024"
MODEL_TEXT = "Zhang-Frei-Bartlett's model: one task w ~ N(0, I_d) (K = 1, mean 0, covariance I), Sigma_x = Lambda, sigma^2 = 0"


def zhang_mixture(Lambda: Any) -> TaskMixture:
    """Their training distribution as a TaskMixture: x ~ N(0, Lambda), w ~ N(0, I_d), noiseless."""
    return standard_task_mixture(Lambda)


def in_model(m: TaskMixture) -> bool:
    """Is ``m`` their training distribution: K = 1, mean 0, task covariance I_d, no noise?"""
    return is_standard_task(m)


# ----- the paper's formulas (claims under test) ---------------------------------------------------
def claimed_gamma(Lambda: Array, N: int) -> Array:
    """Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I_d (Theorem 4.1)."""
    d = Lambda.shape[0]
    return (1.0 + 1.0 / N) * Lambda + np.trace(Lambda) / N * np.eye(d)


def claimed_product(Lambda: Array, N: int) -> Array:
    """W^{PV}_22 W^{KQ}_11 at the limit of gradient flow: Gamma^{-1} (Theorem 4.1)."""
    return np.asarray(np.linalg.inv(claimed_gamma(Lambda, N)), dtype=np.float64)


def claimed_weights(Lambda: Array, N: int) -> tuple[Array, Array]:
    """(W^{PV}_*, W^{KQ}_*), both (d+1) x (d+1) (Theorem 4.1): W^{PV}_* has the single entry tr(Gamma^{-2})^{1/4}
    at (d+1, d+1), W^{KQ}_* the block tr(Gamma^{-2})^{-1/4} Gamma^{-1} in its top-left d x d corner."""
    d = Lambda.shape[0]
    g_inv = claimed_product(Lambda, N)
    scale = float(np.trace(g_inv @ g_inv)) ** 0.25
    W_pv = np.zeros((d + 1, d + 1))
    W_pv[d, d] = scale
    W_kq = np.zeros((d + 1, d + 1))
    W_kq[:d, :d] = g_inv / scale
    return W_pv, W_kq


def reduced_W(product: Array, M: int) -> Array:
    """The mapping: a product A = W^{PV}_22 W^{KQ}_11 predicts x^T A (1/M) X^T y = x^T (A / M) X^T y on M examples."""
    return product / M


def task_moments(m: TaskMixture) -> tuple[Array, float]:
    """(B, sigma^2): the second moment B = sum_k pi_k (Sigma_beta_k + mu_k mu_k^T) of the test tasks, and the noise.

    Theorem 4.2's right side is stated for one test distribution D; for the linear task ``y = <w, x> + xi`` it is an
    affine function of ``w w^T`` (see :func:`claimed_test_error`), so its average over the tasks of a mixture is the
    same expression with ``w w^T`` replaced by B.
    """
    return m.cov_average + m.mean_outer, m.sigma2


def claimed_test_error(Lambda: Array, N: int, M: int, B: Array, sigma2: float) -> float:
    """Theorem 4.2's right side for test tasks with second moment B and noise sigma^2, x ~ N(0, Lambda):

        E(y_hat - y)^2 = min_w E(<w, x> - y)^2 + (1/M) tr(Sigma Gamma^{-2} Lambda)
                         + (1/N^2) [ ||a||^2_{Gamma^{-2} Lambda^3} + 2 tr(Lambda) ||a||^2_{Gamma^{-2} Lambda^2}
                                     + tr(Lambda)^2 ||a||^2_{Gamma^{-2} Lambda} ],

    with ``a = Lambda^{-1} E[x y]`` and ``Sigma = E[(xy - E xy)(xy - E xy)^T]``.  For one linear task
    ``y = <w, x> + xi`` (``xi ~ N(0, sigma^2)``): the best linear predictor's error is sigma^2, ``a = w`` and, by
    Isserlis, ``Sigma = Lambda w w^T Lambda + (w^T Lambda w) Lambda + sigma^2 Lambda``; averaging over w puts B
    for ``w w^T`` (the specialisation is ours, the formula theirs).
    """
    g_inv = claimed_product(Lambda, N)
    g2 = g_inv @ g_inv
    tr_lam = float(np.trace(Lambda))
    sigma = Lambda @ B @ Lambda + float(np.trace(B @ Lambda)) * Lambda + sigma2 * Lambda

    def norm2(A: Array) -> float:  # E ||a||^2_A = tr(A B)
        return float(np.trace(A @ B))

    variance = float(np.trace(sigma @ g2 @ Lambda)) / M
    bias = (norm2(g2 @ Lambda @ Lambda @ Lambda) + 2 * tr_lam * norm2(g2 @ Lambda @ Lambda)
            + tr_lam**2 * norm2(g2 @ Lambda)) / N**2
    return sigma2 + variance + bias


def claimed_corollary_bound(Lambda: Array, N: int, M: int) -> float:
    """Corollary 4.3: for noiseless tasks w ~ N(0, I_d), E(y_hat - y)^2 <= (d+1) tr(Lambda)/M
    + (1 + 2d + d^2 kappa) tr(Lambda)/N^2, kappa the condition number of Lambda."""
    d = Lambda.shape[0]
    eig = np.linalg.eigvalsh(Lambda)
    kappa = float(eig[-1] / eig[0])
    tr_lam = float(np.trace(Lambda))
    return (d + 1) * tr_lam / M + (1 + 2 * d + d * d * kappa) * tr_lam / N**2


# ----- comparisons ---------------------------------------------------------------------------------

"""A certified lower bound on the optimum of the unconstrained one-layer attention, eq. (6)/(17).

Why a bound.  The optimum of eq. (6) is found by a multi-start local search over the heads
(:mod:`theory.unconstrained`); the profile has several basins, so a value from the search is an upper
bound of the optimum.  A lower bound that meets it certifies it.

Derivation (from the model, eqs. 5, 6, 17).  The query ``z = [x; 0]`` meets only the top d rows
``B = A[:d, :]``, so ``f = x^T c`` with ``c = u_k + B S a_k``, ``S = sum_i z_i z_i^T``.  Each coordinate
``c_i = u_ki + tr(S sym(a_k B_i^T))`` is a linear function of the entries of S plus a per-task constant
(the prompt term ``u_k = B p_k (p_k^T a_k)``).  The set of maps ``S -> B S a`` is a subset of all linear
maps ``s -> M s`` of ``s = vech(S)`` (the ``D = (d+1)(d+2)/2`` entries on and above the diagonal), so

    min over eq. (6)  >=  min_M E[(x^T M s - y)^2]                           (PT, one shared map)
    min over eq. (6) with prompts  >=  min_{M, v_k} E[(x^T (M s + v_k) - y)^2]  (JT, per-task constants)
    min over eq. (17) with prompts  >=  min_{M_k, v_k} E[...]                (task heads: a map per task)

Each right side is a convex least-squares problem.  The query x is independent of (beta, S) and
``y = x^T beta + eps``, so ``E[(x^T c - y)^2] = sigma^2 + E[(c - beta)^T Sigma_x (c - beta)]``; with M
unrestricted the Sigma_x weighting does not change the minimiser (the normal equations
``Sigma_x (M G - X) = 0`` give ``M = X G^+`` for any positive definite Sigma_x), so the value is

    sigma^2 + tr(Sigma_x (E[beta beta^T] - X G^+ X^T)),   X = E[beta s^T],  G = E[s s^T],

with the moments centred within each task when per-task constants are free (JT).

Moments (Gaussian, exact).  Given beta the tokens are i.i.d. N(0, Sigma_z(beta)), so Isserlis gives
``E[S_ij | beta] = n Sigma_ij`` and ``E[S_ij S_kl | beta] = n^2 Sigma_ij Sigma_kl + n (Sigma_ik Sigma_jl
+ Sigma_il Sigma_jk)``.  With ``beta = mu + w``, ``w ~ N(0, C)``, every entry of ``Sigma_z(beta)`` is
``c_ij + l_ij^T w + q_ij w^T Sigma_x w`` (``q`` is 1 only at the label-label entry), hence

    E[Sigma_ij]            = c_ij + q_ij tau
    E[beta Sigma_ij]       = mu E[Sigma_ij] + C l_ij
    E[Sigma_ij Sigma_kl]   = c_ij c_kl + tau (c_ij q_kl + q_ij c_kl) + l_ij^T C l_kl + q_ij q_kl (tau^2 + 2 kappa)

(``tau = tr(Sigma_x C)``, ``kappa = tr((Sigma_x C)^2)``; odd moments of w vanish).  Tested against Monte
Carlo of the sampled tokens and against the closed forms where the optimum is known.

Assumption 1's zero column (``A[:d, d] = 0``) removes the label-label entry ``S_dd`` from the features
(``B S a`` then reads only rows ``0..d-1`` of S).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import Array, TaskMixture

BOUND_MODES = ("PT", "JT")


@dataclass(frozen=True)
class TaskFeatureMoments:
    """Per task k: ``mean_s`` = E_k[s] (K, D), ``cross`` = E_k[beta s^T] (K, d, D), ``gram`` = E_k[s s^T] (K, D, D),
    ``second`` = E_k[beta beta^T] (K, d, d), for ``s`` the entries of S on and above the diagonal (``pairs``)."""

    pairs: list[tuple[int, int]]
    mean_s: Array
    cross: Array
    gram: Array
    second: Array


def _sigma_z_coefficients(sigma_x: Array, mean: Array, sigma2: float) -> tuple[Array, Array, Array]:
    """Sigma_z(mu + w) = c + (l . w) + q (w^T Sigma_x w), entrywise: c (d+1, d+1), l (d+1, d+1, d), q (d+1, d+1)."""
    d = sigma_x.shape[0]
    sm = sigma_x @ mean
    c = np.zeros((d + 1, d + 1))
    c[:d, :d] = sigma_x
    c[:d, d] = c[d, :d] = sm
    c[d, d] = float(mean @ sm) + sigma2
    lin = np.zeros((d + 1, d + 1, d))
    lin[:d, d, :] = lin[d, :d, :] = sigma_x  # (Sigma_x w)_a
    lin[d, d, :] = 2 * sm  # 2 mu^T Sigma_x w
    q = np.zeros((d + 1, d + 1))
    q[d, d] = 1.0
    return c, lin, q


def feature_moments(mixture: TaskMixture, n: int) -> TaskFeatureMoments:
    """The exact moments of s = vech(S) and beta per task (module docstring), float64."""
    n = check_context_length(n)
    d = mixture.d
    pairs = [(i, j) for i in range(d + 1) for j in range(i, d + 1)]
    rows = np.array([p[0] for p in pairs])
    cols = np.array([p[1] for p in pairs])
    K, D = mixture.K, len(pairs)
    mean_s, cross, gram = np.zeros((K, D)), np.zeros((K, d, D)), np.zeros((K, D, D))
    second = np.zeros((K, d, d))
    for k in range(K):
        mu, C = mixture.means[k], mixture.covs[k]
        c, lin, q = _sigma_z_coefficients(mixture.sigma_x, mu, mixture.sigma2)
        sc = mixture.sigma_x @ C
        tau, kappa = float(np.trace(sc)), float(np.trace(sc @ sc))
        mean_sigma = c + q * tau  # E[Sigma_ij]
        # P[i, j, k, l] = E[Sigma_ij Sigma_kl]
        d1 = d + 1
        flat_l = lin.reshape(d1 * d1, d)
        P = (np.outer(c, c) + tau * (np.outer(c, q) + np.outer(q, c)) + flat_l @ C @ flat_l.T
             + (tau ** 2 + 2 * kappa) * np.outer(q, q)).reshape(d1, d1, d1, d1)
        # E[S_ij S_kl] = n^2 P_ijkl + n (P_ikjl + P_iljk)
        full = n * n * P + n * (np.einsum("ikjl->ijkl", P) + np.einsum("iljk->ijkl", P))
        gram[k] = full[rows[:, None], cols[:, None], rows[None, :], cols[None, :]]
        mean_s[k] = n * mean_sigma[rows, cols]
        cross[k] = n * (mu[:, None] * mean_sigma[rows, cols][None, :] + C @ lin[rows, cols, :].T)
        second[k] = C + np.outer(mu, mu)
    return TaskFeatureMoments(pairs, mean_s, cross, gram, second)


def _explained(sigma_x: Array, cross: Array, gram: Array) -> float:
    """tr(Sigma_x X G^+ X^T), with G scaled to unit diagonal first (entries of S differ in scale by powers of n)."""
    scale = np.sqrt(np.clip(np.diag(gram), 1e-300, None))
    g = gram / np.outer(scale, scale)
    x = cross / scale[None, :]
    try:  # G is positive definite unless the entries of S satisfy an exact linear relation
        y = np.linalg.solve(np.linalg.cholesky((g + g.T) / 2), x.T)  # numpy's: scipy's triangular solve stalls on small systems
        return float(np.einsum("ij,ki,kj->", sigma_x, y, y))
    except np.linalg.LinAlgError:
        pass
    w, V = np.linalg.eigh((g + g.T) / 2)
    keep = w > w.max() * 1e-13  # a singular G (exact linear relations among the entries) has X in its range
    proj = x @ V[:, keep]
    return float(np.einsum("ij,ik,jk->", sigma_x, proj / w[keep], proj))


@dataclass(frozen=True)
class AttentionLowerBound:
    """A certified lower bound on the optimum of eq. (6)/(17) for one mode: ``value`` (the loss of the best linear map of
    S, plus per-task constants with prompts), and what it relaxes (``shared_head``, ``free_column``)."""

    mode: str
    n: int
    shared_head: bool
    free_column: bool
    value: float


def attention_lower_bound(mixture: TaskMixture, n: int, mode: str = "JT", *, shared_head: bool = True,
                          free_column: bool = True) -> AttentionLowerBound:
    """min over all linear maps of S (module docstring): a lower bound on the unconstrained optimum of eq. (6)/(17).

    ``mode``: ``"PT"`` (no prompts: no per-task constant) or ``"JT"`` (prompts: a constant per task).  ``shared_head``:
    one map for all tasks (eq. 6); otherwise one per task (eq. 17, since ``B S a_k`` differs by task).
    ``free_column=False`` drops the label-label entry S_dd (Assumption 1's ``A[:d, d] = 0``).  Fine-tuning has no bound
    of its own here: it is not a minimum over a superset of anything (it is one point of the joint problem).
    """
    if mode not in BOUND_MODES:
        raise VerifyError(f"mode: expected one of {', '.join(BOUND_MODES)} for a lower bound, got {mode!r}")
    fm = feature_moments(mixture, n)
    d = mixture.d
    keep = [i for i, p in enumerate(fm.pairs) if free_column or p != (d, d)]
    gram, cross, mean_s = fm.gram[:, keep][:, :, keep], fm.cross[:, :, keep], fm.mean_s[:, keep]
    second = fm.second
    if mode == "JT":  # per-task constants: centre within each task
        gram = gram - np.einsum("ki,kj->kij", mean_s, mean_s)
        cross = cross - np.einsum("ki,kj->kij", mixture.means, mean_s)
        second = second - np.einsum("ki,kj->kij", mixture.means, mixture.means)
    w, sx = mixture.weights, mixture.sigma_x
    total = float(np.einsum("ij,kji,k->", sx, second, w))
    if shared_head:
        explained = _explained(sx, np.einsum("k,kij->ij", w, cross), np.einsum("k,kij->ij", w, gram))
    else:
        explained = sum(float(w[k]) * _explained(sx, cross[k], gram[k]) for k in range(mixture.K))
    return AttentionLowerBound(mode, n, shared_head, free_column, mixture.sigma2 + total - explained)

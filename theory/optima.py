"""Optimal parameters of each training strategy, from the stationarity conditions.

Every objective below is, for fixed prompts, a quadratic in W of the form

    Q(W) = tr(W G W^T Sigma_x) - 2 tr(W H) + const,   G, H symmetric, G > 0,

whose gradient (Lemma 3; :func:`theory.moments.derive_trace_quadratic_gradient`)
is ``2 Sigma_x W G - 2 H``, so the unique minimiser solves
``Sigma_x W G = H`` and the minimum is ``const - tr(W* H)``.  With
``Bbar = sum_k pi_k E[beta_k beta_k^T]`` and ``M = sum_k pi_k mu_k mu_k^T``
(read off :func:`theory.loss.task_loss_formula`):

* plain training (P = 0, eq. 10):
  ``G = n (tr(Sigma_x Bbar) + sigma^2) Sigma_x + n (n+1) Sigma_x Bbar Sigma_x``,
  ``H = n Sigma_x Bbar Sigma_x``;
* prompts for a fixed W (eq. 11): the loss depends on p_k through
  ``2 (W p)^T Sigma_x m_k + (W p)^T Sigma_x (W p)``, ``m_k = (n W Sigma_x - I) mu_k``,
  minimised by ``W p_k = -m_k``, i.e. ``p_k = (W^{-1} - n Sigma_x) mu_k``;
* joint training (eq. 12): substituting those prompts removes
  ``sum_k pi_k m_k^T Sigma_x m_k``, leaving the same quadratic with
  ``G - n^2 Sigma_x M Sigma_x`` and ``H - n Sigma_x M Sigma_x``.  For singular W the
  prompt term can only remove less, so this profile is a lower bound attained at
  its (invertible) minimiser: the global joint optimum;
* debiased PGD (eq. 19): plain training on the zero-mean mixture.

All solves use ``numpy.linalg.solve``; no inverse is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.loss import check_context_length, pgd_loss, population_loss
from theory.mixture import Array, TaskMixture


@dataclass(frozen=True)
class Optimum:
    """Optimal reduced-model parameters and their exact loss.

    ``W`` (d x d), ``P`` (K x d; zeros where the strategy has no prompts),
    ``loss`` the exact population loss there; ``W_bar = Sigma_x W`` is the
    quantity the paper's theorems state.
    """

    W: Array
    P: Array
    loss: float
    W_bar: Array


def _quadratic_minimiser(sigma_x: Array, G: Array, H: Array) -> Array:
    """The W solving Sigma_x W G = H (G symmetric)."""
    Y = np.linalg.solve(sigma_x, H)
    return np.linalg.solve(G, Y.T).T


def _plain_quadratic(mixture: TaskMixture, n: int) -> tuple[Array, Array]:
    sx = mixture.sigma_x
    bbar = mixture.cov_average + mixture.mean_outer
    G = n * (np.trace(sx @ bbar) + mixture.sigma2) * sx + n * (n + 1) * (sx @ bbar @ sx)
    H = n * (sx @ bbar @ sx)
    return G, H


def optimal_prompts(mixture: TaskMixture, W: Array, n: int) -> Array:
    """P*(W): the prompts minimising L(W, P) for a fixed invertible W (rows p_k = (W^{-1} - n Sigma_x) mu_k)."""
    n = check_context_length(n)
    m = n * (W @ mixture.sigma_x @ mixture.means.T) - mixture.means.T  # (d, K) columns m_k
    return np.asarray(np.linalg.solve(W, -m).T, dtype=np.float64)


def plain_training_optimum(mixture: TaskMixture, n: int) -> Optimum:
    """W*_PT = argmin_W L(W, 0), eq. (10) (Theorem 1)."""
    n = check_context_length(n)
    G, H = _plain_quadratic(mixture, n)
    W = _quadratic_minimiser(mixture.sigma_x, G, H)
    P = np.zeros((mixture.K, mixture.d))
    return Optimum(W, P, float(population_loss(mixture, W, P, n)), mixture.sigma_x @ W)


def fine_tuning_optimum(mixture: TaskMixture, n: int) -> Optimum:
    """P*_FT = argmin_P L(W*_PT, P) with the plain-trained W frozen, eq. (11) (Theorem 2)."""
    pt = plain_training_optimum(mixture, n)
    P = optimal_prompts(mixture, pt.W, n)
    return Optimum(pt.W, P, float(population_loss(mixture, pt.W, P, n)), pt.W_bar)


def joint_training_optimum(mixture: TaskMixture, n: int) -> Optimum:
    """(W*_JT, P*_JT) = argmin_{W,P} L(W, P), eq. (12) (Theorem 3)."""
    n = check_context_length(n)
    sx = mixture.sigma_x
    G, H = _plain_quadratic(mixture, n)
    smms = sx @ mixture.mean_outer @ sx
    W = _quadratic_minimiser(sx, G - n * n * smms, H - n * smms)
    P = optimal_prompts(mixture, W, n)
    return Optimum(W, P, float(population_loss(mixture, W, P, n)), sx @ W)


def pgd_optimum(mixture: TaskMixture, n: int) -> Optimum:
    """W*_PGD = argmin_W of the debiased PGD objective, eq. (19) (Theorem 4). P is unused (zeros)."""
    n = check_context_length(n)
    G, H = _plain_quadratic(mixture.with_zero_means(), n)
    W = _quadratic_minimiser(mixture.sigma_x, G, H)
    return Optimum(W, np.zeros((mixture.K, mixture.d)), float(pgd_loss(mixture, W, n)), mixture.sigma_x @ W)


def optimum(strategy: str, mixture: TaskMixture, n: int) -> Optimum:
    """Dispatch by the paper's name: ``"PT"``, ``"FT"``, ``"JT"`` or ``"PGD"``."""
    return STRATEGIES[strategy](mixture, n)


STRATEGIES = {
    "PT": plain_training_optimum,
    "FT": fine_tuning_optimum,
    "JT": joint_training_optimum,
    "PGD": pgd_optimum,
}

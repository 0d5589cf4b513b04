"""The search family of Chang et al. (2025): the paper's figure presets and a generated family of Definition 2's mixtures.

The generated family spans what Definition 2 allows: d = 1..6, K = 1..4, isotropic and non-isotropic
Sigma_x, identical and heterogeneous task covariances, zero and non-zero means, sigma^2 = 0 and > 0.
Nothing is narrowed to make a claim pass; a claim's own stated hypothesis (e.g. the main text's
sigma = 0) is its scope.
"""

from __future__ import annotations

import numpy as np

from claims.record import Case
from theory.mixture import PRESETS, TaskMixture, preset


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def generated_mixtures(seed: int = 0) -> list[tuple[str, TaskMixture]]:
    """The deterministic generated family (label, mixture)."""
    rng = np.random.default_rng(seed)
    out = []
    for d in range(1, 7):
        for K in range(1, 5):
            for variant in ("iso", "noniso", "noniso-noisy", "zero-mean-noisy"):
                weights = rng.dirichlet(np.ones(K))
                weights[-1] = 1.0 - weights[:-1].sum()
                means = rng.standard_normal((K, d)) * 1.5
                if variant == "iso":
                    sx, covs, s2 = np.eye(d), np.stack([np.eye(d)] * K), 0.0
                else:
                    sx, covs = _spd(rng, d), np.stack([_spd(rng, d) for _ in range(K)])
                    s2 = float(rng.uniform(0.2, 3.0)) if variant.endswith("noisy") else 0.0
                if variant == "zero-mean-noisy":
                    means = np.zeros((K, d))
                out.append((f"gen d={d} K={K} {variant}", TaskMixture(sx, weights, means, covs, s2)))
    return out


def boundary_mixtures() -> list[tuple[str, TaskMixture]]:
    """Mixtures on the boundaries the corrected statements name, so that an 'iff' is tested from both sides.

    Assumption 1's stationarity (docs/assumption1.md): a zero mean task with a zero third moment of the task means
    but asymmetric weights (d = 1, means (1, -2, 3) with weights (0.5, 0.4, 0.1): sum pi mu = sum pi mu^3 = 0), with
    equal task covariances (stationary) and unequal ones (not stationary for joint training), noiseless and noisy;
    the same along one direction at d = 2; and a symmetric mixture (+-mu pairs, equal weights and covariances).

    The other corrected statements' conditions, each met non-trivially (with noise, non-zero means and non-identity
    covariances) and missed nearby:

    * Theorem 2's loss and Theorem 3's prompts: Sigma_x commuting with Sigma_tilde (and with the average task
      covariance and sum_k pi_k mu_k mu_k^T) but not the identity, diagonal and rotated; Sigma_x = 2 I (commutes with
      everything) with task covariances that do not commute with the means' second moment; Sigma_x = I with commuting
      and with non-commuting covariances and means (Theorem 2's boxed prompts hold at Sigma_x = I, not at 2 I);
    * Proposition 1's equality: equal task covariances with noise, isotropic task covariances of unequal scale without
      noise (the per-task optimal preconditioners coincide) and with noise (they do not);
    * Corollary 1's isotropic closed forms: Sigma_x = xi I with xi != 1, unequal s_k, collinear means, with and
      without noise.
    """
    t = np.array([1.0, -2.0, 3.0])
    w = np.array([0.5, 0.4, 0.1])
    equal, unequal = np.ones((3, 1, 1)), np.array([1.0, 2.0, 0.5]).reshape(3, 1, 1)
    direction = np.array([0.6, 0.8])
    sym_mu = np.array([[1.0, -0.5], [-1.0, 0.5], [0.3, 2.0], [-0.3, -2.0]])
    sym_cov = np.stack([np.diag([1.0, 2.0]), np.diag([1.0, 2.0]), np.eye(2), np.eye(2)])
    return [
        ("boundary d=1 K=3 zero-mean zero-skew", TaskMixture(np.eye(1), w, t[:, None], equal, 0.0)),
        ("boundary d=1 K=3 zero-mean zero-skew noisy", TaskMixture(np.eye(1), w, t[:, None], equal, 0.5)),
        ("boundary d=1 K=3 zero-mean zero-skew unequal covariances", TaskMixture(np.eye(1), w, t[:, None], unequal, 0.0)),
        ("boundary d=2 K=3 zero-mean zero-skew collinear",
         TaskMixture(np.diag([1.0, 2.0]), w, t[:, None] * direction, np.stack([np.eye(2)] * 3), 0.0)),
        ("boundary d=2 K=4 symmetric", TaskMixture(np.diag([1.0, 0.5]), np.array([0.3, 0.3, 0.2, 0.2]), sym_mu, sym_cov, 0.3)),
        *_commuting_mixtures(),
        *_per_task_preconditioner_mixtures(),
        *_isotropic_mixtures(),
    ]


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _commuting_mixtures() -> list[tuple[str, TaskMixture]]:
    """Sigma_x against Sigma_tilde = Sigma_x sum_k pi_k (Sigma_beta_k + mu_k mu_k^T): commuting (diagonal, rotated,
    2 I) or Sigma_x = I, with task covariances and means whose second moments commute or not."""
    w = np.array([0.6, 0.4])
    diag_covs = np.stack([np.diag([1.0, 2.0]), np.diag([2.0, 0.5])])
    axis_means = np.array([[1.5, 0.0], [0.0, -1.0]])
    R = _rotation(np.pi / 6)
    tilted_covs = np.stack([np.array([[1.0, 0.3], [0.3, 2.0]]), np.array([[2.0, -0.4], [-0.4, 1.0]])])
    generic_means = np.array([[1.0, 0.5], [-0.5, 1.5]])
    return [
        ("boundary d=2 K=2 Sigma_x diagonal commuting with Sigma_tilde noisy",
         TaskMixture(np.diag([1.0, 3.0]), w, axis_means, diag_covs, 0.4)),
        ("boundary d=2 K=2 Sigma_x rotated commuting with Sigma_tilde noisy",
         TaskMixture(R @ np.diag([1.0, 3.0]) @ R.T, w, axis_means @ R.T, R @ diag_covs @ R.T, 0.4)),
        ("boundary d=2 K=2 Sigma_x = 2I non-commuting covariances noisy", TaskMixture(2.0 * np.eye(2), w, generic_means, tilted_covs, 0.3)),
        ("boundary d=2 K=2 Sigma_x = I non-commuting covariances noisy", TaskMixture(np.eye(2), w, generic_means, tilted_covs, 0.3)),
        ("boundary d=2 K=2 Sigma_x = I commuting covariances and means", TaskMixture(np.eye(2), w, 2.0 * axis_means, diag_covs, 0.0)),
    ]


def _per_task_preconditioner_mixtures() -> list[tuple[str, TaskMixture]]:
    """Proposition 1: the per-task optimal preconditioners coincide (equal covariances; isotropic ones without noise)
    or not (isotropic ones of unequal scale with noise)."""
    sx = np.array([[1.0, 0.4], [0.4, 2.0]])
    cov = np.array([[1.5, -0.3], [-0.3, 0.8]])
    means3 = np.array([[1.0, -0.5], [0.0, 2.0], [-1.5, 0.5]])
    iso_covs = np.stack([np.eye(2), 3.0 * np.eye(2)])
    means2 = np.array([[1.0, 0.5], [-1.0, 1.0]])
    w2 = np.array([0.5, 0.5])
    return [
        ("boundary d=2 K=3 equal task covariances noisy", TaskMixture(sx, np.array([0.2, 0.5, 0.3]), means3, np.stack([cov] * 3), 0.7)),
        ("boundary d=2 K=2 isotropic task covariances unequal scale", TaskMixture(sx, w2, means2, iso_covs, 0.0)),
        ("boundary d=2 K=2 isotropic task covariances unequal scale noisy", TaskMixture(sx, w2, means2, iso_covs, 0.7)),
    ]


def _isotropic_mixtures() -> list[tuple[str, TaskMixture]]:
    """Corollary 1's isotropic setting beyond the generated family's xi = 1, s_k = 1, sigma^2 = 0: Sigma_x = xi I,
    Sigma_beta_k = s_k I, collinear means."""
    u3 = np.array([2.0, -1.0, 2.0]) / 3.0
    u4 = np.array([1.0, 1.0, -1.0, 1.0]) / 2.0
    return [
        ("boundary d=3 K=3 isotropic collinear xi=2 noisy",
         TaskMixture(2.0 * np.eye(3), np.array([0.5, 0.3, 0.2]), np.outer([1.0, -0.5, 2.0], u3),
                     np.stack([s * np.eye(3) for s in (0.5, 1.0, 2.0)]), 0.6)),
        ("boundary d=4 K=2 isotropic collinear xi=0.5",
         TaskMixture(0.5 * np.eye(4), np.array([0.7, 0.3]), np.outer([1.5, -2.0], u4),
                     np.stack([s * np.eye(4) for s in (1.5, 0.25)]), 0.0)),
    ]


def search_cases(ns: tuple[int, ...], seed: int = 0) -> list[Case]:
    """Presets, the generated family and the boundary family, each at every n in ``ns``."""
    mixtures = [(name, preset(name)) for name in PRESETS] + generated_mixtures(seed) + boundary_mixtures()
    return [Case(label, m, n) for label, m in mixtures for n in ns]

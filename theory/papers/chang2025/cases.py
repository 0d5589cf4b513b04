"""The search family of Chang et al. (2025): the paper's figure presets and a generated family of Definition 2's mixtures.

The generated family spans what Definition 2 allows: d = 1..6, K = 1..4, isotropic and non-isotropic
Sigma_x, identical and heterogeneous task covariances, zero and non-zero means, sigma^2 = 0 and > 0.
Nothing is narrowed to make a claim pass; a claim's own stated hypothesis (e.g. the main text's
sigma = 0) is its scope.
"""

from __future__ import annotations

import numpy as np

from theory.mixture import PRESETS, TaskMixture, preset
from theory.record import Case


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
    ]


def search_cases(ns: tuple[int, ...], seed: int = 0) -> list[Case]:
    """Presets, the generated family and the boundary family, each at every n in ``ns``."""
    mixtures = [(name, preset(name)) for name in PRESETS] + generated_mixtures(seed) + boundary_mixtures()
    return [Case(label, m, n) for label, m in mixtures for n in ns]

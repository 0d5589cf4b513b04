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


def search_cases(ns: tuple[int, ...], seed: int = 0) -> list[Case]:
    """Presets and the generated family, each at every n in ``ns``."""
    mixtures = [(name, preset(name)) for name in PRESETS] + generated_mixtures(seed)
    return [Case(label, m, n) for label, m in mixtures for n in ns]

"""Claim pack: Zhang, Frei and Bartlett, "Trained Transformers Learn Linear Models In-Context" (JMLR 25(49), 2024).

Claims (one module per result):

* :mod:`.theorem41`: ``ZFB.T4.1.W``, ``ZFB.T4.1.weights``, ``ZFB.T4.1.loss`` (Theorem 4.1, the limit of gradient
  flow and its loss);
* :mod:`.theorem42`: ``ZFB.T4.2`` (the test error for a prompt of M examples and any linear-Gaussian test
  distribution with the training covariance) and ``ZFB.C4.3`` (its bound);
* :mod:`.covariate_shift`: ``ZFB.S4.2.covariate-shift`` (Section 4.2: scaled covariates give c^2 <w, x>).

The mapping of their model onto :class:`theory.mixture.TaskMixture` is in :mod:`.model` and :data:`MAPPING`;
the docs page is ``docs/papers/zhang2024.md``.

>>> PAPER.key, PAPER.default_mixture in PAPER.presets, len(PAPER.claims)
('zhang2024', True, 6)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.papers.zhang2024 import covariate_shift, theorem41, theorem42
from claims.papers.zhang2024.model import DOCS, KEY, zhang_mixture
from claims.record import Case, Paper
from theory.mixture import Array, TaskMixture
from theory.seeds import rng as seed_rng

MAPPING = (
    "Their model is Definition 2 with one task (K = 1): task mean 0, task covariance I_d (w ~ N(0, I_d)), "
    "Sigma_x = Lambda (x_i, x_query ~ N(0, Lambda)), sigma^2 = 0 (noiseless labels y_i = <w, x_i>). The context "
    "length n is their N (N labelled columns of E; the query column is not counted). Their LSA "
    "f(E) = E + W^PV E (E^T W^KQ E)/N predicts the bottom-right entry; at the limit of Theorem 4.1 only W^PV_22 and "
    "the block W^KQ_11 are non-zero and the prediction is x^T (W^PV_22 W^KQ_11)(1/N) X^T y: the reduced predictor "
    "of eq. (7) with no prompts (Strategy.PT) and W = W^PV_22 W^KQ_11 / N = Gamma^{-1}/N. On a test prompt of M "
    "examples the normalisation is 1/M, so W = Gamma^{-1}/M at context length M. Their training loss is "
    "L = 1/2 E(y_hat - <w, x_query>)^2, half of the toolkit's E(f - y)^2; Theorem 4.2 and Corollary 4.3 state "
    "E(y_hat - y)^2 without the 1/2 (y with its noise where the test distribution has noise)."
)


def _correlated(d: int, rho: float) -> Array:
    idx = np.arange(d)
    return np.asarray(rho ** np.abs(idx[:, None] - idx[None, :]), dtype=np.float64)


PRESETS: dict[str, Callable[[], TaskMixture]] = {
    "isotropic": lambda: zhang_mixture(np.eye(5)),  # Lambda = I_5
    "diagonal": lambda: zhang_mixture(np.diag([0.25, 0.5, 1.0, 2.0, 4.0])),  # condition number 16
    "correlated": lambda: zhang_mixture(_correlated(4, 0.8)),  # Lambda_ij = 0.8^|i-j|
    "scalar": lambda: zhang_mixture(np.array([[2.0]])),  # d = 1
}
DEFAULT_MIXTURE = "correlated"


def _lambda(rng: np.random.Generator, d: int, variant: str) -> Array:
    """A covariance of the generated family: s I, a diagonal, or a rotated spectrum (condition number <= 100)."""
    if variant == "iso":
        return float(rng.uniform(0.3, 3.0)) * np.eye(d)
    eig = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=d))
    if variant == "diag":
        return np.diag(eig)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = (q * eig) @ q.T
    return (lam + lam.T) / 2


def generated_mixtures(seed: int = 0) -> list[tuple[str, TaskMixture]]:
    """The deterministic generated family of their model: d in (1, 2, 3, 5, 8), Lambda isotropic, diagonal or
    rotated (their Lambda is any positive definite matrix; the labels are noiseless and w ~ N(0, I) throughout)."""
    rng = seed_rng(seed, "zhang2024", "cases")
    out = []
    for d in (1, 2, 3, 5, 8):
        for variant in ("iso", "diag", "full"):
            if d == 1 and variant != "iso":
                continue  # d = 1 has one shape of Lambda
            out.append((f"zfb d={d} {variant}", zhang_mixture(_lambda(rng, d, variant))))
    return out


def cases(ns: tuple[int, ...], seed: int) -> list[Case]:
    """The presets and the generated family, each at every N in ``ns``."""
    mixtures = [(f"zfb {name}", build()) for name, build in PRESETS.items()] + generated_mixtures(seed)
    return [Case(label, m, n) for label, m in mixtures for n in ns]


PAPER = Paper(
    key=KEY,
    title="Trained Transformers Learn Linear Models In-Context",
    citation="Ruiqi Zhang, Spencer Frei, Peter L. Bartlett. Trained Transformers Learn Linear Models In-Context. "
             "Journal of Machine Learning Research 25(49):1-55, 2024 (arXiv:2306.09927)",
    claims=theorem41.CLAIMS + theorem42.CLAIMS + covariate_shift.CLAIMS,
    cases=cases,
    default_mixture=DEFAULT_MIXTURE,
    mapping=MAPPING,
    docs=DOCS,
    presets=PRESETS,
)

__all__ = ["MAPPING", "PAPER", "PRESETS", "cases", "generated_mixtures"]

"""Claim pack: Ahn, Cheng, Daneshmand and Sra, "Transformers learn to implement preconditioned gradient descent for
in-context learning" (NeurIPS 2023).

Claims (:mod:`.theorem1`): ``ACDS.T1`` (Theorem 1, the global minimum of one linear attention layer for
x ~ N(0, Sigma), w* ~ N(0, I)) and ``ACDS.eq7`` (its isotropic case).  The multi-layer results (Theorems 2-4) are
outside the reduced model of eq. (7) and are not in this pack.  The mapping is in :mod:`.model` and :data:`MAPPING`;
the docs page is ``docs/papers/ahn2023.md``.

>>> PAPER.key, PAPER.default_mixture in PAPER.presets, [c.id for c in PAPER.claims]
('ahn2023', True, ['ACDS.T1', 'ACDS.eq7'])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.papers.ahn2023 import theorem1
from claims.papers.ahn2023.model import DOCS, KEY, ahn_mixture
from claims.record import Case, Paper
from theory.mixture import Array, TaskMixture
from theory.seeds import rng as seed_rng

MAPPING = (
    "Their model is Definition 2 with one task (K = 1): task mean 0, task covariance I_d (w* ~ N(0, I_d)), "
    "Sigma_x = Sigma (x^(i) ~ N(0, Sigma)), sigma^2 = 0 (y^(i) = <w*, x^(i)>). The toolkit's n is theirs: n labelled "
    "columns of Z_0 and the query x^(n+1) with label 0, which the mask M = diag(I_n, 0) leaves out of the attention "
    "sum. The layer Z_1 = Z_0 + (1/n) P Z_0 M (Z_0^T Q Z_0) outputs TF = -[Z_1]_{d+1,n+1}; with P = [[0, 0], [0, p]] and "
    "Q = [[Q_11, 0], [0, 0]] this is x^T (-p Q_11^T / n) X^T y, the reduced predictor of eq. (7) with no prompts "
    "(Strategy.PT) and W = -p Q_11^T / n: Q_0 = -((n+1)/n Sigma + tr(Sigma)/n I)^{-1} is W = ((n+1) Sigma + "
    "tr(Sigma) I)^{-1}. The in-context loss E(TF - <w*, x^(n+1)>)^2 has no factor 1/2 and no noise, so it is the "
    "toolkit's E(f - y)^2 itself."
)


def _rotation(d: int, seed: int) -> Array:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return np.asarray(q * np.sign(np.diag(r)), dtype=np.float64)


def _rotated(eig: list[float], seed: int) -> Array:
    U = _rotation(len(eig), seed)
    sigma = (U * np.array(eig)) @ U.T
    return np.asarray((sigma + sigma.T) / 2, dtype=np.float64)


PRESETS: dict[str, Callable[[], TaskMixture]] = {
    "identity": lambda: ahn_mixture(np.eye(5)),  # eq. (7)'s case, d = 5
    "rotated": lambda: ahn_mixture(_rotated([0.2, 0.5, 1.0, 2.0, 5.0], 7)),  # Theorem 1 with a non-diagonal Sigma
    "diagonal": lambda: ahn_mixture(np.diag([0.5, 1.0, 3.0])),
    "identity-d1": lambda: ahn_mixture(np.eye(1)),
}
DEFAULT_MIXTURE = "rotated"


def generated_mixtures(seed: int = 0) -> list[tuple[str, TaskMixture]]:
    """Deterministic family of their model: d in (1, 2, 3, 5, 8); Sigma = I (eq. 7), s I, a diagonal, or a rotated
    spectrum with condition number up to 100 (w* ~ N(0, I), noiseless, throughout: their Theorem 1 has no noise)."""
    rng = seed_rng(seed, "ahn2023", "cases")
    out = []
    for d in (1, 2, 3, 5, 8):
        for variant in ("identity", "scaled", "diag", "rotated"):
            if d == 1 and variant in ("diag", "rotated"):
                continue
            if variant == "identity":
                sigma = np.eye(d)
            elif variant == "scaled":
                sigma = float(rng.uniform(0.3, 3.0)) * np.eye(d)
            else:
                eig = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=d))
                sigma = np.diag(eig) if variant == "diag" else _rotated(list(eig), int(rng.integers(1 << 31)))
            out.append((f"acds d={d} {variant}", ahn_mixture(sigma)))
    return out


def cases(ns: tuple[int, ...], seed: int) -> list[Case]:
    """The presets and the generated family, each at every n in ``ns``."""
    mixtures = [(f"acds {name}", build()) for name, build in PRESETS.items()] + generated_mixtures(seed)
    return [Case(label, m, n) for label, m in mixtures for n in ns]


PAPER = Paper(
    key=KEY,
    title="Transformers learn to implement preconditioned gradient descent for in-context learning",
    citation="Kwangjun Ahn, Xiang Cheng, Hadi Daneshmand, Suvrit Sra. Transformers learn to implement preconditioned "
             "gradient descent for in-context learning. NeurIPS 2023 (arXiv:2306.00297)",
    claims=theorem1.CLAIMS,
    cases=cases,
    default_mixture=DEFAULT_MIXTURE,
    mapping=MAPPING,
    docs=DOCS,
    presets=PRESETS,
)

__all__ = ["MAPPING", "PAPER", "PRESETS", "cases", "generated_mixtures"]

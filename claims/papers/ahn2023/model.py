"""Ahn, Cheng, Daneshmand and Sra (NeurIPS 2023): their data model, the parameters they state, and the mapping.

Their setting (Section 2).  The input is ``Z_0 = [[x^(1), ..., x^(n), x^(n+1)], [y^(1), ..., y^(n), 0]]``
((d+1) x (n+1)) with ``x^(i) ~ N(0, Sigma)`` i.i.d., ``w* ~ N(0, I_d)`` drawn per prompt (Theorem 1) and noiseless
``y^(i) = <w*, x^(i)>``.  One layer of linear self-attention updates
``Z_1 = Z_0 + (1/n) P Z_0 M (Z_0^T Q Z_0)`` with the mask ``M = diag(I_n, 0)`` (the query column is left out of the
sum), and the transformer's output is ``TF(Z_0) = -[Z_1]_{d+1, n+1}`` (the sign of von Oswald et al.); the
in-context loss is the squared error of that output against ``<w*, x^(n+1)>``, with no factor 1/2.

Mapping onto :class:`theory.mixture.TaskMixture`: one task (K = 1), mean 0, covariance I_d, ``Sigma_x = Sigma``,
``sigma^2 = 0``; the toolkit's n is theirs.  With ``P`` zero except ``P_{d+1,d+1} = p`` and ``Q`` zero outside its
top-left block ``Q_11``, ``TF = -(p/n) y^T X Q_11 x = x^T (-p Q_11^T / n) X^T y``: the reduced predictor of eq. (7)
with no prompts (Strategy.PT) and ``W = -p Q_11^T / n``.

Everything named ``claimed_*`` transcribes the paper (the thing under test); nothing here derives an optimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from claims.papers.single_task import IDENTITY_ATOL, is_standard_task, standard_task_mixture
from theory.errors import VerifyError
from theory.mixture import Array, TaskMixture

KEY = "ahn2023"
DOCS = "docs/papers/ahn2023.md"
SOURCE = "Ahn, Cheng, Daneshmand, Sra 2023"
MODEL_TEXT = "Ahn et al.'s model: one task w* ~ N(0, I_d) (K = 1, mean 0, covariance I), Sigma_x = Sigma, sigma^2 = 0"


def ahn_mixture(Sigma: Any) -> TaskMixture:
    """Their distribution as a TaskMixture: x ~ N(0, Sigma), w* ~ N(0, I_d), noiseless."""
    return standard_task_mixture(Sigma)


def in_model(m: TaskMixture) -> bool:
    """Is ``m`` their distribution: K = 1, mean 0, task covariance I_d, no noise?"""
    return is_standard_task(m)


def isotropic(m: TaskMixture) -> bool:
    """Their model with Sigma = I_d (the isotropic case, eq. 7)."""
    return in_model(m) and bool(np.allclose(m.sigma_x, np.eye(m.d), rtol=0.0, atol=IDENTITY_ATOL))


# ----- the paper's parameters (claims under test) --------------------------------------------------
def claimed_theorem1(Sigma: Array, n: int) -> tuple[Array, Array]:
    """(P_0, Q_0) of Theorem 1, literally: with Sigma = U diag(lambda_1..lambda_d) U^T,
    P_0 = [[0, 0], [0, 1]] and Q_0 = -[[U diag(1 / ((n+1)/n lambda_i + (1/n) sum_k lambda_k)) U^T, 0], [0, 0]]."""
    d = Sigma.shape[0]
    lam, U = np.linalg.eigh(Sigma)
    diag = 1.0 / ((n + 1) / n * lam + lam.sum() / n)
    P0 = np.zeros((d + 1, d + 1))
    P0[d, d] = 1.0
    Q0 = np.zeros((d + 1, d + 1))
    Q0[:d, :d] = -(U * diag) @ U.T
    return P0, Q0


def claimed_isotropic(d: int, n: int) -> tuple[Array, Array]:
    """(P_0, Q_0) of eq. (7), the isotropic case Sigma = I_d: Q_0 = -((n-1)/n + (d+2)/n)^{-1} [[I_d, 0], [0, 0]]."""
    P0 = np.zeros((d + 1, d + 1))
    P0[d, d] = 1.0
    Q0 = np.zeros((d + 1, d + 1))
    Q0[:d, :d] = -np.eye(d) / ((n - 1) / n + (d + 2) / n)
    return P0, Q0


def reduced_W(P: Array, Q: Array, n: int) -> Array:
    """The mapping: block-structured (P, Q) predict x^T W X^T y with W = -P_{d+1,d+1} Q_11^T / n."""
    d = P.shape[0] - 1
    if np.any(P[:d]) or np.any(P[d, :d]) or np.any(Q[d]) or np.any(Q[:, d]):
        raise VerifyError("reduced_W: (P, Q) are not of the block form [[0, 0], [0, p]], [[Q_11, 0], [0, 0]]")
    return np.asarray(-P[d, d] * Q[:d, :d].T / n, dtype=np.float64)


# ----- comparisons ---------------------------------------------------------------------------------

"""Independent references for the claim packs' tests: one linear self-attention layer, from its definition.

Nothing here uses :mod:`theory.optima`, :mod:`theory.loss` or the packs: the population loss of the layer's
prediction is computed from the prompt's distribution in two steps.

1. Given the task w and the query x_q, the N context tokens ``z_i = [x_i; y_i]`` are i.i.d. ``N(0, S_z)`` with
   ``S_z = [[L, L w], [w^T L, w^T L w + s2]]`` (L the feature covariance, s2 the label noise).  The prediction reads
   the tokens only through ``b^T (sum_i z_i z_i^T) v`` with ``b`` the value row, ``v = C x_q`` (C the key-query
   columns that meet the query, whose label is 0); Isserlis gives, for one token,
   ``E[(b^T z)^2 (z^T v)^2] = (b^T S_z b)(v^T S_z v) + 2 (b^T S_z v)^2``, hence
   ``E[(b^T S v / N)^2] = (1 + 1/N) (b^T S_z v)^2 + (b^T S_z b)(v^T S_z v) / N``.
2. Over (w, x_q) the conditional loss is a polynomial (degree <= 4 in w, <= 6 in x_q), integrated exactly by a
   tensor Gauss-Hermite rule (p points per coordinate are exact to degree 2p - 1).

``unmasked=True`` is Zhang-Frei-Bartlett's layer (the query token enters E E^T, adding
``(b^T q)(q^T v) / N`` with ``q = [x_q; 0]``); ``unmasked=False`` is Ahn et al.'s masked layer.  ``sign`` is the
output's sign (Ahn et al. read ``-[Z_1]_{d+1,n+1}``).  The query's own noise adds s2 to the loss.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss


def gauss_hermite(dim: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (P, dim) and weights (P,) of the tensor rule for E[f(g)], g ~ N(0, I_dim)."""
    x, w = hermegauss(points)
    w = w / np.sqrt(2 * np.pi)
    nodes = np.array(list(itertools.product(x, repeat=dim)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    return nodes, weights


@dataclass(frozen=True)
class Problem:
    """The prompt distribution: x ~ N(0, Lam), w ~ N(mu, Cw), label noise s2, N context tokens."""

    Lam: np.ndarray
    N: int
    mu: np.ndarray | None = None
    Cw: np.ndarray | None = None
    s2: float = 0.0

    @property
    def d(self) -> int:
        return int(self.Lam.shape[0])


class ExactLoss:
    """E[(y_hat - y)^2] of the one-layer LSA with value row ``b`` (d+1) and key-query columns ``C`` ((d+1) x d)."""

    def __init__(self, problem: Problem, *, unmasked: bool, sign: float = 1.0):
        d = problem.d
        mu = np.zeros(d) if problem.mu is None else problem.mu
        Cw = np.eye(d) if problem.Cw is None else problem.Cw
        gw, ww = gauss_hermite(d, 3)  # degree <= 4 in w
        gx, wx = gauss_hermite(d, 4)  # degree <= 6 in x_q
        W = mu + gw @ np.linalg.cholesky(Cw).T
        X = gx @ np.linalg.cholesky(problem.Lam).T
        t = lambda a: torch.tensor(np.array(a), dtype=torch.float64)  # noqa: E731  (a copy: mixtures are read-only)
        self.w, self.x, self.weights = t(W), t(X), t(np.outer(ww, wx))
        self.Lam, self.N, self.s2, self.d = t(problem.Lam), problem.N, problem.s2, d
        self.unmasked, self.sign = unmasked, sign

    def __call__(self, b: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
        d, N, Lam = self.d, self.N, self.Lam
        Lw = self.w @ Lam  # (Pw, d): (L w)^T
        wLw = (Lw * self.w).sum(-1)  # (Pw,)
        v = self.x @ C.T  # (Px, d+1): v = C x_q
        # b^T S_z v, b^T S_z b, v^T S_z v over the grid (Pw, Px)
        bx, by = b[:d], b[d]
        vx, vy = v[:, :d], v[:, d]
        bSv = (bx @ Lam @ vx.T)[None, :] + (Lw @ bx)[:, None] * vy[None, :] + by * (Lw @ vx.T) \
            + by * (wLw + self.s2)[:, None] * vy[None, :]
        bSb = bx @ Lam @ bx + 2 * by * (Lw @ bx) + by * by * (wLw + self.s2)
        vSv = ((vx @ Lam) * vx).sum(-1)[None, :] + 2 * vy[None, :] * (Lw @ vx.T) \
            + vy[None, :] ** 2 * (wLw + self.s2)[:, None]
        target = self.w @ self.x.T  # <w, x_q>
        query = ((self.x @ bx) * (self.x * vx).sum(-1))[None, :] / N if self.unmasked else torch.zeros(())
        a0 = self.sign * query - target
        second = (1 + 1 / N) * bSv**2 + bSb[:, None] * vSv / N
        return (self.weights * (second + 2 * a0 * self.sign * bSv + a0**2)).sum() + self.s2


def effective_W(b: np.ndarray, C: np.ndarray, N: int, sign: float = 1.0) -> np.ndarray:
    """The reduced W of the part of the prediction that is linear in the labels: sign (b_y C_1^T + c_2 b_x^T) / N."""
    d = C.shape[1]
    return np.asarray(sign * (b[d] * C[:d].T + np.outer(C[d], b[:d])) / N)


def sample_prompts(rng: np.random.Generator, Lam: np.ndarray, N: int, S: int, *, mu: np.ndarray | None = None,
                   Cw: np.ndarray | None = None, s2: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """S prompts of the data model, literally: (X (S, N, d), y (S, N), x_q (S, d), y_q (S,))."""
    d = Lam.shape[0]
    Lx = np.linalg.cholesky(Lam)
    w = (np.zeros(d) if mu is None else mu) + rng.standard_normal((S, d)) @ np.linalg.cholesky(
        np.eye(d) if Cw is None else Cw).T
    X = rng.standard_normal((S, N, d)) @ Lx.T
    xq = rng.standard_normal((S, d)) @ Lx.T
    y = np.einsum("snd,sd->sn", X, w) + np.sqrt(s2) * rng.standard_normal((S, N))
    yq = np.einsum("sd,sd->s", xq, w) + np.sqrt(s2) * rng.standard_normal(S)
    return X, y, xq, yq


def mean_and_tolerance(errors: np.ndarray, k: float) -> tuple[float, float]:
    """Sample mean and the half-width k * stderr, widened by the Cornish-Fisher term for the skew of squared errors
    (|g1| (2 k^2 + 1) / (6 sqrt(S)) standard errors, as montecarlo.Estimate recommends)."""
    S = errors.size
    mean, sd = float(errors.mean()), float(errors.std(ddof=1))
    g1 = float(((errors - mean) ** 3).mean() / sd**3)
    return mean, (k + abs(g1) * (2 * k * k + 1) / (6 * np.sqrt(S))) * sd / np.sqrt(S)

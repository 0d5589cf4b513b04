"""Sufficient statistics of a context, sampled without drawing the context itself.

Every predictor here reads the context only through the masked token Gram
matrix ``Z^T M Z = p_k p_k^T + G`` with ``G = sum_{i=1}^n z_i z_i^T`` and
``z_i = [x_i; y_i]`` (eqs. 5-6): ``X^T X = G[:d, :d]``, ``X^T y = G[:d, d]``,
``y^T y = G[d, d]``; and only through products ``G a`` with one vector a per
sample (see :mod:`montecarlo.predictors`).

Given beta, ``z_i = L_z g_i`` with ``g_i ~ N(0, I_{d+1})`` i.i.d. and

    L_z = [[L_x,          0    ],
           [beta^T L_x,   sigma]],      Sigma_x = L_x L_x^T,

because ``x_i = L_x u_i`` and ``y_i = x_i^T beta + sigma e_i`` (Definition 1).
Hence ``G = L_z S L_z^T`` with ``S = sum_i g_i g_i^T ~ Wishart(I_{d+1}, n)``,
exactly.  ``S = T T^T`` is drawn by the Bartlett decomposition (T lower
triangular, ``T_jj^2 ~ chi^2_{n-j}`` for j = 0..d, ``T_ij ~ N(0, 1)`` below the
diagonal) when n >= d+1, at a cost independent of n, and as ``T = g^T`` with
g an (n, d+1) standard normal matrix when n < d+1 (then S is singular and the
Bartlett form does not apply).  This joint (d+1)-dimensional draw contains
the two-step form (X^T X ~ Wishart(Sigma_x, n); X^T y = X^T X beta + X^T xi
with X^T xi | X ~ N(0, sigma^2 X^T X)) and also y^T y, which the full
attention model needs.  ``G a = L_z T T^T L_z^T a`` costs four
matrix-vector products per sample and G itself is never formed.

One product per sample (:class:`GramColumn`, :func:`sample_gram_columns`).  The one-layer predictors read
the context through ``G a`` for ONE vector a per sample (reduced: ``a = e_{d+1}``; PGD: ``[-mu_k; 1]``;
attention: ``a_k = W_v h_k``).  With ``u = L_z^T a`` and any orthogonal Q with ``Q e_1 = u / |u|``,
``S' = Q^T S Q ~ Wishart(I, n)`` too, so ``S u = |u| Q S' e_1`` in law, and the first column of a standard
Wishart is ``S' e_1 = r [r, z_2, ..., z_{d+1}]`` with ``r^2 ~ chi^2_n`` and ``z ~ N(0, I_d)`` independent (for
every n >= 1: ``r^2 = sum_i g_i1^2`` and, given it, ``sum_i g_i1 g_ij ~ N(0, r^2)``).  Q is a Householder
reflection.  That is d normals and one chi-square per sample instead of d(d+1)/2 normals and d+1
chi-squares, and O(d) memory instead of O(d^2): exact in law for one product, not for two different
vectors of the same sample (the multi-layer stack, which needs G itself, uses the full factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from montecarlo.sampler import MixtureTensors, sample_tasks


def _chi2(df: Tensor, generator: torch.Generator) -> Tensor:
    """chi^2 with (real) degrees of freedom ``df``: 2 Gamma(df / 2, 1), seeded by ``generator``."""
    # torch.distributions.Chi2 takes no generator; the underlying op does.
    return 2.0 * torch._standard_gamma(df / 2.0, generator=generator)


def standard_wishart_factor(n: int, p: int, batch_size: int, *, generator: torch.Generator,
                            device: torch.device, dtype: torch.dtype) -> Tensor:
    """A factor T with T T^T ~ Wishart(I_p, n): (B, p, p) Bartlett (lower triangular) when n >= p, else (B, p, n)."""
    if n < p:
        return torch.randn(batch_size, n, p, generator=generator, device=device, dtype=dtype).transpose(1, 2)
    df = (n - torch.arange(p, device=device, dtype=dtype)).expand(batch_size, p)  # (B, p): n, n-1, ..., n-p+1
    diag = torch.sqrt(_chi2(df, generator))  # (B, p)
    rows, cols = torch.tril_indices(p, p, -1, device=device)
    factor = torch.zeros(batch_size, p * p, device=device, dtype=dtype)  # (B, p*p), row-major T
    factor[:, rows * p + cols] = torch.randn(batch_size, rows.numel(), generator=generator, device=device, dtype=dtype)
    factor[:, torch.arange(p, device=device) * (p + 1)] = diag
    return factor.view(batch_size, p, p)


def _lz_transpose_times(a: Tensor, b: Tensor, chol_x: Tensor, sigma: float) -> Tensor:
    """L_z^T a per sample, (B, d+1), with ``b`` the rows of L_x^T beta (z = (x, y) = L_z (standard normals))."""
    d = b.shape[1]
    ax, ay = a[:, :d], a[:, d:]
    return torch.cat([ax @ chol_x + ay * b, sigma * ay], dim=1)


def _lz_times(z: Tensor, b: Tensor, chol_x: Tensor, sigma: float) -> Tensor:
    """L_z z per sample, (B, d+1): from standard-normal coordinates back to (x, y) coordinates."""
    d = b.shape[1]
    zx, zy = z[:, :d], z[:, d:]
    return torch.cat([zx @ chol_x.T, (b * zx).sum(-1, keepdim=True) + sigma * zy], dim=1)


@dataclass(frozen=True)
class ContextStatistics:
    """One batch of (task, beta, context) given only through G = sum_i z_i z_i^T = L_z T T^T L_z^T.

    Attributes: ``task`` (B,), ``beta`` (B, d), ``factor`` T (B, d+1, m), and
    ``chol_x`` L_x (d, d), ``sigma`` the noise standard deviation.
    """

    task: Tensor
    beta: Tensor
    factor: Tensor
    chol_x: Tensor
    sigma: float

    def gram_times(self, a: Tensor) -> Tensor:
        """G a for one (d+1)-vector per sample: (B, d+1) -> (B, d+1)."""
        b = self.beta @ self.chol_x  # (B, d): rows of L_x^T beta
        u = _lz_transpose_times(a, b, self.chol_x, self.sigma)
        w = torch.bmm(u.unsqueeze(1), self.factor)  # (B, 1, m): (T^T u)^T
        z = torch.bmm(self.factor, w.transpose(1, 2)).squeeze(-1)  # (B, d+1): T T^T u
        return _lz_times(z, b, self.chol_x, self.sigma)

    def xty(self) -> Tensor:
        """X^T y = (G e_{d+1})[:d] per sample: (B, d), the only context statistic the reduced model of eq. (7) reads."""
        B, d = self.beta.shape
        last = torch.zeros(B, d + 1, dtype=self.beta.dtype, device=self.beta.device)
        last[:, d] = 1.0
        return self.gram_times(last)[:, :d]

    def gram(self) -> Tensor:
        """G itself, (B, d+1, d+1) (for checks; the estimators only use :meth:`gram_times`)."""
        B, d = self.beta.shape
        Lz = torch.zeros(B, d + 1, d + 1, device=self.beta.device, dtype=self.beta.dtype)
        Lz[:, :d, :d] = self.chol_x
        Lz[:, d, :d] = self.beta @ self.chol_x
        Lz[:, d, d] = self.sigma
        F = Lz @ self.factor
        return F @ F.transpose(1, 2)


@dataclass(frozen=True)
class GramColumn:
    """One batch of (task, beta) and the randomness of ONE product ``G a`` per sample (see the module docstring).

    Attributes: ``task`` (B,), ``beta`` (B, d), ``radius`` r (B,) with r^2 ~ chi^2_n, ``normals`` z (B, d),
    ``chol_x`` L_x (d, d), ``sigma``.  :meth:`gram_times` may be called once per batch (a second call with
    another vector would not be jointly distributed like G a, G b).
    """

    task: Tensor
    beta: Tensor
    radius: Tensor
    normals: Tensor
    chol_x: Tensor
    sigma: float

    def gram_times(self, a: Tensor) -> Tensor:
        """G a in law, for one (d+1)-vector per sample: (B, d+1) -> (B, d+1)."""
        b = self.beta @ self.chol_x  # (B, d): rows of L_x^T beta
        u = _lz_transpose_times(a, b, self.chol_x, self.sigma)
        norm = u.norm(dim=1, keepdim=True)  # (B, 1)
        unit = u / torch.where(norm > 0, norm, torch.ones_like(norm))
        r = self.radius.unsqueeze(1)
        w = r * torch.cat([r, self.normals], dim=1)  # S' e_1, (B, d+1)
        # Q w with Q e_1 = unit: Q = -s H_v, v = e_1 + s unit, s = sign(unit_1) (|v|^2 = 2 + 2 |unit_1| >= 2)
        sgn = torch.where(unit[:, :1] > 0, 1.0, -1.0).to(u.dtype)
        v = sgn * unit
        v[:, 0] += 1.0
        Qw = -sgn * (w - v * (2.0 * (v * w).sum(1, keepdim=True) / (v * v).sum(1, keepdim=True)))
        return _lz_times(norm * Qw, b, self.chol_x, self.sigma)  # L_z S u

    def xty(self) -> Tensor:
        """X^T y = (G e_{d+1})[:d] per sample: (B, d)."""
        B, d = self.beta.shape
        last = torch.zeros(B, d + 1, dtype=self.beta.dtype, device=self.beta.device)
        last[:, d] = 1.0
        return self.gram_times(last)[:, :d]


def sample_gram_columns(t: MixtureTensors, n: int, batch_size: int, generator: torch.Generator) -> GramColumn:
    """Draw (task, beta) as in Definitions 1-2 and the randomness of one product ``G a`` of their length-n context."""
    task, beta = sample_tasks(t, batch_size, generator)
    device, dtype = t.means.device, t.means.dtype
    radius = torch.sqrt(_chi2(torch.full((batch_size,), float(n), device=device, dtype=dtype), generator))
    normals = torch.randn(batch_size, t.d, generator=generator, device=device, dtype=dtype)
    return GramColumn(task=task, beta=beta, radius=radius, normals=normals, chol_x=t.chol_x, sigma=t.sigma)


def sample_context_statistics(t: MixtureTensors, n: int, batch_size: int,
                              generator: torch.Generator) -> ContextStatistics:
    """Draw (task, beta) as in Definitions 1-2 and the Wishart factor of their length-n context.

    ``t`` is the mixture on the sampling device (:func:`montecarlo.mixture_tensors`); ``generator`` lives there too.
    """
    task, beta = sample_tasks(t, batch_size, generator)
    factor = standard_wishart_factor(n, t.d + 1, batch_size, generator=generator,
                                     device=t.means.device, dtype=t.means.dtype)
    return ContextStatistics(task=task, beta=beta, factor=factor, chol_x=t.chol_x, sigma=t.sigma)

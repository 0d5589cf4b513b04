"""The reduced model of Assumption 1, eq. (7): ``f = x^T W (X^T y + p_k)`` with ``W`` (R, d, d) and prompts ``P``
(R, K, d) (eq. 8), R restarts (panel members) at once.

Its losses are written through batch moments shared by the members at one context length (see
:meth:`ReducedModel.panel_losses`), its exact loss is :func:`theory.loss.population_loss` (the summary picks the
best restart by it, and the early stop compares it with the derived optima of :mod:`theory.optima`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from montecarlo import Batch, Estimate, MixtureTensors, ReducedPredictor, estimate_loss, reduced_query_vector
from theory.errors import VerifyError
from theory.loss import population_loss
from theory.mixture import TaskMixture
from theory.optima import optimal_prompts, optimum
from theory.strategy import Strategy
from training.config import check_positive_int
from training.models.base import Context, RestartScores, TrainableModel, draw, label_scale
from training.panel_data import PanelLayout, PanelStatistics


@lru_cache(maxsize=16)
def _pairs_cpu(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, l = np.triu_indices(d)
    return i, l, np.where(i == l, 1.0, 2.0)


@lru_cache(maxsize=16)
def _moment_index_cpu(d: int) -> np.ndarray:
    pair = np.zeros((d, d), dtype=np.int64)
    i, l = np.triu_indices(d)
    pair[i, l] = pair[l, i] = np.arange(i.size)
    P = i.size
    ii, jj, ll, mm = np.meshgrid(*(np.arange(d),) * 4, indexing="ij")  # (i, j, l, m)
    return (pair[ii, ll] * P + pair[jj, mm]).reshape(d * d, d * d)


def _moment_index(d: int, device: torch.device) -> Tensor:
    """Flat index into the (P x P) distinct moments giving Q_(ij),(lm) = E[x_i t_j x_l t_m] at row i d + j, column l d + m."""
    return torch.as_tensor(_moment_index_cpu(d), device=device)


def _pairs(d: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """Index pairs i <= l of a d x d symmetric matrix and their multiplicities (1 on the diagonal, 2 off it)."""
    i, l, mult = _pairs_cpu(d)
    return (torch.as_tensor(i, device=device), torch.as_tensor(l, device=device),
            torch.as_tensor(mult, dtype=dtype, device=device))


class ReducedModel(TrainableModel):
    """The reduced model of Assumption 1, eq. (7): ``f = x^T W (X^T y + p_k)``, R restarts at once.

    Parameters
    ----------
    d, K : feature dimension and number of tasks.
    restarts : R, the number of independent copies.
    prompts : whether the prompts P (eq. 8) exist (False: plain training, P = 0).
    """

    kind = "reduced"
    weight_names = ("W",)
    prompt_name = "P"
    predictor = ReducedPredictor

    def __init__(self, d: int, K: int, *, restarts: int = 1, prompts: bool = True,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        super().__init__()
        d, K, R = check_positive_int("d", d), check_positive_int("K", K), check_positive_int("restarts", restarts)
        self.d, self.K, self.restarts = d, K, R
        self.W = nn.Parameter(torch.zeros(R, d, d, dtype=dtype, device=device))  # (R, d, d)
        P = torch.zeros(R, K, d, dtype=dtype, device=device)  # (R, K, d)
        self.P = nn.Parameter(P) if prompts else nn.Parameter(P, requires_grad=False)
        self.has_prompts = prompts

    @classmethod
    def build(cls, mixture: TaskMixture, ns: list[int], *, layers: int, prompts: bool, task_heads: bool,
              device: torch.device, dtype: torch.dtype = torch.float64) -> ReducedModel:
        """The reduced model has neither task-specific heads nor a depth; one member per entry of ``ns``."""
        if task_heads:
            raise VerifyError("strategy: 'PGD' needs task-specific heads, which the reduced model does not have "
                              "(use model='attention' or 'multilayer')")
        if layers != 1:
            raise VerifyError(f"layers: only the 'multilayer' model has a depth, got layers={layers!r} for 'reduced'")
        return cls(mixture.d, mixture.K, restarts=len(ns), prompts=prompts, dtype=dtype, device=device)

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions x^T W (X^T y + p_k) on one batch shared by the restarts."""
        # X^T y = G[:d, d], read from the context Gram matrix: seeded runs stay bit-identical to earlier versions.
        xty = batch.gram()[:, : self.d, self.d]  # (B, d)
        return (reduced_query_vector(self.W, xty, self.P[:, batch.task]) * batch.x.unsqueeze(0)).sum(-1)

    def natural_scales(self, mixture: TaskMixture, n: int) -> dict[str, float]:
        """``W ~ 1 / (n + d + 1)`` (one preconditioned gradient step over n samples); ``p_k ~ (d + 1) |beta|``
        with ``|beta| ~ sqrt(E[y^2] / tr Sigma_x)`` (so that ``W p_k``, a task-mean correction, is O(|beta|))."""
        d = mixture.d
        return {"W": 1.0 / (n + d + 1), "P": (d + 1) * label_scale(mixture)}

    def initialise_restart(self, restart: int, generator: torch.Generator, scales: dict[str, float],
                           init_scale: float) -> None:
        s, d = init_scale, self.d
        self.W[restart].copy_(draw(self.W.shape[1:], s * scales["W"] / math.sqrt(d), generator))
        prompts = draw(self.P.shape[1:], s * scales["P"] / math.sqrt(d), generator)
        self.P[restart].copy_(prompts if self.has_prompts else torch.zeros_like(prompts))

    def integrated_losses(self, context: Context, tensors: MixtureTensors) -> Tensor:
        """(R,) batch means of E_query[(f - y)^2] = (W u_b - beta_b)^T Sigma_x (W u_b - beta_b) + sigma^2.

        ``u_b = X_b^T y_b + p_{k_b}``.  The same minibatch loss as averaging the per-sample terms, written
        through batch moments shared by the restarts (per task k: the share n_k, sum of X^T y, sum of beta),
        so each restart costs O(K d^2 + d^3) instead of O(B d^2):
        mean_b (W u - beta)^T S (W u - beta) = tr(S W E[u u^T] W^T) - 2 tr(S W E[u beta^T]) + E[beta^T S beta].
        """
        task, xty, beta, sigma_x = context.task, context.xty(), context.beta, tensors.sigma_x
        B = task.shape[0]
        onehot = torch.nn.functional.one_hot(task, self.K).to(xty.dtype) / B  # (B, K), rows sum to 1/B
        share = onehot.sum(0)  # (K,) n_k
        t_k = onehot.T @ xty  # (K, d): (1/B) sum_{b in k} X^T y
        b_k = onehot.T @ beta  # (K, d): (1/B) sum_{b in k} beta
        tt = xty.T @ xty / B  # (d, d)
        tb = xty.T @ beta / B  # (d, d)
        bsb = (beta @ sigma_x * beta).sum() / B  # E[beta^T Sigma_x beta]
        P = self.P  # (R, K, d)
        cross = torch.einsum("rki,kj->rij", P, t_k)  # sum_k p_k t_k^T
        uu = tt + cross + cross.transpose(1, 2) + torch.einsum("k,rki,rkj->rij", share, P, P)  # (R, d, d)
        ub = tb + torch.einsum("rki,kj->rij", P, b_k)  # (R, d, d): E[u beta^T]
        SW = sigma_x @ self.W  # (R, d, d)
        quad = (SW @ uu * self.W).sum((1, 2))  # tr(S W uu W^T)
        lin = (SW * ub.transpose(1, 2)).sum((1, 2))  # tr(S W ub)
        return quad - 2 * lin + bsb + tensors.sigma2

    def reduced_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, P) as float64 numpy arrays, (R, d, d) and (R, K, d)."""
        return self.W.detach().cpu().double().numpy().copy(), self.P.detach().cpu().double().numpy().copy()

    def exact_losses(self, mixture: TaskMixture, n: int) -> np.ndarray:
        """(R,) exact population losses :func:`theory.loss.population_loss` of each restart's (W, P)."""
        W, P = self.reduced_parameters()
        return np.atleast_1d(population_loss(mixture, W, P, n))

    def score_restarts(self, mixture: TaskMixture, n: int, *, samples: int, seed: int,
                       device: torch.device) -> RestartScores:
        """The exact population loss (``samples`` and ``seed`` are not needed)."""
        return RestartScores(self.exact_losses(mixture, n), "exact population loss", exact=True)

    def estimate(self, restart: int, mixture: TaskMixture, n: int, *, target_rel_se: float, max_samples: int,
                 seed: int, device: torch.device) -> Estimate:
        """:func:`montecarlo.estimate_loss` of :class:`montecarlo.ReducedPredictor` (the fast estimator)."""
        W, P = self.reduced_parameters()
        return estimate_loss(mixture, n, ReducedPredictor(W[restart], P[restart]), target_rel_se=target_rel_se,
                             max_samples=max_samples, seed=seed, device=device)

    def learned_quantities(self, restart: int, mixture: TaskMixture) -> dict[str, Any]:
        """``W`` and ``P`` themselves (eq. 7)."""
        W, P = self.reduced_parameters()
        return {"W": W[restart], "P": P[restart]}

    # ----- panels ------------------------------------------------------------------------
    reads_gram = False

    def panel_losses(self, stats: PanelStatistics, tensors: MixtureTensors, layout: PanelLayout,
                     query: str) -> Tensor:
        """(Na, S, R) minibatch losses through batch moments shared by every member of a group.

        Sampled query (the literal protocol), with ``u_b = x_b (X_b^T y_b)^T`` flattened (d^2):
        ``mean_b (x_b^T W (t_b + p_k) - y_b)^2 = w^T Q w + 2 sum_k w^T T_k (W p_k) + sum_k (W p_k)^T S_k (W p_k)
        - 2 w^T e - 2 sum_k (W p_k)^T f_k + mean y^2`` with ``w = vec W``, ``Q = mean u u^T`` (d^2 x d^2),
        ``T_k = mean_{b in k} u x^T``, ``S_k = mean_{b in k} x x^T``, ``e = mean y u``, ``f_k = mean_{b in k} y x``
        (means over all B, restricted to task k).  The same number as averaging the per-sample squared errors
        (``tests/training/test_panel.py``), at O(d^4) per member instead of O(B d^2): the moments cost
        O(B d^4 / 4) per group (Q is symmetric in (i, l) and in (j, m): its d(d+1)/2 x d(d+1)/2 distinct entries
        are one matrix product) and are shared by its S x R members.  Integrated query: :meth:`integrated_losses`'
        moment form.
        """
        d, K = self.d, self.K
        Na = int(stats.groups.numel())
        W = self.W.view(layout.N, layout.S * layout.R, d, d).index_select(0, stats.groups)  # (Na, C, d, d)
        P = self.P.view(layout.N, layout.S * layout.R, K, d).index_select(0, stats.groups)  # (Na, C, K, d)
        t, task = stats.xty, stats.task  # (Na, B, d), (B,)
        B = task.shape[0]
        onehot = torch.nn.functional.one_hot(task, K).to(t.dtype) / B  # (B, K), rows sum to 1/B
        WP = P @ W.transpose(-1, -2)  # (Na, C, K, d): W p_k
        if query == "sampled":
            x, y = stats.x, stats.y
            assert x is not None and y is not None
            i, l, _ = _pairs(d, t.device, t.dtype)  # the d(d+1)/2 pairs i <= l
            XX = x[:, i] * x[:, l]  # (B, P): x_i x_l
            TT = t[:, :, i] * t[:, :, l]  # (Na, B, P): t_j t_m
            Qs = (XX.T @ TT) / B  # (Na, P, P): mean x_i x_l t_j t_m, the distinct entries of Q
            Q = Qs.reshape(Na, -1)[:, _moment_index(d, t.device)]  # (Na, d^2, d^2): Q_(ij),(lm) = Qs_(il),(jm)
            w = W.reshape(Na, -1, d * d)  # (Na, C, d^2)
            quad = ((w @ Q) * w).sum(-1)
            XXk = onehot.T.unsqueeze(-1) * XX  # (K, B, P): the task's share of x_i x_l
            Tp = torch.einsum("kbp,nbj->nkpj", XXk, t)  # (Na, K, P, d): mean_{b in k} x_i x_l t_j
            T = torch.zeros(Na, K, d, d, d, dtype=t.dtype, device=t.device)  # (Na, K, i, l, j)
            T[:, :, i, l] = Tp
            T[:, :, l, i] = Tp
            cross = torch.einsum("ncij,nkilj,nckl->nc", W, T, WP)  # sum_k w^T T_k (W p_k)
            ay = (W * ((y / B).unsqueeze(-1) * x).T.unsqueeze(0).matmul(t).unsqueeze(1)).sum((-1, -2))  # w . mean y x t^T
            Sk = torch.einsum("bk,bi,bj->kij", onehot, x, x)  # (K, d, d)
            fk = onehot.T @ (y.unsqueeze(-1) * x)  # (K, d)
            cc = torch.einsum("nckj,kij,ncki->nc", WP, Sk, WP)
            cy = torch.einsum("ncki,ki->nc", WP, fk)
            losses = quad + 2 * cross + cc - 2 * ay - 2 * cy + y.pow(2).mean()
        else:
            beta, sigma_x = stats.beta, tensors.sigma_x
            share = onehot.sum(0)  # (K,)
            t_k = onehot.T @ t  # (Na, K, d)
            b_k = onehot.T @ beta  # (K, d)
            tt = t.transpose(1, 2) @ t / B  # (Na, d, d)
            tb = t.transpose(1, 2) @ beta / B  # (Na, d, d)
            bsb = (beta @ sigma_x * beta).sum() / B
            cross = P.transpose(-1, -2) @ t_k.unsqueeze(1)  # (Na, C, d, d): sum_k p_k t_k^T
            uu = tt.unsqueeze(1) + cross + cross.transpose(-1, -2) + torch.einsum("k,ncki,nckj->ncij", share, P, P)
            ub = tb.unsqueeze(1) + P.transpose(-1, -2) @ b_k  # E[u beta^T]
            SW = sigma_x @ W
            losses = (SW @ uu * W).sum((-1, -2)) - 2 * (SW * ub.transpose(-1, -2)).sum((-1, -2)) + bsb + tensors.sigma2
        return losses.view(Na, layout.S, layout.R)

    def member_exact_losses(self, mixture: TaskMixture, n: int, members: slice) -> np.ndarray:
        W, P = self.reduced_parameters()
        return np.atleast_1d(population_loss(mixture, W[members], P[members], n))

    def member_targets(self, strategy: Strategy, phase: int, mixture: TaskMixture, n: int,
                       members: slice) -> np.ndarray:
        """L*_PT, L*_JT (Theorems 1, 3); for "FT": L*_PT while pretraining, then min_P L(W, P) for each member's W."""
        count = len(range(*members.indices(self.restarts)))
        if strategy is Strategy.FT and phase == 1:
            W, _ = self.reduced_parameters()
            return np.array([float(population_loss(mixture, Wm, optimal_prompts(mixture, Wm, n), n)) for Wm in W[members]])
        base = Strategy.PT if strategy is Strategy.FT else strategy
        return np.full(count, optimum(base, mixture, n).loss)

    def extract(self, members: slice, n: int) -> ReducedModel:
        W, P = self.W.detach()[members], self.P.detach()[members]
        out = ReducedModel(self.d, self.K, restarts=W.shape[0], prompts=self.has_prompts, dtype=W.dtype, device=W.device)
        with torch.no_grad():
            out.W.copy_(W)
            out.P.copy_(P)
        return out



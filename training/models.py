"""Torch models of the paper, each holding R independent restarts in one module.

Every parameter carries a leading restart axis R; a forward pass on one
sampled batch returns (R, B) predictions, one row per restart, and the
training loss is the sum over restarts of each restart's mean squared error,
so restart r's gradient (and Adam's elementwise update) depends on restart r
alone: R restarts batched give the same trajectories as R single runs.

* :class:`ReducedModel`: Assumption 1 / eq. (7), ``f = x^T W (X^T y + p_k)``
  with ``W`` (R, d, d) and prompts ``P`` (R, K, d) (eq. 8).
* :class:`MultiLayerAttention`: the L-layer residual stack of Appendix E.1 on
  the token sequences ``Z^(k) = [p_k, z_1, ..., z_n, z]`` of eq. (5), each
  layer ``Attn(Z) = (Z W_q W_k^T Z^T) M Z W_v`` (eq. 6) with the mask
  ``M = diag(I_{n+1}, 0)``, ``Z_1 = Attn_1(Z)``, ``Z_{l+1} = Z_l + Attn_{l+1}(Z_l)``,
  and the prediction ``y_hat = (last row of Z_L) h`` with one shared head
  ``h`` (eq. 6) or task-specific heads ``h_k`` (Definition 4, eq. 17).
* :class:`AttentionModel`: the one-layer case (eqs. 6 and 17), evaluated on
  the query row only.

Scales: ``A = W_q W_k^T`` is stored as ``scale_A * W_q' W_k'^T`` with the
fixed ``scale_A = 1 / (n + d + 1)``, so that O(1) raw parameters give O(1)
predictions; the model class is unchanged (the constant is absorbed in W_q).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from montecarlo import Batch, token_sequences
from theory.attention import AttentionParameters
from theory.errors import VerifyError


def check_positive_int(name: str, value: object) -> int:
    """An integer >= 1, else VerifyError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise VerifyError(f"{name}: must be an integer >= 1, got {value!r}")
    return int(value)


def context_gram(batch: Batch) -> Tensor:
    """G = sum_i z_i z_i^T over the context tokens z_i = [x_i; y_i]: (B, d+1, d+1).

    Everything a one-layer model reads from the context: X^T X = G[:d, :d],
    X^T y = G[:d, d] and y^T y = G[d, d]; Z^T M Z = p_k p_k^T + G (eqs. 5-6).
    """
    tokens = torch.cat([batch.X, batch.y.unsqueeze(-1)], dim=-1)  # (B, n, d+1)
    return tokens.transpose(1, 2) @ tokens


class ReducedModel(nn.Module):
    """The reduced model of Assumption 1, eq. (7): ``f = x^T W (X^T y + p_k)``, R restarts at once.

    Parameters
    ----------
    d, K : feature dimension and number of tasks.
    restarts : R, the number of independent copies.
    prompts : whether the prompts P (eq. 8) exist (False: plain training, P = 0).
    """

    def __init__(self, d: int, K: int, *, restarts: int = 1, prompts: bool = True,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        super().__init__()
        d, K, R = check_positive_int("d", d), check_positive_int("K", K), check_positive_int("restarts", restarts)
        self.d, self.K, self.restarts = d, K, R
        self.W = nn.Parameter(torch.zeros(R, d, d, dtype=dtype, device=device))  # (R, d, d)
        P = torch.zeros(R, K, d, dtype=dtype, device=device)  # (R, K, d)
        self.P = nn.Parameter(P) if prompts else nn.Parameter(P, requires_grad=False)
        self.has_prompts = prompts

    def query_vector(self, task: Tensor, gram: Tensor) -> Tensor:
        """(R, B, d): v = W (X^T y + p_k) with X^T y = G[:d, d], so that f = x^T v."""
        v = gram[:, : self.d, self.d].unsqueeze(0) + self.P[:, task]  # (R, B, d)
        return torch.einsum("rbj,rij->rbi", v, self.W)  # (R, B, d): W v

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions x^T W (X^T y + p_k) on one batch shared by the restarts."""
        return (self.query_vector(batch.task, context_gram(batch)) * batch.x.unsqueeze(0)).sum(-1)

    def integrated_losses(self, task: Tensor, xty: Tensor, beta: Tensor, sigma_x: Tensor, sigma2: float) -> Tensor:
        """(R,) batch means of E_query[(f - y)^2] = (W u_b - beta_b)^T Sigma_x (W u_b - beta_b) + sigma^2.

        ``u_b = X_b^T y_b + p_{k_b}``.  The same minibatch loss as averaging the per-sample terms, written
        through batch moments shared by the restarts (per task k: the share n_k, sum of X^T y, sum of beta),
        so each restart costs O(K d^2 + d^3) instead of O(B d^2):
        mean_b (W u - beta)^T S (W u - beta) = tr(S W E[u u^T] W^T) - 2 tr(S W E[u beta^T]) + E[beta^T S beta].
        """
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
        return quad - 2 * lin + bsb + sigma2

    def reduced_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, P) as float64 numpy arrays, (R, d, d) and (R, K, d)."""
        return self.W.detach().cpu().double().numpy().copy(), self.P.detach().cpu().double().numpy().copy()


class MultiLayerAttention(nn.Module):
    """L-layer residual linear attention of Appendix E.1 (eq. 6 per layer), R restarts at once.

    Parameters
    ----------
    d, K : feature dimension and number of tasks.
    n : context length (sets the fixed scale of A, see the module docstring).
    layers : L >= 1.
    restarts : R.
    prompts : whether prompt tokens p_k (eq. 5) exist; without them the prompt row is 0,
        which is the same as no prompt token (a zero key/value adds nothing and stays 0).
    task_heads : one head h_k per task (Definition 4) instead of one shared head h.
    """

    def __init__(self, d: int, K: int, n: int, *, layers: int = 1, restarts: int = 1, prompts: bool = True,
                 task_heads: bool = False, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        d, K, n = check_positive_int("d", d), check_positive_int("K", K), check_positive_int("n", n)
        L, R = check_positive_int("layers", layers), check_positive_int("restarts", restarts)
        D = d + 1
        self.d, self.K, self.n, self.layers, self.restarts = d, K, n, L, R
        self.has_prompts, self.task_heads = prompts, task_heads
        self.scale_A = 1.0 / (n + d + 1)
        kw = {"dtype": dtype, "device": device}
        self.Wq = nn.Parameter(torch.zeros(R, L, D, D, **kw))  # (R, L, d+1, d+1)
        self.Wk = nn.Parameter(torch.zeros(R, L, D, D, **kw))
        self.Wv = nn.Parameter(torch.zeros(R, L, D, D, **kw))
        prompts_t = torch.zeros(R, K, D, **kw)  # (R, K, d+1)
        self.prompts = nn.Parameter(prompts_t) if prompts else nn.Parameter(prompts_t, requires_grad=False)
        self.heads = nn.Parameter(torch.zeros(R, K if task_heads else 1, D, **kw))  # (R, K or 1, d+1)

    # ----- the paper's quantities -------------------------------------------------
    def A(self) -> Tensor:
        """A = W_q W_k^T per restart and layer: (R, L, d+1, d+1)."""
        return self.scale_A * self.Wq @ self.Wk.transpose(-1, -2)

    def head_of(self, task: Tensor) -> Tensor:
        """(R, B, d+1): h_k per sample (or the shared h)."""
        if self.task_heads:
            return self.heads[:, task]
        return self.heads.expand(-1, task.shape[0], -1)

    def _tokens(self, batch: Batch) -> Tensor:
        """Z^(k) of eq. (5) per restart: (R, B, n+2, d+1); the context comes from montecarlo.token_sequences."""
        base = token_sequences(batch, torch.zeros(self.K, self.d + 1, dtype=batch.X.dtype, device=batch.X.device))
        first = torch.zeros_like(base[:, :, :1]).squeeze(-1)  # (B, n+2)
        first[:, 0] = 1.0
        return base.unsqueeze(0) + first[None, :, :, None] * self.prompts[:, batch.task].unsqueeze(2)

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions: last row of Z_L times h (or h_k)."""
        Z = self._tokens(batch)  # (R, B, T, D), T = n+2
        A = self.A()  # (R, L, D, D)
        mask = torch.ones(Z.shape[2], dtype=Z.dtype, device=Z.device)
        mask[-1] = 0.0  # M = diag(I_{n+1}, 0)
        for layer in range(self.layers):
            Al, Wv = A[:, layer].unsqueeze(1), self.Wv[:, layer].unsqueeze(1)  # (R, 1, D, D)
            if layer == self.layers - 1:
                q = Z[:, :, -1:] @ Al  # (R, B, 1, D): only the query row is read out
            else:
                q = Z @ Al  # (R, B, T, D)
            scores = (q @ Z.transpose(-1, -2)) * mask  # (R, B, T or 1, T): (Z A Z^T) M
            out = scores @ Z @ Wv  # Attn(Z): (R, B, T or 1, D)
            if layer == self.layers - 1:
                last = out[:, :, 0] if layer == 0 else Z[:, :, -1] + out[:, :, 0]  # (R, B, D)
            else:
                Z = out if layer == 0 else Z + out
        return (last * self.head_of(batch.task)).sum(-1)


class AttentionModel(MultiLayerAttention):
    """One-layer linear attention, eq. (6) with a shared head, eq. (17) with task-specific heads.

    ``f = (z^T A Z^T) M Z W_v h_k`` with ``A = W_q W_k^T`` (Section 3.2; Definition 4).
    Evaluated through the masked Gram matrix ``Z^T M Z = p_k p_k^T + sum_i z_i z_i^T``,
    so a step costs O(R B (d+1)^2) after the O(B n (d+1)^2) Gram of the shared batch.
    """

    def __init__(self, d: int, K: int, n: int, *, restarts: int = 1, prompts: bool = True, task_heads: bool = False,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        super().__init__(d, K, n, layers=1, restarts=restarts, prompts=prompts, task_heads=task_heads,
                         dtype=dtype, device=device)

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions f = x^T v."""
        return (self.query_vector(batch.task, context_gram(batch)) * batch.x.unsqueeze(0)).sum(-1)

    def query_vector(self, task: Tensor, gram: Tensor) -> Tensor:
        """(R, B, d): v = A[:d, :] Z^T M Z W_v h_k, so that f = z^T A Z^T M Z W_v h_k = x^T v (z = [x; 0]).

        ``gram`` is the context Gram matrix G (B, d+1, d+1) of :func:`context_gram`.
        """
        d = self.d
        a = torch.einsum("rij,rbj->rbi", self.Wv[:, 0], self.head_of(task))  # (R, B, D): W_v h_k
        p = self.prompts[:, task]  # (R, B, D)
        masked_a = torch.einsum("bij,rbj->rbi", gram, a) + p * (p * a).sum(-1, keepdim=True)  # Z^T M Z a
        return torch.einsum("rij,rbj->rbi", self.A()[:, 0, :d], masked_a)  # only A's first d rows meet z = [x; 0]

    def attention_parameters(self) -> list[AttentionParameters]:
        """Each restart's (A, W_v, prompts, heads) as float64 numpy (heads (K, d+1), repeated when shared)."""
        A = self.A()[:, 0].detach().cpu().double().numpy()
        Wv = self.Wv[:, 0].detach().cpu().double().numpy()
        P = self.prompts.detach().cpu().double().numpy()
        H = self.heads.detach().cpu().double().numpy()
        if not self.task_heads:
            H = np.repeat(H, self.K, axis=1)
        return [AttentionParameters(A=A[r].copy(), Wv=Wv[r].copy(), prompts=P[r].copy(), heads=H[r].copy())
                for r in range(self.restarts)]


MODELS = ("reduced", "attention", "multilayer")  # the names train(model=...) accepts

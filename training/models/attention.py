"""Linear attention of the paper, R restarts (panel members) at once.

* :class:`MultiLayerAttention`: the L-layer residual stack of Appendix E.1 on the token sequences
  ``Z^(k) = [p_k, z_1, ..., z_n, z]`` of eq. (5), each layer ``Attn(Z) = (Z W_q W_k^T Z^T) M Z W_v`` (eq. 6) with
  the mask ``M = diag(I_{n+1}, 0)``, ``Z_1 = Attn_1(Z)``, ``Z_{l+1} = Z_l + Attn_{l+1}(Z_l)``, and the prediction
  ``y_hat = (last row of Z_L) h`` with one shared head ``h`` (eq. 6) or task-specific heads ``h_k`` (Definition 4,
  eq. 17).  Every layer maps each token row linearly (``Z_l = Z C_l``), so the stack is linear in the query and
  reads the context only through its Gram matrix (:func:`montecarlo.multilayer_query_vector`).
* :class:`AttentionModel`: the one-layer case (eqs. 6 and 17), evaluated on the query row only.

Scales: ``A = W_q W_k^T`` is stored as ``scale_A * W_q' W_k'^T`` with the fixed ``scale_A = 1 / (n + d + 1)``, so
that O(1) raw parameters give O(1) predictions; the model class is unchanged (the constant is absorbed in W_q).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from montecarlo import (
    Batch,
    Estimate,
    MixtureTensors,
    MultiLayerParameters,
    attention_query_vector,
    estimate_loss,
    integrated_query_loss,
    make_generator,
    mixture_tensors,
    multilayer_query_vector,
    sample_context_statistics,
    token_sequences,
)
from theory.attention import AttentionParameters
from theory.errors import VerifyError
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from theory.unconstrained import UnconstrainedParameters, unconstrained_loss, unconstrained_optimum
from training.config import check_positive_int
from training.models.base import Context, RestartScores, TrainableModel, draw, label_scale
from training.panel_data import PanelLayout, PanelStatistics


def stack_label_scale(mixture: TaskMixture, layers: int) -> float:
    """The token rescaling of an L-layer stack: ``sqrt(E[y^2] / (tr Sigma_x / d))`` for L >= 2 (the label coordinate
    relative to a feature coordinate), 1 for one layer (whose numbers stay those of :class:`AttentionModel`).

    A deeper layer's update is cubic in the tokens, so with raw parameters a step on an entry that meets the label
    moves the output about (E[y^2] / E[x_i^2])^(3/2) times more than on a feature entry (340x on figA2-clean)."""
    if layers == 1:
        return 1.0
    return math.sqrt(mixture.label_second_moment() / (float(np.trace(mixture.sigma_x)) / mixture.d))


class MultiLayerAttention(TrainableModel):
    """L-layer residual linear attention of Appendix E.1 (eq. 6 per layer), R restarts at once.

    Parameters
    ----------
    d, K : feature dimension and number of tasks.
    n : context length (sets the fixed scale of A, see the module docstring); a sequence gives each
        restart (panel member) its own context length.
    layers : L >= 1.
    restarts : R.
    prompts : whether prompt tokens p_k (eq. 5) exist; without them the prompt row is 0,
        which is the same as no prompt token (a zero key/value adds nothing and stays 0).
    task_heads : one head h_k per task (Definition 4) instead of one shared head h.

    Linear in the query at any depth: every layer maps each token row linearly, ``Z_l = Z C_l`` with
    ``C_l`` a function of the masked Gram matrix ``Z^T M Z = p_k p_k^T + G`` alone
    (:func:`montecarlo.multilayer_query_vector`), so ``f = x^T (C_L h_k)[:d]``.  The forward pass is that
    exact form (checked against a token-by-token transcription of Appendix E.1 in the tests), the query can
    be integrated out, and the context's Gram matrix can be drawn directly, as for one layer.

    Initialisation and scales (measured, see docs/training.md "Appendix E"): layer 1 as the one-layer model
    except that the last row of ``A_1`` starts at 0 when L > 1; every deeper layer starts as a zero residual
    update (``W_v = 0``, ``DEEP_VALUE_SCALE``), so the stack starts as a one-layer model and depth is added by
    training; every natural scale (hence Adam's step) is divided by L.
    """

    kind = "multilayer"
    weight_names = ("Wq", "Wk", "Wv", "heads")
    prompt_name = "prompts"
    predictor: ClassVar[type] = MultiLayerParameters
    DEEP_VALUE_SCALE: ClassVar[float] = 0.0

    def __init__(self, d: int, K: int, n: int | Sequence[int], *, layers: int = 1, restarts: int = 1,
                 prompts: bool = True, task_heads: bool = False, label_scale: float = 1.0,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        super().__init__()
        d, K = check_positive_int("d", d), check_positive_int("K", K)
        L, R = check_positive_int("layers", layers), check_positive_int("restarts", restarts)
        D = d + 1
        self.d, self.K, self.layers, self.restarts = d, K, L, R
        self.has_prompts, self.task_heads = prompts, task_heads
        self.scale_A: float | Tensor
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            self.n = check_positive_int("n", n)
            self.scale_A = 1.0 / (self.n + d + 1)
        else:
            ns = [check_positive_int("n", v) for v in n]  # type: ignore[union-attr]
            if len(ns) != R:
                raise VerifyError(f"n: expected one context length per restart ({R}), got {len(ns)}")
            self.n = max(ns)
            self.scale_A = torch.tensor([1.0 / (v + d + 1) for v in ns], dtype=dtype, device=device).view(R, 1, 1, 1)
        self.Wq = nn.Parameter(torch.zeros(R, L, D, D, dtype=dtype, device=device))  # (R, L, d+1, d+1)
        self.Wk = nn.Parameter(torch.zeros(R, L, D, D, dtype=dtype, device=device))
        self.Wv = nn.Parameter(torch.zeros(R, L, D, D, dtype=dtype, device=device))
        prompts_t = torch.zeros(R, K, D, dtype=dtype, device=device)  # (R, K, d+1)
        self.prompts = nn.Parameter(prompts_t) if prompts else nn.Parameter(prompts_t, requires_grad=False)
        self.heads = nn.Parameter(torch.zeros(R, K if task_heads else 1, D, dtype=dtype, device=device))  # (R, K or 1, d+1)
        if isinstance(label_scale, bool) or not isinstance(label_scale, (int, float)) or not label_scale > 0:
            raise VerifyError(f"label_scale: must be a positive number, got {label_scale!r}")
        self.label_scale = float(label_scale)
        self.token_scale: Tensor | None = None  # S = diag(1, ..., 1, label_scale), None when it is the identity
        if self.label_scale != 1.0:
            self.token_scale = torch.ones(D, dtype=dtype, device=device)
            self.token_scale[d] = self.label_scale

    @classmethod
    def build(cls, mixture: TaskMixture, ns: list[int], *, layers: int, prompts: bool, task_heads: bool,
              device: torch.device, dtype: torch.dtype = torch.float64) -> MultiLayerAttention:
        """The L-layer stack with its token rescaling (:func:`stack_label_scale`); one member per entry of ``ns``."""
        return cls(mixture.d, mixture.K, ns, layers=layers, restarts=len(ns), prompts=prompts, task_heads=task_heads,
                   label_scale=stack_label_scale(mixture, layers), dtype=dtype, device=device)

    # ----- the paper's quantities -------------------------------------------------
    # The raw parameters act on tokens rescaled by S^{-1} (every coordinate of the same order):
    # A = S^{-1} A' S^{-1}, W_v = S^{-1} W_v' S, p_k = S p_k', h_k = S^{-1} h_k' (the same model class; S = I
    # unless ``label_scale`` is set, which the deeper stacks use).
    def A(self) -> Tensor:
        """A = W_q W_k^T per restart and layer: (R, L, d+1, d+1)."""
        A = self.scale_A * self.Wq @ self.Wk.transpose(-1, -2)
        if self.token_scale is None:
            return A
        return A / (self.token_scale.unsqueeze(-1) * self.token_scale)

    def values(self) -> Tensor:
        """W_v per restart and layer: (R, L, d+1, d+1)."""
        if self.token_scale is None:
            return self.Wv
        return self.Wv / self.token_scale.unsqueeze(-1) * self.token_scale

    def prompt_tokens(self) -> Tensor:
        """The prompt tokens p_k: (R, K, d+1)."""
        return self.prompts if self.token_scale is None else self.prompts * self.token_scale

    def head_vectors(self) -> Tensor:
        """The heads h_k (or h): (R, K or 1, d+1)."""
        return self.heads if self.token_scale is None else self.heads / self.token_scale

    def head_of(self, task: Tensor) -> Tensor:
        """(R, B, d+1): h_k per sample (or the shared h)."""
        heads = self.head_vectors()
        if self.task_heads:
            return heads[:, task]
        return heads.expand(-1, task.shape[0], -1)

    def stack_query_vector(self, task: Tensor, gram: Tensor) -> Tensor:
        """(R, B, d): v = (C_L h_k)[:d] (:func:`montecarlo.multilayer_query_vector`), f = x^T v."""
        return multilayer_query_vector(self.A(), self.values(), self.prompt_tokens()[:, task], self.head_of(task), gram)

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions: last row of Z_L times h (or h_k), through the exact Gram form."""
        return (self.stack_query_vector(batch.task, batch.gram()) * batch.x.unsqueeze(0)).sum(-1)

    def forward_tokens(self, batch: Batch) -> Tensor:
        """(R, B) predictions from the literal token sequences Z^(k) (eq. 5), layer by layer as Appendix E.1 writes
        them: the reference the Gram form is checked against, and the toolkit's earlier (costlier) forward pass."""
        A, Wv = self.A(), self.values()  # (R, L, D, D)
        base = token_sequences(batch, torch.zeros(self.K, self.d + 1, dtype=batch.X.dtype, device=batch.X.device))
        first = torch.zeros(base.shape[1], dtype=base.dtype, device=base.device)
        first[0] = 1.0
        Z = base.unsqueeze(0) + first[None, None, :, None] * self.prompt_tokens()[:, batch.task].unsqueeze(2)  # (R, B, T, D)
        mask = torch.ones(Z.shape[2], dtype=Z.dtype, device=Z.device)
        mask[-1] = 0.0  # M = diag(I_{n+1}, 0)
        for layer in range(self.layers):
            scores = (Z @ A[:, layer].unsqueeze(1) @ Z.transpose(-1, -2)) * mask  # (Z A Z^T) M
            out = scores @ Z @ Wv[:, layer].unsqueeze(1)
            Z = out if layer == 0 else Z + out
        return (Z[:, :, -1] * self.head_of(batch.task)).sum(-1)

    def integrated_losses(self, context: Context, tensors: MixtureTensors) -> Tensor:
        return integrated_query_loss(self.stack_query_vector(context.task, context.gram()), context.beta,
                                     tensors.chol_x, tensors.sigma2, batch_mean=True)

    def multilayer_parameters(self) -> list[MultiLayerParameters]:
        """Each restart's (A, W_v) per layer, prompts and heads (K, d+1) as float64 numpy."""
        A = self.A().detach().cpu().double().numpy()
        Wv = self.values().detach().cpu().double().numpy()
        P = self.prompt_tokens().detach().cpu().double().numpy()
        H = self.head_vectors().detach().cpu().double().numpy()
        if not self.task_heads:
            H = np.repeat(H, self.K, axis=1)
        return [MultiLayerParameters(A=A[r].copy(), Wv=Wv[r].copy(), prompts=P[r].copy(), heads=H[r].copy())
                for r in range(self.restarts)]

    # ----- training ------------------------------------------------------------------
    def natural_scales(self, mixture: TaskMixture, n: int) -> dict[str, float]:
        """Raw ``W_q, W_k, W_v, h`` are O(1) (A carries the 1/(n+d+1) factor); prompts O(sqrt((n + d + 1) |beta|)).

        With L layers every scale is divided by L: a step then moves the output by about as much as one layer's
        step does (the layers' updates compose).  Measured on figA2-clean, n = 10 (docs/training.md): two layers
        at the one-layer step size left 3 of 4 restarts far above the one-layer optimum; at 0.4 times it all 4
        ended below it."""
        d = mixture.d
        scales = {name: 1.0 / self.layers for name in self.weight_names}
        scales["prompts"] = math.sqrt((n + d + 1) * max(label_scale(mixture), 1e-12)) / self.layers
        return scales

    def initialise_restart(self, restart: int, generator: torch.Generator, scales: dict[str, float],
                           init_scale: float) -> None:
        """W_q, W_k ~ N(0, s^2 / (d+1)), W_v = I + N(0, s^2 / (d+1)) in layer 1 and N(0, (c s)^2 / (d+1)) with
        c = ``DEEP_VALUE_SCALE`` (0) in deeper layers, heads N(0, s^2), prompts at their scale; the last row of
        layer 1's W_q is 0 when L > 1.

        The draws of layer 1, the heads and the prompts come first from the restart's generator, so that layer
        1 of an L-layer restart starts where the one-layer restart does."""
        s, D = init_scale, self.d + 1
        for name in ("Wq", "Wk", "Wv"):
            param = self.get_parameter(name)
            param[restart, 0].copy_(draw(param.shape[2:], s * scales[name] / math.sqrt(D), generator)
                                    + torch.eye(D) * (name == "Wv"))
        self.heads[restart].copy_(draw(self.heads.shape[1:], s * scales["heads"], generator))
        prompts = draw(self.prompts.shape[1:], s * scales["prompts"] / math.sqrt(D), generator)
        self.prompts[restart].copy_(prompts if self.has_prompts else torch.zeros_like(prompts))
        if self.layers > 1:
            # Layer 1's last row of A never meets the query (its label entry is 0), so one layer leaves it at its
            # random start; in a stack it multiplies every context label into layer 1's output.  Start it at 0.
            self.Wq[restart, 0, self.d] = 0.0
        for layer in range(1, self.layers):
            for name in ("Wq", "Wk", "Wv"):
                param = self.get_parameter(name)
                std = s * scales[name] / math.sqrt(D) * (self.DEEP_VALUE_SCALE if name == "Wv" else 1.0)
                param[restart, layer].copy_(draw(param.shape[2:], std, generator))

    def continue_from(self, shallower: MultiLayerAttention) -> None:
        """Start as ``shallower`` (an L0-layer stack with L0 < L, the same restarts and context lengths) computes:
        its layers become layers 1..L0 (A, W_v, prompts and heads carried over as the paper's quantities, whatever
        either stack's token rescaling), and the layers above keep their zero residual updates (``W_v = 0``), so
        the deeper stack starts with exactly the shallower one's predictions and losses (Appendix E: depth added to
        a trained stack)."""
        L0 = shallower.layers
        if not (isinstance(shallower, MultiLayerAttention) and L0 < self.layers
                and (shallower.d, shallower.K, shallower.restarts) == (self.d, self.K, self.restarts)
                and (shallower.has_prompts, shallower.task_heads) == (self.has_prompts, self.task_heads)):
            raise VerifyError(f"warm start: a {self.layers}-layer stack continues from a shallower stack of the same "
                              "shape, prompts and heads")
        if not torch.equal(torch.as_tensor(shallower.scale_A, dtype=torch.float64).cpu(),
                           torch.as_tensor(self.scale_A, dtype=torch.float64).cpu()):
            raise VerifyError("warm start: the shallower stack was trained at other context lengths")
        one = torch.ones(self.d + 1, dtype=self.Wq.dtype, device=self.Wq.device)
        old_s = one if shallower.token_scale is None else shallower.token_scale.to(one)
        new_s = one if self.token_scale is None else self.token_scale
        ratio = new_s / old_s  # raw -> raw: A, W_v, p, h keep their values as the paper's quantities
        with torch.no_grad():
            self.Wq[:, :L0].copy_(shallower.Wq.detach().to(one) * ratio.unsqueeze(-1))
            self.Wk[:, :L0].copy_(shallower.Wk.detach().to(one) * ratio.unsqueeze(-1))
            self.Wv[:, :L0].copy_(shallower.Wv.detach().to(one) * ratio.unsqueeze(-1) / ratio)
            self.Wv[:, L0:].zero_()
            self.prompts.copy_(shallower.prompts.detach().to(one) / ratio)
            self.heads.copy_(shallower.heads.detach().to(one) * ratio)

    # ----- after training -------------------------------------------------------------
    def score_restarts(self, mixture: TaskMixture, n: int, *, samples: int, seed: int,
                       device: torch.device) -> RestartScores:
        """The query-integrated loss on ``samples`` fresh context statistics shared by the restarts."""
        generator = make_generator(seed, device)
        with torch.no_grad():
            tensors = mixture_tensors(mixture, device, torch.float64)
            stats = sample_context_statistics(tensors, n, samples, generator)
            losses = self.integrated_losses(stats, tensors)
        return RestartScores(losses.cpu().numpy(), f"Monte Carlo, {samples} shared samples (query integrated)",
                             exact=False)

    def estimate(self, restart: int, mixture: TaskMixture, n: int, *, target_rel_se: float, max_samples: int,
                 seed: int, device: torch.device) -> Estimate:
        """:func:`montecarlo.estimate_loss` (fast estimator) of the restart's :class:`montecarlo.MultiLayerParameters`."""
        return estimate_loss(mixture, n, self.multilayer_parameters()[restart], target_rel_se=target_rel_se,
                             max_samples=max_samples, seed=seed, device=device)

    # ----- panels ------------------------------------------------------------------------
    def panel_losses(self, stats: PanelStatistics, tensors: MixtureTensors, layout: PanelLayout,
                     query: str) -> Tensor:
        """(Na, S, R) minibatch losses: each member's query vector on its group's Gram matrix.

        One layer: ``f = x^T A[:d,:] (G a_k + p_k (p_k . a_k))`` with ``a_k = W_v h_k`` per member and task, so
        with the samples ordered by task, ``G_b a_k`` for a whole task block and every member of a group is one
        matrix product, and so is ``A[:d,:]^T x`` (:meth:`_one_layer_panel_losses`).  Deeper stacks:
        :func:`montecarlo.multilayer_query_vector` per sample and member.
        """
        assert stats.gram is not None
        C = layout.S * layout.R
        groups = stats.groups

        def members(t: Tensor) -> Tensor:  # (M, ...) -> (Na, C, ...)
            return t.view(layout.N, C, *t.shape[1:]).index_select(0, groups)

        if self.layers == 1:
            return self._one_layer_panel_losses(stats, tensors, members(self.A())[:, :, 0], members(self.values())[:, :, 0],
                                                members(self.prompt_tokens()), members(self.head_vectors()),
                                                query).view(-1, layout.S, layout.R)

        A, Wv = members(self.A()), members(self.values())  # (Na, C, L, D, D)
        task = stats.task
        prompt = members(self.prompt_tokens())[:, :, task]  # (Na, C, B, D)
        heads = members(self.head_vectors())
        head = heads[:, :, task] if self.task_heads else heads.expand(-1, -1, task.shape[0], -1)
        v = multilayer_query_vector(A, Wv, prompt, head, stats.gram)  # (Na, C, B, d)
        if query == "sampled":
            assert stats.x is not None and stats.y is not None
            losses = ((v * stats.x).sum(-1) - stats.y).pow(2).mean(-1)
        else:
            losses = integrated_query_loss(v, stats.beta, tensors.chol_x, tensors.sigma2, batch_mean=True)
        return losses.view(-1, layout.S, layout.R)

    def _one_layer_panel_losses(self, stats: PanelStatistics, tensors: MixtureTensors, A: Tensor, Wv: Tensor,
                                prompts: Tensor, heads: Tensor, query: str) -> Tensor:
        """(Na, C) losses of one-layer members: A, Wv (Na, C, D, D), prompts (Na, C, K, D), heads (Na, C, K or 1, D).

        The samples come ordered by task (:class:`training.panel_data.PanelStatistics`), and each task's block is
        done with matrix products over the block's samples and the group's members."""
        assert stats.gram is not None
        d = self.d
        Na, C, D = A.shape[0], A.shape[1], d + 1
        values = heads @ Wv.transpose(-1, -2)  # (Na, C, K or 1, D): a_k = W_v h_k
        scal = (prompts * values).sum(-1)  # (Na, C, K): p_k . a_k
        Ad = A[:, :, :d].permute(0, 2, 3, 1).reshape(Na, d, D * C)  # A[:d,:] as (i, (j, c))
        if query != "sampled":
            H = (A[:, :, :d].transpose(-1, -2) @ tensors.sigma_x @ A[:, :, :d])  # (Na, C, D, D): A_d^T Sigma_x A_d
        total = torch.zeros(Na, C, dtype=A.dtype, device=A.device)
        for k, (start, stop) in enumerate(stats.task_blocks()):
            count = stop - start
            if count == 0:
                continue
            a = values[:, :, k if self.task_heads else 0]  # (Na, C, D)
            Ga = (stats.gram[:, start:stop].reshape(Na, count * D, D) @ a.transpose(1, 2)).view(Na, count, D, C)
            r = Ga + (prompts[:, :, k] * scal[:, :, k, None]).transpose(1, 2).unsqueeze(1)  # (p p^T + G) a_k
            if query == "sampled":
                assert stats.x is not None and stats.y is not None
                q = (stats.x[start:stop] @ Ad).view(Na, count, D, C)  # A[:d,:]^T x
                total = total + ((q * r).sum(2) - stats.y[start:stop, None]).pow(2).sum(1)
            else:  # (v - beta)^T Sigma_x (v - beta) with v = A[:d,:] r, over the query
                beta_s = stats.beta[start:stop] @ tensors.sigma_x  # (b, d)
                cross = (beta_s @ Ad).view(Na, count, D, C)  # A_d^T Sigma_x beta
                Hr = torch.einsum("ncij,nbjc->nbic", H, r)
                total = total + ((r * Hr).sum(2) - 2 * (r * cross).sum(2)).sum(1) + (beta_s * stats.beta[start:stop]).sum()
        B = stats.size
        return total / B + (0.0 if query == "sampled" else tensors.sigma2)

    def _one_layer_parameters(self, members: slice) -> list[UnconstrainedParameters]:
        A = self.A()[members, 0].detach().cpu().double().numpy()
        Wv = self.values()[members, 0].detach().cpu().double().numpy()
        P = self.prompt_tokens()[members].detach().cpu().double().numpy()
        H = self.head_vectors()[members].detach().cpu().double().numpy()
        if not self.task_heads:
            H = np.repeat(H, self.K, axis=1)
        return [UnconstrainedParameters(A=A[i], heads=H[i] @ Wv[i].T, prompts=P[i] if self.has_prompts else None)
                for i in range(A.shape[0])]

    def member_exact_losses(self, mixture: TaskMixture, n: int, members: slice) -> np.ndarray | None:
        """One layer: the exact loss of eq. (6)/(17) (:func:`theory.unconstrained.unconstrained_loss`); deeper: None."""
        if self.layers != 1:
            return None
        return np.array([unconstrained_loss(mixture, p, n) for p in self._one_layer_parameters(members)])

    def member_targets(self, strategy: Strategy, phase: int, mixture: TaskMixture, n: int,
                       members: slice) -> np.ndarray | None:
        """One layer: the exact optimum of the unconstrained attention (:func:`theory.unconstrained.unconstrained_optimum`;
        shared head for PT/JT and FT's pretraining, task heads for PGD); FT's prompt phase and deeper stacks: None."""
        if self.layers != 1 or (strategy is Strategy.FT and phase == 1):
            return None
        mode = "PT" if strategy in (Strategy.PT, Strategy.FT) else "JT"
        count = len(range(*members.indices(self.restarts)))
        return np.full(count, _unconstrained_optimum_loss(mixture, n, mode, not self.task_heads))

    def extract(self, members: slice, n: int) -> MultiLayerAttention:
        Wq = self.Wq.detach()[members]
        cls = type(self)
        kwargs: dict[str, Any] = {} if cls is AttentionModel else {"layers": self.layers, "label_scale": self.label_scale}
        out = cls(self.d, self.K, n, restarts=Wq.shape[0], prompts=self.has_prompts, task_heads=self.task_heads,
                  dtype=Wq.dtype, device=Wq.device, **kwargs)
        # A = scale_A Wq Wk^T: rescale W_q so that each member keeps its A at the new (scalar) scale
        factor = (self.scale_A[members] if isinstance(self.scale_A, Tensor) else self.scale_A) / out.scale_A
        with torch.no_grad():
            out.Wq.copy_(Wq * factor)
            for name in ("Wk", "Wv", "prompts", "heads"):
                out.get_parameter(name).copy_(self.get_parameter(name).detach()[members])
        return out


@lru_cache(maxsize=256)
def _unconstrained_optimum_loss(mixture: TaskMixture, n: int, mode: str, shared_head: bool) -> float:
    return unconstrained_optimum(mixture, n, mode, shared_head=shared_head, starts=4).loss


class AttentionModel(MultiLayerAttention):
    """One-layer linear attention, eq. (6) with a shared head, eq. (17) with task-specific heads.

    ``f = (z^T A Z^T) M Z W_v h_k`` with ``A = W_q W_k^T`` (Section 3.2; Definition 4).
    Evaluated through the masked Gram matrix ``Z^T M Z = p_k p_k^T + sum_i z_i z_i^T``,
    so a step costs O(R B (d+1)^2) after the O(B n (d+1)^2) Gram of the shared batch.
    """

    kind = "attention"
    predictor = AttentionParameters

    def __init__(self, d: int, K: int, n: int | Sequence[int], *, restarts: int = 1, prompts: bool = True,
                 task_heads: bool = False, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        super().__init__(d, K, n, layers=1, restarts=restarts, prompts=prompts, task_heads=task_heads,
                         dtype=dtype, device=device)

    @classmethod
    def build(cls, mixture: TaskMixture, ns: list[int], *, layers: int, prompts: bool, task_heads: bool,
              device: torch.device, dtype: torch.dtype = torch.float64) -> AttentionModel:
        """One layer only (deeper stacks are the 'multilayer' kind); one member per entry of ``ns``."""
        if layers != 1:
            raise VerifyError(f"layers: the one-layer 'attention' model has layers=1, got {layers!r} (use 'multilayer')")
        return cls(mixture.d, mixture.K, ns, restarts=len(ns), prompts=prompts, task_heads=task_heads, dtype=dtype,
                   device=device)

    def forward(self, batch: Batch) -> Tensor:
        """(R, B) predictions f = x^T v."""
        return (self.query_vector(batch.task, batch.gram()) * batch.x.unsqueeze(0)).sum(-1)

    def query_vector(self, task: Tensor, gram: Tensor) -> Tensor:
        """(R, B, d): v = A[:d, :] Z^T M Z W_v h_k, so that f = z^T A Z^T M Z W_v h_k = x^T v (z = [x; 0]).

        ``gram`` is the context Gram matrix G (B, d+1, d+1) (:meth:`montecarlo.Batch.gram`,
        :meth:`montecarlo.ContextStatistics.gram`); the formula is :func:`montecarlo.attention_query_vector`.
        """
        a = torch.einsum("rij,rbj->rbi", self.Wv[:, 0], self.head_of(task))  # (R, B, D): W_v h_k
        return attention_query_vector(self.A()[:, 0], self.prompts[:, task], a, torch.einsum("bij,rbj->rbi", gram, a))

    def integrated_losses(self, context: Context, tensors: MixtureTensors) -> Tensor:
        return integrated_query_loss(self.query_vector(context.task, context.gram()), context.beta, tensors.chol_x,
                                     tensors.sigma2, batch_mean=True)

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

    # ----- after training -------------------------------------------------------------
    def estimate(self, restart: int, mixture: TaskMixture, n: int, *, target_rel_se: float, max_samples: int,
                 seed: int, device: torch.device) -> Estimate:
        """:func:`montecarlo.estimate_loss` of the restart's :class:`theory.attention.AttentionParameters`."""
        return estimate_loss(mixture, n, self.attention_parameters()[restart], target_rel_se=target_rel_se,
                             max_samples=max_samples, seed=seed, device=device)

    def learned_quantities(self, restart: int, mixture: TaskMixture) -> dict[str, Any]:
        """The reduced model's quantities realised by the attention (see :mod:`training.results`).

        Shared head ``a = W_v h`` (eq. 6): ``W = a_y A[:d,:d]``, ``P`` from ``W p_bar_k = A[:d,:] p_k (p_k . a)``,
        and the block deviation; task-specific heads ``a_k = W_v h_k`` (eq. 17): ``W_per_task``
        (``a_{k,y} A[:d,:d]``), ``implied_means`` (``-a_{k,x} / a_{k,y}``) and ``prompt_offsets``
        (``A[:d,:] p_k (p_k . a_k)``).
        """
        params = self.attention_parameters()[restart]
        if self.task_heads:
            return _task_head_quantities(params, mixture)
        return _shared_head_quantities(params, mixture)


# ----- mapping attention parameters back to the paper's quantities ------------------------------
def _block_deviation(A: np.ndarray, a: np.ndarray, mixture: TaskMixture) -> dict[str, float]:
    d, ey2 = mixture.d, mixture.label_second_moment()
    root = np.linalg.cholesky(mixture.sigma_x)
    ax, ay = a[:d], a[d]
    head = math.sqrt(float(ax @ mixture.sigma_x @ ax) / (ay * ay * ey2)) if ay != 0 else math.inf
    core = float(np.linalg.norm(A[:d, :d] @ root))
    offd = float(np.linalg.norm(A[:d, d])) * math.sqrt(ey2)
    return {"head_offblock": head, "A_offblock": offd / core if core > 0 else math.inf,
            "A_bottom_row_norm": float(np.linalg.norm(A[d]))}


def _shared_head_quantities(params: AttentionParameters, mixture: TaskMixture) -> dict[str, Any]:
    d = mixture.d
    a = params.Wv @ params.heads[0]
    W = a[d] * params.A[:d, :d]
    offsets = np.array([params.A[:d] @ p * float(p @ a) for p in params.prompts])  # (K, d): W p_bar_k
    try:
        P = np.linalg.solve(W, offsets.T).T
    except np.linalg.LinAlgError:
        P = np.full_like(offsets, np.nan)
    return {"W": W, "P": P, "a": a, "block_deviation": _block_deviation(params.A, a, mixture),
            "A": params.A, "Wv": params.Wv, "prompts": params.prompts, "head": params.heads[0]}


def _task_head_quantities(params: AttentionParameters, mixture: TaskMixture) -> dict[str, Any]:
    d = mixture.d
    a = params.heads @ params.Wv.T  # (K, d+1): rows a_k = W_v h_k
    Wk = np.array([a[k, d] * params.A[:d, :d] for k in range(mixture.K)])
    implied = np.array([-a[k, :d] / a[k, d] if a[k, d] != 0 else np.full(d, np.nan) for k in range(mixture.K)])
    offsets = np.array([params.A[:d] @ p * float(p @ a[k]) for k, p in enumerate(params.prompts)])
    deviation = _block_deviation(params.A, a[0], mixture)
    return {"W_per_task": Wk, "implied_means": implied, "prompt_offsets": offsets, "a": a,
            "A_offblock": deviation["A_offblock"], "A": params.A, "Wv": params.Wv, "prompts": params.prompts,
            "heads": params.heads}



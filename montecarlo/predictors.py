"""The predictors whose loss is estimated, evaluated in torch two ways.

Four kinds of predictor (the "spec" passed to :func:`montecarlo.estimate_loss`):

* :class:`ReducedPredictor` ``(W, P)``: eq. (7), ``f = x^T W (X^T y + p_k)``
  (Assumption 1);
* :class:`PGDPredictor` ``(W, scales)``: the debiased PGD predictor of
  Section 5, ``f = x^T mu_k + c_k x^T W X^T (y - X mu_k)`` (eq. 19; c_k = 1 by
  default, per-task scales are what task-specific heads realise);
* :class:`theory.attention.AttentionParameters` ``(A, Wv, prompts, heads)``: the
  full one-layer linear attention of eqs. (6)/(17),
  ``f = (z^T A Z^T) M Z W_v h_k`` on the token sequence Z^(k) of eq. (5), with
  mask ``M = diag(I_{n+1}, 0)``;
* :class:`MultiLayerParameters` ``(A, Wv, prompts, heads)``: the L-layer residual stack of
  Appendix E.1, ``Z_1 = Attn_1(Z)``, ``Z_{l+1} = Z_l + Attn_{l+1}(Z_l)``, ``f = e^T Z_L h_k``.

Each compiles to an object with two evaluations:

* ``predict(batch)``: the predictor itself on sampled sequences (the direct
  estimator; the attention model is run on the actual tokens);
* ``query_vector(stats)``: every predictor above is linear in the query,
  ``f = x^T v``, with v a function of the task, the prompt and products
  ``G a`` of the context-token Gram matrix with one vector per sample
  (:mod:`montecarlo.sufficient`); the fast estimator uses v:

  - reduced: ``v = W (G e_{d+1} [:d] + p_k)`` since ``X^T y = G[:d, d]``;
  - PGD: ``v = mu_k + c_k W (G [-mu_k; 1])[:d]`` since that is ``X^T y - X^T X mu_k``;
  - attention: ``v = A[:d, :] (p_k p_k^T + G) a_k`` with ``a_k = W_v h_k``, because
    ``z = [x; 0]`` and ``Z^T M Z = p_k p_k^T + G``;
  - L layers: every layer maps each token row linearly, ``Z_l = Z C_l`` with a (d+1) x (d+1) matrix
    ``C_l`` that depends on the context only through ``G~ = p_k p_k^T + G`` (see
    :func:`multilayer_query_vector`), so ``f = z^T C_L h_k = x^T (C_L h_k)[:d]`` is linear in the query too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from montecarlo.sampler import Batch, token_sequences
from montecarlo.sufficient import ContextStatistics, GramColumn
from theory.attention import AttentionParameters
from theory.errors import VerifyError
from theory.loss import check_parameters
from theory.mixture import TaskMixture


@dataclass(frozen=True)
class ReducedPredictor:
    """The reduced model of Assumption 1, eq. (7): x^T W (X^T y + p_k). ``P=None`` means no prompts."""

    W: Any
    P: Any = None


@dataclass(frozen=True)
class PGDPredictor:
    """The debiased PGD predictor of Section 5: x^T mu_k + c_k x^T W X^T (y - X mu_k); ``scales`` = (c_k), default 1."""

    W: Any
    scales: Any = None


@dataclass(frozen=True)
class MultiLayerParameters:
    """The L-layer residual linear attention of Appendix E.1: per layer ``A_l = W_q W_k^T`` and ``W_v``, both
    (L, d+1, d+1); prompt tokens (K, d+1); heads h_k (K, d+1) (rows equal for one shared head)."""

    A: Any
    Wv: Any
    prompts: Any
    heads: Any


PredictorSpec = ReducedPredictor | PGDPredictor | AttentionParameters | MultiLayerParameters


class _Compiled(Protocol):
    def predict(self, batch: Batch) -> Tensor: ...

    def query_vector(self, stats: ContextStatistics | GramColumn) -> Tensor: ...


def reduced_query_vector(W: Tensor, xty: Tensor, prompt: Tensor) -> Tensor:
    """v = W (X^T y + p_k) of the reduced model (eq. 7), so that f = x^T v.

    ``W`` (..., d, d), ``xty`` X^T y (B, d), ``prompt`` p_k per sample (..., B, d); a leading axis (restarts)
    broadcasts.  Returns (..., B, d).
    """
    return (xty + prompt) @ W.transpose(-1, -2)


def attention_query_vector(A: Tensor, prompt: Tensor, value: Tensor, gram_value: Tensor) -> Tensor:
    """v = A[:d, :] (p_k p_k^T + G) a_k of the one-layer attention (eqs. 6/17), so that f = x^T v.

    With the query token ``z = [x; 0]`` and ``Z^T M Z = p_k p_k^T + G`` (eqs. 5-6),
    ``f = z^T A Z^T M Z a_k`` with ``a_k = W_v h_k``; only A's first d rows meet z.
    ``A`` (..., d+1, d+1); per sample ``prompt`` p_k, ``value`` a_k and ``gram_value`` G a_k, each (..., B, d+1);
    a leading axis (restarts) broadcasts.  Returns (..., B, d).
    """
    d = A.shape[-1] - 1
    masked_a = gram_value + prompt * (prompt * value).sum(-1, keepdim=True)  # (p p^T + G) a = Z^T M Z a
    return masked_a @ A[..., :d, :].transpose(-1, -2)


def masked_gram_times(gram: Tensor, prompt: Tensor, u: Tensor) -> Tensor:
    """``G~ u = (p p^T + G) u`` per member and sample: ``gram`` (..., B, d+1, d+1), ``prompt`` and ``u`` (..., C, B, d+1)."""
    return torch.einsum("...bij,...cbj->...cbi", gram, u) + prompt * (prompt * u).sum(-1, keepdim=True)


def multilayer_query_vector(A: Tensor, Wv: Tensor, prompt: Tensor, head: Tensor, gram: Tensor) -> Tensor:
    """v = (C_L h_k)[:d] of the L-layer stack of Appendix E.1, so that f = x^T v, exactly.

    Each layer maps every token row linearly.  With ``G~ = Z^T M Z = p_k p_k^T + G`` (the mask drops the
    query row; eqs. 5-6), ``Attn(Z C) = Z C A C^T G~ C W_v``, hence ``Z_l = Z C_l`` with

        C_1 = A_1 G~ W_v1,   C_{l+1} = C_l + C_l A_{l+1} C_l^T G~ C_l W_v,l+1,

    and ``f = e^T Z_L h_k = z^T C_L h_k = x^T (C_L h_k)[:d]`` since the query token is ``z = [x; 0]``.
    ``C_L h`` is applied right to left as matrix-vector products (4 products of G~ per vector for L = 2,
    13 for L = 3), never forming C_l.

    Shapes: ``A``, ``Wv`` (..., C, L, d+1, d+1) per member (C members, e.g. restarts); ``prompt``, ``head``
    (..., C, B, d+1) per member and sample; ``gram`` G (..., B, d+1, d+1) per sample, shared by the members.
    Returns (..., C, B, d).  For L = 1 this is :func:`attention_query_vector` with ``a_k = W_v h_k``.
    """
    d = A.shape[-1] - 1
    layers = A.shape[-3]

    def mat(M: Tensor, u: Tensor) -> Tensor:  # M (..., C, D, D) applied to each sample's u (..., C, B, D)
        return u @ M.transpose(-1, -2)

    def gt(u: Tensor) -> Tensor:
        return masked_gram_times(gram, prompt, u)

    def apply(level: int, u: Tensor) -> Tensor:  # C_{level+1} u
        Al, Vl = A[..., level, :, :], Wv[..., level, :, :]
        if level == 0:
            return mat(Al, gt(mat(Vl, u)))
        inner = apply(level - 1, applyT(level - 1, gt(apply(level - 1, mat(Vl, u)))) @ Al.transpose(-1, -2))
        return apply(level - 1, u) + inner

    def applyT(level: int, u: Tensor) -> Tensor:  # C_{level+1}^T u
        Al, Vl = A[..., level, :, :], Wv[..., level, :, :]
        if level == 0:
            return mat(Vl.transpose(-1, -2), gt(mat(Al.transpose(-1, -2), u)))
        first = applyT(level - 1, u)
        inner = applyT(level - 1, gt(apply(level - 1, mat(Al.transpose(-1, -2), first))))
        return first + mat(Vl.transpose(-1, -2), inner)

    return apply(layers - 1, head)[..., :d]


def _finite(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if arr.shape != shape:
        raise VerifyError(f"{name}: expected shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise VerifyError(f"{name}: contains NaN or infinity")
    return arr


def _xt_times(X: Tensor, y: Tensor) -> Tensor:
    """Batched X^T y: (B, t, d), (B, t) -> (B, d)."""
    return torch.bmm(y.unsqueeze(1), X).squeeze(1)


class _Reduced:
    def __init__(self, W: Tensor, P: Tensor) -> None:
        self.W, self.P = W, P  # (d, d), (K, d)

    def predict(self, batch: Batch) -> Tensor:
        return (batch.x * reduced_query_vector(self.W, batch.xty(), self.P[batch.task])).sum(-1)

    def query_vector(self, stats: ContextStatistics | GramColumn) -> Tensor:
        return reduced_query_vector(self.W, stats.xty(), self.P[stats.task])  # (B, d)


class _PGD:
    def __init__(self, W: Tensor, means: Tensor, scales: Tensor) -> None:
        self.W, self.means, self.scales = W, means, scales  # (d, d), (K, d), (K,)

    def predict(self, batch: Batch) -> Tensor:
        mu = self.means[batch.task]  # (B, d)
        resid = batch.y - torch.bmm(batch.X, mu.unsqueeze(-1)).squeeze(-1)  # (B, n): y - X mu_k
        step = _xt_times(batch.X, resid) @ self.W.T  # (B, d): W X^T (y - X mu_k)
        return (batch.x * (mu + self.scales[batch.task, None] * step)).sum(-1)

    def query_vector(self, stats: ContextStatistics | GramColumn) -> Tensor:
        mu = self.means[stats.task]  # (B, d)
        a = torch.cat([-mu, torch.ones_like(mu[:, :1])], dim=1)  # (B, d+1)
        xtr = stats.gram_times(a)[:, : mu.shape[1]]  # X^T y - X^T X mu_k
        return mu + self.scales[stats.task, None] * (xtr @ self.W.T)


class _Attention:
    def __init__(self, A: Tensor, prompts: Tensor, values: Tensor) -> None:
        self.A, self.prompts, self.values = A, prompts, values  # (d+1, d+1), (K, d+1), (K, d+1) rows a_k = W_v h_k

    def predict(self, batch: Batch) -> Tensor:
        Z = token_sequences(batch, self.prompts)  # (B, n+2, d+1)
        zA = Z[:, -1] @ self.A  # (B, d+1): z^T A
        scores = torch.bmm(Z, zA.unsqueeze(-1)).squeeze(-1)  # (B, n+2): z^T A Z^T
        mask = torch.ones(Z.shape[1], dtype=Z.dtype, device=Z.device)
        mask[-1] = 0.0  # M = diag(I_{n+1}, 0): the query token's own value is dropped
        out = _xt_times(Z, scores * mask)  # (B, d+1): (z^T A Z^T) M Z
        return (out * self.values[batch.task]).sum(-1)

    def query_vector(self, stats: ContextStatistics | GramColumn) -> Tensor:
        p, a = self.prompts[stats.task], self.values[stats.task]  # (B, d+1) each
        return attention_query_vector(self.A, p, a, stats.gram_times(a))


class _MultiLayer:
    single_product = False  # reads G itself: the fast estimator draws the full Wishart factor

    def __init__(self, A: Tensor, Wv: Tensor, prompts: Tensor, heads: Tensor) -> None:
        self.A, self.Wv, self.prompts, self.heads = A, Wv, prompts, heads  # (L, D, D) x2, (K, D) x2

    def predict(self, batch: Batch) -> Tensor:
        """The literal stack on the token sequences (Appendix E.1), query row read out."""
        Z = token_sequences(batch, self.prompts)  # (B, T, D)
        mask = torch.ones(Z.shape[1], dtype=Z.dtype, device=Z.device)
        mask[-1] = 0.0
        for layer in range(self.A.shape[0]):
            attn = ((Z @ self.A[layer] @ Z.transpose(1, 2)) * mask) @ Z @ self.Wv[layer]  # (Z A Z^T) M Z W_v
            Z = attn if layer == 0 else Z + attn
        return (Z[:, -1] * self.heads[batch.task]).sum(-1)

    def query_vector(self, stats: ContextStatistics | GramColumn) -> Tensor:
        assert isinstance(stats, ContextStatistics)
        p, h = self.prompts[stats.task], self.heads[stats.task]  # (B, D)
        return multilayer_query_vector(self.A[None], self.Wv[None], p[None], h[None], stats.gram())[0]


Compiler = Callable[[TaskMixture, Any, Callable[[Any], Tensor]], _Compiled]
_COMPILERS: dict[type, Compiler] = {}


def register_predictor(spec_type: type) -> Callable[[Compiler], Compiler]:
    """Register ``compile(mixture, spec, put)`` for ``spec_type``: the one table :func:`compile_predictor` reads
    (``put`` moves an array to the estimator's device and dtype)."""
    def register(compiler: Compiler) -> Compiler:
        _COMPILERS[spec_type] = compiler
        return compiler
    return register


@register_predictor(ReducedPredictor)
def _compile_reduced(mixture: TaskMixture, spec: ReducedPredictor, put: Callable[[Any], Tensor]) -> _Compiled:
    W, P = check_parameters(mixture, np.asarray(spec.W, dtype=np.float64),
                            None if spec.P is None else np.asarray(spec.P, dtype=np.float64))
    return _Reduced(put(W), put(P))


@register_predictor(PGDPredictor)
def _compile_pgd(mixture: TaskMixture, spec: PGDPredictor, put: Callable[[Any], Tensor]) -> _Compiled:
    d, K = mixture.d, mixture.K
    W = _finite("W", np.asarray(spec.W, dtype=np.float64), (d, d))
    scales = np.ones(K) if spec.scales is None else np.asarray(spec.scales, dtype=np.float64)
    return _PGD(put(W), put(mixture.means), put(_finite("scales", scales, (K,))))


def _tokens(mixture: TaskMixture, spec: AttentionParameters | MultiLayerParameters) -> tuple[np.ndarray, np.ndarray]:
    """The prompt tokens and heads, (K, d+1) each, checked."""
    shape = (mixture.K, mixture.d + 1)
    return (_finite("prompts", np.asarray(spec.prompts, dtype=np.float64), shape),
            _finite("heads", np.asarray(spec.heads, dtype=np.float64), shape))


@register_predictor(AttentionParameters)
def _compile_attention(mixture: TaskMixture, spec: AttentionParameters, put: Callable[[Any], Tensor]) -> _Compiled:
    D = mixture.d + 1
    A = _finite("A", np.asarray(spec.A, dtype=np.float64), (D, D))
    Wv = _finite("Wv", np.asarray(spec.Wv, dtype=np.float64), (D, D))
    prompts, heads = _tokens(mixture, spec)
    return _Attention(put(A), put(prompts), put(heads @ Wv.T))


@register_predictor(MultiLayerParameters)
def _compile_multilayer(mixture: TaskMixture, spec: MultiLayerParameters, put: Callable[[Any], Tensor]) -> _Compiled:
    D = mixture.d + 1
    A = np.asarray(spec.A, dtype=np.float64)
    if A.ndim != 3 or A.shape[0] < 1:
        raise VerifyError(f"A: expected shape (L, {D}, {D}) with L >= 1, got {A.shape}")
    L = A.shape[0]
    A = _finite("A", A, (L, D, D))
    Wv = _finite("Wv", np.asarray(spec.Wv, dtype=np.float64), (L, D, D))
    prompts, heads = _tokens(mixture, spec)
    return _MultiLayer(put(A), put(Wv), put(prompts), put(heads))


def compile_predictor(mixture: TaskMixture, spec: PredictorSpec, device: torch.device,
                      dtype: torch.dtype) -> _Compiled:
    """Validate ``spec`` against the mixture and move it to ``device`` (VerifyError on bad shapes), by the compiler
    registered for its type (:func:`register_predictor`)."""
    compiler = next((_COMPILERS[t] for t in type(spec).__mro__ if t in _COMPILERS), None)
    if compiler is None:
        raise VerifyError(f"predictor: expected one of {', '.join(t.__name__ for t in _COMPILERS)}, "
                          f"got {type(spec).__name__}")

    def put(a: Any) -> Tensor:
        return torch.as_tensor(np.array(a, dtype=np.float64), dtype=dtype, device=device)

    return compiler(mixture, spec, put)


def predict(mixture: TaskMixture, spec: PredictorSpec, batch: Batch) -> Tensor:
    """The predictor's outputs on a sampled batch, (B,), on the batch's device and dtype.

    Example
    -------
    >>> from montecarlo.sampler import make_generator, sample_batch
    >>> from theory.mixture import preset
    >>> m = preset("fig2c")
    >>> b = sample_batch(m, 4, 2, generator=make_generator(0))
    >>> predict(m, ReducedPredictor(np.eye(10) / 4), b).shape
    torch.Size([2])
    """
    with torch.no_grad():
        return compile_predictor(mixture, spec, batch.X.device, batch.X.dtype).predict(batch)

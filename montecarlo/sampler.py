"""Sampling token sequences exactly as the paper's Definitions 1-3 do (torch).

One draw of the multi-task ICL problem (Definition 2) is

* a task index ``k ~ Categorical(pi_1, ..., pi_K)``;
* a task vector ``beta ~ N(mu_k, Sigma_beta_k)`` (Definition 1);
* features ``x_i ~ N(0, Sigma_x)`` for ``i = 1..n+1``, the last one being the query ``x``;
* labels ``y_i = x_i^T beta + xi_i`` with ``xi_i ~ N(0, sigma^2)`` (Appendix A, noisy labels);

and the model reads the token sequence of eq. (5),
``Z^(k) = [p_k, z_1, ..., z_n, z]^T`` with ``z_i = [x_i; y_i]`` and the query
token ``z = [x; 0]`` (Definition 3).

Everything runs on a torch device with an explicit :class:`torch.Generator`,
so a seed reproduces a stream exactly on the same device.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import TaskMixture

_DEVICE_HELP = "expected 'auto', 'cpu', 'cuda' or 'cuda:N'"


def _parse_device(device: str | torch.device) -> tuple[str, int | None]:
    """``(type, index)`` from a device name, without asking torch (or CUDA) anything; VerifyError if malformed."""
    if isinstance(device, torch.device):
        return device.type, device.index
    if not isinstance(device, str):
        raise VerifyError(f"device: unknown device {device!r} ({_DEVICE_HELP})")
    text = device.strip().lower()
    kind, sep, index = text.partition(":")
    if kind in ("auto", "cpu") and not sep:
        return kind, None
    if kind == "cuda":
        if not sep:
            return "cuda", None
        if index.isascii() and index.isdigit() and len(index) <= 6:
            return "cuda", int(index)
    raise VerifyError(f"device: unknown device {device!r} ({_DEVICE_HELP})")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device named by ``device``: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda[:N]"``.

    Raises :class:`~theory.errors.VerifyError` for an unknown name or a device this machine does not have.
    The index is checked against :func:`torch.cuda.device_count` before torch touches the device, so
    ``cuda:999`` is a VerifyError on a machine with a GPU too.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    kind, index = _parse_device(device)
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise VerifyError(f"device: {device!r} requested but CUDA is not available here (use 'cpu' or 'auto')")
    if kind not in ("auto", "cuda"):
        raise VerifyError(f"device: unsupported device type {kind!r} ({_DEVICE_HELP})")
    count = torch.cuda.device_count()
    if index is not None and not 0 <= index < count:
        raise VerifyError(f"device: {device!r} requested but only {count} CUDA device(s) exist "
                          f"(expected cuda:0 .. cuda:{count - 1})")
    try:
        return torch.device("cuda", torch.cuda.current_device() if index is None else index)
    except (RuntimeError, AssertionError) as exc:  # a driver that reports a device it cannot open
        raise VerifyError(f"device: {device!r} cannot be used: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A :class:`torch.Generator` on ``device`` seeded with ``seed`` (the only source of randomness here)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VerifyError(f"seed: must be an integer >= 0, got {seed!r}")
    return torch.Generator(device=resolve_device(device)).manual_seed(int(seed))


@dataclass(frozen=True)
class Batch:
    """B independent draws of (task, context, query) from the mixture (Definitions 1-2).

    Attributes
    ----------
    task : (B,) int64 task indices k.
    beta : (B, d) task vectors.
    X : (B, n, d) context features x_1..x_n.
    y : (B, n) context labels.
    x : (B, d) query feature x = x_{n+1}.
    y_query : (B,) query label y = y_{n+1} (what the model must predict).
    """

    task: Tensor
    beta: Tensor
    X: Tensor
    y: Tensor
    x: Tensor
    y_query: Tensor

    @property
    def size(self) -> int:
        return int(self.task.shape[0])

    def xty(self) -> Tensor:
        """X^T y per sample: (B, d), the only context statistic the reduced model of eq. (7) reads."""
        return torch.bmm(self.y.unsqueeze(1), self.X).squeeze(1)

    def gram(self) -> Tensor:
        """G = sum_i z_i z_i^T over the context tokens z_i = [x_i; y_i]: (B, d+1, d+1).

        Everything a one-layer model reads from the context: X^T X = G[:d, :d], X^T y = G[:d, d] and
        y^T y = G[d, d]; Z^T M Z = p_k p_k^T + G (eqs. 5-6).  The same quantity as
        :meth:`montecarlo.sufficient.ContextStatistics.gram`, here from the drawn tokens.
        """
        tokens = torch.cat([self.X, self.y.unsqueeze(-1)], dim=-1)  # (B, n, d+1)
        return tokens.transpose(1, 2) @ tokens


@dataclass(frozen=True)
class MixtureTensors:
    """A task mixture's fields as tensors on one device, with the Cholesky factors the samplers use.

    Made by :func:`mixture_tensors`; read by :func:`montecarlo.sufficient.sample_context_statistics`
    and by the training loss (the query-integrated loss needs ``Sigma_x``, its factor and sigma^2).
    """

    weights: Tensor  # (K,) pi_k, always float64
    means: Tensor  # (K, d) mu_k
    chol_beta: Tensor  # (K, d, d) lower, Sigma_beta_k = L L^T
    sigma_x: Tensor  # (d, d) Sigma_x
    chol_x: Tensor  # (d, d) lower, Sigma_x = L L^T
    chol_x_t: Tensor  # (d, d) L^T, contiguous (a plain matmul operand is much faster than a transposed view)
    sigma: float  # noise standard deviation sqrt(sigma2)
    sigma2: float  # noise variance sigma^2, exactly the mixture's
    d: int
    K: int


@lru_cache(maxsize=32)
def mixture_tensors(mixture: TaskMixture, device: torch.device, dtype: torch.dtype) -> MixtureTensors:
    """The mixture's fields as :class:`MixtureTensors` on ``device`` in ``dtype`` (cached: 32 most recent).

    ``device`` must be a resolved :class:`torch.device` (see :func:`resolve_device`).

    >>> from theory.mixture import preset
    >>> t = mixture_tensors(preset("fig2c"), torch.device("cpu"), torch.float64)
    >>> tuple(t.chol_beta.shape), t.d, t.K
    ((2, 10, 10), 10, 2)
    """

    def put(a: np.ndarray) -> Tensor:
        return torch.as_tensor(np.array(a, dtype=np.float64), dtype=dtype, device=device)

    return MixtureTensors(
        weights=torch.as_tensor(np.array(mixture.weights), dtype=torch.float64, device=device),
        means=put(mixture.means),
        chol_beta=put(np.linalg.cholesky(mixture.covs)),
        sigma_x=put(mixture.sigma_x),
        chol_x=put(np.linalg.cholesky(mixture.sigma_x)),
        chol_x_t=put(np.linalg.cholesky(mixture.sigma_x).T),
        sigma=float(np.sqrt(mixture.sigma2)),
        sigma2=float(mixture.sigma2),
        d=mixture.d,
        K=mixture.K,
    )


def _check_generator(generator: torch.Generator, device: torch.device) -> None:
    gen = generator.device
    if gen.type != device.type or (device.type == "cuda" and gen.index is not None and gen.index != device.index):
        raise VerifyError(f"generator: lives on {gen} but sampling was asked on {device}; "
                          "make it with montecarlo.make_generator(seed, device)")


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise VerifyError(f"batch_size: must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def sample_tasks(t: MixtureTensors, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """k ~ Categorical(pi) and beta ~ N(mu_k, Sigma_beta_k): (B,) int64 and (B, d)."""
    task = torch.multinomial(t.weights, batch_size, replacement=True, generator=generator)  # (B,)
    g = torch.randn(batch_size, t.d, generator=generator, device=t.means.device, dtype=t.means.dtype)
    # All K transforms L_k g in one dense product (K is small), then pick each sample's own task.
    shifted = (g @ t.chol_beta.reshape(t.K * t.d, t.d).T).view(batch_size, t.K, t.d) + t.means  # (B, K, d)
    beta = shifted.gather(1, task.view(batch_size, 1, 1).expand(batch_size, 1, t.d)).squeeze(1)  # (B, d)
    return task, beta


def sample_batch(mixture: TaskMixture, n: int, batch_size: int, *, generator: torch.Generator,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float64) -> Batch:
    """Draw ``batch_size`` independent sequences of context length ``n`` (Definitions 1-2).

    Parameters
    ----------
    mixture : the task mixture.
    n : context length (number of demonstrations), >= 1.
    batch_size : number of independent draws B.
    generator : the random stream; must live on ``device``.
    device : where to sample; default the generator's device.
    dtype : floating dtype of the samples (float64 by default).

    Example
    -------
    >>> from theory.mixture import preset
    >>> b = sample_batch(preset("fig2c"), 5, 3, generator=make_generator(0))
    >>> tuple(b.X.shape), tuple(b.y.shape), tuple(b.x.shape)
    ((3, 5, 10), (3, 5), (3, 10))
    """
    n = check_context_length(n)
    batch_size = _check_batch_size(batch_size)
    dev = generator.device if device is None else resolve_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = resolve_device(dev)
    _check_generator(generator, dev)
    t = mixture_tensors(mixture, dev, dtype)
    task, beta = sample_tasks(t, batch_size, generator)
    draws = torch.randn(batch_size * (n + 1), t.d, generator=generator, device=dev, dtype=dtype)
    feats = (draws @ t.chol_x_t).view(batch_size, n + 1, t.d)  # (B, n+1, d): x_i = L_x u_i
    labels = torch.bmm(feats, beta.unsqueeze(-1)).squeeze(-1)  # (B, n+1): x_i^T beta
    if t.sigma > 0:
        labels = labels + t.sigma * torch.randn(batch_size, n + 1, generator=generator, device=dev, dtype=dtype)
    return Batch(task=task, beta=beta, X=feats[:, :n], y=labels[:, :n], x=feats[:, n], y_query=labels[:, n])


def token_sequences(batch: Batch, prompts: Tensor | np.ndarray) -> Tensor:
    """The sequences Z^(k) = [p_k, z_1, ..., z_n, z]^T of eq. (5): (B, n+2, d+1), prompt token first.

    ``prompts`` is (K, d+1), one prompt token per task; ``z_i = [x_i; y_i]``
    and the query token is ``z = [x; 0]``.
    """
    X = batch.X
    B, n, d = X.shape
    if not isinstance(prompts, Tensor):
        prompts = torch.from_numpy(np.array(prompts, dtype=np.float64))  # a copy: theory's arrays are read-only
    P = prompts.to(dtype=X.dtype, device=X.device)
    if P.ndim != 2 or P.shape[1] != d + 1:
        raise VerifyError(f"prompts: expected shape (K, {d + 1}) (one (d+1)-token per task), got {tuple(P.shape)}")
    context = torch.cat([X, batch.y.unsqueeze(-1)], dim=-1)  # (B, n, d+1)
    query = torch.cat([batch.x, torch.zeros(B, 1, dtype=X.dtype, device=X.device)], dim=-1)  # (B, d+1)
    return torch.cat([P[batch.task].unsqueeze(1), context, query.unsqueeze(1)], dim=1)  # (B, n+2, d+1)

"""One panel's members and its data: every (n, strategy) cell x R restarts in one model, one data stream.

A *panel* trains, at once, every context length n of a figure panel and every strategy that shares a model
class, each with R restarts: the members of one :class:`~training.models.TrainableModel`, ordered
``m = (g * S + s) * R + r`` (n-group g, strategy s, restart r; :class:`PanelLayout`).  Each step draws one
batch for the whole panel (:class:`PanelSampler`; a single training point is a one-cell panel):

* ``data="sequences"`` (the paper's protocol, Section 6): B whole token sequences of the largest context length
  ``n_max`` and a sampled query (:func:`montecarlo.sample_batch`).  The n-group g reads the first ``n_g``
  tokens of each sequence (a prefix of an i.i.d. sequence is an i.i.d. sequence of length n_g: exact in
  law), so one draw serves every n, which is the padding/masking of the n axis.  The query is shared by
  the groups (it is independent of every context).
* ``data="statistics"`` (with the query integrated out exactly, the ``"variance-reduced"`` protocol): the
  same population objective with less noise per step.  The context enters only through its Gram matrix, drawn
  directly: ``G_{n_g} = G_{n_{g-1}} + (increment ~ L_z Wishart(I, n_g - n_{g-1}) L_z^T)``, independent
  increments between consecutive n (:func:`montecarlo.standard_wishart_factor`), exact in law.

Either way the random stream does not depend on which cells are still training (every step draws the same
amount), so a cell's trajectory does not depend on when the others stop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from montecarlo import (
    make_generator,
    mixture_tensors,
    sample_batch,
    sample_tasks,
    standard_wishart_factor,
)
from theory.errors import VerifyError
from theory.loss import check_context_length
from theory.mixture import TaskMixture
from theory.strategy import Strategy


@dataclass(frozen=True)
class PanelLayout:
    """The members of a panel model: N context lengths x S strategies x R restarts, member ``(g * S + s) * R + r``."""

    ns: tuple[int, ...]
    strategies: tuple[Strategy, ...]
    restarts: int

    def __post_init__(self) -> None:
        if not self.ns or not self.strategies:
            raise VerifyError("panel: needs at least one n and one strategy")
        ns = tuple(check_context_length(n) for n in self.ns)
        if list(ns) != sorted(set(ns)):
            raise VerifyError(f"ns: expected distinct increasing context lengths, got {list(self.ns)}")
        if len(set(self.strategies)) != len(self.strategies):
            raise VerifyError(f"strategies: repeated in {[s.value for s in self.strategies]}")
        if isinstance(self.restarts, bool) or not isinstance(self.restarts, int) or self.restarts < 1:
            raise VerifyError(f"restarts: must be an integer >= 1, got {self.restarts!r}")

    @property
    def N(self) -> int:
        return len(self.ns)

    @property
    def S(self) -> int:
        return len(self.strategies)

    @property
    def R(self) -> int:
        return self.restarts

    @property
    def members(self) -> int:
        return self.N * self.S * self.R

    def cell(self, group: int, strategy: int) -> slice:
        """The members of cell (n-group, strategy index): R consecutive indices."""
        start = (group * self.S + strategy) * self.R
        return slice(start, start + self.R)

    def member_ns(self) -> np.ndarray:
        """(M,) each member's context length."""
        return np.repeat(np.array(self.ns, dtype=np.int64), self.S * self.R)

    def member_restarts(self) -> np.ndarray:
        """(M,) each member's restart index r (its initialisation seed is (seed, r), as in single runs)."""
        return np.tile(np.arange(self.R), self.N * self.S)


@dataclass(frozen=True)
class PanelStatistics:
    """One step's batch, seen by each active n-group.

    ``groups`` (Na,) active group indices; ``task`` (B,), ``beta`` (B, d); ``xty`` (Na, B, d) the X^T y of
    each group's context; ``gram`` (Na, B, d+1, d+1) its Gram matrix G = sum_{i <= n} z_i z_i^T (None when
    the model does not read it); ``x`` (B, d) and ``y`` (B,) the sampled query (None when it is integrated out).
    """

    groups: Tensor
    task: Tensor
    beta: Tensor
    xty: Tensor
    gram: Tensor | None
    x: Tensor | None
    y: Tensor | None
    counts: tuple[int, ...]  # samples of each task when the samples are ordered by task (Gram-reading models), else ()

    @property
    def size(self) -> int:
        return int(self.task.shape[0])

    def task_blocks(self) -> list[tuple[int, int]]:
        """(start, stop) of each task's samples, task 0 first (the samples are ordered by task)."""
        if not self.counts:
            raise VerifyError("panel statistics: these samples are not ordered by task")
        ends = np.cumsum((0,) + self.counts)
        return [(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True)]

    def chunk(self, start: int, stop: int) -> PanelStatistics:
        """Samples ``start:stop`` (a view, for gradient accumulation over a batch that does not fit at once)."""
        counts = tuple(max(0, min(b, stop) - max(a, start)) for a, b in self.task_blocks()) if self.counts else ()
        return replace(self, task=self.task[start:stop], beta=self.beta[start:stop], xty=self.xty[:, start:stop],
                       gram=None if self.gram is None else self.gram[:, start:stop],
                       x=None if self.x is None else self.x[start:stop], y=None if self.y is None else self.y[start:stop],
                       counts=counts)


class PanelSampler:
    """Draws one :class:`PanelStatistics` per step for a panel (see the module docstring)."""

    def __init__(self, mixture: TaskMixture, layout: PanelLayout, *, data: str, batch_size: int, seed: int,
                 device: torch.device, gram: bool, dtype: torch.dtype = torch.float64) -> None:
        if data not in ("sequences", "statistics"):
            raise VerifyError(f"data: expected 'sequences' or 'statistics', got {data!r}")
        self.mixture, self.layout, self.data = mixture, layout, data
        self.batch_size, self.device, self.want_gram, self.dtype = int(batch_size), device, gram, dtype
        self.generator = make_generator(int(seed), device)
        self.tensors = mixture_tensors(mixture, device, dtype)
        self.ns = torch.tensor(layout.ns, device=device)
        gaps = np.diff(np.array((0,) + layout.ns))
        self.gaps = [int(g) for g in gaps]

    def draw(self, groups: Tensor, group_list: list[int] | None = None) -> PanelStatistics:
        """The next batch, for the active n-groups ``groups`` (sorted indices, also as the host list ``group_list``);
        the stream does not depend on them."""
        listed = [int(g) for g in groups.tolist()] if group_list is None else group_list
        if self.data == "sequences":
            return self._sequences(groups, listed)
        return self._statistics(groups, listed)

    def _sequences(self, groups: Tensor, group_list: list[int]) -> PanelStatistics:
        n_max = self.layout.ns[-1]
        batch = sample_batch(self.mixture, n_max, self.batch_size, generator=self.generator, device=self.device,
                             dtype=self.dtype)
        last = self.layout.ns[group_list[-1]]  # the longest prefix any active group reads
        ends = self.ns[groups] - 1  # (Na,) the last token each group reads
        if not self.want_gram:  # the reduced model reads tasks through one-hot moments: no ordering needed
            X, y = batch.X[:, :last], batch.y[:, :last]
            xty = torch.cumsum(y.unsqueeze(-1) * X, dim=1).index_select(1, ends).transpose(0, 1)  # (Na, B, d)
            return PanelStatistics(groups=groups, task=batch.task, beta=batch.beta, xty=xty.contiguous(), gram=None,
                                   x=batch.x, y=batch.y_query, counts=())
        order, counts = self._by_task(batch.task)  # order the sequences (fewer numbers than their Gram matrices)
        X, y = batch.X[order, :last], batch.y[order, :last]
        xty = torch.cumsum(y.unsqueeze(-1) * X, dim=1).index_select(1, ends).transpose(0, 1)  # (Na, B, d)
        tokens = torch.cat([X, y.unsqueeze(-1)], dim=-1)  # (B, last, d+1)
        gram = self._cumulative(group_list, lambda a, b: _token_gram(tokens[:, a:b]))
        return PanelStatistics(groups=groups, task=batch.task[order], beta=batch.beta[order], xty=xty.contiguous(),
                               gram=gram, x=batch.x[order], y=batch.y_query[order], counts=counts)

    def _by_task(self, task: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        """The permutation that orders the samples by task (stable), and each task's count (one host sync)."""
        order = torch.argsort(task, stable=True)
        return order, tuple(int(c) for c in torch.bincount(task, minlength=self.mixture.K).tolist())

    def _statistics(self, groups: Tensor, group_list: list[int]) -> PanelStatistics:
        t = self.tensors
        task, beta = sample_tasks(t, self.batch_size, self.generator)
        order, counts = self._by_task(task)
        task, beta = task[order], beta[order]
        D = t.d + 1
        standard = []  # S_g = sum of the standard Wishart increments up to group g, for every group (fixed stream)
        total = None
        for gap in self.gaps:
            T = standard_wishart_factor(gap, D, self.batch_size, generator=self.generator, device=self.device,
                                        dtype=self.dtype)[order]  # each sample keeps its own draws
            inc = T @ T.transpose(1, 2)
            total = inc if total is None else total + inc
            standard.append(total)
        S = torch.stack([standard[g] for g in group_list])  # (Na, B, D, D)
        Lz = torch.zeros(self.batch_size, D, D, dtype=self.dtype, device=self.device)  # z = L_z g, per beta
        Lz[:, : t.d, : t.d] = t.chol_x
        Lz[:, t.d, : t.d] = beta @ t.chol_x
        Lz[:, t.d, t.d] = t.sigma
        gram = Lz @ S @ Lz.transpose(1, 2)  # (Na, B, D, D)
        xty = gram[:, :, : t.d, t.d].contiguous()
        return PanelStatistics(groups=groups, task=task, beta=beta, xty=xty, gram=gram if self.want_gram else None,
                               x=None, y=None, counts=counts)

    def _cumulative(self, group_list: list[int], block: object) -> Tensor:
        """G at each active group's n from the token blocks between consecutive context lengths."""
        out, total, start = [], None, 0
        wanted = set(group_list)
        for g, n in enumerate(self.layout.ns[: group_list[-1] + 1]):
            inc = block(start, n)  # type: ignore[operator]
            total = inc if total is None else total + inc
            start = n
            if g in wanted:
                out.append(total)
        return torch.stack(out)


def _token_gram(tokens: Tensor) -> Tensor:
    """sum_i z_i z_i^T over a block of tokens (B, t, D) -> (B, D, D)."""
    return tokens.transpose(1, 2) @ tokens

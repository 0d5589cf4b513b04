"""What every model kind provides to the trainer and the summary: :class:`TrainableModel`, R restarts in one module.

Every parameter carries a leading restart (member) axis; a loss on one batch returns one value per member, and the
training loss is their sum, so member m's gradient (and Adam's elementwise update) depends on member m alone: R
restarts batched give the same trajectories as R single runs, and the (n, strategy) cells of a figure panel can be
members of one model (:mod:`training.panel`).  The kinds themselves are :mod:`training.models.reduced` and
:mod:`training.models.attention`, registered in :data:`training.models.KINDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from montecarlo import Batch, ContextStatistics, Estimate, MixtureTensors
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from training.panel_data import PanelLayout, PanelStatistics

Context = Batch | ContextStatistics
"""A batch of (task, beta, context): whole sampled sequences, or the context's Gram matrix drawn directly."""


def label_scale(mixture: TaskMixture) -> float:
    """sqrt(E[y^2] / tr Sigma_x): the order of magnitude of |beta|."""
    return math.sqrt(mixture.label_second_moment() / float(np.trace(mixture.sigma_x)))


def draw(shape: torch.Size, std: float, generator: torch.Generator) -> Tensor:
    """Standard normal float64 draws of ``shape`` (on the CPU) times ``std``."""
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float64) * std


@dataclass(frozen=True)
class RestartScores:
    """Each restart's loss, used to pick the best one: (R,) ``losses``, how they were measured, and whether
    they are exact population losses (no sampling error)."""

    losses: np.ndarray
    method: str
    exact: bool


class TrainableModel(nn.Module):
    """What the training loop and the summary ask of a model; R restarts in one module.

    A model kind subclasses it and sets ``kind`` (its name in :data:`training.models.KINDS`, the one registry),
    ``weight_names`` (the attention weights, trained by every strategy), ``prompt_name`` (the prompt parameter) and
    ``predictor`` (the :mod:`montecarlo.predictors` spec its :meth:`estimate` compiles).  Every kind is linear in
    the query (``f = x^T v`` with v a function of the task and the context's Gram matrix), so the query can be
    integrated out and the Gram matrix drawn directly.
    """

    kind: ClassVar[str]
    weight_names: ClassVar[tuple[str, ...]]
    prompt_name: ClassVar[str]
    predictor: ClassVar[type]

    d: int
    K: int
    restarts: int
    has_prompts: bool

    @property
    def prompt_parameter(self) -> nn.Parameter:
        """The prompts (zero and frozen when the model has none)."""
        return self.get_parameter(self.prompt_name)

    @classmethod
    def build(cls, mixture: TaskMixture, ns: list[int], *, layers: int, prompts: bool, task_heads: bool,
              device: torch.device, dtype: torch.dtype = torch.float64) -> TrainableModel:
        """An all-zero model with one member per entry of ``ns`` (each member's context length); VerifyError when
        the kind has no such model (task-specific heads, a depth)."""
        raise NotImplementedError

    # ----- training ------------------------------------------------------------------
    def natural_scales(self, mixture: TaskMixture, n: int) -> dict[str, float]:
        """Parameter name -> order of magnitude at a good solution, from n, d and E[y^2] only (never a derived
        optimum); one Adam parameter group per entry, in this order, with its step relative to the scale."""
        raise NotImplementedError

    def initialise_restart(self, restart: int, generator: torch.Generator, scales: dict[str, float],
                           init_scale: float) -> None:
        """Fill restart ``restart``'s parameters from its own CPU ``generator`` (call under ``torch.no_grad``)."""
        raise NotImplementedError

    def trainable_phases(self, strategy: Strategy) -> list[tuple[str, ...]]:
        """The parameter names trained in each phase of ``strategy`` (Sections 4-5).

        PT: the weights (no prompts, eq. 10); FT: the weights, then the prompts alone (eq. 11);
        JT and PGD: weights and prompts together (eqs. 12 and 18; for PGD the weights include the
        task-specific heads).
        """
        weights, prompts = self.weight_names, (self.prompt_name,)
        if strategy is Strategy.PT:
            return [weights]
        if strategy is Strategy.FT:
            return [weights, prompts]
        return [weights + prompts]

    reads_gram: ClassVar[bool] = True
    """Whether the losses read each context's Gram matrix (else only X^T y)."""

    def panel_losses(self, stats: PanelStatistics, tensors: MixtureTensors, layout: PanelLayout,
                     query: str) -> Tensor:
        """(Na, S, R) each member's mean loss on one batch, for the active n-groups ``stats.groups`` (the training loss:
        a single point is a one-cell panel, :mod:`training.panel`).

        ``query="sampled"``: the squared error on the sampled query label (the literal protocol);
        ``"integrated"``: the query integrated out exactly.  Member ``(g, s, r)`` reads group g's context.
        """
        raise NotImplementedError

    # ----- the summary after training -----------------------------------------------------
    def score_restarts(self, mixture: TaskMixture, n: int, *, samples: int, seed: int,
                       device: torch.device) -> RestartScores:
        """Each restart's loss, to pick the best: exact where the model has an exact loss, else on ``samples``
        fresh samples shared by the restarts (random stream ``seed``)."""
        raise NotImplementedError

    def exact_losses(self, mixture: TaskMixture, n: int) -> np.ndarray | None:
        """(R,) exact population losses, or None where the model has no exact loss here."""
        return None

    def estimate(self, restart: int, mixture: TaskMixture, n: int, *, target_rel_se: float, max_samples: int,
                 seed: int, device: torch.device) -> Estimate:
        """Monte Carlo estimate of restart ``restart``'s loss on fresh samples (random stream ``seed``)."""
        raise NotImplementedError

    def learned_quantities(self, restart: int, mixture: TaskMixture) -> dict[str, Any]:
        """Restart ``restart``'s learned parameters in the paper's terms (float64 numpy; empty when there is no
        such map)."""
        return {}

    # ----- the exact-loss monitor (early stopping) and a cell's own model --------------------
    def member_exact_losses(self, mixture: TaskMixture, n: int, members: slice) -> np.ndarray | None:
        """Exact population losses of the members ``members`` (all at context length n), or None (no exact loss)."""
        return None

    def member_targets(self, strategy: Strategy, phase: int, mixture: TaskMixture, n: int,
                       members: slice) -> np.ndarray | None:
        """Each member's optimum in phase ``phase`` of ``strategy`` (the early-stopping reference), or None.

        The global optimum of what the phase trains, for this model class: a constant over the members,
        except for the prompt phase of "FT", whose optimum depends on each member's trained weights.
        """
        return None

    def extract(self, members: slice, n: int) -> TrainableModel:
        """A model of this class holding the members ``members`` as its restarts, at context length n."""
        raise NotImplementedError



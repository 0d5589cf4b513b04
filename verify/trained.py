"""Trained-model points for the figures, from a pluggable provider.

The figures (Section 6, Appendices D and E) show the losses of trained models
next to the theory. Training lives in ``training/``; this module adapts its
evidence API, ``training.evidence.training_evidence(strategy, mixture, n, *,
quick, seed, device, progress) -> dict`` (keys ``trained_loss``,
``trained_stderr``, ...), to one small protocol, so the figure code works, and
says so, when no training channel is available.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from theory.mixture import TaskMixture
from theory.strategy import Strategy

__all__ = ["NOT_AVAILABLE", "EvidenceProvider", "TrainedPoint", "TrainedProvider", "Unavailable", "default_provider",
           "from_training_evidence", "provider_identity", "training_budget_text", "unavailable"]

NOT_AVAILABLE = "trained: not available"


@dataclass(frozen=True)
class TrainedPoint:
    """One trained model's loss (raw, not normalised) with its standard error, or why there is none.

    ``error_bar`` says what the standard error covers, as the training channel reports it (e.g. "evaluation only
    (one training seed)", or the spread over training seeds and the evaluation); empty when not stated."""

    loss: float | None
    stderr: float | None
    note: str = ""
    error_bar: str = ""

    @property
    def available(self) -> bool:
        return self.loss is not None


class TrainedProvider(Protocol):
    """``provider(strategy, mixture, n, *, layers, seed, quick) -> TrainedPoint``."""

    def __call__(self, strategy: Strategy, mixture: TaskMixture, n: int, *, layers: int, seed: int,
                 quick: bool) -> TrainedPoint: ...


def provider_identity(provider: TrainedProvider) -> str:
    """What a provider computes, in a few words that enter the key of each trained point's record (so a record of
    one provider is never reused for another): its ``identity`` attribute, else its module and qualified name."""
    identity = getattr(provider, "identity", None)
    if isinstance(identity, str):
        return identity
    module = getattr(provider, "__module__", None) or type(provider).__module__
    name = getattr(provider, "__qualname__", None) or type(provider).__qualname__
    return f"{module}.{name}"


@dataclass(frozen=True)
class Unavailable:
    """A provider that never trains, and says why on every point (see :func:`unavailable`)."""

    reason: str

    @property
    def identity(self) -> str:
        return f"unavailable: {self.reason}"

    def __call__(self, strategy: Strategy, mixture: TaskMixture, n: int, *, layers: int, seed: int, quick: bool) -> TrainedPoint:
        return TrainedPoint(None, None, f"{NOT_AVAILABLE} ({self.reason})")


def unavailable(reason: str) -> TrainedProvider:
    """A provider that never trains, and says why on every point."""
    return Unavailable(reason)


@dataclass(frozen=True)
class EvidenceProvider:
    """The training channel's evidence function as a provider (see :func:`from_training_evidence`); a plain picklable
    object, so an executor can send it to another process or machine."""

    evidence: Callable[..., dict[str, Any]]
    device: str = "cpu"

    @property
    def identity(self) -> str:
        return f"{self.evidence.__module__}.{self.evidence.__qualname__}"

    def __call__(self, strategy: Strategy, mixture: TaskMixture, n: int, *, layers: int, seed: int, quick: bool) -> TrainedPoint:
        kwargs: dict[str, Any] = {"quick": quick, "seed": seed, "device": self.device, "progress": False}
        if layers != 1:
            if "layers" not in inspect.signature(self.evidence).parameters:
                return TrainedPoint(None, None, f"{NOT_AVAILABLE} (the training channel has no {layers}-layer evidence)")
            kwargs["layers"] = layers
        result = self.evidence(str(Strategy(strategy)), mixture, n, **kwargs)
        loss = result.get("trained_loss")
        if loss is None:
            return TrainedPoint(None, None, f"{NOT_AVAILABLE} ({result.get('note', 'no trained_loss returned')})")
        stderr = result.get("trained_stderr")
        return TrainedPoint(float(loss), None if stderr is None else float(stderr), str(result.get("note", "")),
                            str(result.get("error_bar", "")))


def from_training_evidence(evidence: Callable[..., dict[str, Any]], *, device: str = "cpu") -> TrainedProvider:
    """Adapt ``training.evidence.training_evidence`` to the provider protocol.

    The channel takes the strategy's paper name (``Strategy.PGD`` is "PGD": W, P and task-specific heads trained
    jointly, eq. 18). Depth L > 1 (Appendix E) is passed as ``layers=L`` when the channel's function accepts it; otherwise those
    points are reported as not available rather than silently replaced by one-layer models.
    """
    return EvidenceProvider(evidence, device)


def default_provider(*, device: str = "cpu") -> TrainedProvider:
    """The training channel's provider when ``training.evidence`` is importable, else one that says it is not."""
    try:
        module = importlib.import_module("training.evidence")
    except ImportError as exc:
        return unavailable(f"training.evidence is not importable: {exc}")
    evidence = getattr(module, "training_evidence", None)
    if evidence is None:
        return unavailable("training.evidence has no training_evidence()")
    return from_training_evidence(evidence, device=device)


def training_budget_text(quick: bool, *, layers: int = 1) -> str:
    """The training effort of a budget in a few words (Adam steps, batch, restarts), for the plots; ``layers`` > 1:
    Appendix E's stack (``training.multilayer``), with its deepening stage from three layers on."""
    if layers != 1:
        return _multilayer_budget_text(quick, layers)
    try:
        options = importlib.import_module("training.evidence").evidence_options
        sizes = [options(str(s), "attention" if s is Strategy.PGD else "reduced", quick) for s in Strategy]
    except (ImportError, AttributeError):
        return "quick budget" if quick else "the paper's protocol (20,000 Adam steps, batch 8,192, best of 50 restarts)"
    steps = sorted({o["steps"] + o.get("ft_steps", 0) for o in sizes})
    batches = sorted({o["batch_size"] for o in sizes})
    restarts = max(o["restarts"] for o in sizes)
    span = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}-{steps[-1]:,}"
    return (f"{span} Adam steps, batch {'/'.join(f'{b:,}' for b in batches)}, best of {restarts} restarts"
            + ("" if quick else " (the paper's protocol)"))


def _multilayer_budget_text(quick: bool, layers: int) -> str:
    try:
        multilayer = importlib.import_module("training.multilayer")
        stack = multilayer.multilayer_options(quick)
    except (ImportError, AttributeError):
        return "quick budget" if quick else "the paper's protocol (20,000 Adam steps, batch 8,192, best of 50 restarts)"
    deepen = max(1, round(stack["steps"] * multilayer.DEEPEN_STEP_FRACTION))
    steps = f"{stack['steps']:,}" + (f" + {layers - 2} x {deepen:,} deepening" if layers > 2 else "")
    return (f"{steps} Adam steps, batch {stack['batch_size']:,}, best of {stack['restarts']} restarts "
            f"({stack['protocol']} protocol)")

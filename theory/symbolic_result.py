"""The outcome of a symbolic decision (theory.symbolic, theory.asymptotics); the claim records carry it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolicResult:
    """Outcome of a symbolic decision: the setting, whether the difference cancels, and the difference."""

    setting: str
    holds: bool
    difference: str

"""Whether a sampling or training channel could tell the claimed value from the derived one at its budget.

A channel measures one number (a sampled or trained loss) with a resolution ``R``: the smallest difference from the
derived value it would see (``k`` standard errors, plus the optimisation tolerance for training).  When the claimed
value differs from the derived one by less than ``R``, a measurement close to the derived value is just as close to
the claimed one: the channel is no evidence either way, and says so rather than "within" (absence of evidence is
not evidence).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resolution:
    """The payload fields ``resolution, resolution_text, claimed_gap, distinguishes`` of a channel (in that order)."""

    resolution: float
    resolution_text: str
    claimed_gap: float | None  # claimed - derived; None without a claimed value
    distinguishes: bool | None  # |claimed - derived| > resolution; None without a claimed value


def resolution_text(resolution: float, how: str) -> str:
    """The resolution in words: its value and what it is made of (``how``, e.g. "5.49 se")."""
    return f"{resolution:.3g} = {how}"


def resolve(claimed: float | None, derived: float, resolution: float, text: str) -> Resolution:
    """Whether ``|claimed - derived| > resolution`` (``text``: :func:`resolution_text`)."""
    gap = None if claimed is None else float(claimed - derived)
    return Resolution(float(resolution), text, gap, None if gap is None else bool(abs(gap) > resolution))


def distinguish_text(gap: float | None, distinguishes: bool | None, text: str, claimed_name: str = "claimed") -> str:
    """The sentence for a :class:`Resolution` (``gap``, ``distinguishes``, ``text``): "cannot distinguish ..." below
    the resolution, else the gap and that the resolution sees it; empty without a claimed value."""
    if gap is None:
        return ""
    if not distinguishes:
        return (f"cannot distinguish {claimed_name} from derived at this budget (resolution {text}; "
                f"|{claimed_name} - derived| = {abs(gap):.3g})")
    return f"{claimed_name} - derived = {gap:+.3g}, beyond the resolution {text}"

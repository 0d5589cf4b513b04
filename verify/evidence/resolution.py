"""Whether a sampling or training channel could tell the claimed value from the derived one at its budget.

A channel measures one number (a sampled or trained loss) with a resolution ``R``: the smallest difference from the
derived value it would see (``k`` standard errors, plus the optimisation tolerance for training).  When the claimed
value differs from the derived one by less than ``R``, a measurement close to the derived value is just as close to
the claimed one: the channel is no evidence either way, and says so rather than "within" (absence of evidence is
not evidence).
"""

from __future__ import annotations

from typing import Any


def resolution_text(resolution: float, how: str) -> str:
    """The resolution in words: its value and what it is made of (``how``, e.g. "5.49 se")."""
    return f"{resolution:.3g} = {how}"


def resolution_fields(claimed: float | None, derived: float, resolution: float, text: str) -> dict[str, Any]:
    """``{"resolution", "resolution_text", "claimed_gap", "distinguishes"}`` for a channel's payload.

    ``text`` is :func:`resolution_text`; ``claimed_gap`` is ``claimed - derived`` and ``distinguishes`` whether
    ``|claimed - derived| > resolution`` (both None without a claimed value)."""
    gap = None if claimed is None else float(claimed - derived)
    return {"resolution": float(resolution), "resolution_text": text, "claimed_gap": gap,
            "distinguishes": None if gap is None else bool(abs(gap) > resolution)}


def distinguish_text(fields: dict[str, Any], claimed_name: str = "claimed") -> str:
    """The sentence for :func:`resolution_fields`: "cannot distinguish ..." below the resolution, else the gap
    and that the resolution sees it; empty without a claimed value."""
    gap = fields["claimed_gap"]
    if gap is None:
        return ""
    if not fields["distinguishes"]:
        return (f"cannot distinguish {claimed_name} from derived at this budget (resolution {fields['resolution_text']}; "
                f"|{claimed_name} - derived| = {abs(gap):.3g})")
    return f"{claimed_name} - derived = {gap:+.3g}, beyond the resolution {fields['resolution_text']}"

"""The claim packs, one per paper: each a :class:`theory.record.Paper` with its claims and search family."""

from __future__ import annotations

from theory.papers.chang2025 import PAPER as CHANG2025
from theory.record import Paper

PAPERS: dict[str, Paper] = {p.key: p for p in (CHANG2025,)}
DEFAULT_PAPER = CHANG2025.key

__all__ = ["DEFAULT_PAPER", "PAPERS"]

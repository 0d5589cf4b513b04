"""The claim packs, one per paper: each a :class:`theory.record.Paper` with its claims and search family."""

from __future__ import annotations

from theory.papers.ahn2023 import PAPER as AHN2023
from theory.papers.chang2025 import PAPER as CHANG2025
from theory.papers.zhang2024 import PAPER as ZHANG2024
from theory.record import Paper

PAPERS: dict[str, Paper] = {p.key: p for p in (CHANG2025, ZHANG2024, AHN2023)}
DEFAULT_PAPER = CHANG2025.key

__all__ = ["DEFAULT_PAPER", "PAPERS"]

"""The claim packs, one per paper: each a :class:`claims.record.Paper` with its claims and search family.

The built-in packs, then every installed pack (entry-point group ``prompt_icl_verify.packs``, :mod:`claims.packs`);
``verify --pack PATH`` adds one more at run time (:func:`claims.packs.register`)."""

from __future__ import annotations

from claims.packs import installed_packs, register
from claims.papers.ahn2023 import PAPER as AHN2023
from claims.papers.chang2025 import PAPER as CHANG2025
from claims.papers.zhang2024 import PAPER as ZHANG2024
from claims.record import Paper

PAPERS: dict[str, Paper] = {p.key: p for p in (CHANG2025, ZHANG2024, AHN2023)}
DEFAULT_PAPER = CHANG2025.key
BUILT_IN = tuple(PAPERS)
for _installed in installed_packs():
    register(_installed, PAPERS)

__all__ = ["BUILT_IN", "DEFAULT_PAPER", "PAPERS"]

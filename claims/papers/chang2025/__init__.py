"""Chang, Li, Kara, Oymak, Roy-Chowdhury, "Provable Benefits of Task-Specific Prompts for In-context Learning"
(AISTATS 2025): the default claim pack, one module per result of the paper."""

from __future__ import annotations

from claims.papers.chang2025 import (
    assumption1,
    corollary1,
    experiments,
    lemmas,
    proposition1,
    section4,
    section6,
    theorem1,
    theorem2,
    theorem3,
    theorem4,
)
from claims.papers.chang2025.cases import search_cases
from claims.record import Paper
from theory.mixture import DEFAULT_PRESET

PAPER = Paper(
    key="chang2025",
    title="Provable Benefits of Task-Specific Prompts for In-context Learning",
    citation="X. Chang, Y. Li, M. Kara, S. Oymak, A. K. Roy-Chowdhury. AISTATS 2025.",
    claims=(
        *lemmas.CLAIMS, *theorem1.CLAIMS, *theorem2.CLAIMS, *theorem3.CLAIMS, *proposition1.CLAIMS, *theorem4.CLAIMS,
        theorem4.LOWER_BOUND, *corollary1.ORDER, section4.ZERO_MEANS, *corollary1.RATES, *section4.LIMITS,
        section6.SHARED_HEAD, *assumption1.CLAIMS, section6.ALIGNS_CLOSELY, *experiments.CLAIMS,
    ),
    cases=search_cases,
    default_mixture=DEFAULT_PRESET,
    mapping="The paper's own model: Definition 2's task mixtures, one-layer linear attention (eq. 6) and its reduced form (7).",
    docs="docs/index.md",
)

__all__ = ["PAPER"]

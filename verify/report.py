"""The machine-readable report (JSON); the terminal table is in :mod:`verify.terminal`."""

from __future__ import annotations

from typing import Any

from theory.mixture import TaskMixture
from theory.verdicts import ClaimVerdict


def build_report(verdicts: list[ClaimVerdict], mixture: TaskMixture, mixture_name: str, ns: list[int],
                 seed: int, seconds: float) -> dict[str, Any]:
    """One object per claim (id, statement, verdict, evidence, counterexample) plus run metadata."""
    claims = [v.to_json() for v in verdicts]
    counts = {k: sum(c["verdict"] == k for c in claims) for k in ("verified", "refuted", "inconclusive")}
    return {
        "paper": "Provable Benefits of Task-Specific Prompts for In-context Learning (AISTATS 2025)",
        "mixture": {"name": mixture_name, **mixture.to_dict()},
        "n": ns, "seed": seed, "seconds": round(seconds, 3), "summary": counts, "claims": claims,
    }

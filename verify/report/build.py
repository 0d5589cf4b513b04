"""The machine-readable report (JSON); the terminal table is in :mod:`verify.terminal`."""

from __future__ import annotations

from typing import Any

from theory.mixture import TaskMixture
from theory.verdicts import ClaimVerdict
from verify.version import SCHEMA_VERSION, tool_info

LOCAL_VERDICTS = ("holds", "fails", "inconclusive", "not applicable")


def build_report(verdicts: list[ClaimVerdict], mixture: TaskMixture, mixture_name: str, ns: list[int],
                 seed: int, seconds: float, *, device: str = "cpu") -> dict[str, Any]:
    """The JSON report (schema: docs/json-schema.md): run metadata, one object per claim, and the wall times.

    ``seconds`` is the run's wall time.  Every wall-clock number is under the one key ``timings``
    (``{"total_seconds", "evidence": {"<claim id>.<channel>": seconds}}``) so that two runs with the same
    seed give the same JSON once ``timings`` is dropped (issue 11).
    """
    claims = [v.to_json() for v in verdicts]
    counts = {k: sum(c["verdict"] == k for c in claims) for k in ("verified", "refuted", "inconclusive")}
    local = {k: sum((c["on_selected_mixture"] or {}).get("verdict") == k for c in claims) for k in LOCAL_VERDICTS}
    evidence_times = {f"{v.claim.id}.{channel}": round(t, 3) for v in verdicts for channel, t in v.timings.items()}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": tool_info(),
        "paper": "Provable Benefits of Task-Specific Prompts for In-context Learning (AISTATS 2025)",
        "mixture": {"name": mixture_name, **mixture.to_dict()},
        "n": [int(n) for n in ns], "seed": int(seed), "device": str(device),
        "summary": counts, "summary_on_selected_mixture": local, "claims": claims,
        "timings": {"total_seconds": round(float(seconds), 3), "evidence": evidence_times},
    }

"""The typed result of one evidence channel for one claim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claims.verdicts import Finding


@dataclass(frozen=True)
class Evidence:
    """``data`` goes to the JSON report under ``evidence[channel]``; ``findings`` go to
    :func:`claims.verdicts.weigh_evidence` (a contradiction, or a note)."""

    channel: str
    data: dict[str, Any]
    findings: tuple[Finding, ...] = ()

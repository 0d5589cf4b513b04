"""The typed result of one evidence channel for one claim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claims.verdicts import Finding
from verify.evidence.payload import ChannelPayload


@dataclass(frozen=True)
class Evidence:
    """``payload`` goes to the JSON report under ``evidence[payload.channel]`` (:meth:`ChannelPayload.to_json`);
    ``findings`` go to :func:`claims.verdicts.weigh_evidence` (a contradiction, or a note)."""

    payload: ChannelPayload
    findings: tuple[Finding, ...] = ()

    @property
    def channel(self) -> str:
        return self.payload.channel

    @property
    def data(self) -> dict[str, Any]:
        """The payload as the JSON report stores it."""
        return self.payload.to_json()

"""The evidence channels, in the order every renderer shows them, and the payloads of a stored report."""

from __future__ import annotations

from typing import Any

from verify.evidence.experiments import ExperimentsPayload
from verify.evidence.minimiser import MinimiserPayload
from verify.evidence.montecarlo import AtClaimedPayload, MonteCarloPayload
from verify.evidence.payload import ChannelPayload
from verify.evidence.training import TrainingPayload
from verify.evidence.unconstrained import UnconstrainedPayload

CHANNELS: tuple[type[ChannelPayload], ...] = (MinimiserPayload, MonteCarloPayload, AtClaimedPayload,
                                              UnconstrainedPayload, TrainingPayload, ExperimentsPayload)


def channel_payloads(evidence: dict[str, Any]) -> list[ChannelPayload]:
    """The payload of every channel that gave evidence in a claim's ``evidence`` object of the JSON report, in
    :data:`CHANNELS`' order (the claim's other evidence, the search's and the symbolic decision's, is not a
    channel's)."""
    return [cls.from_json(evidence[cls.channel]) for cls in CHANNELS if evidence.get(cls.channel)]

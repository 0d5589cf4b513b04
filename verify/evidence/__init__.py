"""Evidence channels on the selected mixture: each reads a claim record and returns typed :class:`Evidence`.

* :mod:`verify.evidence.minimiser`: the derived optimum against an independent numerical minimiser;
* :mod:`verify.evidence.montecarlo`: sampled losses at the derived optimum and at the paper's stated parameters;
* :mod:`verify.evidence.unconstrained`: the exact optimum of the unconstrained attention, sampled;
* :mod:`verify.evidence.training`: torch training from random initialisation;
* :mod:`verify.evidence.experiments`: trained evidence of the experiments' statements.

Each channel module owns its computation, its frozen payload (:class:`ChannelPayload`: the JSON keys are its
fields), its findings and its rendering rows; :data:`CHANNELS` lists them in the order the renderers show them, and
:func:`channel_payloads` rebuilds them from a stored report.  The search and the symbolic decision are
:mod:`claims.verdicts`'; :func:`claims.verdicts.weigh_evidence` turns the channels' findings into the verdict.
"""

from verify.evidence.channels import CHANNELS, channel_payloads
from verify.evidence.payload import ChannelPayload, ReportRow
from verify.evidence.record import Evidence

__all__ = ["CHANNELS", "ChannelPayload", "Evidence", "ReportRow", "channel_payloads"]

"""Evidence channels on the selected mixture: each reads a claim record and returns typed :class:`Evidence`.

* :mod:`verify.evidence.minimiser`: the derived optimum against an independent numerical minimiser;
* :mod:`verify.evidence.training`: torch training from random initialisation;
* :mod:`verify.evidence.unconstrained`: the exact optimum of the unconstrained attention, sampled;
* :mod:`verify.evidence.montecarlo`: sampled losses at the derived optimum and at the paper's stated parameters.

The search and the symbolic decision are :mod:`claims.verdicts`'; :func:`claims.verdicts.weigh_evidence`
turns the channels' findings into the verdict.
"""

from verify.evidence.record import Evidence

__all__ = ["Evidence"]

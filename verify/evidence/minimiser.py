"""The minimiser channel: the derived optimum (theory.optima) against scipy's minimiser of the exact loss."""

from __future__ import annotations

from typing import Any

from theory.minimise import numerical_optimum
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.record import Claim, rel_error
from theory.strategy import Strategy
from theory.verdicts import Finding
from verify.evidence.record import Evidence

MINIMISER_RTOL = 1e-6  # issue 2: derived losses must agree with the independent minimiser to 1e-6 relative


class MinimiserChannel:
    """One minimisation per strategy at the first selected n, shared by the claims about that optimum."""

    channel = "minimiser"

    def __init__(self, mixture: TaskMixture, n: int, seed: int) -> None:
        self.mixture, self.n, self.seed = mixture, n, seed
        self._done: dict[Strategy, dict[str, Any]] = {}

    def _evidence(self, strategy: Strategy) -> dict[str, Any]:
        derived = optimum(strategy, self.mixture, self.n)
        found = numerical_optimum(strategy, self.mixture, self.n, seed=self.seed)
        return {
            "strategy": strategy, "n": self.n, "derived_loss": derived.loss, "numerical_loss": found.loss,
            "loss_rel_diff": abs(found.loss - derived.loss) / abs(derived.loss),
            "W_rel_diff": rel_error(found.W, derived.W),
            "P_rel_diff": rel_error(found.P, derived.P),
            "agrees": abs(found.loss - derived.loss) <= MINIMISER_RTOL * abs(derived.loss),
            "iterations": found.iterations,
        }

    def for_claim(self, claim: Claim) -> Evidence | None:
        if claim.optimum is None or not claim.scope(self.mixture):
            return None
        if claim.optimum not in self._done:
            self._done[claim.optimum] = self._evidence(claim.optimum)
        data = self._done[claim.optimum]
        findings = () if data["agrees"] else (
            Finding(self.channel, True, "the numerical minimiser disagrees with the derived optimum"),)
        return Evidence(self.channel, data, findings)

"""The minimiser channel: the derived optimum (theory.optima) against scipy's minimiser of the exact loss.

What it may conclude (:meth:`MinimiserChannel.for_claim`):

* a loss *below* the derived optimum by more than ``MINIMISER_RTOL`` contradicts the derivation, whether or
  not the minimiser converged: the loss there is exact, so the derived "optimum" is not the minimum;
* a minimiser that did not converge (:class:`theory.minimise.NumericalOptimum`: ``converged`` False) and ended
  above is a note ("did not converge: gradient norm X after N iterations"), never a contradiction: an
  unfinished search says nothing about the optimum;
* a converged minimum above the derived one contradicts, unless the derived point is itself a stationary point
  attaining the derived loss (then the minimiser found another local minimum of a non-convex loss, JT's, which
  is a note).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from claims.record import Claim, rel_error
from claims.verdicts import Finding
from theory.loss import pgd_loss, population_loss
from theory.minimise import loss_gradient, numerical_optimum
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.strategy import Strategy
from verify.evidence.record import Evidence

MINIMISER_RTOL = 1e-6  # derived losses must agree with the independent minimiser to 1e-6 relative
_STATIONARY_RTOL = 1e-8  # the derived point's exact gradient norm, relative to its loss, below which it is stationary


class MinimiserChannel:
    """One minimisation per strategy at the first selected n, shared by the claims about that optimum."""

    channel = "minimiser"

    def __init__(self, mixture: TaskMixture, n: int, seed: int, *, max_iterations: int | None = None) -> None:
        self.mixture, self.n, self.seed = mixture, n, seed
        self.max_iterations = max_iterations
        self._done: dict[Strategy, dict[str, Any]] = {}

    def _derived_point(self, strategy: Strategy, W: Any, P: Any) -> tuple[float, float]:
        """(exact loss, exact gradient norm) at the derived parameters, by theory.loss (not theory.optima)."""
        m, n = self.mixture, self.n
        if strategy is Strategy.PGD:
            gW, _ = loss_gradient(m, W, None, n, centred=True)
            return float(pgd_loss(m, W, n)), float(np.linalg.norm(gW))
        gW, gP = loss_gradient(m, W, P, n)
        grads = [gP] if strategy is Strategy.FT else ([gW] if strategy is Strategy.PT else [gW, gP])
        return float(population_loss(m, W, P, n)), float(np.sqrt(sum(np.sum(g * g) for g in grads)))

    def _evidence(self, strategy: Strategy) -> dict[str, Any]:
        derived = optimum(strategy, self.mixture, self.n)
        kwargs = {} if self.max_iterations is None else {"max_iterations": self.max_iterations}
        found = numerical_optimum(strategy, self.mixture, self.n, seed=self.seed, **kwargs)
        tol = MINIMISER_RTOL * abs(derived.loss)
        diff = found.loss - derived.loss
        point_loss, point_grad = self._derived_point(strategy, derived.W, derived.P)
        derived_is_stationary = (abs(point_loss - derived.loss) <= tol
                                 and point_grad <= _STATIONARY_RTOL * max(1.0, abs(derived.loss)))
        if diff < -tol:
            outcome = "below"
        elif abs(diff) <= tol:
            outcome = "agrees" if found.converged else "agrees, not converged"
        elif not found.converged:
            outcome = "not converged"
        else:
            outcome = "other local minimum" if derived_is_stationary else "above"
        return {
            "strategy": strategy, "n": self.n, "derived_loss": derived.loss, "numerical_loss": found.loss,
            "loss_rel_diff": abs(diff) / abs(derived.loss),
            "W_rel_diff": rel_error(found.W, derived.W),
            "P_rel_diff": rel_error(found.P, derived.P),
            "agrees": abs(diff) <= tol,
            "iterations": found.iterations, "gradient_norm": found.gradient_norm, "decrement": found.decrement,
            "converged": found.converged, "outcome": outcome, "tolerance": MINIMISER_RTOL,
            "derived_point_loss": point_loss, "derived_point_gradient_norm": point_grad,
        }

    def for_claim(self, claim: Claim) -> Evidence | None:
        if claim.optimum is None or not claim.scope(self.mixture):
            return None
        if claim.optimum not in self._done:
            self._done[claim.optimum] = self._evidence(claim.optimum)
        data = self._done[claim.optimum]
        return Evidence(self.channel, data, _findings(self.channel, data))


def _findings(channel: str, data: dict[str, Any]) -> tuple[Finding, ...]:
    """What the outcome of :meth:`MinimiserChannel._evidence` says to :func:`claims.verdicts.weigh_evidence`."""
    outcome = data["outcome"]
    stopped = (f"did not converge: gradient norm {data['gradient_norm']:.2g} after {data['iterations']} iterations")
    if outcome == "below":
        return (Finding(channel, True, f"the numerical minimiser found a loss {data['numerical_loss']:.10g} below the "
                                       f"derived optimum {data['derived_loss']:.10g}"),)
    if outcome == "above":
        return (Finding(channel, True, f"the numerical minimiser converged to {data['numerical_loss']:.10g}, not the "
                                       f"derived optimum {data['derived_loss']:.10g}"),)
    if outcome == "not converged":
        return (Finding(channel, False, f"the numerical minimiser {stopped}, at {data['numerical_loss']:.10g} "
                                        f"(derived {data['derived_loss']:.10g}): no evidence either way"),)
    if outcome == "agrees, not converged":
        return (Finding(channel, False, f"the numerical minimiser {stopped}, though its loss agrees with the "
                                        "derived optimum"),)
    if outcome == "other local minimum":
        return (Finding(channel, False, f"the numerical minimiser converged to another local minimum "
                                        f"({data['numerical_loss']:.10g}) above the derived optimum, which is a "
                                        "stationary point attaining the derived loss"),)
    return ()

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

from dataclasses import dataclass
from typing import Any

import numpy as np

from claims.record import Claim, rel_error
from claims.verdicts import Finding
from theory.loss import pgd_loss, population_loss
from theory.minimise import loss_gradient, numerical_optimum
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.strategy import Strategy
from verify.evidence.payload import ChannelPayload, ReportRow, optional
from verify.evidence.record import Evidence
from verify.numbers import exact

MINIMISER_RTOL = 1e-6  # derived losses must agree with the independent minimiser to 1e-6 relative
_STATIONARY_RTOL = 1e-8  # the derived point's exact gradient norm, relative to its loss, below which it is stationary


@dataclass(frozen=True)
class MinimiserPayload(ChannelPayload):
    """The derived optimum of ``strategy`` at ``n`` against the numerical minimiser's (``outcome``: "below",
    "agrees", "agrees, not converged", "not converged", "other local minimum", "above")."""

    channel = "minimiser"
    title = "Minimiser (scipy, exact loss)"
    summary_label = "a numerical minimiser (scipy BFGS)"

    strategy: str
    n: int
    derived_loss: float
    numerical_loss: float
    loss_rel_diff: float
    W_rel_diff: float
    P_rel_diff: float
    agrees: bool
    iterations: int
    gradient_norm: float
    decrement: float | None
    # reports written before the minimiser certified convergence lack these
    converged: bool | None = optional()
    outcome: str | None = optional()
    tolerance: float | None = optional()
    derived_point_loss: float | None = optional()
    derived_point_gradient_norm: float | None = optional()

    def findings(self) -> tuple[Finding, ...]:
        """What the outcome says to :func:`claims.verdicts.weigh_evidence`."""
        c = self.channel
        stopped = f"did not converge: gradient norm {self.gradient_norm:.2g} after {self.iterations} iterations"
        if self.outcome == "below":
            return (Finding(c, True, f"the numerical minimiser found a loss {self.numerical_loss:.10g} below the "
                                     f"derived optimum {self.derived_loss:.10g}"),)
        if self.outcome == "above":
            return (Finding(c, True, f"the numerical minimiser converged to {self.numerical_loss:.10g}, not the "
                                     f"derived optimum {self.derived_loss:.10g}"),)
        if self.outcome == "not converged":
            return (Finding(c, False, f"the numerical minimiser {stopped}, at {self.numerical_loss:.10g} "
                                      f"(derived {self.derived_loss:.10g}): no evidence either way"),)
        if self.outcome == "agrees, not converged":
            return (Finding(c, False, f"the numerical minimiser {stopped}, though its loss agrees with the "
                                      "derived optimum"),)
        if self.outcome == "other local minimum":
            return (Finding(c, False, f"the numerical minimiser converged to another local minimum "
                                      f"({self.numerical_loss:.10g}) above the derived optimum, which is a "
                                      "stationary point attaining the derived loss"),)
        return ()

    def terminal_rows(self) -> list[tuple[str, str]]:
        state = ("" if self.converged is None else
                 ("; converged" if self.converged else "; did not converge")
                 + f": gradient norm {self.gradient_norm:.1e} after {self.iterations} iterations")
        return [("minimiser", f"{self.strategy} n={self.n}: minimised loss {exact(self.numerical_loss)} vs derived "
                              f"{exact(self.derived_loss)} (rel {self.loss_rel_diff:.1e}{state})")]

    def report_rows(self) -> list[ReportRow]:
        state = ("" if self.converged is None else
                 (", converged" if self.converged else ", did not converge") + f", gradient norm {self.gradient_norm:.1e}")
        return [ReportRow(
            self.title,
            f"{self.strategy} at n = {self.n}: {self.numerical_loss:.10g} from a seeded start vs derived "
            f"{self.derived_loss:.10g} (relative difference {self.loss_rel_diff:.1e}; $W$ {self.W_rel_diff:.1e}, "
            f"$P$ {self.P_rel_diff:.1e}; {self.iterations} iterations{state})",
            f"agrees within {MINIMISER_RTOL:g} of the loss: a lower loss than the derived optimum by more than "
            f"{MINIMISER_RTOL * abs(self.derived_loss):.2g} would be seen")]


class MinimiserChannel:
    """One minimisation per strategy at the first selected n, shared by the claims about that optimum."""

    channel = "minimiser"

    def __init__(self, mixture: TaskMixture, n: int, seed: int, *, max_iterations: int | None = None) -> None:
        self.mixture, self.n, self.seed = mixture, n, seed
        self.max_iterations = max_iterations
        self._done: dict[Strategy, MinimiserPayload] = {}

    def _derived_point(self, strategy: Strategy, W: Any, P: Any) -> tuple[float, float]:
        """(exact loss, exact gradient norm) at the derived parameters, by theory.loss (not theory.optima)."""
        m, n = self.mixture, self.n
        if strategy is Strategy.PGD:
            gW, _ = loss_gradient(m, W, None, n, centred=True)
            return float(pgd_loss(m, W, n)), float(np.linalg.norm(gW))
        gW, gP = loss_gradient(m, W, P, n)
        grads = [gP] if strategy is Strategy.FT else ([gW] if strategy is Strategy.PT else [gW, gP])
        return float(population_loss(m, W, P, n)), float(np.sqrt(sum(np.sum(g * g) for g in grads)))

    def _evidence(self, strategy: Strategy) -> MinimiserPayload:
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
        return MinimiserPayload(
            strategy=str(strategy), n=self.n, derived_loss=float(derived.loss), numerical_loss=float(found.loss),
            loss_rel_diff=float(abs(diff) / abs(derived.loss)), W_rel_diff=float(rel_error(found.W, derived.W)),
            P_rel_diff=float(rel_error(found.P, derived.P)), agrees=bool(abs(diff) <= tol),
            iterations=int(found.iterations), gradient_norm=float(found.gradient_norm), decrement=_float(found.decrement),
            converged=bool(found.converged), outcome=outcome, tolerance=MINIMISER_RTOL,
            derived_point_loss=point_loss, derived_point_gradient_norm=point_grad)

    def for_claim(self, claim: Claim) -> Evidence | None:
        if claim.optimum is None or not claim.scope(self.mixture):
            return None
        if claim.optimum not in self._done:
            self._done[claim.optimum] = self._evidence(claim.optimum)
        payload = self._done[claim.optimum]
        return Evidence(payload, payload.findings())


def _float(value: Any) -> float | None:
    return None if value is None else float(value)

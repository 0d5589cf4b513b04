"""The Monte Carlo channel: sampled losses at the derived optimum, and at the parameters the paper states.

Fast sufficient-statistics estimator (montecarlo), float64, budgets in samples; z-scores against the
derived loss with a k-sigma bound from the run's false-alarm budget (:func:`k_sigma`).  The resolution of an
estimate is ``k`` standard errors: where the claimed value (the stated loss, or the loss at the stated parameters)
differs from the derived one by less, the channel says it cannot distinguish them (:mod:`verify.evidence.resolution`).
"""

from __future__ import annotations

from typing import Any

from scipy.stats import norm

from claims.record import Claim, Paper, StatedParameters
from claims.verdicts import Finding
from montecarlo import PGDPredictor, ReducedPredictor, estimate_loss
from theory.mixture import TaskMixture
from theory.optima import Optimum, optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from verify.evidence.record import Evidence
from verify.evidence.resolution import distinguish_text, resolution_fields, resolution_text

MC_TARGET_REL_SE = 2e-3  # keeps `verify --all` near a minute on 2 cores (about 0.5 s per strategy)
MC_MAX_SAMPLES = 10_000_000  # sample budget of the fast estimates (never reached on the presets: the precision stops first)


def k_sigma(paper: Paper) -> float:
    """k for the z-scores: a two-sided 1e-6 false-alarm budget over the estimates of a run (at most 4 at derived
    optima, one at each claim's stated parameters, and two per sampled optimum of the exact unconstrained
    channel: the attention sampled directly, and its paired difference with the reduced model)."""
    stated = sum(c.stated is not None for c in paper.claims)
    sampled = {u for c in paper.claims for u in c.unconstrained if u[0] is not Strategy.FT}
    return float(norm.isf(1e-6 / (2 * (4 + stated + 2 * len(sampled)))))


def _spec(predictor: str, W: Any, P: Any) -> PGDPredictor | ReducedPredictor:
    return PGDPredictor(W) if predictor == "pgd" else ReducedPredictor(W, P)


def _at_optimum(opt: Optimum, strategy: Strategy) -> PGDPredictor | ReducedPredictor:
    return _spec("pgd" if strategy is Strategy.PGD else "reduced", opt.W, opt.P)


class MonteCarloChannel:
    """``montecarlo`` (the derived optimum's loss, for claims that state a loss) and ``montecarlo_at_claimed``
    (the paper's stated parameters, against the derived optimum loss)."""

    def __init__(self, mixture: TaskMixture, n: int, seed: int, device: str, k: float) -> None:
        self.mixture, self.n, self.seed, self.device, self.k = mixture, n, seed, device, k
        self._at_derived: dict[Strategy, dict[str, Any]] = {}

    def _estimate(self, spec: PGDPredictor | ReducedPredictor, seed: int) -> Any:
        return estimate_loss(self.mixture, self.n, spec, method="fast", target_rel_se=MC_TARGET_REL_SE,
                             max_samples=MC_MAX_SAMPLES, seed=seed, device=self.device)

    def at_stated(self, claim: Claim, claimed_loss: float | None) -> Evidence | None:
        """The sampled loss at the parameters the paper states as optimal, against the derived optimum."""
        if claim.stated is None or claim.optimum is None or not claim.scope(self.mixture):
            return None
        stated: StatedParameters = claim.stated(self.mixture, self.n)
        est = self._estimate(_spec(stated.predictor, stated.W, stated.P), child_seed(self.seed, "montecarlo", "stated"))
        derived = optimum(claim.optimum, self.mixture, self.n).loss
        data = {"n": self.n, "predictor": stated.predictor, "estimate": est.mean, "stderr": est.stderr,
                "samples": est.samples, "derived_optimum": derived, "z_vs_derived_optimum": (est.mean - derived) / est.stderr}
        if claim.loss and claimed_loss is not None:
            data["claimed_loss"] = claimed_loss
            data["z_vs_claimed_loss"] = (est.mean - claimed_loss) / est.stderr
        resolution = self.k * est.stderr
        text = resolution_text(resolution, f"{self.k:.2f} se")
        # the estimate stands in for the claimed parameters' loss: the channel tells it from the optimum when the
        # estimate is more than the resolution away (the claimed value is known only through it)
        data.update(resolution_fields(est.mean, derived, resolution, text), k_sigma=self.k)
        data["summary"] = (distinguish_text(data, "the claimed parameters' loss") if data["distinguishes"] else
                           f"cannot distinguish the claimed parameters' loss from the derived optimum at this budget "
                           f"(resolution {text}; estimate - derived = {est.mean - derived:+.3g})")
        findings: tuple[Finding, ...] = ()
        if abs(data["z_vs_derived_optimum"]) > self.k:
            findings = (Finding("montecarlo_at_claimed", True, "Monte Carlo at the claimed parameters disagrees with the "
                                f"derived optimum loss (z = {data['z_vs_derived_optimum']:.1f})"),)
        return Evidence("montecarlo_at_claimed", data, findings)

    def at_derived(self, claim: Claim, claimed_loss: float | None) -> Evidence | None:
        """The sampled loss at the derived optimum, for a claim that states that optimum's loss."""
        strategy = claim.optimum
        if not claim.loss or strategy is None or not claim.scope(self.mixture):
            return None
        if strategy not in self._at_derived:
            opt = optimum(strategy, self.mixture, self.n)
            est = self._estimate(_at_optimum(opt, strategy), child_seed(self.seed, "montecarlo", "derived"))
            self._at_derived[strategy] = {
                "strategy": strategy, "n": self.n, "estimate": est.mean, "stderr": est.stderr, "samples": est.samples,
                "derived": opt.loss, "z_derived": (est.mean - opt.loss) / est.stderr, "k_sigma": self.k}
        data = dict(self._at_derived[strategy])
        if claimed_loss is not None:
            data["claimed"] = claimed_loss
            data["z_claimed"] = (data["estimate"] - claimed_loss) / data["stderr"]
        resolution = self.k * data["stderr"]
        data.update(resolution_fields(claimed_loss, data["derived"], resolution,
                                      resolution_text(resolution, f"{self.k:.2f} se")))
        data["summary"] = distinguish_text(data)
        findings: tuple[Finding, ...] = ()
        if abs(data["z_derived"]) > self.k:
            findings = (Finding("montecarlo", True, f"Monte Carlo disagrees with the derived loss (z = {data['z_derived']:.1f})"),)
        return Evidence("montecarlo", data, findings)

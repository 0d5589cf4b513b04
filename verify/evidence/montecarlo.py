"""The Monte Carlo channel: sampled losses at the derived optimum, and at the parameters the paper states.

Fast sufficient-statistics estimator (montecarlo), float64, budgets in samples; z-scores against the
derived loss with a k-sigma bound from the run's false-alarm budget (:func:`k_sigma`).  The resolution of an
estimate is ``k`` standard errors: where the claimed value (the stated loss, or the loss at the stated parameters)
differs from the derived one by less, the channel says it cannot distinguish them (:mod:`verify.evidence.resolution`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claims.record import Claim, Paper, StatedParameters
from claims.verdicts import Finding
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from verify.evidence.payload import ChannelPayload, ReportRow, optional
from verify.evidence.record import Evidence
from verify.evidence.resolution import distinguish_text, resolution_text, resolve
from verify.numbers import exact, uncertain

if TYPE_CHECKING:
    from montecarlo import PGDPredictor, ReducedPredictor
    from theory.mixture import TaskMixture

MC_TARGET_REL_SE = 2e-3  # keeps `verify --all` near a minute on 2 cores (about 0.5 s per strategy)
MC_MAX_SAMPLES = 10_000_000  # sample budget of the fast estimates (never reached on the presets: the precision stops first)


def k_sigma(paper: Paper) -> float:
    """k for the z-scores: a two-sided 1e-6 false-alarm budget over the estimates of a run (at most 4 at derived
    optima, one at each claim's stated parameters, and two per sampled optimum of the exact unconstrained
    channel: the attention sampled directly, and its paired difference with the reduced model)."""
    from scipy.stats import norm

    stated = sum(c.stated is not None for c in paper.claims)
    sampled = {u for c in paper.claims for u in c.unconstrained if u[0] is not Strategy.FT}
    return float(norm.isf(1e-6 / (2 * (4 + stated + 2 * len(sampled)))))


def _k_bound(k: float, se: float, loss: float) -> str:
    """The resolution column of a sampled channel: k standard errors, and what fraction of the loss that is."""
    return f"$k\\,\\mathrm{{se}} = {k:.2f} \\times {se:.2g} = {k * se:.2g}$ ({100 * (k * se / abs(loss)):.2g}% of the loss)"


@dataclass(frozen=True)
class MonteCarloPayload(ChannelPayload):
    """The sampled loss at the derived optimum of ``strategy`` (``z_derived`` against its exact loss), and against the
    claim's stated loss where it states one (``claimed``, ``z_claimed``); decided at ``k_sigma`` standard errors."""

    channel = "montecarlo"
    title = "Monte Carlo at the derived optimum"
    summary_label = "Monte Carlo sampling"
    table_heading = "Monte Carlo (selected mixture)"

    strategy: str
    n: int
    estimate: float
    stderr: float
    samples: int
    derived: float
    z_derived: float
    k_sigma: float
    claimed: float | None = optional()
    z_claimed: float | None = optional()
    resolution: float | None = None
    resolution_text: str | None = None
    claimed_gap: float | None = None
    distinguishes: bool | None = None
    summary: str | None = None

    def findings(self) -> tuple[Finding, ...]:
        if abs(self.z_derived) > self.k_sigma:
            return (Finding(self.channel, True, f"Monte Carlo disagrees with the derived loss (z = {self.z_derived:.1f})"),)
        return ()

    def terminal_rows(self) -> list[tuple[str, str]]:
        text = f"{uncertain(self.estimate, self.stderr)} vs derived {exact(self.derived)}: z {self.z_derived:+.1f}"
        if self.z_claimed is not None:
            text += f"; vs claimed {exact(self.claimed)}: z {self.z_claimed:+.1f}"
        return [("Monte Carlo", text + (f"; {self.summary}" if self.summary else ""))]

    def table_cell(self) -> str:
        text = (f"{self.strategy} n={self.n}: {self.estimate:.6g} ± {self.stderr:.2g}, "
                f"z(derived) {self.z_derived:+.1f}")
        if self.z_claimed is not None:
            text += f", z(claimed) {self.z_claimed:+.1f}"
        return text

    def report_rows(self) -> list[ReportRow]:
        se = self.stderr
        text = (f"{self.strategy} at n = {self.n}: {self.estimate:.6g} ± {se:.2g} ({self.samples:,} samples) "
                f"vs derived {self.derived:.10g}, $z = {self.z_derived:+.2f}$")
        if self.z_claimed is not None:
            text += f"; vs claimed {self.claimed:.10g}, $z = {self.z_claimed:+.2f}$"
        if self.summary:
            text += f"; {self.summary}"
        return [ReportRow(self.title, text, _k_bound(self.k_sigma, se, self.derived))]


@dataclass(frozen=True)
class AtClaimedPayload(ChannelPayload):
    """The sampled loss at the parameters the paper states as optimal (``predictor``: "pgd" or "reduced"), against
    the derived optimum (``z_vs_derived_optimum``) and the stated loss where there is one; decided at ``k_sigma``."""

    channel = "montecarlo_at_claimed"
    title = "Monte Carlo at the paper's parameters"

    n: int
    predictor: str
    estimate: float
    stderr: float
    samples: int
    derived_optimum: float
    z_vs_derived_optimum: float
    claimed_loss: float | None = optional()
    z_vs_claimed_loss: float | None = optional()
    resolution: float | None = None
    resolution_text: str | None = None
    claimed_gap: float | None = None
    distinguishes: bool | None = None
    k_sigma: float | None = None
    summary: str | None = None

    def findings(self) -> tuple[Finding, ...]:
        if self.k_sigma is not None and abs(self.z_vs_derived_optimum) > self.k_sigma:
            return (Finding(self.channel, True, "Monte Carlo at the claimed parameters disagrees with the derived "
                                                f"optimum loss (z = {self.z_vs_derived_optimum:.1f})"),)
        return ()

    def terminal_rows(self) -> list[tuple[str, str]]:
        text = (f"at the claimed parameters {uncertain(self.estimate, self.stderr)}: z vs optimum "
                f"{self.z_vs_derived_optimum:+.1f}")
        if self.z_vs_claimed_loss is not None:
            text += f", z vs claimed loss {self.z_vs_claimed_loss:+.1f}"
        return [("Monte Carlo", text + (f"; {self.summary}" if self.summary else ""))]

    def report_rows(self) -> list[ReportRow]:
        se = self.stderr
        text = (f"{self.predictor} predictor at n = {self.n}: {self.estimate:.6g} ± {se:.2g} ({self.samples:,} "
                f"samples) vs the derived optimum {self.derived_optimum:.10g}, $z = {self.z_vs_derived_optimum:+.2f}$")
        if self.z_vs_claimed_loss is not None:
            text += f"; vs the claimed loss, $z = {self.z_vs_claimed_loss:+.2f}$"
        if self.summary:
            text += f"; {self.summary}"
        bound = f"se = {se:.2g}" if self.k_sigma is None else _k_bound(self.k_sigma, se, self.derived_optimum)
        return [ReportRow(self.title, text, bound)]


class MonteCarloChannel:
    """``montecarlo`` (the derived optimum's loss, for claims that state a loss) and ``montecarlo_at_claimed``
    (the paper's stated parameters, against the derived optimum loss), both at the run's ``k``."""

    def __init__(self, mixture: TaskMixture, n: int, seed: int, device: str, k: float) -> None:
        self.mixture, self.n, self.seed, self.device, self.k = mixture, n, seed, device, k
        self._at_derived: dict[Strategy, MonteCarloPayload] = {}

    def _estimate(self, spec: PGDPredictor | ReducedPredictor, seed: int) -> Any:
        from montecarlo import estimate_loss  # torch: imported only when sampling (the renderers import this module)

        return estimate_loss(self.mixture, self.n, spec, method="fast", target_rel_se=MC_TARGET_REL_SE,
                             max_samples=MC_MAX_SAMPLES, seed=seed, device=self.device)

    def at_stated(self, claim: Claim, claimed_loss: float | None) -> Evidence | None:
        """The sampled loss at the parameters the paper states as optimal, against the derived optimum."""
        from verify.evidence.predictor import parameter_predictor

        if claim.stated is None or claim.optimum is None or not claim.scope(self.mixture):
            return None
        stated: StatedParameters = claim.stated(self.mixture, self.n)
        est = self._estimate(parameter_predictor(stated.predictor, stated.W, stated.P),
                             child_seed(self.seed, "montecarlo", "stated"))
        derived = optimum(claim.optimum, self.mixture, self.n).loss
        with_loss = claim.loss and claimed_loss is not None
        resolution = self.k * est.stderr
        text = resolution_text(resolution, f"{self.k:.2f} se")
        # the estimate stands in for the claimed parameters' loss: the channel tells it from the optimum when the
        # estimate is more than the resolution away (the claimed value is known only through it)
        res = resolve(est.mean, derived, resolution, text)
        summary = (distinguish_text(res.claimed_gap, res.distinguishes, text, "the claimed parameters' loss")
                   if res.distinguishes else
                   f"cannot distinguish the claimed parameters' loss from the derived optimum at this budget "
                   f"(resolution {text}; estimate - derived = {est.mean - derived:+.3g})")
        payload = AtClaimedPayload(
            n=self.n, predictor=stated.predictor, estimate=est.mean, stderr=est.stderr, samples=est.samples,
            derived_optimum=derived, z_vs_derived_optimum=(est.mean - derived) / est.stderr,
            claimed_loss=claimed_loss if with_loss else None,
            z_vs_claimed_loss=(est.mean - claimed_loss) / est.stderr if with_loss and claimed_loss is not None else None,
            resolution=res.resolution, resolution_text=res.resolution_text, claimed_gap=res.claimed_gap,
            distinguishes=res.distinguishes, k_sigma=self.k, summary=summary)
        return Evidence(payload, payload.findings())

    def at_derived(self, claim: Claim, claimed_loss: float | None) -> Evidence | None:
        """The sampled loss at the derived optimum, for a claim that states that optimum's loss."""
        from verify.evidence.predictor import optimum_predictor

        strategy = claim.optimum
        if not claim.loss or strategy is None or not claim.scope(self.mixture):
            return None
        if strategy not in self._at_derived:
            opt = optimum(strategy, self.mixture, self.n)
            est = self._estimate(optimum_predictor(strategy, opt), child_seed(self.seed, "montecarlo", "derived"))
            self._at_derived[strategy] = MonteCarloPayload(
                strategy=str(strategy), n=self.n, estimate=est.mean, stderr=est.stderr, samples=est.samples,
                derived=opt.loss, z_derived=(est.mean - opt.loss) / est.stderr, k_sigma=self.k)
        base = self._at_derived[strategy]
        resolution = self.k * base.stderr
        text = resolution_text(resolution, f"{self.k:.2f} se")
        res = resolve(claimed_loss, base.derived, resolution, text)
        payload = dataclasses.replace(
            base, claimed=claimed_loss,
            z_claimed=None if claimed_loss is None else (base.estimate - claimed_loss) / base.stderr,
            resolution=res.resolution, resolution_text=res.resolution_text, claimed_gap=res.claimed_gap,
            distinguishes=res.distinguishes, summary=distinguish_text(res.claimed_gap, res.distinguishes, text))
        return Evidence(payload, payload.findings())

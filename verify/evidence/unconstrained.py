"""Evidence of the unconstrained channel on the selected mixture (theory/unconstrained.py).

For the claims decided by the optimum of eq. (6)/(17) (the Assumption 1 readings, S6.shared-head,
P1.equality, T4.lower-bound), ``verify`` reports, for the selected mixture and every selected n, the best optimum
found with its certified lower bound and whether the two meet (``{"loss", "lower_bound", "certified"}``), in eq.
(6)'s convention (``A`` as rows, the head ``a`` or the task heads, the prompts as K rows of d+1),
so anyone can re-simulate it; what each block of Assumption 1 is worth (:func:`assumption1_cost`, first n);
and the direct Monte Carlo of the literal token matrix at that optimum (first n), against its exact loss
and against the reduced optimum, plus the *paired* difference of the two models on the same sampled sequences
(common random numbers), which resolves gaps that two independent estimates cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from claims.kinds import optimum_label
from claims.record import Claim
from claims.verdicts import Finding
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from verify.evidence.payload import ChannelPayload, Payload, ReportRow, optional
from verify.evidence.record import Evidence
from verify.numbers import exact, uncertain

if TYPE_CHECKING:
    from theory.mixture import TaskMixture
    from theory.unconstrained import UnconstrainedOptimum

SELECTED_STARTS = 6  # more starts than the search (claims.papers.chang2025.common.SEARCH_STARTS): the answer to the user's question
MC_TARGET_REL_SE = 4e-3
MC_MAX_SAMPLES = 100_000  # a sample budget, never a time: 0.7 s at d = 10, n = 10 on one core
PAIRED_SAMPLES = 100_000  # common random numbers: the same sequences through both models
ROUNDING_FLOOR = 1e-9  # relative: float64 predictions of two parametrisations of one model differ by ~1e-13
_PAIRED_BATCH = 10_000

_REDUCED = {(Strategy.PT, True): Strategy.PT, (Strategy.FT, True): Strategy.FT, (Strategy.JT, True): Strategy.JT,
            (Strategy.JT, False): Strategy.PGD}  # the reduced optimum each unconstrained optimum is compared with


@dataclass(frozen=True)
class PairedDifference(Payload):
    """The paired (common random numbers) loss difference attention - reduced: ``z_exact`` against its exact value,
    ``z_zero`` against zero; ``resolvable_difference`` is k standard errors."""

    samples: int
    difference: float
    stderr: float
    exact_difference: float
    z_exact: float
    z_zero: float
    resolvable_difference: float


@dataclass(frozen=True)
class SampledOptimum(Payload):
    """The literal attention forward sampled at the unconstrained optimum found (first n): ``z_exact`` against its
    exact loss, ``z_reduced`` against the reduced optimum, decided and resolved at ``k_sigma``."""

    mode: str
    shared_head: bool
    n: int
    method: str
    paired: PairedDifference | None
    estimate: float
    stderr: float
    samples: int
    exact: float
    z_exact: float
    reduced: float
    z_reduced: float
    k_sigma: float
    resolvable_relative_gap: float  # the smallest relative gap this budget can resolve (k standard errors)
    exact_relative_gap: float


@dataclass(frozen=True)
class OptimumFound(Payload):
    """One unconstrained optimum (:meth:`theory.unconstrained.UnconstrainedOptimum.to_dict`, in eq. 6's convention)
    with the reduced optimum it is compared with; the JSON has ``optimum``'s keys beside the other three."""

    shared_head: bool
    reduced_loss: float
    relative_gain: float
    optimum: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"shared_head": self.shared_head, "reduced_loss": self.reduced_loss, "relative_gain": self.relative_gain,
                **self.optimum}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OptimumFound:
        rest = dict(data)
        return cls(rest.pop("shared_head"), rest.pop("reduced_loss"), rest.pop("relative_gain"), rest)

    def head(self) -> str:
        return "shared head" if self.shared_head else "task heads"


@dataclass(frozen=True)
class UnconstrainedPayload(ChannelPayload):
    """The optima of eq. (6)/(17) a claim names, at every selected n, and the sampled check of each (first n)."""

    channel = "unconstrained"
    title = "Unconstrained attention (eq. 6/17)"
    summary_label = "the exact unconstrained attention"

    starts: int | None
    optima: tuple[OptimumFound, ...]
    montecarlo: tuple[SampledOptimum, ...]
    assumption1_cost: tuple[dict[str, Any], ...] | None = optional()

    def findings(self) -> tuple[Finding, ...]:
        """A z beyond the channel's k, of the sampled attention or of its paired difference: a contradiction."""
        findings = []
        for mc in self.montecarlo:
            checks = [("the attention sampled at", mc.z_exact)]
            if mc.paired is not None:
                checks.append(("the paired difference with the reduced model at", mc.paired.z_exact))
            for label, z in checks:
                if abs(z) > mc.k_sigma:
                    findings.append(Finding(self.channel, True, f"Monte Carlo ({label} the {mc.mode} optimum found) "
                                                                f"disagrees with the exact loss (z = {z:.1f})"))
        return tuple(findings)

    def terminal_rows(self) -> list[tuple[str, str]]:
        lines = []
        for o in self.optima:
            opt = o.optimum
            lines.append((f"unconstrained {opt['mode']}, n={opt['n']}",
                          f"{optimum_label(opt, exact)} ({o.head()}) vs reduced {exact(o.reduced_loss)} "
                          f"({-100 * o.relative_gain:+.3g}%), gradient norm {opt['gradient_norm']:.1e}"))
        for m in self.montecarlo:
            text = f"n={m.n}: attention {uncertain(m.estimate, m.stderr)}, z vs exact {m.z_exact:+.1f}"
            if m.paired is not None:
                p = m.paired
                text += (f"; paired gap to reduced {uncertain(p.difference, p.stderr)} vs exact "
                         f"{exact(p.exact_difference)} (resolves {p.resolvable_difference:.2g})")
            lines.append((f"unconstrained {m.mode}, sampled", text))
        return lines

    def report_rows(self) -> list[ReportRow]:
        parts = []
        for o in self.optima:
            opt = o.optimum
            parts.append(f"{opt['mode']} ({o.head()}) n = {opt['n']}: {optimum_label(opt, lambda v: f'{v:.10g}')} vs "
                         f"reduced {o.reduced_loss:.10g} ({-100 * o.relative_gain:+.3g}%), gradient norm "
                         f"{opt['gradient_norm']:.1e}")
        res = [f"optimum of eq. (6)/(17) by variable projection from {'?' if self.starts is None else self.starts} "
               "starts (gradient norm at the optimum shown), exact only where a certified lower bound meets it"]
        for m in self.montecarlo:
            res.append(f"sampled check ({m.method}, n = {m.n}) resolves relative gaps of "
                       f"{100 * m.resolvable_relative_gap:.2g}% and more"
                       + (f", paired differences of {m.paired.resolvable_difference:.2g} and more"
                          if m.paired is not None else ""))
        return [ReportRow(self.title, "; ".join(parts), "; ".join(res))]


def paired_difference(mixture: TaskMixture, n: int, first: Any, second: Any, *, samples: int = PAIRED_SAMPLES,
                      seed: int = 0, device: str = "cpu") -> tuple[float, float]:
    """Mean and standard error of ``(f_1 - y)^2 - (f_2 - y)^2`` over the same sampled sequences (common random
    numbers): the loss difference of two predictors, far more precise than two independent estimates."""
    import torch  # imported only when sampling (the renderers import this module)

    from montecarlo import make_generator, predict, sample_batch
    from montecarlo.estimators import fixed_order_sum

    gen = make_generator(seed, device)
    total, square, count = 0.0, 0.0, 0
    while count < samples:
        size = min(_PAIRED_BATCH, samples - count)
        batch = sample_batch(mixture, n, size, generator=gen, device=device)
        diff = (predict(mixture, first, batch) - batch.y_query) ** 2 - (predict(mixture, second, batch) - batch.y_query) ** 2
        diff = diff.to(torch.float64)
        total += float(fixed_order_sum(diff))  # thread-count independent, as the package's estimators
        square += float(fixed_order_sum(diff * diff))
        count += size
    mean = total / count
    return mean, float(np.sqrt(max(square / count - mean * mean, 0.0) / (count - 1)))


def _k_default() -> float:
    from scipy.stats import norm

    return float(norm.isf(1e-6 / 2))  # two-sided 1e-6 for one comparison (a run passes its own k)


class UnconstrainedEvidence:
    """Computes each (mode, head) optimum once per run and builds the per-claim evidence from them; ``k`` (default:
    one comparison at two-sided 1e-6; ``verify`` passes the run's) is the one k the channel decides with, reports
    as ``k_sigma`` and derives its resolvable gaps from."""

    channel = UnconstrainedPayload.channel

    def __init__(self, mixture: TaskMixture, ns: list[int], *, seed: int = 0, device: str = "cpu",
                 k: float | None = None) -> None:
        self.mixture, self.ns, self.seed, self.device = mixture, ns, seed, device
        self.k = _k_default() if k is None else k
        self._optima: dict[tuple[Strategy, bool, int], UnconstrainedOptimum] = {}
        self._mc: dict[tuple[Strategy, bool], SampledOptimum] = {}
        self._cost: dict[str, dict[str, Any]] = {}

    def optimum(self, mode: Strategy, shared: bool, n: int) -> UnconstrainedOptimum:
        from theory.unconstrained import fine_tuned, unconstrained_optimum

        key = (mode, shared, n)
        if key not in self._optima:
            if mode is Strategy.FT:
                self._optima[key] = fine_tuned(self.mixture, self.optimum(Strategy.PT, shared, n))
            else:
                self._optima[key] = unconstrained_optimum(self.mixture, n, mode, shared_head=shared,
                                                          starts=SELECTED_STARTS, seed=self.seed)
        return self._optima[key]

    def montecarlo(self, mode: Strategy, shared: bool) -> SampledOptimum:
        """Direct estimator of the literal forward (prompt row, mask, A, W_v h) at the optimum, first n."""
        from montecarlo import estimate_loss
        from theory.attention import AttentionParameters
        from verify.evidence.predictor import optimum_predictor

        key = (mode, shared)
        if key not in self._mc:
            n = self.ns[0]
            opt = self.optimum(mode, shared, n)
            p = opt.params
            prompts = p.prompts if p.prompts is not None else np.zeros_like(p.heads)
            spec = AttentionParameters(A=p.A, Wv=np.eye(self.mixture.d + 1), prompts=prompts, heads=p.heads)
            est = estimate_loss(self.mixture, n, spec, method="direct", target_rel_se=MC_TARGET_REL_SE,
                                max_samples=MC_MAX_SAMPLES, seed=child_seed(self.seed, "unconstrained", "sampled"), device=self.device)
            red = optimum(_REDUCED[key], self.mixture, n)
            reduced = red.loss
            diff, diff_se = paired_difference(self.mixture, n, spec, optimum_predictor(_REDUCED[key], red),
                                              seed=child_seed(self.seed, "unconstrained", "paired"),
                                              device=self.device)
            # When the two models coincide (a symmetric mixture) the per-sample differences are float64 rounding,
            # whose spread says nothing: z-scores use at least ROUNDING_FLOOR times the loss as the standard error.
            scale = max(diff_se, ROUNDING_FLOOR * reduced)
            paired = PairedDifference(samples=PAIRED_SAMPLES, difference=diff, stderr=diff_se,
                                      exact_difference=opt.loss - reduced, z_exact=(diff - (opt.loss - reduced)) / scale,
                                      z_zero=diff / scale, resolvable_difference=self.k * scale)
            self._mc[key] = SampledOptimum(
                mode=str(mode), shared_head=shared, n=n, method="direct (attention forward)", paired=paired,
                estimate=est.mean, stderr=est.stderr, samples=est.samples, exact=opt.loss,
                z_exact=(est.mean - opt.loss) / est.stderr, reduced=reduced, z_reduced=(est.mean - reduced) / est.stderr,
                k_sigma=self.k, resolvable_relative_gap=self.k * est.stderr / opt.loss,
                exact_relative_gap=(reduced - opt.loss) / reduced)
        return self._mc[key]

    def cost(self, mode: Strategy) -> dict[str, Any]:
        from theory.unconstrained import assumption1_cost

        if mode not in self._cost:
            self._cost[mode] = assumption1_cost(self.mixture, self.ns[0], mode, starts=4, seed=self.seed).to_dict()
        return self._cost[mode]

    def for_claim(self, claim: Claim) -> Evidence | None:
        """The ``unconstrained`` evidence of one claim (the optima its record names), or None when it names none."""
        channels = claim.unconstrained
        if not channels or not claim.scope(self.mixture):
            return None
        optima = []
        for mode, shared in channels:
            for n in self.ns:
                opt = self.optimum(mode, shared, n)
                reduced = optimum(_REDUCED[(mode, shared)], self.mixture, n).loss
                optima.append(OptimumFound(shared, reduced, (reduced - opt.loss) / reduced, opt.to_dict()))
        payload = UnconstrainedPayload(
            starts=SELECTED_STARTS, optima=tuple(optima),
            montecarlo=tuple(self.montecarlo(mode, shared) for mode, shared in channels if mode is not Strategy.FT),
            assumption1_cost=(tuple(self.cost(mode) for mode, _ in channels)
                              if all(shared for _, shared in channels) else None))
        return Evidence(payload, payload.findings())

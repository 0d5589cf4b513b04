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

from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from claims.record import Claim
from claims.verdicts import Finding
from montecarlo import PGDPredictor, ReducedPredictor, estimate_loss, make_generator, predict, sample_batch
from montecarlo.estimators import fixed_order_sum
from theory.attention import AttentionParameters
from theory.mixture import TaskMixture
from theory.optima import Optimum, optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from theory.unconstrained import UnconstrainedOptimum, assumption1_cost, fine_tuned, unconstrained_optimum
from verify.evidence.record import Evidence

SELECTED_STARTS = 6  # more starts than the search (claims.papers.chang2025.common.SEARCH_STARTS): the answer to the user's question
MC_TARGET_REL_SE = 4e-3
MC_MAX_SAMPLES = 100_000  # a sample budget, never a time: 0.7 s at d = 10, n = 10 on one core
K_SIGMA = float(norm.isf(1e-6 / 2))  # two-sided 1e-6 per comparison
PAIRED_SAMPLES = 100_000  # common random numbers: the same sequences through both models
ROUNDING_FLOOR = 1e-9  # relative: float64 predictions of two parametrisations of one model differ by ~1e-13
_PAIRED_BATCH = 10_000

_REDUCED = {(Strategy.PT, True): Strategy.PT, (Strategy.FT, True): Strategy.FT, (Strategy.JT, True): Strategy.JT,
            (Strategy.JT, False): Strategy.PGD}  # the reduced optimum each unconstrained optimum is compared with


def paired_difference(mixture: TaskMixture, n: int, first: Any, second: Any, *, samples: int = PAIRED_SAMPLES,
                      seed: int = 0, device: str = "cpu") -> tuple[float, float]:
    """Mean and standard error of ``(f_1 - y)^2 - (f_2 - y)^2`` over the same sampled sequences (common random
    numbers): the loss difference of two predictors, far more precise than two independent estimates."""
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


def _reduced_spec(strategy: Strategy, opt: Optimum) -> Any:
    return PGDPredictor(opt.W) if strategy is Strategy.PGD else ReducedPredictor(opt.W, opt.P)


class UnconstrainedEvidence:
    """Computes each (mode, head) optimum once per run and builds the per-claim evidence from them."""

    channel = "unconstrained"

    def __init__(self, mixture: TaskMixture, ns: list[int], *, seed: int = 0, device: str = "cpu",
                 k: float = K_SIGMA) -> None:
        self.mixture, self.ns, self.seed, self.device, self.k = mixture, ns, seed, device, k
        self._optima: dict[tuple[Strategy, bool, int], UnconstrainedOptimum] = {}
        self._mc: dict[tuple[Strategy, bool], dict[str, Any]] = {}
        self._cost: dict[str, dict[str, Any]] = {}

    def optimum(self, mode: Strategy, shared: bool, n: int) -> UnconstrainedOptimum:
        key = (mode, shared, n)
        if key not in self._optima:
            if mode is Strategy.FT:
                self._optima[key] = fine_tuned(self.mixture, self.optimum(Strategy.PT, shared, n))
            else:
                self._optima[key] = unconstrained_optimum(self.mixture, n, mode, shared_head=shared,
                                                          starts=SELECTED_STARTS, seed=self.seed)
        return self._optima[key]

    def montecarlo(self, mode: Strategy, shared: bool) -> dict[str, Any]:
        """Direct estimator of the literal forward (prompt row, mask, A, W_v h) at the optimum, first n."""
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
            diff, diff_se = paired_difference(self.mixture, n, spec, _reduced_spec(_REDUCED[key], red),
                                              seed=child_seed(self.seed, "unconstrained", "paired"),
                                              device=self.device)
            # When the two models coincide (a symmetric mixture) the per-sample differences are float64 rounding,
            # whose spread says nothing: z-scores use at least ROUNDING_FLOOR times the loss as the standard error.
            scale = max(diff_se, ROUNDING_FLOOR * reduced)
            self._mc[key] = {"mode": mode, "shared_head": shared, "n": n, "method": "direct (attention forward)",
                             "paired": {"samples": PAIRED_SAMPLES, "difference": diff, "stderr": diff_se,
                                        "exact_difference": opt.loss - reduced,
                                        "z_exact": (diff - (opt.loss - reduced)) / scale, "z_zero": diff / scale,
                                        "resolvable_difference": self.k * scale},
                             "estimate": est.mean, "stderr": est.stderr, "samples": est.samples,
                             "exact": opt.loss, "z_exact": (est.mean - opt.loss) / est.stderr,
                             "reduced": reduced, "z_reduced": (est.mean - reduced) / est.stderr, "k_sigma": self.k,
                             # the smallest relative gap this budget can resolve (k standard errors)
                             "resolvable_relative_gap": self.k * est.stderr / opt.loss,
                             "exact_relative_gap": (reduced - opt.loss) / reduced}
        return self._mc[key]

    def cost(self, mode: Strategy) -> dict[str, Any]:
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
                optima.append({"shared_head": shared, "reduced_loss": reduced,
                               "relative_gain": (reduced - opt.loss) / reduced, **opt.to_dict()})
        sampled = [self.montecarlo(mode, shared) for mode, shared in channels if mode is not Strategy.FT]
        out: dict[str, Any] = {"starts": SELECTED_STARTS, "optima": optima, "montecarlo": sampled}
        if all(shared for _, shared in channels):
            out["assumption1_cost"] = [self.cost(mode) for mode, _ in channels]
        findings = []
        for mc in sampled:
            for label, z in (("the attention sampled at", mc["z_exact"]),
                             ("the paired difference with the reduced model at", mc["paired"]["z_exact"])):
                if abs(z) > self.k:
                    findings.append(Finding(self.channel, True, f"Monte Carlo ({label} the {mc['mode']} optimum found) "
                                                                f"disagrees with the exact loss (z = {z:.1f})"))
        return Evidence(self.channel, out, tuple(findings))

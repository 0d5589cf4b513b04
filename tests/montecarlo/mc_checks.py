"""Tolerances and the k-sigma checker of the Monte Carlo tests (the one place they are set).

Monte Carlo tolerance.  An estimate passes when it
is within k of its own standard errors from the reference.  The suite makes
at most ``MC_CHECK_BUDGET`` such comparisons (the ``mc`` fixture of conftest.py
counts them and fails the session when the budget is exceeded; a full run
makes about 300) and the probability that
*any* of them fails by chance must stay below ``FALSE_ALARM_BUDGET`` = 1e-6.
Bonferroni: each two-sided check gets 1e-6 / 500 = 2e-9, so
``K_SIGMA`` = Phi^{-1}(1 - 1e-9) = 6.0.

That normal quantile assumes the standardized mean is normal out to 6 sigma.
Per-sample squared errors are heavy-tailed (sample skewness g1 ~ 5-70 in the
tested mixtures), so with N ~ 4e4 samples the studentized mean is visibly
skewed (its left tail, at 6 sigma, by an Edgeworth estimate 5-25 times the
normal one).  Each check therefore widens k by the first-order
Cornish-Fisher term of the studentized mean (Hall 1992, "The Bootstrap and
Edgeworth Expansion", sec. 2.6): k + |g1| (2 k^2 + 1) / (6 sqrt(N)), with g1
the estimate's own sample skewness -- about +1.5 for the direct estimator and
+0.4 for the fast one at N = 4e4.  Every check runs a fixed sample budget,
never a data-dependent stop, and the sampler seed is fixed.

(Module name: ``mc_checks``, not ``conftest``, so that test modules can
import it without clashing with other directories' conftest modules.)

Float tolerance: an exact float64 identity (two evaluations of the same
predictor) passes at ``FLOAT_RTOL`` = 1e-9 relative to the scale of the values
(sums of a few hundred float64 products round at ~1e-13; wide margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from montecarlo import Estimate

FALSE_ALARM_BUDGET = 1e-6  # probability that the whole suite raises a false Monte Carlo alarm
MC_CHECK_BUDGET = 500  # upper bound on the k-sigma checks one run of tests/montecarlo makes (enforced in conftest)
K_SIGMA = float(norm.isf(FALSE_ALARM_BUDGET / MC_CHECK_BUDGET / 2))  # two-sided Bonferroni: 6.0
FLOAT_RTOL = 1e-9  # the same quantity computed two ways in float64
SAMPLER_SEED = 20250101  # the sampler's seed in every test; hypothesis chooses mixtures, never this randomness


def widened_k(k: float, skewness_of_mean: float) -> float:
    """k plus the first-order Cornish-Fisher correction of a studentized mean with the given skewness."""
    return k + abs(skewness_of_mean) * (2 * k * k + 1) / 6


@dataclass
class MonteCarloChecker:
    """k-sigma comparisons that count themselves against ``MC_CHECK_BUDGET``."""

    k: float = K_SIGMA
    count: int = 0

    def _check(self, diff: float, se: float, skew_of_mean: float, scale: float, what: str) -> None:
        self.count += 1
        k = widened_k(self.k, skew_of_mean)
        slack = FLOAT_RTOL * max(1.0, abs(scale))  # a zero-variance estimate must still match to float precision
        z = abs(diff) / se if se > 0 else math.inf
        assert abs(diff) <= k * se + slack, f"{what}: off by {diff:.4g} = {z:.2f} standard errors > k = {k:.2f}"

    def against(self, estimate: Estimate, exact: float, what: str) -> None:
        """|mean - exact| <= k stderr."""
        self._check(estimate.mean - exact, estimate.stderr, estimate.skewness / math.sqrt(estimate.samples), exact,
                    f"{what} [{estimate.method}: {estimate.mean:.6g} +- {estimate.stderr:.3g} "
                    f"({estimate.samples} samples), exact {exact:.6g}]")

    def between(self, first: Estimate, second: Estimate, what: str) -> None:
        """Two independent estimates of one quantity agree within k combined standard errors."""
        se = math.hypot(first.stderr, second.stderr)
        third = sum(abs(e.skewness) * e.stderr**3 / math.sqrt(e.samples) for e in (first, second))  # bounds |k3|
        self._check(first.mean - second.mean, se, third / se**3 if se > 0 else 0.0, first.mean,
                    f"{what} [{first.method} {first.mean:.6g} +- {first.stderr:.3g} vs "
                    f"{second.method} {second.mean:.6g} +- {second.stderr:.3g}]")

    def mean_is(self, values: Any, expected: float, what: str) -> None:
        """The sample mean of i.i.d. values (1-D tensor or array) is within k standard errors of ``expected``."""
        v = values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
        v = v.ravel()
        centred = v - v.mean()
        sd = float(centred.std())
        g1 = float((centred**3).mean() / sd**3) if sd > 0 else 0.0
        se = float(v.std(ddof=1) / math.sqrt(v.size))
        self._check(float(v.mean()) - expected, se, g1 / math.sqrt(v.size), expected,
                    f"{what} [sample mean {v.mean():.6g} +- {se:.3g} over {v.size}, expected {expected:.6g}]")

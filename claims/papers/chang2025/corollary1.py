"""Corollary 1, eq. (15): the order of the optimal losses, when they are equal, and the rates of the gaps."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from claims.papers.chang2025.common import NOISELESS, all_of, asymptotic_onset, cached, derived, everywhere, loss_condition, noiseless
from claims.papers.chang2025.readings import DRAWN_TASKS, EXACT_ORDER, EXACT_ORDER_NEEDED, FT_JT_ORDER, FT_JT_QUARTIC, MEAN_ORDER, UPPER_BOUND
from claims.record import Claim, Comparison, Kind, Outcome, Reading, Severity, agrees, compare, not_applicable, refute_rtol
from theory.asymptotics import (
    LeadingFit,
    decide_mean_order,
    decide_rate,
    mean_scaling_exponent,
    means_vanish,
    numeric_leading_term,
    numeric_value,
)
from theory.loss import population_loss
from theory.mixture import TaskMixture
from theory.optima import optimal_prompts
from theory.strategy import Strategy

PAPER = "chang2025"
_DOCS = "docs/corollary1.md"


def _gap_condition(m: TaskMixture, *losses: float) -> float:
    """Round-off amplification of a difference of optimal losses, relative to the larger loss: each loss carries
    E[y^2] / L* (common.loss_condition).  Scale-free: a rescaled mixture gets the same condition."""
    return max(loss_condition(m, loss) for loss in losses)


def _check_order(lower: Strategy, upper: Strategy) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        """L*_upper >= L*_lower: a negative gap fails when round-off (relative to the losses' size) cannot explain it."""
        lo, up = derived(lower, m, n).loss, derived(upper, m, n).loss
        gap = up - lo
        scale = max(abs(up), abs(lo), 1e-300)
        kappa = _gap_condition(m, lo, up)
        ok = gap >= 0.0 or agrees(-gap / scale, kappa)
        return Comparison(f"L*_{upper} - L*_{lower}", ">= 0", gap, 0.0 if ok else abs(gap) / scale, ok, condition=kappa)
    return check


def _check_equality(m: TaskMixture, n: int) -> Comparison:
    """Equalities in (15) hold iff all mu_k = 0 (iff Sigma_bar = Sigma_tilde), over the tasks of positive weight.

    Each gap is measured relative to the losses that cancel in it (never an absolute floor: the losses scale with the
    mixture).  A gap within round-off of zero counts as vanishing, one beyond claims.record.refute_rtol as non-zero;
    one in between cannot be told from zero in float64 and leaves the case inconclusive.
    """
    pt, ft, jt = (derived(s, m, n).loss for s in (Strategy.PT, Strategy.FT, Strategy.JT))
    scale = max(abs(pt), abs(ft), abs(jt), 1e-300)
    kappa = _gap_condition(m, pt, ft, jt)
    gaps = (pt - ft, ft - jt)
    rel = [abs(g) / scale for g in gaps]
    # "all task means" are the means of the tasks that occur: a task of weight 0 is never drawn, and the optima do not
    # see its mean, so its mean neither makes nor breaks the equalities
    zero_means = means_vanish(m)
    nonzero = [r > refute_rtol(kappa) for r in rel]
    if zero_means:  # the gaps must vanish: a gap beyond round-off refutes
        holds, fails = all(agrees(r, kappa) for r in rel), any(nonzero)
    else:  # the gaps must not vanish: float64 can show a gap, not a zero, so a gap within round-off is undecided
        holds, fails = all(nonzero), False
    decided = None if holds else (Outcome.FAILS if fails else Outcome.INCONCLUSIVE)
    return Comparison("(PT-FT, FT-JT) vanish iff all mu_k = 0", f"zero means: {zero_means}", [float(g) for g in gaps],
                      0.0 if holds else 1.0 if fails else max(rel), holds, decided=decided, condition=kappa)


def fit(quantity: str, m: TaskMixture) -> LeadingFit:
    """The numeric leading term in n of ``quantity`` on ``m`` (theory.asymptotics), cached."""
    return cached(m, 0, f"fit {quantity}", lambda: numeric_leading_term(quantity, m))


ONSET_MARGIN = 100.0  # a fit decides only where its largest n is >= 100 times the onset of the 1/n expansion


def pre_asymptotic(m: TaskMixture, leading: LeadingFit) -> str:
    """Why the fit's n range cannot show the leading term (empty when it can): its largest n must reach
    ``ONSET_MARGIN`` times :func:`common.asymptotic_onset`, where the first correction is below 1%."""
    onset = asymptotic_onset(m)
    if leading.ns[-1] >= ONSET_MARGIN * onset:
        return ""
    return (f"n up to {leading.ns[-1]:.0e} does not reach the asymptotic regime: the expansion in 1/n converges from "
            f"n ~ {onset:.3g} on this mixture")


def _exponent_comparison(label: str, claimed: int, leading: LeadingFit, vacuous: str, m: TaskMixture) -> Comparison:
    """Claimed vs fitted leading exponent in n; an unstable or pre-asymptotic fit cannot decide (inconclusive)."""
    note = f"fit: {leading.coefficient:.10g} n^{leading.exponent} (slope {leading.slope:.6f}, n up to {leading.ns[-1]:.0e})"
    if leading.exponent is None and leading.stable:
        return Comparison(label, claimed, "vanishes identically", 0.0, True, vacuous)
    short = pre_asymptotic(m, leading)
    if short or not leading.stable or leading.exponent is None:
        return Comparison(label, claimed, leading.exponent, float("nan"), False, (short or "unstable fit") + "; " + note,
                          decided=Outcome.INCONCLUSIVE)
    return Comparison(label, claimed, leading.exponent, float(abs(leading.exponent - claimed)),
                      leading.exponent == claimed, note)


def _check_rate(gap: str, claimed: int) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        label = "ratio (PT-FT)/(FT-JT)" if gap == "ratio" else f"L*_{gap.replace('-', ' - L*_')}"
        return _exponent_comparison(f"leading exponent in n of {label}", claimed, fit(gap, m),
                                    "all task means are zero: the gaps vanish (Delta = 0)", m)
    return check


def _check_rate_bound(gap: str, claimed: int) -> Callable[[TaskMixture, int], Comparison]:
    """The weaker reading of a rate: an upper bound, i.e. the fitted leading exponent in n is at most ``claimed``."""
    def check(m: TaskMixture, n: int) -> Comparison:
        label = "ratio (PT-FT)/(FT-JT)" if gap == "ratio" else f"L*_{gap.replace('-', ' - L*_')}"
        leading = fit(gap, m)
        comp = _exponent_comparison(f"leading exponent in n of {label} (at most)", claimed, leading,
                                    "all task means are zero: the gaps vanish (Delta = 0)", m)
        if comp.outcome is not Outcome.FAILS or leading.exponent is None:
            return comp
        ok = leading.exponent <= claimed
        return Comparison(comp.quantity, f"<= {claimed}", leading.exponent, 0.0 if ok else comp.rel_error, ok, comp.note)
    return check


MEAN_EXPONENT_ATOL = 1e-2  # the small-mean slope from t = 1e-2 to 1e-3 deviates from its limit by O(t^2)


def _check_mean_order(gap: str) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        if not np.any(m.means):
            return Comparison(f"exponent of {gap} in the mean scale", 2, "vanishes identically", 0.0, True,
                              "all task means are zero")
        q = cached(m, n, f"mean {gap}", lambda: mean_scaling_exponent(gap, m, n))
        err = abs(q - 2.0) / 2.0
        return Comparison(f"exponent q in {gap}(t mu) ~ t^q as t -> 0 (n = {n})", 2, q, err,
                          err <= MEAN_EXPONENT_ATOL, "quadratic in the means <=> proportional to ||Delta||_F")
    return check


# ----- the corrected statements ------------------------------------------------------------------------------
LIMIT_NS = tuple(1000 * 2**j for j in range(6))  # n = 1000 .. 32000 for the extrapolation to n = infinity


def limit_at_infinity(f: Callable[[int], float], ns: tuple[int, ...] = LIMIT_NS) -> float:
    """lim_{n -> inf} f(n) for f analytic in 1/n (a rational function of n, as every optimum here is): the value at
    h = 1/n = 0 of the polynomial through (1/n_j, f(n_j)) (Neville).  With six points from n = 1000 the truncation is
    O(n^-6) and the float64 rounding of the gaps, amplified about a hundredfold, stays near 1e-11 (measured on the
    isotropic search mixtures against their closed forms)."""
    h = [1.0 / n for n in ns]
    p = [float(f(n)) for n in ns]
    for step in range(1, len(ns)):
        for i in range(len(ns) - step):
            p[i] = (p[i + 1] * h[i] - p[i] * h[i + step]) / (h[i] - h[i + step])
    return p[0]


def isotropic_parameters(m: TaskMixture) -> tuple[float, float, float] | None:
    """(xi, s, a) when Sigma_x = xi I, every Sigma_beta_k = s_k I and the means are collinear (the isotropic setting of
    theory.isotropic), with s = sum_k pi_k s_k and a = sum_k pi_k |mu_k|^2; None otherwise."""
    eye = np.eye(m.d)
    xi, s_k = float(m.sigma_x[0, 0]), m.covs[:, 0, 0]
    if not (np.array_equal(m.sigma_x, xi * eye) and all(np.array_equal(c, sk * eye) for c, sk in zip(m.covs, s_k, strict=True))):
        return None
    norms = np.linalg.norm(m.means, axis=1)
    if np.any(norms):
        u = m.means[int(np.argmax(norms))] / norms.max()
        if not np.allclose(np.outer(m.means @ u, u), m.means, rtol=0, atol=1e-12 * norms.max()):
            return None
    return xi, float(m.weights @ s_k), float(m.weights @ norms**2)


def _ft_jt_numerator(m: TaskMixture, iso: tuple[float, float, float]) -> float:
    """xi (2a + (d+1) s) + sigma^2, the factor the isotropic leading terms share."""
    xi, s, a = iso
    return xi * (2 * a + (m.d + 1) * s) + m.sigma2


def _isotropic_ft_jt_coefficient(m: TaskMixture) -> Comparison:
    """Isotropic: L*_FT - L*_JT = a^2 (xi (2a + (d+1) s) + sigma^2)^2 / (s xi (a+s)^2) n^-2 + O(n^-3); derived: the limit
    of n^2 (L*_FT - L*_JT) (:func:`limit_at_infinity` of theory.asymptotics' cancellation-free gap)."""
    iso = isotropic_parameters(m)
    if iso is None or means_vanish(m):
        return not_applicable("isotropic leading coefficient of L*_FT - L*_JT", "not isotropic with collinear non-zero means")
    xi, s, a = iso
    claimed = a**2 * _ft_jt_numerator(m, iso) ** 2 / (s * xi * (a + s) ** 2)
    limit = cached(m, 0, "limit n^2 FT-JT", lambda: limit_at_infinity(lambda n: numeric_value("FT-JT", m, n) * n * n))
    return compare("isotropic lim n^2 (L*_FT - L*_JT)", claimed, limit)


def _order_n2(gap: str, m: TaskMixture) -> Comparison:
    return _exponent_comparison(f"leading exponent in n of L*_{gap.replace('-', ' - L*_')}", -2, fit(gap, m),
                                "all task means are zero: the gap vanishes (Delta = 0)", m)


def rate_ft_jt_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected rate: L*_FT - L*_JT and L*_PT - L*_FT both Theta(n^-2) (fitted exponents; zero with the means),
    so O(1/n) only as a loose bound; isotropic leading coefficient against the extrapolated limit."""
    return all_of("corrected rate of L*_FT - L*_JT", [_order_n2("FT-JT", m), _order_n2("PT-FT", m),
                                                      _isotropic_ft_jt_coefficient(m)])


def rate_ratio_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected ratio: (L*_PT - L*_FT) / (L*_FT - L*_JT) tends to a positive constant (fitted exponent 0, positive
    coefficient), both gaps Theta(n^-2); isotropic: s/a + (xi (2a + (d+1) s) + sigma^2) / (a xi n) + O(n^-2) against the
    extrapolated limits of the ratio and of n (ratio - limit), whose signs give 'shrinks with n but not to zero'."""
    if means_vanish(m):
        return not_applicable("ratio (PT-FT)/(FT-JT)", "every task mean is zero: both gaps vanish, the ratio is undefined")
    leading = fit("ratio", m)
    parts = [_exponent_comparison("leading exponent in n of the ratio (PT-FT)/(FT-JT)", 0, leading, "", m),
             Comparison("limit of the ratio (PT-FT)/(FT-JT) is positive", "> 0", leading.coefficient,
                        0.0 if leading.coefficient > 0 else 1.0, leading.coefficient > 0),
             _order_n2("PT-FT", m), _order_n2("FT-JT", m)]
    iso = isotropic_parameters(m)
    if iso is not None:
        xi, s, a = iso
        c0 = cached(m, 0, "limit ratio", lambda: limit_at_infinity(lambda n: numeric_value("ratio", m, n)))
        c1 = cached(m, 0, "limit n (ratio - c0)", lambda: limit_at_infinity(lambda n: (numeric_value("ratio", m, n) - c0) * n))
        parts += [compare("isotropic limit of the ratio, s/a", s / a, c0),
                  compare("isotropic n^-1 coefficient of the ratio", _ft_jt_numerator(m, iso) / (a * xi), c1),
                  Comparison("isotropic: fine-tuning's share shrinks with n (n^-1 coefficient > 0), not to zero (limit > 0)",
                             "> 0, > 0", [c1, c0], 0.0 if min(c0, c1) > 0 else 1.0, min(c0, c1) > 0)]
    return all_of("corrected ratio", parts)


def _w_gap_mean_exponent(m: TaskMixture, n: int, ts: tuple[float, ...] = (1e-2, 1e-3)) -> float:
    """Exponent q with ||W*_PT(t mu) - W*_JT(t mu)||_F ~ t^q as the means shrink (log-log slope, as
    theory.asymptotics.mean_scaling_exponent does for the gaps)."""
    def size(t: float) -> float:
        scaled = TaskMixture(m.sigma_x, m.weights, t * m.means, m.covs, m.sigma2)
        return float(np.linalg.norm(derived(Strategy.PT, scaled, n).W - derived(Strategy.JT, scaled, n).W))
    return float(np.log(size(ts[1]) / size(ts[0])) / np.log(ts[1] / ts[0]))


def mean_ft_jt_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected mean order: L*_FT - L*_JT quartic in the means (scaling exponent 4 as they shrink);
    D = W*_PT - W*_JT is O(||Delta||) (exponent at least 2); the gap is a quadratic form in D: with L(W) the loss at
    the optimal prompts (theory.loss, theory.optima.optimal_prompts), L(W*_JT + t D) - L*_JT = t^2 (L*_FT - L*_JT) at
    t = 1/4, 1/2, 3/4; and the isotropic leading coefficient."""
    if not np.any(m.means):
        return Comparison("L*_FT - L*_JT and W*_PT - W*_JT at zero means", 0.0, 0.0, 0.0, True,
                          "all task means are zero: both vanish")
    q = cached(m, n, "mean FT-JT", lambda: mean_scaling_exponent("FT-JT", m, n))
    err = abs(q - 4.0) / 4.0
    parts = [Comparison(f"exponent q in FT-JT(t mu) ~ t^q as t -> 0 (n = {n})", 4, q, err, err <= MEAN_EXPONENT_ATOL,
                        "quartic in the means <=> proportional to ||Delta||_F^2")]
    qd = cached(m, n, "mean W_PT-W_JT", lambda: _w_gap_mean_exponent(m, n))
    ok = qd >= 2.0 * (1 - MEAN_EXPONENT_ATOL)
    parts.append(Comparison(f"exponent of ||W*_PT - W*_JT|| in the mean scale t (n = {n}), at least 2", ">= 2", qd,
                            0.0 if ok else abs(qd - 2.0) / 2.0, ok, "O(||Delta||) = O(t^2)"))
    pt, ft, jt = (derived(s, m, n) for s in (Strategy.PT, Strategy.FT, Strategy.JT))
    D = pt.W - jt.W

    def rise(t: float) -> float:
        W = jt.W + t * D
        return float(population_loss(m, W, optimal_prompts(m, W, n), n)) - jt.loss
    gap = ft.loss - jt.loss
    # with t = 1 (L*_FT itself) these rule out a linear and a cubic term; t in (0, 1) keeps W*_JT + t D a convex
    # combination of the two optima (off the combination W can be singular, e.g. d = 1 with W*_PT = 3 W*_JT, where
    # the prompts cannot be optimised through W^{-1})
    ts = (0.25, 0.5, 0.75)
    parts.append(compare("L(W*_JT + t D) - L*_JT vs t^2 (L*_FT - L*_JT), t = 1/4, 1/2, 3/4", [rise(t) for t in ts],
                         [t * t * gap for t in ts]))
    parts.append(_isotropic_ft_jt_coefficient(m))
    return all_of("corrected mean order of L*_FT - L*_JT", parts)


ORDER = (
    Claim("C1.order.FT-PT", PAPER, "Corollary 1, eq. (15)", ("Corollary 1",), "L*_FT <= L*_PT.",
          _check_order(Strategy.FT, Strategy.PT), docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} \le \mathcal{L}^{\star}_{\mathrm{FT}} \le \mathcal{L}^{\star}_{\mathrm{PT}}\quad "
                            r"\text{(eq. 15, right)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{FT}} \le \mathcal{L}^{\star}_{\mathrm{PT}}"}),
    Claim("C1.order.JT-FT", PAPER, "Corollary 1, eq. (15)", ("Corollary 1",), "L*_JT <= L*_FT.",
          _check_order(Strategy.JT, Strategy.FT), docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} \le \mathcal{L}^{\star}_{\mathrm{FT}} \le \mathcal{L}^{\star}_{\mathrm{PT}}\quad "
                            r"\text{(eq. 15, left)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{JT}} \le \mathcal{L}^{\star}_{\mathrm{FT}}"}),
    Claim("C1.equality", PAPER, "Corollary 1", ("Corollary 1",), "The equalities in (15) hold if and only if all task "
          "means mu_k = 0 (Sigma_bar = Sigma_tilde).", _check_equality, reading=DRAWN_TASKS, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{L}^{\star}_{\mathrm{PT}} \iff "
                            r"\bar{\Sigma}_{\beta} = \tilde{\Sigma}_{\beta} \iff \mu_k = \mathbf{0} \text{ for all } k \in [K]",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{L}^{\star}_{\mathrm{PT}} \iff \mu_k = "
                          r"\mathbf{0} \text{ for all } k"}),
)

RATES = (
    Claim("C1.rate.PT-FT", PAPER, "Corollary 1, part 1", ("Corollary 1",),
          "L*_PT - L*_FT ~ O(1/n^2) ||Delta||_F (exact order n^-2).", _check_rate("PT-FT", -2), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_rate, "PT-FT", -2), kind=Kind.ASYMPTOTIC, reading=EXACT_ORDER, docs="docs/asymptotics.md",
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \sim \mathcal{O}\left(\frac{1}{n^2}\right) "
                            r"\lVert \Delta \rVert_F,\quad \Delta = \tilde{\Sigma}_{\beta} - \bar{\Sigma}_{\beta} = \Sigma_x \sum_{k=1}^{K} \pi_k "
                            r"\mu_k \mu_k^{\top}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \sim \mathcal{O}\left(\frac{1}{n^2}\right) \lVert "
                          r"\Delta \rVert_F",
               "derivation": r"expansion:PT-FT"}),
    Claim("C1.rate.FT-JT", PAPER, "Corollary 1, part 1", ("Corollary 1",),
          "L*_FT - L*_JT ~ O(1/n) ||Delta||_F (exact order n^-1).", _check_rate("FT-JT", -1), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_rate, "FT-JT", -1),
          kind=Kind.ASYMPTOTIC,
          severity=Severity.MAIN, finding=FT_JT_ORDER, reading=EXACT_ORDER_NEEDED,
          weaker=Reading(UPPER_BOUND, _check_rate_bound("FT-JT", -1)), docs="docs/asymptotics.md",
          correction="L*_FT - L*_JT = Theta(n^-2) wherever a task mean is non-zero (it vanishes when all are), like "
                     "L*_PT - L*_FT, so O(1/n) holds only as a loose upper bound. Isotropic case (Sigma_x = xi I, "
                     "Sigma_beta_k = s_k I, collinear means; s = sum pi_k s_k, a = sum pi_k |mu_k|^2): L*_FT - L*_JT = "
                     "a^2 (xi (2a + (d+1) s) + sigma^2)^2 / (s xi (a+s)^2) n^-2 + O(n^-3).",
          corrected=rate_ft_jt_corrected, corrected_scope=everywhere,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} \sim \mathcal{O}\left(\frac{1}{n}\right) \lVert "
                            r"\Delta \rVert_F,\quad \Delta = \tilde{\Sigma}_{\beta} - \bar{\Sigma}_{\beta} = \Sigma_x \sum_{k=1}^{K} \pi_k \mu_k "
                            r"\mu_k^{\top}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} \sim \mathcal{O}\left(\frac{1}{n}\right) \lVert "
                          r"\Delta \rVert_F",
               "derivation": r"expansion:FT-JT",
               "corrected": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} = \Theta(n^{-2}),\quad \text{isotropic: } "
                            r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} = \frac{a^2 \left(\xi (2a + (d+1) s) + "
                            r"\sigma^2\right)^2}{s\, \xi\, (a+s)^2}\, n^{-2} + \mathcal{O}(n^{-3})",
               "why": r"the gap is of order $n^{-2}$, like $\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}$, not $n^{-1}$"}),
    Claim("C1.rate.ratio", PAPER, "Corollary 1, part 2", ("Corollary 1",), "(L*_PT - L*_FT) / (L*_FT - L*_JT) ~ O(1/n).",
          _check_rate("ratio", -1), scope=noiseless, scope_text=NOISELESS, symbolic=partial(decide_rate, "ratio", -1),

          kind=Kind.ASYMPTOTIC,
          severity=Severity.MAIN, finding=FT_JT_ORDER, reading=EXACT_ORDER_NEEDED,
          weaker=Reading(UPPER_BOUND, _check_rate_bound("ratio", -1)), docs="docs/asymptotics.md",
          correction="The ratio tends to a positive constant wherever a task mean is non-zero: both gaps are Theta(n^-2). "
                     "Isotropic case (Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means): ratio = s/a + (xi (2a + (d+1) s) "
                     "+ sigma^2) / (a xi n) + O(n^-2), with s = sum pi_k s_k, a = sum pi_k |mu_k|^2; so there fine-tuning's "
                     "share of the benefit shrinks as n grows large, but not to zero.",
          corrected=rate_ratio_corrected, corrected_scope=everywhere,
          tex={"statement": r"\frac{\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}}{\mathcal{L}^{\star}_{\mathrm{FT}} - "
                            r"\mathcal{L}^{\star}_{\mathrm{JT}}} \sim \mathcal{O}\left(\frac{1}{n}\right)",
               "claimed": r"\frac{\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}}{\mathcal{L}^{\star}_{\mathrm{FT}} - "
                          r"\mathcal{L}^{\star}_{\mathrm{JT}}} \sim \mathcal{O}\left(\frac{1}{n}\right)",
               "derivation": r"expansion:ratio",
               "corrected": r"\frac{\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}}{\mathcal{L}^{\star}_{\mathrm{FT}} - "
                            r"\mathcal{L}^{\star}_{\mathrm{JT}}} = \frac{s}{a} + \frac{\xi (2a + (d+1) s) + \sigma^2}{a\, \xi\, n} + "
                            r"\mathcal{O}(n^{-2}) \quad \text{(isotropic)}",
               "why": r"both gaps are of order $n^{-2}$: the ratio tends to a positive constant ($s/a$ in the isotropic case), not to 0"}),
    Claim("C1.mean.PT-FT", PAPER, "Corollary 1, part 1", ("Corollary 1",), "L*_PT - L*_FT scales quadratically with the "
          "task means (proportional to ||Delta||_F as the means shrink).", _check_mean_order("PT-FT"), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_mean_order, "PT-FT"), kind=Kind.ASYMPTOTIC, reading=MEAN_ORDER, docs="docs/asymptotics.md",
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \propto \lVert \Delta \rVert_F \quad "
                            r"\text{(quadratic in the task means as they shrink)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{O}(\lVert \Delta \rVert_F) = "
                          r"\mathcal{O}(\lVert \mu \rVert^2)",
               "derivation": r"expansion:PT-FT"}),
    Claim("C1.mean.FT-JT", PAPER, "Corollary 1, part 1", ("Corollary 1",), "L*_FT - L*_JT scales quadratically with the "
          "task means (proportional to ||Delta||_F as the means shrink).", _check_mean_order("FT-JT"), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_mean_order, "FT-JT"),
          kind=Kind.ASYMPTOTIC,
          finding=FT_JT_QUARTIC, severity=Severity.MAIN, reading=MEAN_ORDER, docs="docs/asymptotics.md",
          correction="L*_FT - L*_JT is quartic in the task means as they shrink (proportional to ||Delta||_F^2): "
                     "W*_PT - W*_JT is itself O(||Delta||) and the gap is a quadratic form in it. Isotropic leading term "
                     "(Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means; s = sum pi_k s_k, a = sum pi_k |mu_k|^2): "
                     "a^2 (xi (2a + (d+1) s) + sigma^2)^2 / (s xi (a+s)^2) n^-2.",
          corrected=mean_ft_jt_corrected, corrected_scope=everywhere,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} \propto \lVert \Delta \rVert_F \quad "
                            r"\text{(quadratic in the task means as they shrink)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} = \mathcal{O}(\lVert \Delta \rVert_F) = "
                          r"\mathcal{O}(\lVert \mu \rVert^2)",
               "derivation": r"expansion:FT-JT",
               "corrected": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} = \Theta(\lVert \Delta \rVert_F^2) = "
                            r"\Theta(\lVert \mu \rVert^4)",
               "why": r"the gap is quartic in the task means ($\propto \lVert \Delta \rVert_F^2$): $W^{\star}_{\mathrm{PT}} - "
                      r"W^{\star}_{\mathrm{JT}}$ is itself $\mathcal{O}(\lVert \Delta \rVert)$ and the gap is a quadratic form in it"}),
)

"""Corollary 1, eq. (15): the order of the optimal losses, when they are equal, and the rates of the gaps."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from theory.asymptotics import LeadingFit, decide_mean_order, decide_rate, mean_scaling_exponent, numeric_leading_term
from theory.mixture import TaskMixture
from theory.papers.chang2025.common import NOISELESS, asymptotic_onset, cached, derived, loss_condition, noiseless
from theory.record import Claim, Comparison, Outcome, agrees, refute_rtol
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
    """Equalities in (15) hold iff all mu_k = 0 (iff Sigma_bar = Sigma_tilde).

    Each gap is measured relative to the losses that cancel in it (never an absolute floor: the losses scale with the
    mixture).  A gap within round-off of zero counts as vanishing, one beyond theory.record.refute_rtol as non-zero;
    one in between cannot be told from zero in float64 and leaves the case inconclusive.
    """
    pt, ft, jt = (derived(s, m, n).loss for s in (Strategy.PT, Strategy.FT, Strategy.JT))
    scale = max(abs(pt), abs(ft), abs(jt), 1e-300)
    kappa = _gap_condition(m, pt, ft, jt)
    gaps = (pt - ft, ft - jt)
    rel = [abs(g) / scale for g in gaps]
    zero_means = bool(np.all(m.means == 0.0))
    nonzero = [r > refute_rtol(kappa) for r in rel]
    if zero_means:  # the gaps must vanish: a gap beyond round-off refutes
        holds, fails = all(agrees(r, kappa) for r in rel), any(nonzero)
    else:  # the gaps must not vanish: float64 can show a gap, not a zero, so a gap within round-off is undecided -
        # unless Delta = Sigma_x sum_k pi_k mu_k mu_k^T is exactly zero (the non-zero means have weight 0): the optima then
        # do not see the means at all, and the gaps vanish in exact arithmetic
        holds, fails = all(nonzero), not np.any(m.mean_outer)
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
          "means mu_k = 0 (Sigma_bar = Sigma_tilde).", _check_equality, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{L}^{\star}_{\mathrm{PT}} \iff "
                            r"\bar{\Sigma}_{\beta} = \tilde{\Sigma}_{\beta} \iff \mu_k = \mathbf{0} \text{ for all } k \in [K]",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{L}^{\star}_{\mathrm{PT}} \iff \mu_k = "
                          r"\mathbf{0} \text{ for all } k"}),
)

RATES = (
    Claim("C1.rate.PT-FT", PAPER, "Corollary 1, part 1", ("Corollary 1",),
          "L*_PT - L*_FT ~ O(1/n^2) ||Delta||_F (exact order n^-2).", _check_rate("PT-FT", -2), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_rate, "PT-FT", -2), docs="docs/asymptotics.md",
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \sim \mathcal{O}\left(\frac{1}{n^2}\right) "
                            r"\lVert \Delta \rVert_F,\quad \Delta = \tilde{\Sigma}_{\beta} - \bar{\Sigma}_{\beta} = \Sigma_x \sum_{k=1}^{K} \pi_k "
                            r"\mu_k \mu_k^{\top}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \sim \mathcal{O}\left(\frac{1}{n^2}\right) \lVert "
                          r"\Delta \rVert_F",
               "derivation": r"expansion:PT-FT"}),
    Claim("C1.rate.FT-JT", PAPER, "Corollary 1, part 1", ("Corollary 1",),
          "L*_FT - L*_JT ~ O(1/n) ||Delta||_F (exact order n^-1).", _check_rate("FT-JT", -1), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_rate, "FT-JT", -1), docs="docs/asymptotics.md",
          correction="L*_FT - L*_JT = Theta(n^-2), like L*_PT - L*_FT (read as a mere upper bound, O(1/n) holds but says "
                     "nothing). Isotropic case (Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means; s = sum pi_k s_k, "
                     "a = sum pi_k |mu_k|^2): L*_FT - L*_JT = a^2 (xi (2a + (d+1) s) + sigma^2)^2 / (s xi (a+s)^2) n^-2 + O(n^-3).",
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
          docs="docs/asymptotics.md",
          correction="The ratio tends to a positive constant: both gaps are Theta(n^-2). Isotropic case: "
                     "ratio = s/a + (xi (2a + (d+1) s) + sigma^2) / (a xi n) + O(n^-2), with s = sum pi_k s_k, "
                     "a = sum pi_k |mu_k|^2; so fine-tuning's share of the benefit shrinks with n but not to zero.",
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
          scope_text=NOISELESS, symbolic=partial(decide_mean_order, "PT-FT"), docs="docs/asymptotics.md",
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} \propto \lVert \Delta \rVert_F \quad "
                            r"\text{(quadratic in the task means as they shrink)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{O}(\lVert \Delta \rVert_F) = "
                          r"\mathcal{O}(\lVert \mu \rVert^2)",
               "derivation": r"expansion:PT-FT"}),
    Claim("C1.mean.FT-JT", PAPER, "Corollary 1, part 1", ("Corollary 1",), "L*_FT - L*_JT scales quadratically with the "
          "task means (proportional to ||Delta||_F as the means shrink).", _check_mean_order("FT-JT"), scope=noiseless,
          scope_text=NOISELESS, symbolic=partial(decide_mean_order, "FT-JT"), docs="docs/asymptotics.md",
          correction="L*_FT - L*_JT is quartic in the task means (proportional to ||Delta||_F^2): W*_PT - W*_JT is itself "
                     "O(||Delta||) and the gap is a quadratic form in it. Isotropic leading term: a^2 (...)^2 / (s xi (a+s)^2) n^-2.",
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

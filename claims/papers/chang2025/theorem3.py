"""Theorem 3 (main text and Appendix B.3): joint training of prompts and attention, eq. (12)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.papers.chang2025.common import (
    NOISELESS,
    all_of,
    asymmetry,
    claimed_loss,
    claimed_prompts_main,
    claimed_w_bar,
    commutator,
    computed_solve_condition,
    derived,
    derived_condition,
    loss_comparison_condition,
    noiseless,
    prompts_condition,
    solve_condition,
    vanishes,
    w_bar_condition,
    w_from_bar,
)
from claims.papers.chang2025.readings import T3_PROMPTS_TRANSPOSE
from claims.record import (
    AGREE_MARGIN,
    AGREE_RTOL,
    EPS,
    Claim,
    Comparison,
    Severity,
    StatedParameters,
    SymbolicResult,
    agrees,
    compare,
    not_applicable,
    rel_error,
)
from theory.loss import population_loss
from theory.mixture import Array, TaskMixture
from theory.optima import optimal_prompts
from theory.strategy import Strategy
from theory.symbolic import d1_noise, d1_prompts, d1_wbar, decide_d1

PAPER = "chang2025"
_DOCS = "docs/theorem3.md"


def _w_bar(m: TaskMixture, n: int, noise: bool) -> Array:
    """The appendix form Sigma_bar ((n+1) Sigma_bar + (tr(Sigma_tilde) + sigma^2) I + Delta)^{-1} (sigma^2 dropped
    unless ``noise``)."""
    return claimed_w_bar(m.sigma_beta_bar, np.trace(m.sigma_beta_tilde) + (m.sigma2 if noise else 0.0), n, extra=m.delta)


def _check_w_main(m: TaskMixture, n: int) -> Comparison:
    """O(1) residual R(n) = W_bar^{-1} Sigma_bar - (n+1) Sigma_bar - tr(Sigma_tilde) I must stay bounded in n.

    R(kn) is a difference of terms of size k n ||Sigma_bar||: its round-off is EPS times those terms times the
    conditions of W_bar* (derived, and solved with), so growth within that round-off is no growth (and a residual
    within round-off of zero is bounded).  The solve takes W_bar*'s raw 2-norm condition: the derivation's error is
    normwise (of size EPS ||W_bar*||), so a column of W_bar* far below its norm (a task covariance with a tiny
    eigenvalue) is known to no relative accuracy, which equilibration would hide."""
    sb, st = m.sigma_beta_bar, m.sigma_beta_tilde
    trace_term = np.trace(st) * np.eye(m.d)

    def residual(nn: int) -> tuple[Array, float]:
        jt = derived(Strategy.JT, m, nn)
        inv = np.linalg.solve(jt.W_bar, sb)
        noise = (1.0 + derived_condition(Strategy.JT, m, nn, entrywise=True)) * computed_solve_condition(jt.W_bar) * (
            float(np.linalg.norm(inv)) + float(np.linalg.norm((nn + 1) * sb)) + float(np.linalg.norm(trace_term)))
        return inv - (nn + 1) * sb - trace_term, noise

    parts = [residual(k * n) for k in (1, 10, 100, 1000)]
    r, far = parts[0][0], parts[-1][0]
    sizes = [float(np.max(np.abs(p))) for p, _ in parts]
    noise = max(kappa for _, kappa in parts)  # round-off of R, in units of EPS (absolute)
    kappa = noise / max(max(sizes), 1e-300)  # relative to the residual: the comparison's condition
    growth = rel_error(far, r)
    within_round_off = max(sizes) <= AGREE_MARGIN * EPS * noise  # R indistinguishable from 0 (all means zero: R = Delta = 0)
    bounded = max(sizes) <= (1 + 1e-6) * max(sizes[0], 1e-300) or within_round_off or agrees(growth, kappa)
    return Comparison("O(1) term of W_bar*_JT", sizes[-1], sizes[0], growth, bounded,
                      note=f"max |O(1)| at n, 10n, 100n, 1000n: {[f'{s:.6g}' for s in sizes]}; "
                           f"equals Delta: {agrees(rel_error(r, m.delta), kappa)}", condition=kappa)


def _condition(m: TaskMixture, n: int, noise: bool) -> float:
    return w_bar_condition(Strategy.JT, m, n, m.sigma_beta_bar, np.trace(m.sigma_beta_tilde) + (m.sigma2 if noise else 0.0),
                           extra=m.delta)


def _check_w_appendix(m: TaskMixture, n: int) -> Comparison:
    return compare("W_bar*_JT", _w_bar(m, n, True), derived(Strategy.JT, m, n).W_bar, condition=_condition(m, n, True))


def _check_prompts(m: TaskMixture, n: int) -> Comparison:
    """Both sides solve with the derived W*_JT (claimed: with W_bar*_JT, the same up to Sigma_x's conditioning)."""
    jt = derived(Strategy.JT, m, n)
    claimed = claimed_prompts_main(m, jt.W_bar, n)
    loss_at_claim = float(population_loss(m, jt.W, claimed, n))
    kappa = (1.0 + derived_condition(Strategy.JT, m, n)) * prompts_condition(m, jt.W, n) + solve_condition(m.sigma_x, jt.W_bar)
    return compare("P*_JT", claimed, jt.P, note=f"loss at the claimed prompts {loss_at_claim:.10g} vs optimum {jt.loss:.10g}",
                   condition=kappa)


def prompts_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected Theorem 3 prompts: p*_k = ((W*_JT)^{-1} - n Sigma_x) mu_k, i.e. P*_JT = M_mu ((W*_JT)^{-T} -
    n Sigma_x); the stated form equals M_mu ((W*_JT)^{-1} - n Sigma_x) and holds where W*_JT is symmetric, which it is
    where Sigma_x, sum_k pi_k Sigma_beta_k and sum_k pi_k mu_k mu_k^T commute pairwise."""
    jt = derived(Strategy.JT, m, n)
    w_inv = np.linalg.inv(jt.W)
    stated = claimed_prompts_main(m, jt.W_bar, n)
    rows = np.stack([(w_inv - n * m.sigma_x) @ mu for mu in m.means])
    parts = [compare("p*_k = ((W*_JT)^{-1} - n Sigma_x) mu_k", rows, jt.P),
             compare("P*_JT = M_mu ((W*_JT)^{-T} - n Sigma_x)", m.means @ (w_inv.T - n * m.sigma_x), jt.P),
             compare("stated form = M_mu ((W*_JT)^{-1} - n Sigma_x)", stated, m.means @ (w_inv - n * m.sigma_x))]
    sym = asymmetry(jt.W)
    if sym <= AGREE_RTOL:
        parts.append(compare("stated P*_JT where W*_JT is symmetric", stated, jt.P))
    pairs = (m.sigma_x, m.cov_average, m.mean_outer)
    worst = max(commutator(pairs[i], pairs[j]) for i, j in ((0, 1), (0, 2), (1, 2)))
    if worst <= AGREE_RTOL:
        parts.append(vanishes("W*_JT symmetric where Sigma_x, sum pi_k Sigma_beta_k, sum pi_k mu_k mu_k^T commute", 0.0,
                              sym, sym, f"largest relative commutator {worst:.2e}"))
    else:
        parts.append(not_applicable("W*_JT symmetric when the three commute", f"they do not commute ({worst:.2e})"))
    return all_of("corrected Theorem 3 prompts", parts)


def _check_loss(noise: bool) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        s2 = m.sigma2 if noise else 0.0
        loss = derived(Strategy.JT, m, n).loss
        return compare("L*_JT", claimed_loss(m.sigma_beta_bar, _w_bar(m, n, noise), n, s2), loss,
                       condition=loss_comparison_condition(m, loss, _condition(m, n, noise)))
    return check


def _stated(noise: bool | None) -> Callable[[TaskMixture, int], StatedParameters]:
    """What each claim of Theorem 3 states, as parameters to sample: the W and loss claims state W_bar (appendix form;
    sigma^2 dropped when ``noise`` is False) and not the prompts, so they are sampled with the prompts that are optimal
    for that W (theory.optima.optimal_prompts: a wrong prompt formula is T3.prompts' fault, not theirs);
    ``noise=None``: the derived W*_JT with the claimed prompts (isolates T3.prompts)."""
    def params(m: TaskMixture, n: int) -> StatedParameters:
        if noise is None:
            w_bar = derived(Strategy.JT, m, n).W_bar
            return StatedParameters("reduced", w_from_bar(m, w_bar), claimed_prompts_main(m, w_bar, n))
        W = w_from_bar(m, _w_bar(m, n, noise))
        return StatedParameters("reduced", W, optimal_prompts(m, W, n))
    return params


def symbolic_w_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: d1_wbar(pr["sb"], pr["st"] + d1_noise(pr), pr["n"], pr["delta"]), "wbar_jt", False)


def symbolic_prompts() -> SymbolicResult:
    return decide_d1(lambda pr: d1_prompts(pr, pr["wbar_jt"], "main"), "P_jt", False)


def symbolic_loss() -> SymbolicResult:
    return decide_d1(lambda pr: pr["sb"] - pr["n"] * d1_wbar(pr["sb"], pr["st"], pr["n"], pr["delta"]) * pr["sb"],
                     "loss_jt", True)


def symbolic_loss_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: pr["sb"] + d1_noise(pr) - pr["n"] * pr["wbar_jt"] * pr["sb"], "loss_jt", False)


CLAIMS = (
    Claim("T3.W", PAPER, "Theorem 3 (main text)", ("Theorem 3",),
          "W_bar*_JT = Sigma_bar ((n+1) Sigma_bar + tr(Sigma_tilde) I + O(1))^{-1}, the O(1) matrix bounded independently of n.",
          _check_w_main, scope=noiseless, scope_text=NOISELESS, optimum=Strategy.JT, docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{JT}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                            r"\operatorname{tr}(\tilde{\Sigma}_{\beta})\, I + \mathcal{O}(1)\right)^{-1}\quad \text{with } \mathcal{O}(1) \text{ a } "
                            r"d \times d \text{ matrix bounded independently of } n",
               "claimed": r"\bar{W}^{\star}_{\mathrm{JT}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                          r"\operatorname{tr}(\tilde{\Sigma}_{\beta})\, I + \mathcal{O}(1)\right)^{-1}",
               "derivation": r"d1:wbar_jt:noiseless"}),
    Claim("T3.W.appendix", PAPER, "Theorem 3 (Appendix B.3)", ("Theorem 3",),
          "W_bar*_JT = Sigma_bar ((n+1) Sigma_bar + (tr(Sigma_tilde) + sigma^2) I + Sigma_x sum_k pi_k mu_k mu_k^T)^{-1}.",
          _check_w_appendix, optimum=Strategy.JT, stated=_stated(True), symbolic=symbolic_w_appendix, docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{JT}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                            r"\left(\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2\right) I + \Sigma_x \sum_{k=1}^{K} \pi_k \mu_k "
                            r"\mu_k^{\top}\right)^{-1}",
               "claimed": r"\bar{W}^{\star}_{\mathrm{JT}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                          r"\left(\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2\right) I + \Sigma_x \sum_{k=1}^{K} \pi_k \mu_k "
                          r"\mu_k^{\top}\right)^{-1}",
               "derivation": r"d1:wbar_jt"}),
    Claim("T3.prompts", PAPER, "Theorem 3 (main text and Appendix B.3)", ("Theorem 3",),
          "P*_JT = M_mu ((W_bar*_JT)^{-1} - n I) Sigma_x.", _check_prompts, optimum=Strategy.JT, stated=_stated(None),
          symbolic=symbolic_prompts, finding=T3_PROMPTS_TRANSPOSE, severity=Severity.MAIN, docs=_DOCS,
          correction="p*_k = ((W*_JT)^{-1} - n Sigma_x) mu_k, i.e. P*_JT = M_mu ((W*_JT)^{-T} - n Sigma_x); "
                     "the stated form is M_mu ((W*_JT)^{-1} - n Sigma_x), W*_JT in place of its transpose, so it holds "
                     "where W*_JT is symmetric: e.g. where Sigma_x, sum_k pi_k Sigma_beta_k and sum_k pi_k mu_k mu_k^T "
                     "commute pairwise (such as Sigma_x = I with the last two commuting).",
          corrected=prompts_corrected,
          tex={"statement": r"P^{\star}_{\mathrm{JT}} = M_{\mu}\left((\bar{W}^{\star}_{\mathrm{JT}})^{-1} - n I\right)\Sigma_x\quad \text{where } "
                            r"\bar{W}^{\star}_{\mathrm{JT}} = \Sigma_x W^{\star}_{\mathrm{JT}}",
               "claimed": r"P^{\star}_{\mathrm{JT}} = M_{\mu}\left((\bar{W}^{\star}_{\mathrm{JT}})^{-1} - n I\right)\Sigma_x",
               "derivation": r"d1:P_jt",
               "corrected": r"P^{\star}_{\mathrm{JT}} = M_{\mu}\left((W^{\star}_{\mathrm{JT}})^{-\top} - n \Sigma_x\right),\quad "
                            r"(p_k)^{\star}_{\mathrm{JT}} = \left((W^{\star}_{\mathrm{JT}})^{-1} - n \Sigma_x\right)\mu_k",
               "why": r"the formula transposes $W^{\star}_{\mathrm{JT}}$, which is not symmetric in general (it is where $\Sigma_x$, "
                      r"$\sum_k \pi_k \Sigma_{\beta_k}$ and $\sum_k \pi_k \mu_k \mu_k^{\top}$ commute pairwise); the two differ from $d = 2$"}),
    Claim("T3.loss", PAPER, "Theorem 3 (main text)", ("Theorem 3",), "L*_JT = tr(Sigma_bar) - n tr(W_bar*_JT Sigma_bar).",
          _check_loss(False), scope=noiseless, scope_text=NOISELESS, optimum=Strategy.JT, loss=True,
          stated=_stated(False), symbolic=symbolic_loss, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{JT}} \bar{\Sigma}_{\beta})\quad (\sigma^2 = 0)",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{JT}} \bar{\Sigma}_{\beta})",
               "derivation": r"d1:loss_jt:noiseless"}),
    Claim("T3.loss.appendix", PAPER, "Theorem 3 (Appendix B.3)", ("Theorem 3",),
          "L*_JT = tr(Sigma_bar) + sigma^2 - n tr(W_bar*_JT Sigma_bar).", _check_loss(True), optimum=Strategy.JT,
          loss=True, stated=_stated(True), symbolic=symbolic_loss_appendix, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2 - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{JT}} \bar{\Sigma}_{\beta})",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{JT}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2 - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{JT}} \bar{\Sigma}_{\beta})",
               "derivation": r"d1:loss_jt"}),
)

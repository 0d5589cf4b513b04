"""Theorem 4 (main text and Appendix C.2) and Section 5's lower bound: the debiased PGD optimum, eq. (19)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.papers.chang2025.common import (
    NOISELESS,
    all_of,
    claimed_loss,
    claimed_w_bar,
    derived,
    loss_comparison_condition,
    noiseless,
    w_bar_condition,
    w_from_bar,
)
from claims.papers.chang2025.proposition1 import attention_bounds, attention_with_heads
from claims.papers.chang2025.readings import HEADS_BELOW_PGD, T4_LOSS_NOISE
from claims.record import Claim, Comparison, Severity, StatedParameters, SymbolicResult, compare
from theory.mixture import Array, TaskMixture
from theory.strategy import Strategy
from theory.symbolic import d1_noise, d1_wbar, decide_d1

PAPER = "chang2025"
_DOCS = "docs/theorem4-proposition1.md"


def _w_bar(m: TaskMixture, n: int, noise: bool) -> Array:
    sb = m.sigma_beta_bar
    return claimed_w_bar(sb, np.trace(sb) + (m.sigma2 if noise else 0.0), n)


def _condition(m: TaskMixture, n: int, noise: bool) -> float:
    sb = m.sigma_beta_bar
    return w_bar_condition(Strategy.PGD, m, n, sb, np.trace(sb) + (m.sigma2 if noise else 0.0))


def _check_w(noise: bool) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        return compare("W_bar*_PGD", _w_bar(m, n, noise), derived(Strategy.PGD, m, n).W_bar, condition=_condition(m, n, noise))
    return check


def _compare_loss(m: TaskMixture, n: int, noise: bool) -> Comparison:
    """The debiased problem's loss terms are of the size of tr(Sigma_bar) + sigma^2 (the zero-mean mixture's E[y^2])."""
    loss = derived(Strategy.PGD, m, n).loss
    return compare("L~*_PGD", claimed_loss(m.sigma_beta_bar, _w_bar(m, n, noise), n, 0.0), loss,
                   condition=loss_comparison_condition(m.with_zero_means(), loss, _condition(m, n, noise)))


def _check_loss_main(m: TaskMixture, n: int) -> Comparison:
    return _compare_loss(m, n, False)


def _check_loss_appendix(m: TaskMixture, n: int) -> Comparison:
    """Appendix C.2 puts sigma^2 in W_bar but not in the loss: tr(Sigma_bar) - n tr(W_bar Sigma_bar)."""
    return _compare_loss(m, n, True)


def loss_appendix_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected appendix loss: L~*_PGD = tr(Sigma_bar) + sigma^2 - n tr(W_bar*_PGD Sigma_bar) at the derived
    W_bar*_PGD, and the appendix's value (its W_bar with sigma^2) plus sigma^2 is L~*_PGD: the term it drops."""
    pgd = derived(Strategy.PGD, m, n)
    sb = m.sigma_beta_bar
    return all_of("corrected Theorem 4 appendix loss", [
        compare("L~*_PGD = tr(Sigma_bar) + sigma^2 - n tr(W_bar*_PGD Sigma_bar)", claimed_loss(sb, pgd.W_bar, n, m.sigma2), pgd.loss),
        compare("appendix value + sigma^2 = L~*_PGD", claimed_loss(sb, _w_bar(m, n, True), n, 0.0) + m.sigma2, pgd.loss)])


def lower_bound_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected lower bound: L~*_Attn >= sum_k pi_k min_{W_k} L_k^PGD(W_k), and L~*_Attn <= min_{W,c} sum_k pi_k
    L_k^PGD(c_k W) <= L~*_PGD (proposition1.attention_bounds)."""
    return all_of("corrected lower bound", attention_bounds(m, n))


def _stated(noise: bool) -> Callable[[TaskMixture, int], StatedParameters]:
    def params(m: TaskMixture, n: int) -> StatedParameters:
        return StatedParameters("pgd", w_from_bar(m, _w_bar(m, n, noise)), np.zeros((m.K, m.d)))
    return params


def symbolic_w() -> SymbolicResult:
    return decide_d1(lambda pr: d1_wbar(pr["sb"], pr["sb"], pr["n"]), "wbar_pgd", True)


def symbolic_w_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: d1_wbar(pr["sb"], pr["sb"] + d1_noise(pr), pr["n"]), "wbar_pgd", False)


def symbolic_loss() -> SymbolicResult:
    return decide_d1(lambda pr: pr["sb"] - pr["n"] * d1_wbar(pr["sb"], pr["sb"], pr["n"]) * pr["sb"], "loss_pgd", True)


def symbolic_loss_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: pr["sb"] - pr["n"] * pr["wbar_pgd"] * pr["sb"], "loss_pgd", False)


def _check_lower_bound(m: TaskMixture, n: int) -> Comparison:
    """Claimed: no one-layer linear attention (with prompts and heads) goes below L~*_PGD."""
    return attention_with_heads(m, n)


CLAIMS = (
    Claim("T4.W", PAPER, "Theorem 4 (main text)", ("Theorem 4",),
          "W_bar*_PGD = Sigma_bar ((n+1) Sigma_bar + tr(Sigma_bar) I)^{-1}.", _check_w(False), scope=noiseless,
          scope_text=NOISELESS, optimum=Strategy.PGD, stated=_stated(False), symbolic=symbolic_w, docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{PGD}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                            r"\operatorname{tr}(\bar{\Sigma}_{\beta})\, I\right)^{-1}\quad (\sigma^2 = 0)\quad \text{where } \bar{\Sigma}_{\beta} = "
                            r"\Sigma_x \sum_{k=1}^{K} \pi_k \Sigma_{\beta_k}",
               "claimed": r"\bar{W}^{\star}_{\mathrm{PGD}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                          r"\operatorname{tr}(\bar{\Sigma}_{\beta})\, I\right)^{-1}",
               "derivation": r"d1:wbar_pgd:noiseless"}),
    Claim("T4.W.appendix", PAPER, "Theorem 4 (Appendix C.2)", ("Theorem 4",),
          "W_bar*_PGD = Sigma_bar ((n+1) Sigma_bar + (tr(Sigma_bar) + sigma^2) I)^{-1}.", _check_w(True),
          optimum=Strategy.PGD, stated=_stated(True), symbolic=symbolic_w_appendix, docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{PGD}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                            r"\left(\operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2\right) I\right)^{-1}",
               "claimed": r"\bar{W}^{\star}_{\mathrm{PGD}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                          r"\left(\operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2\right) I\right)^{-1}",
               "derivation": r"d1:wbar_pgd"}),
    Claim("T4.loss", PAPER, "Theorem 4 (main text)", ("Theorem 4",), "L~*_PGD = tr(Sigma_bar) - n tr(W_bar*_PGD Sigma_bar).",
          _check_loss_main, scope=noiseless, scope_text=NOISELESS, optimum=Strategy.PGD, loss=True,
          stated=_stated(False), symbolic=symbolic_loss, docs=_DOCS,
          tex={"statement": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PGD}} \bar{\Sigma}_{\beta})\quad (\sigma^2 = 0)",
               "claimed": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PGD}} \bar{\Sigma}_{\beta})",
               "derivation": r"d1:loss_pgd:noiseless"}),
    Claim("T4.loss.appendix", PAPER, "Theorem 4 (Appendix C.2)", ("Theorem 4",),
          "L~*_PGD = tr(Sigma_bar) - n tr(W_bar*_PGD Sigma_bar), with W_bar*_PGD including sigma^2.", _check_loss_appendix,
          optimum=Strategy.PGD, loss=True, stated=_stated(True), symbolic=symbolic_loss_appendix,
          finding=T4_LOSS_NOISE,
          severity=Severity.SLIP, docs=_DOCS,
          correction="L~*_PGD = tr(Sigma_bar) + sigma^2 - n tr(W_bar*_PGD Sigma_bar) (the appendix drops the sigma^2 term).",
          corrected=loss_appendix_corrected,
          tex={"statement": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PGD}} \bar{\Sigma}_{\beta})\quad \text{with } "
                            r"\bar{W}^{\star}_{\mathrm{PGD}} = \bar{\Sigma}_{\beta}\left((n+1)\bar{\Sigma}_{\beta} + "
                            r"\left(\operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2\right) I\right)^{-1}",
               "claimed": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PGD}} \bar{\Sigma}_{\beta})",
               "derivation": r"d1:loss_pgd",
               "corrected": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} = \operatorname{tr}(\bar{\Sigma}_{\beta}) + \sigma^2 - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PGD}} \bar{\Sigma}_{\beta})",
               "why": r"the appendix keeps $\sigma^2$ in $\bar{W}^{\star}_{\mathrm{PGD}}$ but drops the $\sigma^2$ term of the loss"}),
)

LOWER_BOUND = Claim(
    "T4.lower-bound", PAPER, "Section 5, after Theorem 4", ("Theorem 4",),
    "L~*_PGD is a lower bound for the multi-task ICL loss of a single-layer linear attention model.",
    _check_lower_bound, optimum=Strategy.PGD, training=False, unconstrained=((Strategy.JT, False),), severity=Severity.MAIN, finding=HEADS_BELOW_PGD,
    docs=_DOCS,
    correction="The valid lower bound is Appendix C.1's per-task one, L~*_Attn >= sum_k pi_k min_{W_k} L_k^PGD(W_k). "
               "L~*_PGD bounds L~*_Attn from above: L~*_Attn <= min_{W, c} sum_k pi_k L_k^PGD(c_k W) <= L~*_PGD, per-task "
               "head scales c_k giving the first inequality (see P1.equality).",
    corrected=lower_bound_corrected,
    tex={"statement": r"\mathcal{L}(f_{\mathrm{Attn}}) \ge \tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} \quad \text{for every single-layer linear "
                      r"attention (prompts, heads)}",
         "claimed": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{Attn}} \ge \tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}}",
         "corrected": r"\sum_{k=1}^{K} \pi_k \min_{W_k} \mathcal{L}^{\mathrm{PGD}}_k(W_k) \le \tilde{\mathcal{L}}^{\star}_{\mathrm{Attn}} \le "
                      r"\min_{W,\,c} \sum_{k=1}^{K} \pi_k \mathcal{L}^{\mathrm{PGD}}_k(c_k W) \le \tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}}",
         "why": r"per-task head scales go below $\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}}$ (see P1.equality); Appendix C.1's argument bounds the "
                r"loss only by the per-task optima"})

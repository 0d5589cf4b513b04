"""Theorem 1 (main text and Appendix B.1): the optimum of plain training, eq. (10)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from claims.papers.chang2025.common import (
    NOISELESS,
    claimed_loss,
    claimed_w_bar,
    derived,
    loss_comparison_condition,
    noiseless,
    w_bar_condition,
    w_from_bar,
)
from claims.record import Claim, Comparison, StatedParameters, SymbolicResult, compare
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from theory.symbolic import d1_noise, d1_wbar, decide_d1

PAPER = "chang2025"


def _w_bar(m: TaskMixture, n: int, noise: bool) -> np.ndarray:
    st = m.sigma_beta_tilde
    return claimed_w_bar(st, np.trace(st) + (m.sigma2 if noise else 0.0), n)


def _condition(m: TaskMixture, n: int, noise: bool) -> float:
    st = m.sigma_beta_tilde
    return w_bar_condition(Strategy.PT, m, n, st, np.trace(st) + (m.sigma2 if noise else 0.0))


def _check_w(noise: bool) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        return compare("W_bar*_PT", _w_bar(m, n, noise), derived(Strategy.PT, m, n).W_bar, condition=_condition(m, n, noise))
    return check


def _check_loss(noise: bool) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        s2 = m.sigma2 if noise else 0.0
        loss = derived(Strategy.PT, m, n).loss
        return compare("L*_PT", claimed_loss(m.sigma_beta_tilde, _w_bar(m, n, noise), n, s2), loss,
                       condition=loss_comparison_condition(m, loss, _condition(m, n, noise)))
    return check


def _stated(noise: bool) -> Callable[[TaskMixture, int], StatedParameters]:
    def params(m: TaskMixture, n: int) -> StatedParameters:
        return StatedParameters("reduced", w_from_bar(m, _w_bar(m, n, noise)), np.zeros((m.K, m.d)))
    return params


def symbolic_w() -> SymbolicResult:
    return decide_d1(lambda pr: d1_wbar(pr["st"], pr["st"], pr["n"]), "wbar_pt", True)


def symbolic_w_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: d1_wbar(pr["st"], pr["st"] + d1_noise(pr), pr["n"]), "wbar_pt", False)


def symbolic_loss() -> SymbolicResult:
    return decide_d1(lambda pr: pr["st"] - pr["n"] * d1_wbar(pr["st"], pr["st"], pr["n"]) * pr["st"], "loss_pt", True)


def symbolic_loss_appendix() -> SymbolicResult:
    return decide_d1(lambda pr: pr["st"] + d1_noise(pr) - pr["n"] * pr["wbar_pt"] * pr["st"], "loss_pt", False)


_DOCS = "docs/theorem1.md"

CLAIMS = (
    Claim("T1.W", PAPER, "Theorem 1 (main text)", ("Theorem 1",),
          "W_bar*_PT = Sigma_tilde ((n+1) Sigma_tilde + tr(Sigma_tilde) I)^{-1}.", _check_w(False),
          scope=noiseless, scope_text=NOISELESS, optimum=Strategy.PT, stated=_stated(False), symbolic=symbolic_w,
          docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{PT}} = \tilde{\Sigma}_{\beta}\left((n+1)\tilde{\Sigma}_{\beta} + "
                            r"\operatorname{tr}(\tilde{\Sigma}_{\beta})\, I\right)^{-1}\quad (\sigma^2 = 0)\quad \text{where } "
                            r"\bar{W}^{\star}_{\mathrm{PT}} = \Sigma_x W^{\star}_{\mathrm{PT}},\ \tilde{\Sigma}_{\beta} = \Sigma_x \sum_{k=1}^{K} "
                            r"\pi_k (\Sigma_{\beta_k} + \mu_k\mu_k^{\top})",
               "claimed": r"\bar{W}^{\star}_{\mathrm{PT}} = \tilde{\Sigma}_{\beta}\left((n+1)\tilde{\Sigma}_{\beta} + "
                          r"\operatorname{tr}(\tilde{\Sigma}_{\beta})\, I\right)^{-1}",
               "derivation": r"d1:wbar_pt:noiseless"}),
    Claim("T1.W.appendix", PAPER, "Theorem 1 (Appendix B.1)", ("Theorem 1",),
          "W_bar*_PT = Sigma_tilde ((n+1) Sigma_tilde + (tr(Sigma_tilde) + sigma^2) I)^{-1}.", _check_w(True),
          optimum=Strategy.PT, stated=_stated(True), symbolic=symbolic_w_appendix, docs=_DOCS,
          tex={"statement": r"\bar{W}^{\star}_{\mathrm{PT}} = \tilde{\Sigma}_{\beta}\left((n+1)\tilde{\Sigma}_{\beta} + "
                            r"\left(\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2\right) I\right)^{-1}\quad \text{where } "
                            r"\bar{W}^{\star}_{\mathrm{PT}} = \Sigma_x W^{\star}_{\mathrm{PT}},\ \tilde{\Sigma}_{\beta} = \Sigma_x \sum_{k=1}^{K} "
                            r"\pi_k (\Sigma_{\beta_k} + \mu_k\mu_k^{\top})",
               "claimed": r"\bar{W}^{\star}_{\mathrm{PT}} = \tilde{\Sigma}_{\beta}\left((n+1)\tilde{\Sigma}_{\beta} + "
                          r"\left(\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2\right) I\right)^{-1}",
               "derivation": r"d1:wbar_pt"}),
    Claim("T1.loss", PAPER, "Theorem 1 (main text)", ("Theorem 1",), "L*_PT = tr(Sigma_tilde) - n tr(W_bar*_PT Sigma_tilde).",
          _check_loss(False), scope=noiseless, scope_text=NOISELESS, optimum=Strategy.PT, loss=True,
          stated=_stated(False), symbolic=symbolic_loss, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} = \operatorname{tr}(\tilde{\Sigma}_{\beta}) - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PT}} \tilde{\Sigma}_{\beta})\quad (\sigma^2 = 0)",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} = \operatorname{tr}(\tilde{\Sigma}_{\beta}) - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PT}} \tilde{\Sigma}_{\beta})",
               "derivation": r"d1:loss_pt:noiseless"}),
    Claim("T1.loss.appendix", PAPER, "Theorem 1 (Appendix B.1)", ("Theorem 1",),
          "L*_PT = tr(Sigma_tilde) + sigma^2 - n tr(W_bar*_PT Sigma_tilde).", _check_loss(True),
          optimum=Strategy.PT, loss=True, stated=_stated(True), symbolic=symbolic_loss_appendix, docs=_DOCS,
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} = \operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2 - "
                            r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PT}} \tilde{\Sigma}_{\beta})",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}} = \operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2 - "
                          r"n\,\operatorname{tr}(\bar{W}^{\star}_{\mathrm{PT}} \tilde{\Sigma}_{\beta})",
               "derivation": r"d1:loss_pt"}),
)

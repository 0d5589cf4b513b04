"""Theorem 4 (main text and Appendix C.2) and Section 5's lower bound: the debiased PGD optimum, eq. (19)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theory.mixture import Array, TaskMixture
from theory.papers.chang2025.common import NOISELESS, claimed_loss, claimed_w_bar, compare, derived, noiseless, w_from_bar
from theory.papers.chang2025.proposition1 import attention_with_heads
from theory.record import Claim, Comparison, StatedParameters, SymbolicResult
from theory.strategy import Strategy
from theory.symbolic import d1_noise, d1_wbar, decide_d1

PAPER = "chang2025"
_DOCS = "docs/theorem4-proposition1.md"


def _w_bar(m: TaskMixture, n: int, noise: bool) -> Array:
    sb = m.sigma_beta_bar
    return claimed_w_bar(sb, np.trace(sb) + (m.sigma2 if noise else 0.0), n)


def _check_w(noise: bool) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        return compare("W_bar*_PGD", _w_bar(m, n, noise), derived(Strategy.PGD, m, n).W_bar)
    return check


def _check_loss_main(m: TaskMixture, n: int) -> Comparison:
    return compare("L~*_PGD", claimed_loss(m.sigma_beta_bar, _w_bar(m, n, False), n, 0.0), derived(Strategy.PGD, m, n).loss)


def _check_loss_appendix(m: TaskMixture, n: int) -> Comparison:
    """Appendix C.2 puts sigma^2 in W_bar but not in the loss: tr(Sigma_bar) - n tr(W_bar Sigma_bar)."""
    return compare("L~*_PGD", claimed_loss(m.sigma_beta_bar, _w_bar(m, n, True), n, 0.0), derived(Strategy.PGD, m, n).loss)


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
          scope_text=NOISELESS, optimum=Strategy.PGD, stated=_stated(False), symbolic=symbolic_w, docs=_DOCS),
    Claim("T4.W.appendix", PAPER, "Theorem 4 (Appendix C.2)", ("Theorem 4",),
          "W_bar*_PGD = Sigma_bar ((n+1) Sigma_bar + (tr(Sigma_bar) + sigma^2) I)^{-1}.", _check_w(True),
          optimum=Strategy.PGD, stated=_stated(True), symbolic=symbolic_w_appendix, docs=_DOCS),
    Claim("T4.loss", PAPER, "Theorem 4 (main text)", ("Theorem 4",), "L~*_PGD = tr(Sigma_bar) - n tr(W_bar*_PGD Sigma_bar).",
          _check_loss_main, scope=noiseless, scope_text=NOISELESS, optimum=Strategy.PGD, loss=True,
          stated=_stated(False), symbolic=symbolic_loss, docs=_DOCS),
    Claim("T4.loss.appendix", PAPER, "Theorem 4 (Appendix C.2)", ("Theorem 4",),
          "L~*_PGD = tr(Sigma_bar) - n tr(W_bar*_PGD Sigma_bar), with W_bar*_PGD including sigma^2.", _check_loss_appendix,
          optimum=Strategy.PGD, loss=True, stated=_stated(True), symbolic=symbolic_loss_appendix, docs=_DOCS,
          correction="L~*_PGD = tr(Sigma_bar) + sigma^2 - n tr(W_bar*_PGD Sigma_bar) (the appendix drops the sigma^2 term)."),
)

LOWER_BOUND = Claim(
    "T4.lower-bound", PAPER, "Section 5, after Theorem 4", ("Theorem 4",),
    "L~*_PGD is a lower bound for the multi-task ICL loss of a single-layer linear attention model.",
    _check_lower_bound, optimum=Strategy.PGD, training=False, unconstrained=((Strategy.JT, False),), docs=_DOCS,
    correction="See P1.equality: per-task head scales go below L~*_PGD; the valid lower bound from "
               "Appendix C.1's argument is sum_k pi_k min_{W_k} L_k^PGD(W_k).")

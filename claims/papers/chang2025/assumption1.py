"""Assumption 1 (Section 3.3) as Section 6 and Appendix D validate it: the reduced model (7) against the exact
optimum of the unconstrained one-layer attention, eq. (6) (theory.unconstrained)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from claims.papers.chang2025.common import cached, derived, not_beaten, unconstrained
from claims.papers.chang2025.readings import ASSUMPTION1
from claims.record import AGREE_RTOL, REFUTE_RTOL, Claim, Comparison, Kind, Outcome, compare
from theory.attention import Assumption1Stationarity, assumption1_stationarity
from theory.mixture import TaskMixture
from theory.strategy import Strategy

PAPER = "chang2025"
_SOURCE = "Assumption 1 (Section 3.3), as validated in Section 6 and Appendix D"
_RESULTS = ("Assumption 1",)
_DOCS = "docs/assumption1.md"

CORRECTION = (
    "The optimum of eq. (6) with one shared head is at most the reduced model's (L*_PT without prompts, L*_JT with "
    "them), with equality if and only if the reduced optimum is a stationary point of eq. (6)'s exact loss in the two "
    "blocks Assumption 1 fixes: the column A[:d, d] and the head's feature part a_x. A task distribution symmetric "
    "under beta -> -beta is one such case, but not the only one (d = 1: a zero mean task and a zero third moment of "
    "the task means with equal task covariances suffice, however asymmetric the weights).")
FT_CORRECTION = (
    "Fine-tuning the unconstrained model's prompts reaches L*_FT if and only if the reduced plain-training optimum is "
    "a stationary point of eq. (6) without prompts (then both models fine-tune the same attention); otherwise it "
    "reaches a different loss, below or above L*_FT.")


def _gap(mode: Strategy, m: TaskMixture, n: int) -> tuple[float, float, str]:
    reduced = derived(mode, m, n).loss
    exact = unconstrained(m, n, mode).loss
    gap = (reduced - exact) / reduced
    return reduced, exact, (f"unconstrained {mode} optimum {exact:.12g}, reduced L*_{mode} = {reduced:.12g} "
                            f"({100 * gap:+.4g}% of L*_{mode})")


def _check(mode: Strategy) -> Callable[[TaskMixture, int], Comparison]:
    """Claimed: Assumption 1 loses nothing, L*_mode (reduced, eq. 7) = the unconstrained optimum of eq. (6).
    Measured: the relative gap (L*_mode - L*_Attn) / L*_mode."""
    def check(m: TaskMixture, n: int) -> Comparison:
        reduced, exact, note = _gap(mode, m, n)
        if mode == Strategy.FT:  # fine-tuning starts from a different pretrained model: no inequality is implied
            c = compare(f"L*_{mode} vs unconstrained", reduced, exact, note)
        else:
            c = not_beaten(f"L*_Attn,{mode} (unconstrained)", reduced, exact, note)
        return replace(c, measured=(reduced - exact) / reduced)
    return check


def d1_zero_skew(m: TaskMixture) -> bool:
    """d = 1, one task covariance, a zero mean task c and a zero third central moment k3 of the task means (the
    first-order conditions of docs/assumption1.md), up to rounding."""
    if m.d != 1:
        return False
    mu, w = m.means[:, 0], m.weights
    scale = max(float(np.max(np.abs(mu))), 1e-300)
    c = float(w @ mu)
    k3 = float(w @ (mu - c) ** 3)
    return bool(np.ptp(m.covs) <= 1e-12 * float(np.max(m.covs)) and abs(c) <= 1e-12 * scale and abs(k3) <= 1e-12 * scale**3)


def stationarity(m: TaskMixture, n: int, mode: Strategy) -> Assumption1Stationarity:
    """The reduced optimum's stationarity in eq. (6) (theory.attention), cached."""
    return cached(m, n, f"stationarity-{mode}", lambda: assumption1_stationarity(m, n, str(mode)))


def corrected_check(mode: Strategy) -> Callable[[TaskMixture, int], Comparison]:
    """The corrected statement: L*_Attn <= L*_mode, with equality iff the reduced optimum is stationary for eq. (6)
    (for FT: iff the reduced plain-training optimum is).  Decided from both sides: a stationary case with a gap, or
    a non-stationary case without one, refutes it; a case between the two thresholds cannot decide."""
    def check(m: TaskMixture, n: int) -> Comparison:
        reduced, exact, note = _gap(mode, m, n)
        gap = (reduced - exact) / reduced
        st = stationarity(m, n, Strategy.PT if mode == Strategy.FT else mode)
        note += f"; stationarity: column gain {st.column_gain:.2e}, head gradient {st.head_gradient:.2e}"
        equal, apart = abs(gap) <= AGREE_RTOL, abs(gap) > REFUTE_RTOL
        quantity = f"L*_Attn,{mode} = L*_{mode} iff the reduced optimum is stationary"
        if d1_zero_skew(m) and not (st.stationary and equal):  # the statement's d = 1 sufficient condition
            return Comparison(quantity, "stationary and equal (d = 1, c = 0, k3 = 0, equal covariances)", gap, abs(gap),
                              False, note, decided=Outcome.FAILS)
        if mode != Strategy.FT and gap < -REFUTE_RTOL:
            return Comparison(quantity, "<= L*_" + str(mode), exact, abs(gap), False, "above the reduced optimum; " + note,
                              decided=Outcome.FAILS)
        if (st.stationary and equal) or (st.moving and apart):
            return Comparison(quantity, "stationary" if st.stationary else "not stationary", gap, 0.0, True, note)
        if (st.stationary and apart) or (st.moving and equal):
            return Comparison(quantity, "stationary" if st.stationary else "not stationary", gap, abs(gap), False, note,
                              decided=Outcome.FAILS)
        return Comparison(quantity, "undecided", gap, float("nan"), False, note, decided=Outcome.INCONCLUSIVE)
    return check


CLAIMS = (
    Claim("A1.PT", "chang2025", _SOURCE, _RESULTS,
          "Assumption 1 loses nothing for plain training: the optimum of the unconstrained one-layer attention (eq. 6, "
          "shared head, no prompts) equals L*_PT of the reduced model (7).", _check(Strategy.PT),
          unconstrained=((Strategy.PT, True),), kind=Kind.ASSUMPTION, finding=ASSUMPTION1, docs=_DOCS,
          correction=CORRECTION, corrected=corrected_check(Strategy.PT),
          tex={"statement": r"\min_{W_q, W_k, W_v, h} \mathcal{L}_{\mathrm{Attn}}(\text{eq. 6, no prompts}) = \mathcal{L}^{\star}_{\mathrm{PT}} "
                            r"\quad \text{(Assumption 1 loses nothing)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{no prompts}) = \mathcal{L}^{\star}_{\mathrm{PT}}",
               "corrected": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{no prompts}) \le \mathcal{L}^{\star}_{\mathrm{PT}},\quad "
                            r"\text{with equality iff the reduced optimum is a stationary point of eq. (6) in } A_{1:d,\,d+1} \text{ and } a_x",
               "why": r"the exact optimum of the unconstrained attention of eq. (6) lies below the reduced model's unless the reduced optimum is "
                      r"stationary for it: the head's feature part $a_x$ and the column $A_{1:d,\,d+1}$, zero under Assumption 1, lower the loss"}),
    Claim("A1.FT", "chang2025", _SOURCE, _RESULTS,
          "Assumption 1 loses nothing for fine-tuning: prompts tuned on the plain-trained unconstrained attention "
          "(eq. 6, shared head) reach L*_FT of the reduced model.", _check(Strategy.FT),
          unconstrained=((Strategy.FT, True),), kind=Kind.ASSUMPTION, finding=ASSUMPTION1, docs=_DOCS,
          correction=FT_CORRECTION, corrected=corrected_check(Strategy.FT),
          tex={"statement": r"\min_{P} \mathcal{L}_{\mathrm{Attn}}(\text{prompts on the plain-trained eq. 6}) = \mathcal{L}^{\star}_{\mathrm{FT}} "
                            r"\quad \text{(Assumption 1 loses nothing)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{fine-tuned prompts}) = \mathcal{L}^{\star}_{\mathrm{FT}}",
               "corrected": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{fine-tuned prompts}) = \mathcal{L}^{\star}_{\mathrm{FT}} "
                            r"\iff \text{the reduced plain-training optimum is a stationary point of eq. (6)}",
               "why": r"fine-tuning the unconstrained model's prompts starts from a different pretrained model and reaches a different loss (above "
                      r"or below $\mathcal{L}^{\star}_{\mathrm{FT}}$) unless the reduced plain-training optimum is stationary for eq. (6)"}),
    Claim("A1.JT", "chang2025", _SOURCE, _RESULTS,
          "Assumption 1 loses nothing for joint training: the optimum of the unconstrained one-layer attention (eq. 6, "
          "shared head, with prompts) equals L*_JT of the reduced model (7).", _check(Strategy.JT),
          unconstrained=((Strategy.JT, True),), kind=Kind.ASSUMPTION, finding=ASSUMPTION1, docs=_DOCS, correction=CORRECTION,
          corrected=corrected_check(Strategy.JT),
          tex={"statement": r"\min_{W_q, W_k, W_v, h, P} \mathcal{L}_{\mathrm{Attn}}(\text{eq. 6}) = \mathcal{L}^{\star}_{\mathrm{JT}} \quad "
                            r"\text{(Assumption 1 loses nothing)}",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) = \mathcal{L}^{\star}_{\mathrm{JT}}",
               "corrected": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) \le \mathcal{L}^{\star}_{\mathrm{JT}},\quad "
                            r"\text{with equality iff the reduced optimum is a stationary point of eq. (6) in } A_{1:d,\,d+1} \text{ and } a_x",
               "why": r"the exact optimum of the unconstrained attention of eq. (6) lies below the reduced model's unless the reduced optimum is "
                      r"stationary for it: the head's feature part $a_x$ and the column $A_{1:d,\,d+1}$, zero under Assumption 1, lower the loss"}),
)

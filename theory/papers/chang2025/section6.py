"""Section 6 ('Validation of the preconditioning', Figure 2(a)) and Appendix D: the unconstrained attention of
eq. (6) against the reduced model, decided by its exact optimum (theory.unconstrained)."""

from __future__ import annotations

from theory.attention import shared_head_joint_optimum
from theory.mixture import TaskMixture, preset
from theory.papers.chang2025.assumption1 import CORRECTION
from theory.papers.chang2025.common import NOISELESS, cached, derived, noiseless, not_beaten, unconstrained
from theory.record import Claim, Comparison
from theory.strategy import Strategy
from theory.unconstrained import optimum_label

PAPER = "chang2025"
ALIGN_RTOL = 1e-2  # "aligns closely" (Section 6): a relative gap the paper's log-scale plots could show (~1%)
FIGURE_NS = (1, 50)  # Section 6's n range (n = 1..10, 15..50)
ALIGNMENT_FIGURES = ("fig2a", "figA1a", "figA1c")  # Section 6 and Appendix D.1/D.2: "validate Assumption 1"
_DOCS = "docs/assumption1.md"


def _shared_head(m: TaskMixture, n: int) -> Comparison:
    """Claimed: the unconstrained model with a shared head, trained jointly, aligns with the reduced L*_JT.
    Derived: the exact optimum of eq. (6) with prompts and one shared head (theory.unconstrained)."""
    jt = derived(Strategy.JT, m, n).loss
    exact = unconstrained(m, n, Strategy.JT)
    shared = cached(m, n, "shared-head", lambda: shared_head_joint_optimum(m, n))
    return not_beaten("L*_Attn (shared head, joint)", jt, exact.loss,
                      f"unconstrained: {optimum_label(exact.bracket(), lambda v: f'{v:.12g}')} (gradient norm "
                      f"{exact.gradient_norm:.1e}); the "
                      f"re-centring head [-c; 1] alone attains {shared.loss:.12g}; reduced L*_JT = {jt:.12g}")


def is_alignment_figure(m: TaskMixture) -> bool:
    """The mixture is one of Figures 2(a), A1(a), A1(c)."""
    return any(m.to_dict() == preset(name).to_dict() for name in ALIGNMENT_FIGURES)


def _aligns(m: TaskMixture, n: int) -> Comparison:
    """Claimed: on Figures 2(a), A1(a), A1(c) the reduced PT/FT/JT losses align closely with the unconstrained model's.
    Derived: the largest relative gap to the exact unconstrained optimum over PT, FT and JT at this n."""
    if not FIGURE_NS[0] <= n <= FIGURE_NS[1]:
        return Comparison("max relative gap", 0.0, 0.0, 0.0, True, f"n = {n} is outside the figures' range 1..50")
    modes = (Strategy.PT, Strategy.FT, Strategy.JT)
    gaps = {mode: (derived(mode, m, n).loss - unconstrained(m, n, mode).loss) / derived(mode, m, n).loss for mode in modes}
    worst = max(gaps, key=lambda k: abs(gaps[k]))
    note = ", ".join(f"{k} {100 * v:+.3g}%" for k, v in gaps.items()) + f" (threshold {100 * ALIGN_RTOL:g}%)"
    ok = abs(gaps[worst]) <= ALIGN_RTOL
    return Comparison(f"relative gap ({worst})", ALIGN_RTOL, abs(gaps[worst]), 0.0 if ok else abs(gaps[worst]), ok, note)


SHARED_HEAD = Claim(
    "S6.shared-head", PAPER, "Section 6, 'Validation of the preconditioning' (Figure 2(a))", ("Section 6",),
    "The unconstrained one-layer attention of eq. (6) with a shared head h, trained jointly with prompts, aligns with "
    "the reduced model of Assumption 1: its optimal loss is L*_JT.", _shared_head, scope=noiseless, scope_text=NOISELESS,
    unconstrained=((Strategy.JT, True),), correction=CORRECTION, docs=_DOCS,
    tex={"statement": r"\min_{W_q, W_k, W_v, h, P} \mathcal{L}_{\mathrm{Attn}} = \mathcal{L}^{\star}_{\mathrm{JT}} \quad \text{(eq. 6, one shared "
                      r"head, trained jointly with prompts)}",
         "claimed": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) = \mathcal{L}^{\star}_{\mathrm{JT}}",
         "corrected": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) \le \mathcal{L}^{\star}_{\mathrm{JT}},\quad \text{with "
                      r"equality iff the task distribution is symmetric } (\beta \mapsto -\beta)",
         "why": r"the exact optimum of the unconstrained attention of eq. (6) lies below the reduced model's unless the task distribution is "
                r"symmetric: the head's feature part $a_x$ and the column $A_{1:d,\,d+1}$, both zero under Assumption 1, lower the loss"})

ALIGNS_CLOSELY = Claim(
    "S6.aligns-closely", PAPER, "Section 6 (Figure 2(a)) and Appendix D (Figure A1(a), A1(c))", ("Section 6",),
    "The reduced model's optimal PT, FT and JT losses align closely (here: within 1% relative, about what the "
    "paper's plots resolve) with those of the unconstrained one-layer attention, for n = 1..50.", _aligns,
    scope=is_alignment_figure, scope_text="the mixtures of Figures 2(a), A1(a), A1(c) (fig2a, figA1a, figA1c)",
    unconstrained=((Strategy.PT, True), (Strategy.FT, True), (Strategy.JT, True)), docs=_DOCS,
    correction="At the paper's n values the exact unconstrained optimum is below the reduced one by more than 1% "
               "on fig2a and figA1c for joint training (fig2a: -1.5% at n = 10, -3.6% at n = 50); the reduced model "
               "is a close proxy only at small n.",
    tex={"statement": r"\frac{\mathcal{L}^{\star}_{\mathrm{reduced}} - \mathcal{L}^{\star}_{\mathrm{Attn}}}{\mathcal{L}^{\star}_{\mathrm{reduced}}} "
                      r"\le 1\% \quad \text{for PT, FT and JT},\ n = 1, \dots, 50 \quad \text{(Figures 2(a), A1(a), A1(c))}",
         "claimed": r"\frac{\mathcal{L}^{\star}_{\mathrm{reduced}} - \mathcal{L}^{\star}_{\mathrm{Attn}}}{\mathcal{L}^{\star}_{\mathrm{reduced}}} "
                    r"\le 1\% \quad (n \le 50)",
         "corrected": r"\frac{\mathcal{L}^{\star}_{\mathrm{reduced}} - \mathcal{L}^{\star}_{\mathrm{Attn}}}{\mathcal{L}^{\star}_{\mathrm{reduced}}} "
                      r"> 1\% \quad \text{for JT on fig2a and figA1c from } n \approx 10\quad (\text{fig2a: } 1.5\% \text{ at } n = 10,\ 3.6\% "
                      r"\text{ at } n = 50)",
         "why": r"at the paper's $n$ the exact unconstrained optimum is more than 1% below the reduced model's on fig2a and figA1c (joint training); "
                r"the reduced model is a close proxy only at small $n$"})

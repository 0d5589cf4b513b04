"""Section 6 ('Validation of the preconditioning', Figure 2(a)) and Appendix D: the unconstrained attention of
eq. (6) against the reduced model, decided by its exact optimum (theory.unconstrained)."""

from __future__ import annotations

from dataclasses import replace

from claims.kinds import optimum_label
from claims.papers.chang2025.assumption1 import CORRECTION, corrected_check
from claims.papers.chang2025.common import NOISELESS, cached, derived, noiseless, not_beaten, unconstrained
from claims.papers.chang2025.readings import ASSUMPTION1
from claims.record import AGREE_RTOL, Claim, Comparison, Kind
from theory.attention import shared_head_joint_optimum
from theory.mixture import TaskMixture, preset
from theory.strategy import Strategy

PAPER = "chang2025"
FIGURE_NS = (1, 50)  # Section 6's n range (n = 1..10, 15..50)
ALIGNMENT_FIGURES = ("fig2a", "figA1a", "figA1c")  # Section 6 and Appendix D.1/D.2: "validate Assumption 1"
_DOCS = "docs/assumption1.md"


def _shared_head(m: TaskMixture, n: int) -> Comparison:
    """Claimed: the unconstrained model with a shared head, trained jointly, aligns with the reduced L*_JT.
    Derived: the exact optimum of eq. (6) with prompts and one shared head (theory.unconstrained)."""
    jt = derived(Strategy.JT, m, n).loss
    exact = unconstrained(m, n, Strategy.JT)
    shared = cached(m, n, "shared-head", lambda: shared_head_joint_optimum(m, n))
    c = not_beaten("L*_Attn (shared head, joint)", jt, exact.loss,
                   f"unconstrained: {optimum_label(exact.bracket(), lambda v: f'{v:.12g}')} (gradient norm "
                   f"{exact.gradient_norm:.1e}); the re-centring head [-c; 1] alone attains {shared.loss:.12g}; "
                   f"reduced L*_JT = {jt:.12g}")
    return replace(c, measured=(jt - exact.loss) / jt)


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
    note = ", ".join(f"{k} {100 * v:+.3g}%" for k, v in gaps.items())
    ok = abs(gaps[worst]) <= AGREE_RTOL
    return Comparison(f"largest relative gap, reduced vs unconstrained ({worst})", "aligns closely", abs(gaps[worst]),
                      abs(gaps[worst]), ok, note, measured=abs(gaps[worst]))


SHARED_HEAD = Claim(
    "S6.shared-head", PAPER, "Section 6, 'Validation of the preconditioning' (Figure 2(a))", ("Section 6",),
    "The unconstrained one-layer attention of eq. (6) with a shared head h, trained jointly with prompts, aligns with "
    "the reduced model of Assumption 1 ('the alignment of the dashed and solid lines').", _shared_head, scope=noiseless,
    scope_text=NOISELESS, unconstrained=((Strategy.JT, True),), kind=Kind.QUALITATIVE, finding=ASSUMPTION1,
    reading="as a measurement: the relative gap (L*_JT - L*_Attn) / L*_JT between the reduced model and the unconstrained "
            "attention with one shared head, trained jointly, on noiseless mixtures; the paper states no threshold",
    correction=CORRECTION, corrected=corrected_check(Strategy.JT), docs=_DOCS,
    tex={"statement": r"\min_{W_q, W_k, W_v, h, P} \mathcal{L}_{\mathrm{Attn}} = \mathcal{L}^{\star}_{\mathrm{JT}} \quad \text{(eq. 6, one shared "
                      r"head, trained jointly with prompts)}",
         "claimed": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) = \mathcal{L}^{\star}_{\mathrm{JT}}",
         "corrected": r"\mathcal{L}^{\star}_{\mathrm{Attn}}(\text{shared head, prompts}) \le \mathcal{L}^{\star}_{\mathrm{JT}},\quad \text{with "
                      r"equality iff the reduced optimum is a stationary point of eq. (6) in } A_{1:d,\,d+1} \text{ and } a_x",
         "why": r"the exact optimum of the unconstrained attention of eq. (6) lies below the reduced model's unless the reduced optimum is "
                r"stationary for it: the head's feature part $a_x$ and the column $A_{1:d,\,d+1}$, both zero under Assumption 1, lower the loss"})

ALIGNS_CLOSELY = Claim(
    "S6.aligns-closely", PAPER, "Section 6 (Figure 2(a)) and Appendix D (Figure A1(a), A1(c))", ("Section 6",),
    "The performance of the reduced model aligns closely with that of optimizing a single-layer linear attention model "
    "without the constraint of Assumption 1 (plain training, fine-tuning and joint training, n = 1..50).", _aligns,
    scope=is_alignment_figure, scope_text="the mixtures of Figures 2(a), A1(a), A1(c) (fig2a, figA1a, figA1c)",
    unconstrained=((Strategy.PT, True), (Strategy.FT, True), (Strategy.JT, True)), kind=Kind.QUALITATIVE,
    finding=ASSUMPTION1, measure_ns=(2, 10, 50),
    reading="as a measurement: the largest relative gap between the reduced and the unconstrained optimum over PT, FT "
            "and JT on the figures' mixtures, by n; the paper states no threshold, so none is applied",
    docs=_DOCS,
    tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{reduced}} \approx \mathcal{L}^{\star}_{\mathrm{Attn}} \quad \text{for PT, FT and JT},\ "
                      r"n = 1, \dots, 50 \quad \text{(Figures 2(a), A1(a), A1(c))}",
         "claimed": r"\frac{\lvert \mathcal{L}^{\star}_{\mathrm{reduced}} - \mathcal{L}^{\star}_{\mathrm{Attn}} \rvert}"
                    r"{\mathcal{L}^{\star}_{\mathrm{reduced}}} \text{ small} \quad (n \le 50)"})

"""The statements the paper makes from its experiments (Section 6, Appendices D and E, Corollary 1's reading, the
contributions), each a claim decided by the exact one-layer optima where one layer suffices.

The figures plot trained one-layer attention (and Appendix E's L-layer stacks) against n.  For one layer the
toolkit has what a perfectly trained model reaches: the theory's optima (the reduced model of Assumption 1,
Theorems 1-4, :mod:`theory.optima`) and the exact optima of the unconstrained attention itself (eq. 6 with a shared
head, eq. 17 with task-specific heads, :mod:`theory.unconstrained`).  An ordering, a crossover or a monotone trend of
the figure is therefore decided exactly here; what only a trained model can show (depth, and how close training
comes) is the trained evidence of ``verify --claim ID --full`` (``verify.evidence.experiments``).

The figures' n range is n = 1..50 (``FIGURE_NS``; the paper's text gives no grid).  Claims about one n are checked at
the search's n like every other claim; claims about the whole range (a crossover, a monotone trend) evaluate the whole
range whatever the n they are called with.  Losses are compared as the figures draw them, divided by E[y^2]
(Section 6: "all results are normalized by E[||y||^2]").

``python -c "from claims.papers.chang2025.experiments import main; main()"`` prints each claim's numbers over the figure's range (the tables of
docs/experiments.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

from claims.papers.chang2025.common import NOISELESS, derived, loss_condition, unconstrained
from claims.papers.chang2025.readings import ASSUMPTION1, HEADS_NOISE
from claims.papers.chang2025.section6 import FIGURE_NS
from claims.record import AGREE_RTOL, Claim, Comparison, Kind, Outcome, Reading, Severity, agrees, refute_rtol
from theory.mixture import TaskMixture, preset
from theory.strategy import Strategy

PAPER = "chang2025"
PT, FT, JT, PGD = Strategy.PT, Strategy.FT, Strategy.JT, Strategy.PGD
FIGURE_RANGE = tuple(range(FIGURE_NS[0], FIGURE_NS[1] + 1))
_DOCS = "docs/experiments.md"
_HEADS = "heads"  # the exact optimum of attention with prompts and task-specific heads (eq. 17), beside PT, FT, JT


# ----- the figures' mixtures ---------------------------------------------------------------------------------------
@cache
def _preset_dict(name: str) -> str:
    return repr(preset(name).to_dict())


def on_presets(*names: str) -> Callable[[TaskMixture], bool]:
    """The scope 'the mixture is one of these figure presets' (content, not name: a file with the same numbers is in)."""
    def scope(m: TaskMixture) -> bool:
        text = repr(m.to_dict())
        return any(text == _preset_dict(name) for name in names)
    scope.__name__ = "on_" + "_".join(n.replace("-", "_") for n in names)
    return scope


def _presets_text(*names: str) -> str:
    return ", ".join(names) + f" (n = {FIGURE_NS[0]}..{FIGURE_NS[1]}, the figures' range)"


# ----- the one-layer losses a figure's curves reach -------------------------------------------------------------------
def theory_loss(strategy: Strategy, m: TaskMixture, n: int) -> float:
    """The theory's optimal loss (Theorems 1-4: L*_PT, L*_FT, L*_JT, L~*_PGD), reduced model, exact."""
    return derived(strategy, m, n).loss


def attention_loss(setting: Strategy | str, m: TaskMixture, n: int) -> float:
    """The exact optimum of the one-layer attention the figures train: eq. (6) with one shared head for PT, FT, JT;
    eq. (17), prompts and task-specific heads trained jointly, for ``"heads"`` (or ``Strategy.PGD``)."""
    if setting in (_HEADS, PGD):
        return unconstrained(m, n, JT, shared_head=False).loss
    return unconstrained(m, n, Strategy(setting)).loss


def _normalised(m: TaskMixture, values: dict[str, float]) -> dict[str, float]:
    ey2 = m.label_second_moment()
    return {k: v / ey2 for k, v in values.items()}


def _fmt(values: dict[str, float], digits: int = 4) -> str:
    return ", ".join(f"{k} {v:.{digits}g}" for k, v in values.items())


def _ordered(quantity: str, gaps: dict[str, float], scale: float, note: str) -> Comparison:
    """A strict ordering stated outright: holds iff every gap exceeds rounding (``AGREE_RTOL`` of ``scale``)."""
    tol = AGREE_RTOL * max(abs(scale), 1e-300)
    short = {k: g for k, g in gaps.items() if not g > tol}
    ok = not short
    return Comparison(quantity, "every gap > 0", [float(g) for g in gaps.values()], 0.0 if ok else 1.0, ok,
                      note + ("" if ok else f"; not strictly ordered: {_fmt(short)}"),
                      decided=None if ok else Outcome.FAILS)


# ----- Figure 2(d): "a clear, gradual improvement from adding more task-specific parameters" --------------------------
def check_gradual(m: TaskMixture, n: int) -> Comparison:
    """Figure 2(d): L(PT) > L(prompts, JT) > L(prompts and heads) at n, for the theory's optima (L*_PT > L*_JT >
    L~*_PGD, Theorems 1, 3, 4) and for the exact optima of the attention the figure trains (eqs. 6 and 17)."""
    theory = _normalised(m, {"PT": theory_loss(PT, m, n), "JT": theory_loss(JT, m, n), "PGD": theory_loss(PGD, m, n)})
    exact = _normalised(m, {"PT": attention_loss(PT, m, n), "JT": attention_loss(JT, m, n),
                            "heads": attention_loss(_HEADS, m, n)})
    gaps = {"theory PT-JT": theory["PT"] - theory["JT"], "theory JT-PGD": theory["JT"] - theory["PGD"],
            "attention PT-JT": exact["PT"] - exact["JT"], "attention JT-heads": exact["JT"] - exact["heads"]}
    return _ordered(f"gaps in L/E[y^2] between W; W, P; W, P, H (n = {n})", gaps, theory["PT"],
                    f"theory {_fmt(theory)}; attention {_fmt(exact)}; gaps {_fmt(gaps, 3)}")


GRADUAL = Claim(
    "E.2d-gradual", PAPER, "Section 6, 'Benefits of Additional Task-Specific Parameters' (Figure 2(d))", ("Section 6",),
    "There is a clear, gradual improvement from adding more task-specific parameters (plain training of W, then "
    "prompts, then prompts and task-specific heads), as shown in Figure 2(d).", check_gradual,
    scope=on_presets("fig2d"), scope_text=_presets_text("fig2d"), training=False,
    reading="as a strict ordering at each n of the optimal normalised losses of the figure's three settings: W only "
            "(PT) > W and prompts (JT) > W, prompts and heads, both for the theory's optima (L*_PT > L*_JT > L~*_PGD) "
            "and for the exact optima of the one-layer attention the figure trains (eq. 6, shared head; eq. 17, task "
            "heads); 'gradual' = each added set lowers the loss, 'clear' has no threshold (the gaps are reported)",
    docs=_DOCS,
    tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} > \mathcal{L}^{\star}_{\mathrm{JT}} > "
                      r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}} \quad \text{(Figure 2(d), } n = 1, \dots, 50)"})


# ----- Corollary 1's reading: FT most of the benefit for small n, JT for larger n --------------------------------------
@dataclass(frozen=True)
class Crossover:
    """The gains of fine-tuning (L*_PT - L*_FT) and of joint training over it (L*_FT - L*_JT) over ``ns``: ``first``, the
    first n where JT's gain is at least FT's (None: never), and ``changes``, every n where the larger gain switches."""

    ns: tuple[int, ...]
    ft_gain: tuple[float, ...]
    jt_gain: tuple[float, ...]
    first: int | None
    changes: tuple[int, ...]

    def ratio(self, n: int) -> float:
        i = self.ns.index(n)
        return self.ft_gain[i] / self.jt_gain[i] if self.jt_gain[i] else float("inf")


def crossover(m: TaskMixture, ns: tuple[int, ...] = FIGURE_RANGE) -> Crossover:
    """Where (L*_PT - L*_FT) stops exceeding (L*_FT - L*_JT) on ``ns`` (exact optima, Theorems 1-3)."""
    ft, jt = [], []
    for n in ns:
        pt_l, ft_l, jt_l = (theory_loss(s, m, n) for s in (PT, FT, JT))
        ft.append(pt_l - ft_l)
        jt.append(ft_l - jt_l)
    ft_larger = [a > b for a, b in zip(ft, jt, strict=True)]
    changes = tuple(ns[i] for i in range(1, len(ns)) if ft_larger[i] != ft_larger[i - 1])
    first = next((n for n, larger in zip(ns, ft_larger, strict=True) if not larger), None)
    return Crossover(tuple(ns), tuple(ft), tuple(jt), first, changes)


def check_crossover(m: TaskMixture, n: int) -> Comparison:
    """Corollary 1's reading over the figure's range: fine-tuning's gain is the larger at n = 1, joint training's from
    one n* on, with a single change (n is not used: the statement is about the range)."""
    c = crossover(m)
    lo, hi = c.ns[0], c.ns[-1]
    ok = c.ft_gain[0] > c.jt_gain[0] and len(c.changes) == 1
    where = (f"crossover at n* = {c.first}" if c.first is not None else f"no crossover in n = {lo}..{hi}")
    note = (f"{where}; ratio (PT-FT)/(FT-JT) {c.ratio(lo):.4g} at n = {lo}, "
            + (f"{c.ratio(c.first):.4g} at n* = {c.first}, " if c.first is not None else "")
            + f"{c.ratio(hi):.4g} at n = {hi}; the larger gain switches at n = {list(c.changes)}")
    return Comparison(f"first n in {lo}..{hi} with L*_FT - L*_JT >= L*_PT - L*_FT", "one crossover n* > 1",
                      c.first if c.first is not None else "none", 0.0 if ok else 1.0, ok, note,
                      decided=None if ok else Outcome.FAILS)


_C1_PRESETS = ("fig2a", "fig2c", "fig2d", "figA2-clean")  # noiseless (Corollary 1's setting), non-zero means

CROSSOVER = Claim(
    "E.C1-crossover", PAPER, "Corollary 1 (after eq. 15)", ("Corollary 1",),
    "The ratio between the gaps indicates that fine-tuning provides most of the benefit in few-shot regimes (small n), "
    "while joint training benefits more for larger n.", check_crossover,
    scope=on_presets(*_C1_PRESETS), scope_text=_presets_text(*_C1_PRESETS) + "; " + NOISELESS, training=False,
    reading="as a single crossover inside the figures' range n = 1..50 on the paper's noiseless presets with non-zero "
            "means: fine-tuning's gain L*_PT - L*_FT exceeds joint training's L*_FT - L*_JT at n = 1, and from one n* on "
            "joint training's is at least as large, with no other change (exact optima); the rate in the same sentence "
            "is C1.rate.ratio's",
    docs=_DOCS,
    tex={"statement": r"\exists\, n^{*} > 1:\ \mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}} > "
                      r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}} \iff n < n^{*} \quad "
                      r"(n = 1, \dots, 50)"})


# ----- Contributions / Section 4.2: "the greater the decoupling, the better the model's predictions" -----------------
def _some_mean(m: TaskMixture) -> bool:
    return bool(np.any(m.means[m.weights > 0]))


def check_decoupling(m: TaskMixture, n: int) -> Comparison:
    """L*_PT >= L*_FT >= L*_JT >= L~*_PGD (no, partial, more, full decoupling), each strict iff a task with positive
    weight has a non-zero mean (Section 4.2: with zero means the decoupling is nullified and the losses are equal).

    Gaps are measured relative to the losses that cancel in them, with Corollary 1's round-off rule: a gap beyond
    ``refute_rtol`` is non-zero, one within ``agree_rtol`` vanishes, one between cannot be told from zero in float64
    (inconclusive, never a failure)."""
    losses = {s.value: theory_loss(s, m, n) for s in (PT, FT, JT, PGD)}
    gaps = {"PT-FT": losses["PT"] - losses["FT"], "FT-JT": losses["FT"] - losses["JT"],
            "JT-PGD": losses["JT"] - losses["PGD"]}
    scale = max(max(abs(v) for v in losses.values()), 1e-300)
    kappa = max(loss_condition(m, v) for v in losses.values())
    rel = {k: g / scale for k, g in gaps.items()}
    strict = _some_mean(m)
    if strict:
        wrong = {k: gaps[k] for k, r in rel.items() if r < -refute_rtol(kappa) or (r <= refute_rtol(kappa) and not np.any(m.mean_outer))}
        undecided = {k: gaps[k] for k, r in rel.items() if k not in wrong and not r > refute_rtol(kappa)}
    else:
        wrong = {k: gaps[k] for k, r in rel.items() if abs(r) > refute_rtol(kappa)}
        undecided = {k: gaps[k] for k, r in rel.items() if k not in wrong and not agrees(abs(r), kappa)}
    ok = not wrong and not undecided
    expected = "every gap > 0 (non-zero means)" if strict else "every gap = 0 (zero means)"
    decided = None if ok else (Outcome.FAILS if wrong else Outcome.INCONCLUSIVE)
    note = f"losses {_fmt(losses, 8)}" + (f"; against it: {_fmt(wrong, 3)}" if wrong else "") + (
        f"; within float64 round-off: {_fmt(undecided, 3)}" if undecided else "")
    return Comparison("gaps L*_PT - L*_FT, L*_FT - L*_JT, L*_JT - L~*_PGD", expected, [float(g) for g in gaps.values()],
                      0.0 if ok else 1.0 if wrong else max(abs(r) for r in rel.values()), ok, note, decided=decided,
                      condition=kappa)


DECOUPLING = Claim(
    "E.decoupling", PAPER, "Contributions; Section 4.2 ('Covariance-mean decoupling')", ("Section 4",),
    "Covariance-mean decoupling correlates with model performance: the greater the decoupling, the better the model's "
    "predictions (no decoupling in plain training, the bias in W only in fine-tuning, W and the loss in joint training, "
    "full decoupling with task-specific heads).", check_decoupling, training=False,
    reading="as an ordering of the optimal losses by the decoupling Section 4.2 assigns to each setting: L*_PT >= L*_FT "
            ">= L*_JT >= L~*_PGD at each n, every step strict when some task mean is non-zero and every step an equality "
            "when all means are zero ('this decoupling is nullified'), on every mixture of Definition 2",
    docs=_DOCS,
    tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}} \ge \mathcal{L}^{\star}_{\mathrm{FT}} \ge "
                      r"\mathcal{L}^{\star}_{\mathrm{JT}} \ge \tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}},\ "
                      r"\text{strict iff some } \mu_k \ne 0"})


# ----- Section 6: "aligned given a zero task mean scenario" ---------------------------------------------------------
def zero_means(m: TaskMixture) -> bool:
    """Every task mean is zero (Section 4.2's and Figure 2(b)'s case)."""
    return not np.any(m.means)


def check_zero_mean_aligned(m: TaskMixture, n: int) -> Comparison:
    """Reduced optimum (Theorems 1-3) against the exact unconstrained optimum (eq. 6, shared head) for PT, FT and JT."""
    reduced = {s.value: theory_loss(s, m, n) for s in (PT, FT, JT)}
    exact = {s.value: attention_loss(s, m, n) for s in (PT, FT, JT)}
    gaps = {k: (reduced[k] - exact[k]) / reduced[k] for k in reduced}
    worst = max(abs(g) for g in gaps.values())
    return Comparison("largest |L*_reduced - L*_Attn| / L*_reduced over PT, FT, JT", 0.0, worst, worst,
                      worst <= AGREE_RTOL, f"reduced {_fmt(reduced, 10)}; attention {_fmt(exact, 10)}")


ZERO_MEAN_ALIGNED = Claim(
    "E.zero-mean-aligned", PAPER, "Section 6, 'Validation of the preconditioning' (Figure 2(b))", ("Section 6",),
    "We also validated that the performance of different training settings of the unconstrained model and the reduced "
    "model will be aligned given a zero task mean scenario.", check_zero_mean_aligned, scope=zero_means,
    scope_text="every task mean zero (Figure 2(b) and the generated zero-mean mixtures, with and without noise)",
    unconstrained=((PT, True), (FT, True), (JT, True)), training=False,
    reading="as equality (float64, relative 1e-8) of the optimal losses of the reduced model and of the unconstrained "
            "attention of eq. (6) with a shared head, for PT, FT and JT, whenever every task mean is zero; such a "
            "mixture is symmetric under beta -> -beta, where Assumption 1's correction (equality iff the reduced "
            "optimum is stationary for eq. 6) predicts equality, so this checks the statement and the solver together",
    docs=_DOCS,
    tex={"statement": r"\mu_k = \mathbf{0}\ \forall k \implies \mathcal{L}^{\star}_{\mathrm{Attn}} = "
                      r"\mathcal{L}^{\star}_{\mathrm{reduced}} \text{ for PT, FT, JT}"})


# ----- Figure 2(c) and Appendix D: the theory predicts the trained attention's loss ----------------------------------
def _prediction_gaps(m: TaskMixture, n: int, settings: tuple[Strategy, ...]) -> dict[str, float]:
    """(theory - exact attention) / theory per setting: what a perfectly trained model of the figure reaches against
    the theory's curve (PGD against attention with task heads, eq. 17)."""
    return {s.value: (theory_loss(s, m, n) - attention_loss(s, m, n)) / theory_loss(s, m, n) for s in settings}


def _prediction(m: TaskMixture, n: int, settings: tuple[Strategy, ...]) -> Comparison:
    gaps = _prediction_gaps(m, n, settings)
    worst = max(gaps, key=lambda k: abs(gaps[k]))
    note = ", ".join(f"{k} {100 * v:+.3g}%" for k, v in gaps.items())
    return Comparison(f"largest relative gap, theory vs exact attention ({worst})", "predicts accurately",
                      abs(gaps[worst]), abs(gaps[worst]), abs(gaps[worst]) <= AGREE_RTOL, note, measured=abs(gaps[worst]))


def check_predicts(m: TaskMixture, n: int) -> Comparison:
    """Figure 2(c): Theorems 1-3 against the exact optimum of the attention the figure trains (PT, FT, JT)."""
    return _prediction(m, n, (PT, FT, JT))


_A1_SETTINGS = {"figA1a": (PT, FT, JT), "figA1b": (PT, FT, JT, PGD), "figA1c": (PT, FT, JT), "figA1d": (PT, JT, PGD)}


def settings_of(m: TaskMixture) -> tuple[Strategy, ...]:
    """The strategies a prediction panel draws: Figure A1's own, else Figure 2(c)'s PT, FT, JT."""
    return next((s for k, s in _A1_SETTINGS.items() if on_presets(k)(m)), (PT, FT, JT))


def check_a1(m: TaskMixture, n: int) -> Comparison:
    """Figure A1: on each panel its strategies' theory (reduced model, Theorems 1-4) against the exact attention."""
    return _prediction(m, n, settings_of(m))


_TRAINED_READING = ("; the trained models' losses (upper bounds on these optima) are the trained evidence of `verify "
                    "--claim {id} --full`")

PREDICTS = Claim(
    "E.2c-predicts", PAPER, "Section 6, 'Validation of the theorems' (Figure 2(c))", ("Section 6",),
    "The alignment of the dashed and solid lines across plain training, fine-tuning and joint training suggests that "
    "our theoretical result can predict the multi-task linear regression ICL loss accurately.", check_predicts,
    scope=on_presets("fig2c"), scope_text=_presets_text("fig2c"), training=False,
    unconstrained=((PT, True), (FT, True), (JT, True)), kind=Kind.QUALITATIVE, finding=ASSUMPTION1,
    reading="as a measurement: the largest relative gap between the theory's loss (Theorems 1-3) and the exact optimum "
            "of the one-layer attention the figure trains (eq. 6, shared head), over PT, FT and JT, by n; no threshold "
            "is stated, so none is applied" + _TRAINED_READING.format(id="E.2c-predicts"),
    docs=_DOCS)

A1_ALIGNS = Claim(
    "E.A1-aligns", PAPER, "Appendix D (Figure A1)", ("Appendix D",),
    "Figure A1(a)(c): the performance of the reduced model aligns perfectly with the exact linear attention model; "
    "Figure A1(b)(d): our theoretical predictions align perfectly with the performance of the linear attention model "
    "(noisy labels, non-isotropic covariances).", check_a1,
    scope=on_presets(*_A1_SETTINGS), scope_text=_presets_text(*_A1_SETTINGS), training=False,
    unconstrained=((PT, True), (FT, True), (JT, True), (JT, False)), kind=Kind.QUALITATIVE, finding=ASSUMPTION1,
    reading="as a measurement: on each panel, the largest relative gap between the theory's loss (reduced model, "
            "Theorems 1-4) and the exact optimum of the one-layer attention (eq. 6, shared head; eq. 17, task heads for "
            "L~*_PGD) over the panel's strategies, by n; 'perfectly' states no threshold, so none is applied"
            + _TRAINED_READING.format(id="E.A1-aligns"),
    docs=_DOCS)


# ----- Appendix E.2 (1): few-shot benefit that diminishes with n -----------------------------------------------------
def gains(m: TaskMixture, n: int, *, exact: bool = True) -> dict[str, float]:
    """The one-layer gains of task-specific parameters over plain training, in L/E[y^2]: prompts (JT) and prompts with
    heads, from the exact attention optima (``exact``) or the theory's (L~*_PGD for heads)."""
    loss = attention_loss if exact else theory_loss
    pt = loss(PT, m, n)
    return _normalised(m, {"prompts": pt - loss(JT, m, n), "prompts+heads": pt - loss(PGD, m, n)})


def check_few_shot(m: TaskMixture, n: int) -> Comparison:
    """Appendix E.2 (1): the gain of prompts and heads over plain training at n, exact one-layer attention."""
    g = gains(m, n)
    pt = attention_loss(PT, m, n)
    rel = {k: v * m.label_second_moment() / pt for k, v in g.items()}
    region = "n < d" if n < m.d else "n >= d"
    return Comparison(f"gain (L_PT - L_prompts+heads) / E[y^2], one layer ({region})", "significant for n < d",
                      g["prompts+heads"], g["prompts+heads"], g["prompts+heads"] <= AGREE_RTOL,
                      f"n = {n} ({region}): gain / E[y^2] {_fmt(g, 3)}; relative to L_PT {_fmt(rel, 3)}",
                      measured=g["prompts+heads"])


def check_diminishes(m: TaskMixture, n: int) -> Comparison:
    """Appendix E.2 (1): the gains (prompts; prompts and heads) fall at every step of n = 1..50 (theory's optima; n is
    not used: the statement is about the range)."""
    series = {n_: gains(m, n_, exact=False) for n_ in FIGURE_RANGE}
    rises = {k: [n_ for n_ in FIGURE_RANGE[1:] if series[n_][k] >= series[n_ - 1][k]] for k in ("prompts", "prompts+heads")}
    ok = not any(rises.values())
    relative = {n_: series[n_]["prompts+heads"] * m.label_second_moment() / theory_loss(PT, m, n_) for n_ in FIGURE_RANGE}
    low = min(relative, key=relative.__getitem__)
    lo, hi = FIGURE_RANGE[0], FIGURE_RANGE[-1]
    note = (f"gain / E[y^2] at n = {lo}: {_fmt(series[lo], 3)}; n = {hi}: {_fmt(series[hi], 3)}; relative to L*_PT the "
            f"heads' gain is smallest at n = {low} ({100 * relative[low]:.3g}%) and {100 * relative[hi]:.3g}% at n = {hi}")
    if not ok:
        note += f"; rises at n = {rises}"
    return Comparison(f"n in {lo + 1}..{hi} where a gain does not fall", "none", [n_ for r in rises.values() for n_ in r],
                      0.0 if ok else 1.0, ok, note, decided=None if ok else Outcome.FAILS)


_E2 = ("Appendix E",)
_E2_SOURCE = "Appendix E.2 (Figure A2)"

FEW_SHOT = Claim(
    "E.A2-few-shot", PAPER, _E2_SOURCE, _E2,
    "For a clean dataset, task-specific parameters significantly improve performance in the few-shot context region "
    "(where the context length n < d).", check_few_shot, scope=on_presets("figA2-clean"),
    scope_text=_presets_text("figA2-clean"), training=False, kind=Kind.QUALITATIVE,
    unconstrained=((PT, True), (JT, True), (JT, False)),
    reading="as a measurement on Figure A2(a) (one layer): the gain of prompts and heads over plain training, "
            "(L_PT - L_prompts+heads) / E[y^2], of the exact optima of the one-layer attention, by n (n < d = 10 and "
            "beyond); 'significantly' states no threshold, so none is applied",
    docs=_DOCS)

DIMINISHES = Claim(
    "E.A2-diminishes", PAPER, _E2_SOURCE, _E2,
    "For a clean dataset, the benefit of task-specific parameters diminishes as n increases.", check_diminishes,
    scope=on_presets("figA2-clean"), scope_text=_presets_text("figA2-clean"), training=False,
    reading="as a monotone decrease of the benefit the figure draws (the gap in L/E[y^2] between plain training and "
            "prompts, and between plain training and prompts with heads) at every step of n = 1..50, from the theory's "
            "one-layer optima (L*_PT, L*_JT, L~*_PGD); the exact attention's gains at the search's n are E.A2-few-shot's; "
            "the benefit relative to L*_PT is reported beside it",
    docs=_DOCS)


# ----- Appendix E.2 (2): task-specific parameters mitigate label noise -----------------------------------------------
def noise_impacts(m: TaskMixture, n: int) -> dict[str, float]:
    """L(noisy) - L(clean) per setting (exact one-layer attention optima; the clean mixture is ``m`` with sigma^2 = 0)."""
    clean = TaskMixture(m.sigma_x, m.weights, m.means, m.covs, 0.0)
    return {str(k): attention_loss(s, m, n) - attention_loss(s, clean, n)
            for k, s in (("PT", PT), ("prompts", JT), ("prompts+heads", _HEADS))}


def _check_noise(settings: tuple[str, ...]) -> Callable[[TaskMixture, int], Comparison]:
    def check(m: TaskMixture, n: int) -> Comparison:
        impact = noise_impacts(m, n)
        gaps = {f"PT-{k}": impact["PT"] - impact[k] for k in settings}
        return _ordered(f"noise impact (the loss with the figure's noise minus the loss without) of PT minus that of "
                        f"{', '.join(settings)} (n = {n})", gaps,
                        impact["PT"], f"impact of label noise (raw loss): {_fmt(impact, 5)}")
    check.__doc__ = ("Appendix E.2 (2): label noise raises the exact one-layer optimum less with "
                     f"{' and '.join(settings)} than without (equivalently: their gain over PT is larger when noisy).")
    return check


def check_noise_still_helps(m: TaskMixture, n: int) -> Comparison:
    """The weaker reading: on noisy data, task-specific parameters still lower the exact one-layer optimum."""
    losses = {"PT": attention_loss(PT, m, n), "prompts": attention_loss(JT, m, n),
              "prompts+heads": attention_loss(_HEADS, m, n)}
    gaps = {"PT-prompts": losses["PT"] - losses["prompts"], "prompts-heads": losses["prompts"] - losses["prompts+heads"]}
    return _ordered(f"noisy gaps L_PT - L_prompts, L_prompts - L_heads (n = {n})", gaps, losses["PT"], _fmt(losses, 6))


check_noise = _check_noise(("prompts", "prompts+heads"))
check_noise_prompts = _check_noise(("prompts",))

NOISE = Claim(
    "E.A2-noise", PAPER, _E2_SOURCE, _E2, "Task-specific parameters help mitigate the impact of label noise.",
    check_noise, scope=on_presets("figA2-noisy"), scope_text=_presets_text("figA2-noisy") + " against figA2-clean",
    training=False, unconstrained=((PT, True), (JT, True), (JT, False)), severity=Severity.HARMLESS, finding=HEADS_NOISE,
    reading="as an ordering at each n of the increase of the exact one-layer optimum that label noise causes (Figure "
            "A2(d) against A2(a): sigma^2 = 5 against 0, raw losses): smaller with prompts, and smaller with prompts "
            "and heads, than with plain training; equivalently, their gain over plain training is larger on noisy data "
            "(the figures divide by different E[y^2], 53.9 and 48.9, which would shrink every noisy gain)",
    weaker=Reading("as 'task-specific parameters still help under label noise': on the noisy mixture, prompts lower "
                   "plain training's exact one-layer optimum and heads lower it further, at each n",
                   check_noise_still_helps),
    correction="On Figure A2's mixture prompts (joint training) mitigate label noise at every n of the figure, but task-"
               "specific heads do so only at the smallest n: from n = 3 on, noise raises the optimum of attention with "
               "heads more than plain training's, so the heads' gain shrinks under noise (they still lower the loss).",
    corrected=check_noise_prompts, docs=_DOCS,
    tex={"statement": r"\mathcal{L}_{X}(\sigma^2 = 5) - \mathcal{L}_{X}(0) < \mathcal{L}_{\mathrm{PT}}(\sigma^2 = 5) - "
                      r"\mathcal{L}_{\mathrm{PT}}(0),\quad X \in \{\text{prompts}, \text{prompts + heads}\}",
         "corrected": r"\mathcal{L}_{\mathrm{prompts}}(\sigma^2 = 5) - \mathcal{L}_{\mathrm{prompts}}(0) < \mathcal{L}_{\mathrm{PT}}(\sigma^2 = 5) - "
                      r"\mathcal{L}_{\mathrm{PT}}(0) \text{ at every } n\text{; with heads only at small } n",
         "why": r"on Figure A2's mixture label noise raises the optimum with task-specific heads more than plain training's from "
                r"$n = 3$ on"})


# ----- Appendix E.2 (3): depth narrows the gaps; task-specific parameters remain beneficial ---------------------------
def check_depth(m: TaskMixture, n: int) -> Comparison:
    """Appendix E.2 (3), its one-layer end: the exact one-layer gaps that depth would narrow (what the trained stacks
    of ``verify --claim E.A2-depth --full`` are compared with)."""
    g = gains(m, n)
    return Comparison("one-layer gain (L_PT - L_prompts+heads) / E[y^2] (depth: trained evidence, verify --claim "
                      "E.A2-depth --full)", "narrowed by depth, still > 0", g["prompts+heads"], g["prompts+heads"],
                      g["prompts+heads"] <= AGREE_RTOL, f"exact one-layer gains / E[y^2] at n = {n}: {_fmt(g, 4)}", measured=g["prompts+heads"])


DEPTH = Claim(
    "E.A2-depth", PAPER, _E2_SOURCE, _E2,
    "Although increasing the depth of the attention model can narrow the performance gaps between different numbers "
    "of trainable task-specific parameters, adding task-specific parameters remains beneficial (L = 1, 2, 3).",
    check_depth, scope=on_presets("figA2-clean", "figA2-noisy"),
    scope_text=_presets_text("figA2-clean", "figA2-noisy"), training=False, kind=Kind.QUALITATIVE,
    unconstrained=((PT, True), (JT, True), (JT, False)),
    reading="as a measurement of the exact one-layer gaps (what depth would narrow), with the depth part decided from "
            "trained L-layer stacks: a trained loss is an upper bound on its model's optimum, so 'depth lowers the "
            "loss' is shown by a trained stack below the exact one-layer optimum, 'task parameters remain beneficial' "
            "is decided between trained stacks of one budget (paired by training seed, the spread over seeds), and "
            "'depth narrows the gap' between optima needs lower bounds the toolkit lacks: it is reported for the "
            "trained gaps only; not resolved at the quick budget: the paper's protocol decides it, as Ray tasks "
            "(`verify --claim E.A2-depth --full --executor ray`) or on one GPU (`--full --device cuda`)",
    docs=_DOCS)


_TEX = {  # the typeset sentence of the claims whose records state it in words only
    "E.2c-predicts": r"\mathcal{L}^{\star}_{\mathrm{theory}} \approx \mathcal{L}^{\star}_{\mathrm{Attn}} \quad \text{(Figure 2(c): PT, FT, JT)}",
    "E.A1-aligns": r"\mathcal{L}^{\star}_{\mathrm{theory}} \approx \mathcal{L}^{\star}_{\mathrm{Attn}} \quad \text{(Figure A1(a)-(d))}",
    "E.A2-few-shot": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{X} \text{ large for } n < d \quad \text{(Figure A2, clean)}",
    "E.A2-depth": r"\mathcal{L}_{\mathrm{PT}}^{(L)} - \mathcal{L}_{X}^{(L)} > 0 \text{ at } L = 1, 2, 3 \text{, narrowing with "
                  r"depth } L \quad \text{(Figure A2)}",
    "E.A2-diminishes": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{X} \text{ decreases in } n \quad \text{(Figure A2, clean)}",
}


def _typeset(c: Claim) -> Claim:
    statement = c.tex.get("statement") or _TEX[c.id]
    return replace(c, tex={**c.tex, "statement": statement, "claimed": c.tex.get("claimed", statement)})


CLAIMS = tuple(_typeset(c)  # the sentence is the claim: claimed = statement
               for c in (GRADUAL, PREDICTS, ZERO_MEAN_ALIGNED, A1_ALIGNS, CROSSOVER, DECOUPLING, FEW_SHOT, DIMINISHES, NOISE, DEPTH))


# ----- the tables of docs/experiments.md ----------------------------------------------------------------------------
def figure_tables() -> dict[str, Any]:
    """Each statement's numbers over the figures' whole range n = 1..50 (exact; a few seconds)."""
    out: dict[str, Any] = {}
    out["crossover"] = {name: {"first": c.first, "changes": list(c.changes), "ratio_n1": c.ratio(1),
                               "ratio_n50": c.ratio(FIGURE_RANGE[-1])}
                        for name in _C1_PRESETS for c in [crossover(preset(name))]}
    d2 = preset("fig2d")
    out["gradual_min_gaps"] = {k: min(float(check_gradual(d2, n).derived[i]) for n in FIGURE_RANGE)
                               for i, k in enumerate(("theory PT-JT", "theory JT-PGD", "attention PT-JT",
                                                      "attention JT-heads"))}
    noisy = preset("figA2-noisy")
    fails = {n: check_noise(noisy, n).holds for n in FIGURE_RANGE}
    failing = [n for n, ok in fails.items() if not ok]
    out["noise_heads_fail_at"] = {"first": failing[0] if failing else None, "count": len(failing),
                                  "of": len(FIGURE_RANGE)}
    out["noise_prompts_holds_everywhere"] = all(check_noise_prompts(noisy, n).holds for n in FIGURE_RANGE)
    clean = preset("figA2-clean")
    out["diminishes"] = check_diminishes(clean, 1).note
    out["few_shot"] = {n: gains(clean, n) for n in (1, 5, 9, 10, 20, 50)}
    return out


def main() -> int:
    """Print :func:`figure_tables` (the numbers of docs/experiments.md)."""
    import json
    json.dump(figure_tables(), sys.stdout, indent=2, default=float)
    sys.stdout.write("\n")
    return 0


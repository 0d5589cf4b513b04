"""The gaps between strategies on a panel, against n: the quantity the experiments' verdicts are about.

The loss panels (:mod:`verify.panels`) draw each strategy's loss; the experiments' statements
(:mod:`claims.papers.chang2025.experiments`) are about differences of those losses: Corollary 1's reading compares
fine-tuning's gain L*_PT - L*_FT with joint training's L*_FT - L*_JT and finds the crossover n* (``E.C1-crossover``);
Figure 2(d) and Appendix E.2 compare the gains of prompts (L_PT - L_JT) and of prompts with task-specific heads
(L_PT - L_PGD) (``E.2d-gradual``, ``E.A2-few-shot``, ``E.A2-diminishes``, ``E.A2-noise``; per depth L = 1, 2, 3,
``E.A2-depth``).  A gap panel draws them, divided by E[y^2] as the figures are:

* ``theory``: the theory's optima (Theorems 1-4, :func:`claims.papers.chang2025.experiments.theory_loss`, the
  function the claims decide with) at every integer n of the claims' range n = 1..50 and of the panel's;
* ``attention``: the exact optima of the one-layer attention (eq. 6, eq. 17), from the panel's own exact series, at
  every integer n where the panel has them (on a multi-layer panel: the one-layer references);
* ``trained``: the difference of the panel's trained points at each n where both strategies have one, with the
  standard error of a difference of independent trainings (each point trains from its own seed);
* ``n*``: the crossover of Corollary 1's reading, :func:`claims.papers.chang2025.experiments.crossover` over the
  claims' range, marked where the claim ``E.C1-crossover`` is in scope (the noiseless presets with non-zero means).

Where a panel plots FT, or the crossover is in scope, the Corollary 1 pair is drawn; where it plots task heads
(PGD), the gains of prompts and of prompts with heads.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from claims.papers.chang2025 import experiments as paper_experiments
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from verify.panels import Kind, PanelData, Series, paper_claim

__all__ = ["GAP_CLAIMS", "GAP_CSV_COLUMNS", "GAP_NAMES", "GapPanel", "GapPoint", "GapSeries", "gap_panel"]

PT, FT, JT, PGD = Strategy.PT, Strategy.FT, Strategy.JT, Strategy.PGD
# (minuend, subtrahend) -> what the gap is, in the experiments' words
GAP_NAMES: dict[tuple[Strategy, Strategy], str] = {
    (PT, FT): "fine-tuning's gain PT - FT", (FT, JT): "joint training's gain FT - JT",
    (PT, JT): "prompts' gain PT - JT", (PT, PGD): "prompts and heads' gain PT - (JT + task heads)"}
# The experiments' claims about these gaps (a panel names those in scope on its mixture).
GAP_CLAIMS = ("E.C1-crossover", "E.2d-gradual", "E.A2-few-shot", "E.A2-diminishes", "E.A2-noise", "E.A2-depth")
CROSSOVER_CLAIM = "E.C1-crossover"
GAP_CSV_COLUMNS = ("panel", "gap", "source", "layers", "n", "gap_over_Ey2", "stderr_over_Ey2", "note")


@dataclass(frozen=True)
class GapPoint:
    """One value of a gap, divided by E[y^2]; ``stderr`` for trained gaps only."""

    n: int
    value: float
    stderr: float | None = None


@dataclass
class GapSeries:
    """One gap ``minuend - subtrahend`` from one source ("theory", "attention" or "trained") at ``layers``."""

    minuend: Strategy
    subtrahend: Strategy
    source: str
    layers: int
    points: list[GapPoint]
    note: str = ""
    reference: bool = False  # a one-layer curve on a multi-layer panel

    @property
    def name(self) -> str:
        return GAP_NAMES[self.minuend, self.subtrahend]

    @property
    def label(self) -> str:
        source = {"theory": "theory's optima", "attention": "exact attention (eq. 6/17)",
                  "trained": f"trained, {self.layers}-layer, ±1 s.e."}[self.source]
        return f"{self.name}: {source}" + (", 1-layer reference" if self.reference else "")


@dataclass
class GapPanel:
    """The gaps of one panel, the crossover n* where its claim computes it, and the claims the gaps concern."""

    panel: str
    figure: str
    preset: str
    layers: int
    label_second_moment: float
    series: list[GapSeries]
    crossover: int | None
    claims: list[str]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"panel": self.panel, "figure": self.figure, "preset": self.preset, "layers": self.layers,
                "label_second_moment": self.label_second_moment, "normalisation": "gap / E[y^2]",
                "crossover": {"claim": CROSSOVER_CLAIM, "n_star": self.crossover}, "claims": self.claims,
                "notes": self.notes,
                "series": [{"gap": f"{s.minuend}-{s.subtrahend}", "name": s.name, "label": s.label, "source": s.source,
                            "layers": s.layers, "reference": s.reference, "note": s.note, "points": [asdict(p) for p in s.points]}
                           for s in self.series]}

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(GAP_CSV_COLUMNS)
        for s in self.series:
            for p in s.points:
                writer.writerow([self.panel, f"{s.minuend}-{s.subtrahend}", s.source, s.layers, p.n, repr(p.value),
                                 "" if p.stderr is None else repr(p.stderr), s.note])
        return buf.getvalue()


def _pairs(data: PanelData, crossover_in_scope: bool) -> list[tuple[Strategy, Strategy]]:
    strategies = data.spec.strategies
    pairs = [(PT, FT), (FT, JT)] if FT in strategies or crossover_in_scope else []
    return pairs + ([(PT, JT), (PT, PGD)] if PGD in strategies else [])


def _by_n(series: list[Series], kind: Kind, strategy: Strategy) -> dict[int, tuple[float, float | None]]:
    """The raw (loss, stderr) of the panel's series of ``kind`` for ``strategy`` at each n where it has a loss."""
    return {p.n: (p.loss, p.stderr) for s in series if s.kind is kind and s.strategy is strategy
            for p in s.points if p.loss is not None}


def _theory(mixture: TaskMixture, a: Strategy, b: Strategy, ns: list[int], scale: float) -> list[GapPoint]:
    loss = paper_experiments.theory_loss
    return [GapPoint(n, (loss(a, mixture, n) - loss(b, mixture, n)) / scale) for n in ns]


def gap_panel(data: PanelData) -> GapPanel:
    """The gaps of ``data``'s panel (see the module docstring): theory at every integer n of 1..max(50, the panel's
    largest n), the exact attention and the trained points where the panel has them, n* where in scope."""
    mixture, scale, layers = data.mixture, data.label_second_moment, data.spec.layers
    in_scope = paper_claim(CROSSOVER_CLAIM).scope(mixture)
    n_star = paper_experiments.crossover(mixture).first if in_scope else None
    ns = list(range(1, max(paper_experiments.FIGURE_RANGE[-1], max(data.budget.ns)) + 1))
    series: list[GapSeries] = []
    for a, b in _pairs(data, in_scope):
        series.append(GapSeries(a, b, "theory", 1, _theory(mixture, a, b, ns, scale),
                                note="Theorems 1-4 (reduced model), exact", reference=layers != 1))
        exact_a, exact_b = _by_n(data.series, Kind.UNCONSTRAINED, a), _by_n(data.series, Kind.UNCONSTRAINED, b)
        common = sorted(set(exact_a) & set(exact_b))
        if common:
            series.append(GapSeries(a, b, "attention", 1, [GapPoint(n, (exact_a[n][0] - exact_b[n][0]) / scale)
                                                           for n in common],
                                    note="exact optima of the one-layer attention found (theory.unconstrained)",
                                    reference=layers != 1))
        trained_a, trained_b = _by_n(data.series, Kind.TRAINED, a), _by_n(data.series, Kind.TRAINED, b)
        common = sorted(set(trained_a) & set(trained_b))
        if common:
            points = []
            for n in common:
                (la, sa), (lb, sb) = trained_a[n], trained_b[n]
                se = math.hypot(sa, sb) / scale if sa is not None and sb is not None else None
                points.append(GapPoint(n, (la - lb) / scale, se))
            series.append(GapSeries(a, b, "trained", layers, points,
                                    note="difference of two independent trainings (each from its own seed); "
                                         "s.e. in quadrature"))
    claims = [c for c in GAP_CLAIMS if paper_claim(c).scope(mixture)]
    notes = [f"gaps divided by E[y²] = {scale:.6g}; theory at every integer n = 1..{ns[-1]}"]
    if n_star is not None:
        notes.append(f"n* = {n_star}: the first n in {paper_experiments.FIGURE_RANGE[0]}.."
                     f"{paper_experiments.FIGURE_RANGE[-1]} where joint training's gain is at least fine-tuning's "
                     f"({CROSSOVER_CLAIM}, exact optima)")
    elif in_scope:
        notes.append(f"no crossover in n = {paper_experiments.FIGURE_RANGE[0]}..{paper_experiments.FIGURE_RANGE[-1]} "
                     f"({CROSSOVER_CLAIM})")
    if not any(s.source == "trained" for s in series):
        notes.append("no trained gaps: the panel has no two trained points at one n")
    return GapPanel(data.spec.id, data.spec.figure, data.spec.preset, layers, scale, series, n_star, claims, notes)

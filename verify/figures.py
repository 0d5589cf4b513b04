"""Reproduce the paper's loss-vs-context-length panels: Figure 2(a)-(d), A1(a)-(d), A2(a)-(f).

Each panel plots the test loss normalised by E[y^2] (Section 6: "all results
are normalized by E[||y||^2]") against the context length n, for the panel's
training settings, with:

* ``derived``: the toolkit's optimal loss (:func:`theory.optima.optimum`; for
  attention with task-specific heads, the achievable loss of
  :func:`theory.attention.head_scaled_pgd_optimum`), on every integer n of the grid;
* ``claimed``: the paper's formula (Theorems 1-4, Proposition 1), drawn only
  where it differs from the derived curve (relative difference above
  :data:`theory.claims.REFUTE_RTOL` at some n);
* ``unconstrained``: on panels 2(a)-(d), A1(a), A1(c), the exact optimum of the
  unconstrained one-layer attention (eq. 6, one shared head, no Assumption 1;
  :func:`theory.unconstrained.unconstrained_optimum`) for PT and JT;
* ``montecarlo``: sampled loss at the derived optimum (fast estimator, with
  its standard error) at the budget's n values;
* ``trained``: trained models' losses from a :mod:`verify.trained` provider,
  or rows that say "trained: not available";
* ``reference``: for the multi-layer panels of Appendix E, which the toolkit has
  no theory for, the one-layer derived curves, labelled as such.

:func:`make_figures` writes ``fig_<id>.png``, ``.svg``, ``.csv`` and ``.json``
for each panel into a directory.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from montecarlo import PGDPredictor, ReducedPredictor, estimate_loss
from theory.attention import head_scaled_pgd_optimum
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.record import REFUTE_RTOL
from theory.registry import claim as registered_claim
from theory.unconstrained import unconstrained_optimum
from verify.panels import PANELS, QUICK, STRATEGY_LABELS, Budget, PanelSpec, panel
from verify.trained import NOT_AVAILABLE, TrainedProvider, default_provider

KINDS = ("derived", "claimed", "unconstrained", "montecarlo", "trained", "reference")
# Settings with a trained model of their own. L~*_PGD (eq. 19) is a predictor, not a model: its trained
# counterpart is attention with prompts and heads ("HEADS", eq. 18), which Proposition 1 equates with it.
TRAINED_STRATEGIES = ("PT", "FT", "JT", "HEADS")
CSV_COLUMNS = ("panel", "series", "strategy", "kind", "layers", "n", "loss_over_Ey2", "stderr_over_Ey2", "loss", "stderr",
               "note")


@dataclass(frozen=True)
class Point:
    """One value of a series: raw loss and stderr, and both divided by E[y^2]. ``loss`` None: not available."""

    n: int
    loss: float | None
    stderr: float | None = None
    normalised: float | None = None
    normalised_stderr: float | None = None
    note: str = ""


@dataclass
class Series:
    """One curve or set of markers on a panel."""

    label: str
    strategy: str
    kind: str
    points: list[Point] = field(default_factory=list)
    claim: str | None = None
    note: str = ""


@dataclass
class PanelData:
    """Everything a panel shows, in numbers."""

    spec: PanelSpec
    mixture: TaskMixture
    label_second_moment: float
    budget: Budget
    seed: int
    series: list[Series]
    notes: list[str]

    def agreement(self) -> dict[str, dict[str, Any]]:
        """Per setting: the largest |z| of Monte Carlo vs derived, and the largest relative gap of trained vs derived."""
        derived = {s.strategy: {p.n: p.loss for p in s.points} for s in self.series if s.kind == "derived"}
        out: dict[str, dict[str, Any]] = {}
        for s in self.series:
            curve = derived.get(s.strategy)
            if curve is None or s.kind not in ("montecarlo", "trained"):
                continue
            entry = out.setdefault(s.strategy, {})
            if s.kind == "montecarlo":
                zs = [(p.loss - curve[p.n]) / p.stderr for p in s.points
                      if p.loss is not None and p.stderr and p.n in curve]
                entry["montecarlo_max_abs_z"] = max((abs(z) for z in zs), default=None)
                entry["montecarlo_points"] = len(zs)
            else:
                gaps = [(p.loss - curve[p.n]) / curve[p.n] for p in s.points if p.loss is not None and p.n in curve]
                entry["trained_max_rel_gap"] = max(gaps, key=abs) if gaps else None
                entry["trained_points"] = len(gaps)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "panel": self.spec.id, "figure": self.spec.figure, "caption": self.spec.caption, "preset": self.spec.preset,
            "layers": self.spec.layers, "mixture": self.mixture.to_dict(), "label_second_moment": self.label_second_moment,
            "normalisation": "loss / E[y^2], E[y^2] = tr(Sigma_tilde) + sigma^2",
            "budget": {**asdict(self.budget), "description": self.budget.describe()}, "seed": self.seed,
            "notes": self.notes, "agreement": self.agreement(),
            "series": [{"label": s.label, "strategy": s.strategy, "kind": s.kind, "claim": s.claim, "note": s.note,
                        "points": [asdict(p) for p in s.points]} for s in self.series],
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in self.series:
            for p in s.points:
                writer.writerow([self.spec.id, s.label, s.strategy, s.kind, self.spec.layers, p.n, _fmt(p.normalised),
                                 _fmt(p.normalised_stderr), _fmt(p.loss), _fmt(p.stderr), p.note or s.note])
        return buf.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


# Which registered claim states each setting's optimal loss (main text for sigma^2 = 0, appendix otherwise).
def _claim_for(strategy: str, mixture: TaskMixture) -> str:
    noiseless = mixture.sigma2 == 0.0
    return {"PT": "T1.loss" if noiseless else "T1.loss.appendix", "FT": "T2.loss",
            "JT": "T3.loss" if noiseless else "T3.loss.appendix", "PGD": "T4.loss" if noiseless else "T4.loss.appendix",
            "HEADS": "P1.equality"}[strategy]


def _derived_loss(strategy: str, mixture: TaskMixture, n: int) -> float:
    if strategy == "HEADS":
        return head_scaled_pgd_optimum(mixture, n).loss
    return optimum(strategy, mixture, n).loss


def _predictor(strategy: str, mixture: TaskMixture, n: int) -> ReducedPredictor | PGDPredictor:
    if strategy == "HEADS":
        h = head_scaled_pgd_optimum(mixture, n)
        return PGDPredictor(h.W, h.scales)
    opt = optimum(strategy, mixture, n)
    return PGDPredictor(opt.W) if strategy == "PGD" else ReducedPredictor(opt.W, opt.P)


def _curve_ns(budget: Budget) -> list[int]:
    """Every integer n up to the budget's largest n (the derived curves are exact and cheap)."""
    return list(range(1, max(budget.ns) + 1))


def _point(n: int, loss: float | None, stderr: float | None, scale: float, note: str = "") -> Point:
    return Point(n, loss, stderr, None if loss is None else loss / scale, None if stderr is None else stderr / scale, note)


def _seed_for(seed: int, *parts: int) -> int:
    return int(np.random.SeedSequence([seed, *parts]).generate_state(1)[0])


def _panel_index(spec: PanelSpec) -> int:
    return list(PANELS).index(spec.id) if spec.id in PANELS else len(PANELS)


def panel_work(spec: PanelSpec, budget: Budget) -> int:
    """Units of work (Monte Carlo estimates and trainings) a panel needs, for the progress bar."""
    mc = len(spec.strategies) * len(budget.ns) if spec.layers == 1 else 0
    return 1 + mc + len(_trained(spec)) * len(budget.train_ns)


def _trained(spec: PanelSpec) -> list[str]:
    return [s for s in spec.strategies if s in TRAINED_STRATEGIES]


def compute_panel(spec: PanelSpec, *, budget: Budget = QUICK, seed: int = 0, provider: TrainedProvider | None = None,
                  device: str = "cpu", advance: Any = None) -> PanelData:
    """The numbers behind one panel (see the module docstring for the series)."""
    provider = provider or default_provider(device=device)
    step = advance or (lambda: None)
    mixture = preset(spec.preset)
    scale = mixture.label_second_moment()
    ns, curve_ns = list(budget.ns), _curve_ns(budget)
    series: list[Series] = []
    notes: list[str] = [budget.describe()]
    theory_kind = "derived" if spec.layers == 1 else "reference"
    if spec.layers != 1:
        notes.append(f"no derived theory for {spec.layers}-layer attention in this toolkit (Appendix E is empirical); "
                     "dotted curves are the 1-layer derived optima, for reference only")
    for strategy in spec.strategies:
        derived = [_point(n, _derived_loss(strategy, mixture, n), None, scale) for n in curve_ns]
        label = STRATEGY_LABELS[strategy] + ("" if spec.layers == 1 else " (1-layer derived, reference)")
        series.append(Series(label, strategy, theory_kind, derived))
        if spec.layers == 1:
            series.extend(_claimed_series(strategy, mixture, curve_ns, scale))
    unconstrained = _unconstrained_series(spec, mixture, budget, scale)
    series.extend(unconstrained)
    if unconstrained:
        notes.append("unconstrained attention: exact optimum only; its trained points are not drawn, since the quick "
                     "training budget's optimisation error (about 1%) exceeds much of the gap to the reduced model")
    step()
    if spec.layers == 1:
        for si, strategy in enumerate(spec.strategies):
            pts = []
            for n in ns:
                est = estimate_loss(mixture, n, _predictor(strategy, mixture, n), method="fast",
                                    target_rel_se=budget.mc_target_rel_se, min_samples=budget.mc_min_samples,
                                    max_samples=budget.mc_max_samples, seed=_seed_for(seed, _panel_index(spec), si, n), device=device)
                pts.append(_point(n, est.mean, est.stderr, scale, f"{est.samples} samples, fast estimator"))
                step()
            series.append(Series(f"{strategy}: Monte Carlo at the derived optimum", strategy, "montecarlo", pts))
    else:
        notes.append("Monte Carlo: not applicable (no derived L-layer parameters to sample)")
    missing = set()
    for si, strategy in enumerate(_trained(spec)):
        pts = []
        for n in budget.train_ns:
            tp = provider(strategy, mixture, n, layers=spec.layers, seed=_seed_for(seed, _panel_index(spec), 100 + si, n), quick=budget.train_quick)
            if tp.loss is None:
                missing.add(tp.note or NOT_AVAILABLE)
            pts.append(_point(n, tp.loss, tp.stderr, scale, tp.note))
            step()
        series.append(Series(f"{strategy}: trained ({spec.layers}-layer)", strategy, "trained", pts))
    notes.extend(sorted(missing))
    return PanelData(spec, mixture, scale, budget, seed, series, notes)


UNCONSTRAINED_PANELS = ("2a", "2b", "2c", "2d", "A1a", "A1c")  # Section 6 / Appendix D: Assumption 1 panels and 2(c)-(d)


def _unconstrained_ns(budget: Budget) -> list[int]:
    """About 12 log-spaced n up to the budget's largest, plus the budget's own n (each point is a global solve)."""
    top = max(budget.ns)
    grid = {int(round(v)) for v in np.geomspace(1, top, 12)} | set(budget.ns)
    return sorted(grid)


def _unconstrained_series(spec: PanelSpec, mixture: TaskMixture, budget: Budget, scale: float) -> list[Series]:
    """The exact optimum of the unconstrained one-layer attention (eq. 6, one shared head; theory.unconstrained) for
    joint training, and plain training where the panel has it: what Assumption 1's reduced model leaves out."""
    if spec.layers != 1 or spec.id not in UNCONSTRAINED_PANELS:
        return []
    out = []
    for strategy in [s for s in ("PT", "JT") if s in spec.strategies]:
        pts = [_point(n, unconstrained_optimum(mixture, n, strategy, starts=4).loss, None, scale)
               for n in _unconstrained_ns(budget)]
        out.append(Series(f"{strategy}: exact optimum of the unconstrained attention (eq. 6, shared head)", strategy,
                          "unconstrained", pts, claim="S6.shared-head" if strategy == "JT" else "A1.PT",
                          note="global optimum over A, a, prompts without Assumption 1 (theory.unconstrained)"))
    return out


def _claimed_series(strategy: str, mixture: TaskMixture, ns: list[int], scale: float) -> list[Series]:
    """The paper's stated loss for this setting, only when it differs from the derived one somewhere on the grid."""
    claim = registered_claim(_claim_for(strategy, mixture))
    if not claim.scope(mixture):
        return []
    comps = [claim.check(mixture, n) for n in ns]
    if max(c.rel_error for c in comps) <= REFUTE_RTOL:
        return []
    pts = [_point(n, float(c.claimed), None, scale) for n, c in zip(ns, comps, strict=True)]
    return [Series(f"{strategy}: paper's claim ({claim.id})", strategy, "claimed", pts, claim=claim.id,
                   note=f"differs from derived by up to {max(c.rel_error for c in comps):.2e} (relative)")]


@dataclass(frozen=True)
class FigureFiles:
    """The files written for one panel."""

    panel: str
    figure: str
    png: Path
    svg: Path
    csv: Path
    json: Path
    agreement: dict[str, dict[str, Any]]
    notes: tuple[str, ...]


def check_output_dir(path: str | Path, flag: str = "--plot") -> Path:
    """Create ``path`` if needed and make sure files can be written there, else VerifyError with one line."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write to {str(out)!r}: {exc.strerror or exc}") from None
    return out


def write_panel(data: PanelData, out_dir: Path) -> FigureFiles:
    """Write fig_<id>.png/.svg/.csv/.json for one panel."""
    from verify.plotting import render

    stem = out_dir / f"fig_{data.spec.id}"
    paths = {ext: stem.with_suffix(f".{ext}") for ext in ("png", "svg", "csv", "json")}
    tmp = {ext: out_dir / f".{p.name}.tmp.{ext}" for ext, p in paths.items()}  # same directory, same format suffix
    try:
        render(data, tmp["png"], tmp["svg"])
        tmp["csv"].write_text(data.to_csv(), encoding="utf-8")
        tmp["json"].write_text(json.dumps(data.to_json(), indent=2), encoding="utf-8")
        for ext, p in paths.items():  # each file appears whole or not at all
            os.replace(tmp[ext], p)
    finally:
        for t in tmp.values():
            t.unlink(missing_ok=True)
    return FigureFiles(data.spec.id, data.spec.figure, paths["png"], paths["svg"], paths["csv"], paths["json"],
                       data.agreement(), tuple(data.notes))


def resolve_panels(ids: Iterable[str] | None) -> list[PanelSpec]:
    """Panel specs for the given ids (all panels for None), VerifyError for an unknown id."""
    return list(PANELS.values()) if ids is None else [panel(i) for i in ids]


def make_figures(ids: Iterable[str] | None, out_dir: str | Path, *, budget: Budget = QUICK, seed: int = 0,
                 provider: TrainedProvider | None = None, device: str = "cpu", progress: bool = True) -> list[FigureFiles]:
    """Compute and write the selected panels (all for ``ids=None``), with a progress bar."""
    specs = resolve_panels(ids)
    out: Path | None = None  # created when the first panel is ready: a run that fails first leaves no empty directory
    provider = provider or default_provider(device=device)
    files = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("figures", total=sum(panel_work(s, budget) for s in specs))
        for spec in specs:
            bar.update(task, description=f"{spec.figure}")
            data = compute_panel(spec, budget=budget, seed=seed, provider=provider, device=device,
                                 advance=lambda: bar.advance(task))
            out = out or check_output_dir(out_dir)
            files.append(write_panel(data, out))
    return files

"""The numbers behind the paper's loss-vs-n panels: Figure 2(a)-(d), A1(a)-(d), A2(a)-(f).

Figure 2 (Section 6), Figure A1 (Appendix D) and Figure A2 (Appendix E) plot
the test loss, normalised by E[y^2] (Section 6: "all results are normalized by
E[||y||^2]"), against the context length n for several training strategies
(:class:`theory.strategy.Strategy`). This module describes the panels
(:data:`PANELS`), the budgets (:data:`QUICK`, :data:`FULL`) and computes each
panel's series (:func:`compute_panel`); :mod:`verify.plotting` draws them and
:mod:`verify.figures` writes the files.

Series, by :class:`Kind`:

* ``derived``: the toolkit's optimal loss :func:`theory.optima.optimum` (for
  ``Strategy.PGD`` the debiased PGD optimum L~*_PGD of eq. 19), on every integer
  n of the grid;
* ``head-scaled``: for ``Strategy.PGD`` on one-layer panels, the loss that joint
  training with task-specific heads (eq. 18) can reach by rescaling the
  preconditioner per task (:func:`theory.attention.head_scaled_pgd_optimum`;
  at most L~*_PGD, below it when Proposition 1's equality fails);
* ``claimed``: the paper's formula (Theorems 1-4), drawn only where it differs
  from the derived curve (relative difference above the registry's
  ``REFUTE_RTOL`` at some n);
* ``unconstrained``: on panels 2(a)-(d), A1(a), A1(c), the exact optimum of the
  unconstrained one-layer attention (eq. 6, one shared head, no Assumption 1;
  :func:`theory.unconstrained.unconstrained_optimum`) for PT and JT;
* ``montecarlo``: sampled loss at the derived optimum (fast estimator, with
  its standard error) at the budget's n values;
* ``trained``: trained models' losses from a :mod:`verify.trained` provider,
  or rows that say "trained: not available";
* ``reference``: for the multi-layer panels of Appendix E, which the toolkit has
  no theory for, the one-layer derived curves, labelled as such.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from claims.record import REFUTE_RTOL, Claim
from claims.registry import claim as registered_claim  # the claim registry: read only by paper_claim() below
from montecarlo import estimate_loss
from theory.attention import head_scaled_pgd_optimum
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from theory.unconstrained import unconstrained_optimum
from verify.evidence.predictor import optimum_predictor
from verify.trained import NOT_AVAILABLE, TrainedProvider, default_provider, training_budget_text

__all__ = [
    "CSV_COLUMNS",
    "FULL",
    "PANELS",
    "QUICK",
    "STRATEGY_LABELS",
    "THEOREMS",
    "Budget",
    "Kind",
    "PanelData",
    "PanelSpec",
    "Point",
    "PointKind",
    "PointSpec",
    "Series",
    "assemble_panel",
    "check_point_result",
    "compute_panel",
    "compute_point",
    "kind_label",
    "panel",
    "panel_points",
    "panel_work",
    "paper_claim",
    "point_affinity",
    "point_cost",
]

PT, FT, JT, PGD = Strategy.PT, Strategy.FT, Strategy.JT, Strategy.PGD

# The one label table: how each strategy is named in legends, in the CSV's ``series`` and the JSON's ``label``.
STRATEGY_LABELS: dict[Strategy, str] = {PT: "PT", FT: "FT", JT: "JT", PGD: "JT + task heads"}
# The theorem that states each strategy's optimal loss (shown next to the derived curve).
THEOREMS: dict[Strategy, str] = {PT: "Thm 1", FT: "Thm 2", JT: "Thm 3", PGD: "Thm 4"}


class Kind(StrEnum):
    """What a series shows (the ``kind`` column of the CSV and field of the JSON)."""

    DERIVED = "derived"
    HEAD_SCALED = "head-scaled"
    CLAIMED = "claimed"
    UNCONSTRAINED = "unconstrained"
    MONTECARLO = "montecarlo"
    TRAINED = "trained"
    REFERENCE = "reference"


def kind_label(strategy: Strategy, kind: Kind, *, claim: str | None = None, layers: int = 1) -> str:
    """The short text of one series after its strategy's label: ``derived L~*_PGD (Thm 4)``, ``Monte Carlo ±1 s.e.``."""
    if kind is Kind.DERIVED:
        return f"derived {strategy.optimal_loss} ({THEOREMS[strategy]})"
    if kind is Kind.REFERENCE:
        return f"1-layer derived {strategy.optimal_loss}, reference"
    if kind is Kind.HEAD_SCALED:
        return "per-task head scales (eq. 18)"
    if kind is Kind.CLAIMED:
        return f"paper's formula ({claim})"
    if kind is Kind.UNCONSTRAINED:
        eq = "eq. 17" if strategy is PGD else "eq. 6"
        return f"unconstrained attention, best found ({eq})" if layers == 1 else f"1-layer attention, best found ({eq}), reference"
    if kind is Kind.MONTECARLO:
        return "Monte Carlo ±1 s.e."
    return f"trained ({layers}-layer)"


def _label(strategy: Strategy, kind: Kind, *, claim: str | None = None, layers: int = 1) -> str:
    return f"{STRATEGY_LABELS[strategy]}: {kind_label(strategy, kind, claim=claim, layers=layers)}"


def paper_claim(claim_id: str) -> Claim:
    """The registered claim ``claim_id`` (its scope, and its check against the derivation).

    The figures' only access to the claim registry (to re-point when the registry moves)."""
    return registered_claim(claim_id)


# --- the panels ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelSpec:
    """One panel: the preset mixture, the strategies plotted, the attention depth, and what the paper says it shows."""

    id: str
    figure: str
    preset: str
    strategies: tuple[Strategy, ...]
    layers: int
    caption: str


@dataclass(frozen=True)
class Budget:
    """How much work one figure run does: the n grid, Monte Carlo precision, and training effort (stated on each plot)."""

    name: str
    ns: tuple[int, ...]
    mc_target_rel_se: float
    mc_min_samples: int
    mc_max_samples: int
    train_quick: bool
    train_ns: tuple[int, ...]

    def describe(self) -> str:
        train = "training: quick budget" if self.train_quick else "training: paper protocol (20k Adam steps, batch 8192, 50 restarts)"
        return (f"{self.name}: n in {{{', '.join(map(str, self.ns))}}}; Monte Carlo to rel. s.e. {self.mc_target_rel_se:g} "
                f"(>= {self.mc_min_samples} samples); {train} at n in {{{', '.join(map(str, self.train_ns))}}}")

    def headline(self, *, sampled: bool = True, trained: bool = True, layers: int = 1) -> str:
        """One line for the plot: the budget's name, Monte Carlo precision and samples, training steps of a
        ``layers``-layer model (or that the panel has no Monte Carlo point, ``sampled=False``, or no trained point,
        ``trained=False``)."""
        sample = (f"Monte Carlo to {self.mc_target_rel_se:.1%} rel. s.e. ({_count(self.mc_min_samples)}-"
                  f"{_count(self.mc_max_samples)} samples) at n = {_ns(self.ns)}" if sampled else "no Monte Carlo points")
        train = (f"training {training_budget_text(self.train_quick, layers=layers)} at n = {_ns(self.train_ns)}" if trained
                 else "no trained points (see below)")
        return f"budget {self.name}: {sample}; {train}"


def _count(value: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size and value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def _ns(ns: tuple[int, ...]) -> str:
    """``1-10, 15, 20`` for a grid with a run of consecutive values, else ``1, 3, 10, 30``."""
    runs: list[list[int]] = []
    for n in ns:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


_PT_FT_JT = (PT, FT, JT)
_WITH_HEADS = (PT, JT, PGD)

PANELS: dict[str, PanelSpec] = {p.id: p for p in [
    PanelSpec("2a", "Figure 2(a)", "fig2a", _PT_FT_JT, 1,
              "Assumption 1 check, non-zero task means: mu = (1.7, -1.3) 1_10, Sigma_beta = I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("2b", "Figure 2(b)", "fig2b", _PT_FT_JT, 1,
              "zero task means: Sigma_beta = I and 2I, pi = (0.5, 0.5), sigma^2 = 0 (PT = FT = JT, eq. 16)"),
    PanelSpec("2c", "Figure 2(c)", "fig2c", _PT_FT_JT, 1,
              "Theorems 1-3: mu = (2.1, -0.9) 1_10, Sigma_beta = I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("2d", "Figure 2(d)", "fig2d", _WITH_HEADS, 1,
              "task-specific heads (Thm 4): mu = (1.4, -0.6) 1_10, Sigma_beta = I and 2I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("A1a", "Figure A1(a)", "figA1a", _PT_FT_JT, 1, "noisy labels (D.1): the 2(a) mixture with sigma^2 = 5"),
    PanelSpec("A1b", "Figure A1(b)", "figA1b", (PT, FT, JT, PGD), 1,
              "noisy labels (D.1): the 2(c) mixture with sigma^2 = 5, Theorems 1-4"),
    PanelSpec("A1c", "Figure A1(c)", "figA1c", _PT_FT_JT, 1,
              "non-isotropic (D.2): the 2(a) mixture with I_10 -> diag{0.9, 0.9^-1, ..., 0.9^-9}, sigma^2 = 5"),
    PanelSpec("A1d", "Figure A1(d)", "figA1d", _WITH_HEADS, 1,
              "non-isotropic (D.2): the 2(d) mixture with I_10 -> diag{0.9, 0.9^-1, ..., 0.9^-9}, sigma^2 = 5"),
    *[PanelSpec(f"A2{letter}", f"Figure A2({letter})", f"figA2-{noise}", _WITH_HEADS, layers,
                f"{layers}-layer linear attention (Appendix E), {'sigma^2 = 0' if noise == 'clean' else 'sigma^2 = 5'}: "
                "mu = (1.7, -1.3) 1_10, Sigma_beta1 = Sigma_beta2 / 2 = diag{0.9, ..., 0.9^-9}, pi = (0.3, 0.7)")
      for letter, noise, layers in [("a", "clean", 1), ("b", "clean", 2), ("c", "clean", 3),
                                    ("d", "noisy", 1), ("e", "noisy", 2), ("f", "noisy", 3)]],
]}
UNCONSTRAINED_PANELS = ("2a", "2b", "2c", "2d", "A1a", "A1c")  # Section 6 / Appendix D: Assumption 1 panels and 2(c)-(d)

# --quick: few n values and small budgets, so every panel finishes on a 2-core CPU in a few minutes.
QUICK = Budget("quick", ns=(1, 3, 10, 30), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=200_000,
               train_quick=True, train_ns=(10,))  # one trained point per strategy: ~3 s each on an idle CPU core
# --full: the paper's text does not list its n grid; Figures 2, A1 and A2 span the few-shot region n < d = 10
# and beyond, so --full uses every n up to 10 and then steps of 5 up to 50, with the paper's training protocol
# (Section 6: 20,000 Adam steps, batch 8192, lr 1e-3, best of 50 restarts). Meant for a GPU.
FULL = Budget("full", ns=tuple(range(1, 11)) + tuple(range(15, 51, 5)), mc_target_rel_se=2e-3, mc_min_samples=10_000,
              mc_max_samples=10_000_000, train_quick=False, train_ns=tuple(range(1, 11)) + tuple(range(15, 51, 5)))


def panel(panel_id: str) -> PanelSpec:
    """The panel called ``panel_id`` ("2a", "A1d", "A2f"; case-insensitive, an optional "fig" prefix is allowed)."""
    key = panel_id.strip()
    if key.lower().startswith("fig"):
        key = key[3:].lstrip("-_ ")
    for pid in PANELS:
        if pid.lower() == key.lower():
            return PANELS[pid]
    raise VerifyError(f"--figure: unknown panel {panel_id!r}; expected one of {', '.join(PANELS)}")


# --- the numbers -----------------------------------------------------------------------------------------------------

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
    strategy: Strategy
    kind: Kind
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

    def agreement(self) -> dict[Strategy, dict[str, Any]]:
        """Per strategy: the largest |z| of Monte Carlo vs derived, and the largest relative gap of trained vs derived;
        on a multi-layer panel, ``depth_gain``: per trained n, the stack's relative gap to the exact one-layer optimum
        and its size in standard errors (negative: depth helps)."""
        if self.spec.layers != 1:
            return self._depth_gain()
        derived = {s.strategy: {p.n: p.loss for p in s.points if p.loss is not None}
                   for s in self.series if s.kind is Kind.DERIVED}
        out: dict[Strategy, dict[str, Any]] = {}
        for s in self.series:
            curve = derived.get(s.strategy)
            if curve is None or s.kind not in (Kind.MONTECARLO, Kind.TRAINED):
                continue
            entry = out.setdefault(s.strategy, {})
            if s.kind is Kind.MONTECARLO:
                zs = [(p.loss - curve[p.n]) / p.stderr for p in s.points
                      if p.loss is not None and p.stderr and p.n in curve]
                entry["montecarlo_max_abs_z"] = max((abs(z) for z in zs), default=None)
                entry["montecarlo_points"] = len(zs)
            else:
                gaps = [(p.loss - curve[p.n]) / curve[p.n] for p in s.points if p.loss is not None and p.n in curve]
                entry["trained_max_rel_gap"] = max(gaps, key=abs) if gaps else None
                entry["trained_points"] = len(gaps)
        return out

    def _depth_gain(self) -> dict[Strategy, dict[str, Any]]:
        one_layer = {s.strategy: {p.n: p.loss for p in s.points if p.loss is not None}
                     for s in self.series if s.kind is Kind.UNCONSTRAINED}
        out: dict[Strategy, dict[str, Any]] = {}
        for s in self.series:
            reference = one_layer.get(s.strategy)
            if s.kind is not Kind.TRAINED or reference is None:
                continue
            rows = [{"n": p.n, "rel_gap": (p.loss - reference[p.n]) / reference[p.n],
                     "z": (p.loss - reference[p.n]) / p.stderr if p.stderr else None}
                    for p in s.points if p.loss is not None and p.n in reference]
            out[s.strategy] = {"depth_gain": rows, "trained_points": len(rows)}
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "panel": self.spec.id, "figure": self.spec.figure, "caption": self.spec.caption, "preset": self.spec.preset,
            "layers": self.spec.layers, "mixture": self.mixture.to_dict(), "label_second_moment": self.label_second_moment,
            "normalisation": "loss / E[y^2], E[y^2] = tr(Sigma_tilde) + sigma^2",
            "budget": {**asdict(self.budget), "description": self.budget.describe()}, "seed": self.seed,
            "notes": self.notes, "agreement": {str(k): v for k, v in self.agreement().items()},
            "series": [{"label": s.label, "strategy": str(s.strategy), "kind": str(s.kind), "claim": s.claim, "note": s.note,
                        "points": [asdict(p) for p in s.points]} for s in self.series],
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in self.series:
            for p in s.points:
                writer.writerow([self.spec.id, s.label, str(s.strategy), str(s.kind), self.spec.layers, p.n,
                                 _fmt(p.normalised), _fmt(p.normalised_stderr), _fmt(p.loss), _fmt(p.stderr), p.note or s.note])
        return buf.getvalue()


def _fmt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _claim_for(strategy: Strategy, mixture: TaskMixture) -> str:
    """The registered claim that states the strategy's optimal loss (main text for sigma^2 = 0, appendix otherwise)."""
    noiseless = mixture.sigma2 == 0.0
    return {PT: "T1.loss" if noiseless else "T1.loss.appendix", FT: "T2.loss",
            JT: "T3.loss" if noiseless else "T3.loss.appendix", PGD: "T4.loss" if noiseless else "T4.loss.appendix"}[strategy]


def _point(n: int, loss: float | None, stderr: float | None, scale: float, note: str = "") -> Point:
    return Point(n, loss, stderr, None if loss is None else loss / scale, None if stderr is None else stderr / scale, note)


def _seed_for(seed: int, *parts: int) -> int:
    """The seed tree's stream ('panel', *parts) under the run's seed (theory.seeds)."""
    return child_seed(seed, "panel", *parts) % 2**32


def _panel_index(spec: PanelSpec) -> int:
    return list(PANELS).index(spec.id) if spec.id in PANELS else len(PANELS)


def _training_seed_index(spec: PanelSpec) -> int:
    """The panel index a trained point's seed comes from: its own, except that the multi-layer panels of one preset
    share the 2-layer panel's, so a 3-layer stack continues from the very 2-layer stack drawn beside it (the
    deepening schedule of :mod:`training.multilayer`) and the two depths differ by depth alone."""
    if spec.layers == 1:
        return _panel_index(spec)
    return min(_panel_index(p) for p in PANELS.values() if p.preset == spec.preset and p.layers > 1)


def _curve_ns(budget: Budget) -> list[int]:
    """Every integer n up to the budget's largest n (the derived curves are exact and cheap)."""
    return list(range(1, max(budget.ns) + 1))


def panel_work(spec: PanelSpec, budget: Budget) -> int:
    """Units of work (the exact curves, Monte Carlo estimates and trainings) a panel needs: its points."""
    return len(panel_points(spec, budget))


# Seconds of one idle core per unit of counted work, measured with one torch and one BLAS thread on the 2-core
# development machine (2026-12-07; quick budget: a 2-layer stack at n = 10, 56.7 s; its 3-layer continuation, 48.3 s;
# a one-layer trained point, 3.6 s; a Monte Carlo point, 0.03 s; an unconstrained solve, 0.05 s).  They give the
# expected time of a run and the order a pool runs points in; they set no budget (budgets are steps and samples).
_SECONDS_PER_SOLVE = 0.05  # one unconstrained-attention global solve (4 starts, d = 10)
_SECONDS_PER_MONTECARLO = 0.05  # one Monte Carlo point of the quick budget (fast estimator)
_SECONDS_PER_ONE_LAYER_STEP = 3.6 / (1500 * 1024 * 4 * 12)  # per Adam step x batch x restart x token, one layer
_SECONDS_PER_STACK_STEP = 56.7 / (1500 * 2 * 1024 * 4 * 12)  # per Adam step x layer x batch x restart x token


def point_cost(point: PointSpec, budget: Budget) -> float:
    """The expected seconds of one idle core a point takes, from its counted work (solves; samples; Adam steps x
    layers x batch x restarts x tokens) times a measured rate: for the expected time of a run and the order a pool
    runs points in, never for what is computed."""
    spec = panel(point.panel)
    if point.kind is PointKind.EXACT:
        if spec.layers != 1:
            solves = sum(s is not FT for s in spec.strategies)
        else:  # FT solves PT first, then its prompts
            solves = sum(1 + (s is FT) for s in spec.strategies) if spec.id in UNCONSTRAINED_PANELS else 0
        return _SECONDS_PER_SOLVE * solves * len(_unconstrained_ns(budget)) + 0.5
    if point.kind is PointKind.MONTECARLO:
        return _SECONDS_PER_MONTECARLO * budget.mc_max_samples / QUICK.mc_max_samples
    tokens = (point.n or 1) + 2
    try:
        if spec.layers == 1:
            from training.evidence import evidence_options

            o = evidence_options(str(point.strategy), "attention" if point.strategy is PGD else "reduced",
                                 budget.train_quick)
            return _SECONDS_PER_ONE_LAYER_STEP * (o["steps"] + o.get("ft_steps", 0)) * o["batch_size"] * o["restarts"] * tokens
        from training.multilayer import DEEPEN_STEP_FRACTION, multilayer_options

        o = multilayer_options(budget.train_quick)
    except (ImportError, AttributeError, KeyError):  # no training channel: its points cost nothing
        return 0.0
    # a 3-layer (or deeper) point continues the 2-layer stack for a fraction of the steps; its evaluation of the deeper
    # stack costs about as much again (measured: 48 s against 57 s for the 2-layer stack's full training)
    steps_x_layers = 2 * o["steps"] if spec.layers == 2 else 2 * round(o["steps"] * DEEPEN_STEP_FRACTION) * spec.layers
    return _SECONDS_PER_STACK_STEP * steps_x_layers * o["batch_size"] * o["restarts"] * tokens


def point_affinity(point: PointSpec) -> tuple[str, str, int] | None:
    """Points that share work when one process runs them in order: a multi-layer trained point of a preset, strategy
    and n continues from the 2-layer stack of the same ones (:func:`_training_seed_index`; ``training.multilayer``
    keeps the stacks it trained in its process). None: the point shares nothing."""
    spec = panel(point.panel)
    if point.kind is not PointKind.TRAINED or spec.layers == 1 or point.strategy is None or point.n is None:
        return None
    return (spec.preset, str(point.strategy), point.n)


# --- the points: a panel's units of work -------------------------------------------------------------------------------


class PointKind(StrEnum):
    """What one point of a panel computes (the unit of work of a figure run, and of one record under ``DIR/points/``)."""

    EXACT = "exact"  # the panel's exact curves: derived (or reference), claimed, head-scaled, unconstrained
    MONTECARLO = "montecarlo"  # one Monte Carlo estimate: (strategy, n) at the derived optimum
    TRAINED = "trained"  # one trained model: (strategy, n), from the provider


@dataclass(frozen=True)
class PointSpec:
    """One point of a panel: ``exact`` (one per panel, no strategy or n), or ``montecarlo``/``trained`` at (strategy, n).

    A point's numbers depend only on the point, the budget, the run's seed, the device and (trained points) the
    provider, never on the order in which points run (:func:`compute_point`)."""

    panel: str
    kind: PointKind
    strategy: Strategy | None = None
    n: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"panel": self.panel, "kind": str(self.kind), "strategy": None if self.strategy is None else str(self.strategy),
                "n": self.n}

    def describe(self) -> str:
        """``2d exact``, ``2d montecarlo JT n=3`` (for messages)."""
        if self.kind is PointKind.EXACT:
            return f"{self.panel} exact"
        return f"{self.panel} {self.kind} {self.strategy} n={self.n}"


def panel_points(spec: PanelSpec, budget: Budget) -> list[PointSpec]:
    """The panel's points in the order a local run computes them: the exact curves, then the Monte Carlo estimates
    (one-layer panels; per strategy, per n of the budget), then the trained models (per strategy, per training n)."""
    mc = [PointSpec(spec.id, PointKind.MONTECARLO, s, n) for s in spec.strategies for n in budget.ns] if spec.layers == 1 else []
    trained = [PointSpec(spec.id, PointKind.TRAINED, s, n) for s in spec.strategies for n in budget.train_ns]
    return [PointSpec(spec.id, PointKind.EXACT), *mc, *trained]


def compute_point(point: PointSpec, *, budget: Budget, seed: int, provider: TrainedProvider, device: str = "cpu") -> dict[str, Any]:
    """The numbers of one point as plain JSON, a pure function of its arguments: the seed of a sampled or trained
    point comes from the run's seed and the point's panel, strategy and n, never from the order of execution.

    * ``exact``: ``{"series": [...]}``, the panel's exact series in :meth:`PanelData.to_json`'s series format;
    * ``montecarlo``: ``{"loss", "stderr", "samples"}`` (raw, not normalised);
    * ``trained``: ``{"loss", "stderr", "note", "error_bar"}`` (raw; ``loss`` None when the provider has no trained
      model; ``error_bar``: what the standard error covers, :class:`verify.trained.TrainedPoint`).
    """
    spec = panel(point.panel)
    mixture = preset(spec.preset)
    if point.kind is PointKind.EXACT:
        return {"series": [_series_json(s) for s in _exact_series(spec, mixture, budget)]}
    if point.strategy is None or point.n is None or point.strategy not in spec.strategies:
        raise VerifyError(f"point: {point.describe()} is not a point of panel {spec.id}")
    si = spec.strategies.index(point.strategy)
    if point.kind is PointKind.MONTECARLO:
        if spec.layers != 1:
            raise VerifyError(f"point: panel {spec.id} has no Monte Carlo points ({spec.layers}-layer attention)")
        predictor = optimum_predictor(point.strategy, optimum(point.strategy, mixture, point.n))
        est = estimate_loss(mixture, point.n, predictor, method="fast", target_rel_se=budget.mc_target_rel_se,
                            min_samples=budget.mc_min_samples, max_samples=budget.mc_max_samples,
                            seed=_seed_for(seed, _panel_index(spec), si, point.n),
                            device=device)
        return {"loss": float(est.mean), "stderr": float(est.stderr), "samples": int(est.samples)}
    tp = provider(point.strategy, mixture, point.n, layers=spec.layers,
                  seed=_seed_for(seed, _training_seed_index(spec), 100 + si, point.n), quick=budget.train_quick)
    return {"loss": None if tp.loss is None else float(tp.loss), "stderr": None if tp.stderr is None else float(tp.stderr),
            "note": str(tp.note), "error_bar": str(tp.error_bar)}


def check_point_result(point: PointSpec, result: Any) -> None:
    """Raise ValueError unless ``result`` has the shape :func:`compute_point` gives for ``point`` (a record read back
    from disk is used only when it passes; :func:`assemble_panel` relies on that shape)."""
    def number(value: Any, optional: bool = False) -> None:
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)) and not (optional and value is None):
            raise ValueError(f"{point.describe()}: expected a number, got {value!r}")

    if not isinstance(result, dict):
        raise ValueError(f"{point.describe()}: expected an object, got {type(result).__name__}")
    if point.kind is PointKind.EXACT:
        series = result.get("series")
        if not isinstance(series, list):
            raise ValueError(f"{point.describe()}: no series list")
        for s in series:
            _series_from_json(s)
        return
    number(result.get("stderr"), optional=True)
    if point.kind is PointKind.MONTECARLO:
        number(result.get("loss"))
        samples = result.get("samples")
        if not isinstance(samples, int) or isinstance(samples, bool):
            raise ValueError(f"{point.describe()}: samples must be an integer, got {samples!r}")
    else:
        number(result.get("loss"), optional=True)
        if not isinstance(result.get("note"), str):
            raise ValueError(f"{point.describe()}: note must be a string")
        if not isinstance(result.get("error_bar", ""), str):
            raise ValueError(f"{point.describe()}: error_bar must be a string")


def assemble_panel(spec: PanelSpec, *, budget: Budget, seed: int, results: Mapping[PointSpec, Mapping[str, Any]]) -> PanelData:
    """The panel from its points' results (as :func:`compute_point` returned them, or read back from their records);
    KeyError when a point of the panel is missing."""
    mixture = preset(spec.preset)
    scale = mixture.label_second_moment()
    one_layer = spec.layers == 1
    points = panel_points(spec, budget)
    series = [_series_from_json(s) for s in results[points[0]]["series"]]
    notes: list[str] = [budget.describe()]
    if not one_layer:
        notes.append(f"no derived theory for {spec.layers}-layer attention in this toolkit (Appendix E is empirical); "
                     "the thin curves are the 1-layer reduced model's derived optima and the best 1-layer attention "
                     f"optima found (diamonds), which the {spec.layers}-layer stack contains: references, not predictions")
    if one_layer and any(s.kind is Kind.UNCONSTRAINED for s in series):
        notes.append("unconstrained attention: the optimum its multi-start search found only; its trained points are "
                     "not drawn, since the quick training budget's optimisation error (about 1%) exceeds much of the gap to the reduced model")
    if one_layer:
        for strategy in spec.strategies:
            pts = []
            for n in budget.ns:
                r = results[PointSpec(spec.id, PointKind.MONTECARLO, strategy, n)]
                pts.append(_point(n, r["loss"], r["stderr"], scale, f"{r['samples']} samples, fast estimator"))
            series.append(Series(_label(strategy, Kind.MONTECARLO), strategy, Kind.MONTECARLO, pts,
                                 note="sampled at the derived optimum"))
    else:
        notes.append("Monte Carlo: not applicable (no derived L-layer parameters to sample)")
    missing = set()
    error_bars = set()
    for strategy in spec.strategies:
        pts = []
        for n in budget.train_ns:
            r = results[PointSpec(spec.id, PointKind.TRAINED, strategy, n)]
            if r["loss"] is None:
                missing.add(r["note"] or NOT_AVAILABLE)
            elif r.get("error_bar"):
                error_bars.add(r["error_bar"])
            pts.append(_point(n, r["loss"], r["stderr"], scale, r["note"]))
        series.append(Series(_label(strategy, Kind.TRAINED, layers=spec.layers), strategy, Kind.TRAINED, pts))
    notes.extend(sorted(missing))
    notes.extend(f"trained error bars: {e}" for e in sorted(error_bars))
    if set(budget.train_ns) != set(budget.ns) and any(p.loss is not None for s in series if s.kind is Kind.TRAINED for p in s.points):
        notes.append(f"not drawn: the paper's trained curves at every n (it trains at each n); this budget trains at "
                     f"n = {_ns(budget.train_ns)} only (--full trains at every n of its grid)")
    return PanelData(spec, mixture, scale, budget, seed, series, notes)


def compute_panel(spec: PanelSpec, *, budget: Budget = QUICK, seed: int = 0, provider: TrainedProvider | None = None,
                  device: str = "cpu", advance: Callable[[], Any] | None = None) -> PanelData:
    """The numbers behind one panel (see the module docstring for the series): its points computed here, in order
    (:func:`panel_points`, :func:`compute_point`), then assembled (:func:`assemble_panel`). ``advance`` is called
    after each point. :func:`verify.figures.make_figures` does the same through point records and an executor."""
    provider = provider or default_provider(device=device)
    step = advance or (lambda: None)
    results: dict[PointSpec, Mapping[str, Any]] = {}
    for point in panel_points(spec, budget):
        results[point] = compute_point(point, budget=budget, seed=seed, provider=provider, device=device)
        step()
    return assemble_panel(spec, budget=budget, seed=seed, results=results)


def _exact_series(spec: PanelSpec, mixture: TaskMixture, budget: Budget) -> list[Series]:
    """The panel's exact series: per strategy the derived curve (reference on multi-layer panels), the paper's
    claimed curve where it differs, the head-scaled curve for ``Strategy.PGD``; then the unconstrained optima."""
    scale = mixture.label_second_moment()
    curve_ns = _curve_ns(budget)
    one_layer = spec.layers == 1
    series: list[Series] = []
    for strategy in spec.strategies:
        kind = Kind.DERIVED if one_layer else Kind.REFERENCE
        derived = [_point(n, optimum(strategy, mixture, n).loss, None, scale) for n in curve_ns]
        series.append(Series(_label(strategy, kind), strategy, kind, derived))
        if one_layer:
            series.extend(_claimed_series(strategy, mixture, curve_ns, scale))
            if strategy is PGD:
                series.append(_head_scaled_series(mixture, derived, scale))
    series.extend(_unconstrained_series(spec, mixture, budget, scale))
    return series


def _series_json(s: Series) -> dict[str, Any]:
    return {"label": s.label, "strategy": str(s.strategy), "kind": str(s.kind), "claim": s.claim, "note": s.note,
            "points": [asdict(p) for p in s.points]}


def _series_from_json(data: Any) -> Series:
    """The inverse of :func:`_series_json` (ValueError, KeyError or TypeError on a malformed entry)."""
    def number(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)

    def text(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value

    pts = []
    for p in data["points"]:
        if not isinstance(p["n"], int) or isinstance(p["n"], bool):
            raise ValueError(f"n must be an integer, got {p['n']!r}")
        pts.append(Point(p["n"], number(p["loss"]), number(p["stderr"]), number(p["normalised"]),
                         number(p["normalised_stderr"]), text(p["note"])))
    claim = data["claim"]
    return Series(text(data["label"]), Strategy(data["strategy"]), Kind(data["kind"]), pts,
                  claim=None if claim is None else text(claim), note=text(data["note"]))


def _head_scaled_series(mixture: TaskMixture, derived: list[Point], scale: float) -> Series:
    """What joint training with task-specific heads (eq. 18) reaches by rescaling the preconditioner per task:
    min over W and c of sum_k pi_k L_k^PGD(c_k W), at most L~*_PGD (theory.attention.head_scaled_pgd_optimum)."""
    pts = [_point(d.n, head_scaled_pgd_optimum(mixture, d.n).loss, None, scale) for d in derived]
    below = max(((d.loss or 0.0) - (p.loss or 0.0)) / (p.loss or 1.0) for d, p in zip(derived, pts, strict=True))
    note = ("equal to L~*_PGD on this mixture (Proposition 1's equality holds here)" if below <= REFUTE_RTOL
            else f"below L~*_PGD by up to {below:.2e} (relative): Proposition 1's equality fails here")
    return Series(_label(PGD, Kind.HEAD_SCALED), PGD, Kind.HEAD_SCALED, pts, claim="P1.equality", note=note)


def _unconstrained_ns(budget: Budget) -> list[int]:
    """Every integer n up to the budget's largest, and the training n: each point is one global solve (about 0.05 s
    of one core at d = 10), so the exact curves are drawn point by point, like the derived ones, not as straight
    lines between a few n."""
    return sorted(set(_curve_ns(budget)) | set(budget.train_ns))


_UNCONSTRAINED_CLAIMS = {PT: "A1.PT", FT: "A1.FT", JT: "S6.shared-head", PGD: None}


def _unconstrained_series(spec: PanelSpec, mixture: TaskMixture, budget: Budget, scale: float) -> list[Series]:
    """The exact optimum of the unconstrained one-layer attention (theory.unconstrained) for every strategy of the
    panel, as the paper's Figure 2 draws the unconstrained W_k, W_q, W_v attention beside the reduced model: one shared
    head (eq. 6) for PT, FT (prompts tuned with PT's attention frozen) and JT, task-specific heads (eq. 17) for JT
    with task heads.  What Assumption 1's reduced model leaves out.  On a multi-layer panel, the same one-layer
    optimum for each strategy plotted: the stack contains the one-layer model, so this is what depth must beat
    (:func:`_one_layer_references`)."""
    if spec.layers != 1:
        return _one_layer_references(spec, mixture, budget, scale)
    if spec.id not in UNCONSTRAINED_PANELS:
        return []
    out = []
    for strategy in spec.strategies:
        mode = JT if strategy is PGD else strategy
        pts = [_point(n, unconstrained_optimum(mixture, n, mode.value, shared_head=strategy is not PGD, starts=4).loss,
                      None, scale) for n in _unconstrained_ns(budget)]
        heads = "task-specific heads, eq. 17" if strategy is PGD else "one shared head, eq. 6"
        out.append(Series(_label(strategy, Kind.UNCONSTRAINED), strategy, Kind.UNCONSTRAINED, pts,
                          claim=_UNCONSTRAINED_CLAIMS[strategy],
                          note=f"global optimum over A, heads, prompts without Assumption 1 ({heads}; theory.unconstrained)"))
    return out


def _one_layer_references(spec: PanelSpec, mixture: TaskMixture, budget: Budget, scale: float) -> list[Series]:
    """Per strategy of a multi-layer panel, the exact optimum of the one-layer attention of the same kind (a shared
    head for PT and JT, task-specific heads for PGD; theory.unconstrained) at every integer n of the panel and the
    training n."""
    out = []
    for strategy in [s for s in spec.strategies if s is not FT]:
        kind = JT if strategy is PGD else strategy
        pts = [_point(n, unconstrained_optimum(mixture, n, kind, shared_head=strategy is not PGD, starts=4).loss, None,
                      scale) for n in _unconstrained_ns(budget)]
        out.append(Series(_label(strategy, Kind.UNCONSTRAINED, layers=spec.layers), strategy, Kind.UNCONSTRAINED, pts,
                          note="global optimum of the one-layer attention (theory.unconstrained); the "
                               f"{spec.layers}-layer stack contains it, so its optimum is at most this"))
    return out


def _claimed_series(strategy: Strategy, mixture: TaskMixture, ns: list[int], scale: float) -> list[Series]:
    """The paper's stated loss for this strategy, only when it differs from the derived one somewhere on the grid."""
    claim = paper_claim(_claim_for(strategy, mixture))
    if not claim.scope(mixture):
        return []
    comps = [claim.check(mixture, n) for n in ns]
    if max(c.rel_error for c in comps) <= REFUTE_RTOL:
        return []
    pts = [_point(n, float(c.claimed), None, scale) for n, c in zip(ns, comps, strict=True)]
    return [Series(_label(strategy, Kind.CLAIMED, claim=claim.id), strategy, Kind.CLAIMED, pts, claim=claim.id,
                   note=f"differs from derived by up to {max(c.rel_error for c in comps):.2e} (relative)")]

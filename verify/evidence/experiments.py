"""Trained evidence for the experiments' statements (claims.papers.chang2025.experiments): independent training seeds,
compared seed by seed.

The claims themselves are decided from exact one-layer optima; what only a trained model shows is here:

* ``E.2c-predicts``, ``E.A1-aligns``: the trained one-layer attention (eq. 6 / 17) against the theory's loss, per
  strategy: the relative prediction error of each seed's best-of-restarts loss, its mean and spread over seeds;
* ``E.A2-depth``: Appendix E's L-layer stacks (L = 2, 3; PT, prompts (JT), prompts and heads (PGD)): whether a
  trained stack lies below the exact one-layer optimum (depth lowers the loss: a trained loss is an upper bound on
  its model's optimum, so this is shown outright), whether task-specific parameters still lower the loss at depth L
  (trained stacks of one budget, paired by seed), and whether the trained gap is narrower than the exact one-layer
  gap.  That the *optima's* gap narrows needs a lower bound on the deeper optima, which the toolkit lacks, so it is
  never claimed.

Statistics.  Each seed trains independently (initialisation, data stream, evaluation samples:
the seed tree's stream ``('experiments', i)``, the run's seed for the first); the
strategies of one seed share that seed's evaluation stream, so differences are taken seed by seed (paired) and their
spread over seeds carries the training variance as well as the evaluation noise.  A difference is resolved when the
two-sided ``1 - ALPHA`` Student-t interval over seeds excludes zero; otherwise it is reported as not resolved at that
budget.  Budgets are steps, batch and restarts (stated in the evidence), never wall-clock.  At the quick budget the
training would take minutes per point on a CPU, so the channel reports the command instead (``--full``: the paper's
protocol, meant for a GPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np

from claims.record import Claim
from claims.verdicts import Finding
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.seeds import child_seed
from theory.strategy import Strategy
from verify.evidence.payload import ChannelPayload, optional
from verify.evidence.record import Evidence

ALPHA = 0.01  # two-sided level of each seed-paired interval
K_EVAL = NormalDist().inv_cdf(1 - 1e-6 / 2)  # evaluation-noise margin of 'below the one-layer optimum' (two-sided 1e-6, as training.evidence)
SEEDS = {False: 3, True: 5}  # independent training seeds: quick, full
EXPERIMENT_N = 10  # the n a figure's experiment trains when the selected mixture is not the figure's (n = d)
_FIGURE = {"E.2c-predicts": "fig2c", "E.A1-aligns": "figA1b", "E.A2-depth": "figA2-clean"}
TRAINED_CLAIMS = tuple(_FIGURE)


@dataclass(frozen=True)
class SeedDifference:
    """Per-seed differences ``a_i - b_i`` and their Student-t interval over seeds."""

    label: str
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def seed_se(self) -> float:
        """Standard error over seeds (training variance and evaluation noise together); NaN with one seed."""
        return float(np.std(self.values, ddof=1) / math.sqrt(len(self.values))) if len(self.values) > 1 else math.nan

    @property
    def half_width(self) -> float:
        s = len(self.values)
        from scipy.stats import t as student_t  # scipy.stats is slow to import; the renderers import this module

        return float(student_t.isf(ALPHA / 2, s - 1) * self.seed_se) if s > 1 else math.inf

    @property
    def sign(self) -> int:
        """+1 / -1 when the interval excludes zero on that side, 0 when it is not resolved at this budget."""
        if not math.isfinite(self.half_width):
            return 0
        return 1 if self.mean - self.half_width > 0 else (-1 if self.mean + self.half_width < 0 else 0)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "per_seed": list(self.values), "mean": self.mean, "seed_se": self.seed_se,
                "half_width": self.half_width, "level": 1 - ALPHA, "resolved": self.sign != 0, "sign": self.sign}

    def text(self, positive: str, negative: str) -> str:
        state = {1: positive, -1: negative, 0: "not resolved at this budget"}[self.sign]
        return f"{self.label} {self.mean:.4g} +- {self.half_width:.2g} ({100 * (1 - ALPHA):g}%, {len(self.values)} seeds): {state}"


def _seeds(seed: int, count: int) -> list[int]:
    return [seed if i == 0 else child_seed(seed, "experiments", i) for i in range(count)]


# ----- the unit of work: one strategy, one training seed -------------------------------------------------------------
@dataclass(frozen=True)
class TrainingUnit:
    """One independent training of the trained evidence, picklable: what an executor sends to the process or machine
    that runs it (:func:`run_unit`).  ``kind`` "depth": Appendix E's stack of ``layers[0]`` layers, then each deeper
    one continued from it (in one process: ``training.multilayer`` keeps the stack below); "prediction": the
    one-layer attention (eq. 6 / 17).  ``quick`` picks the training protocol's quick variant, ``options`` override
    its budget (sorted pairs: tests use tiny budgets)."""

    kind: str
    mixture: TaskMixture
    n: int
    strategy: str
    seed: int
    quick: bool
    device: str
    layers: tuple[int, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()


def run_unit(unit: TrainingUnit) -> dict[str, Any]:
    """The unit's trained losses as plain JSON, a pure function of the unit; what every executor runs.

    With one torch thread whatever the process (as :func:`verify.sweep.run_point`: the thread count changes the last
    bits of a trained loss, which must not depend on where it ran).  "depth": ``{"L": {"loss", "stderr", "budget"}}``
    per depth (raw loss of the best restart, its evaluation standard error); "prediction": ``{"loss", "budget"}``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_unit(unit)
    finally:
        torch.set_num_threads(threads)


def _run_unit(unit: TrainingUnit) -> dict[str, Any]:
    options = dict(unit.options)
    if unit.kind == "prediction":
        from training import train  # torch: imported only when trained evidence is wanted
        from training.evidence import evidence_options

        budget = {**evidence_options(unit.strategy, "attention", unit.quick), **options}
        res = train(unit.strategy, unit.mixture, unit.n, model="attention", seed=unit.seed, device=unit.device, **budget)
        return {"loss": float(res.trained.mean), "budget": budget}
    from training import multilayer_points

    out: dict[str, Any] = {}
    for depth in unit.layers:  # one training seed per unit: the spread over seeds is the units'
        p = multilayer_points(unit.mixture, [unit.n], depth, strategy=unit.strategy, quick=unit.quick, seed=unit.seed,
                              device=unit.device, seeds=1, **options)[unit.n]
        out[str(depth)] = {"loss": float(p.loss), "stderr": float(p.stderr),
                           "budget": {"steps": p.steps, "restarts": p.restarts, "protocol": p.protocol,
                                      "batch_size": p.options.get("batch_size")}}
    return out


class UnitExecutor(Protocol):
    """Runs training units somewhere else (:class:`verify.ray_executor.RayExecutor`, entered): :attr:`device` is
    where the units run, ``map(run_unit, units)`` yields each unit with its result as it finishes."""

    device: str

    def map(self, function: Callable[[TrainingUnit], dict[str, Any]],
            items: Sequence[TrainingUnit]) -> Iterator[tuple[TrainingUnit, dict[str, Any]]]: ...


def run_units(units: Sequence[TrainingUnit], executor: UnitExecutor | None = None) -> dict[TrainingUnit, dict[str, Any]]:
    """Every unit's result: on ``executor``, or in this process one after another (None)."""
    if executor is None:
        return {u: run_unit(u) for u in units}
    return dict(executor.map(run_unit, units))


# ----- one layer: the trained attention against the theory --------------------------------------------------------
def prediction_experiment(mixture: TaskMixture, n: int, strategies: tuple[Strategy, ...], *, full: bool, seed: int = 0,
                          seeds: int | None = None, device: str = "cpu", executor: UnitExecutor | None = None,
                          quick: bool | None = None, **options: Any) -> dict[str, Any]:
    """Train the one-layer attention (shared head; task heads for PGD) with each strategy on ``seeds`` independent
    seeds, one :class:`TrainingUnit` each (on ``executor``, else here); per strategy, the relative prediction error
    (trained - theory) / theory over seeds.  ``quick`` (default ``not full``) picks the training protocol's variant,
    ``options`` override the budget (:func:`training.evidence.evidence_options`; tests use tiny ones)."""
    seed_list = _seeds(seed, seeds or SEEDS[full])
    where = executor.device if executor is not None else device
    quick = not full if quick is None else quick
    units = {(s, sd): TrainingUnit("prediction", mixture, n, s.value, sd, quick, where, (), tuple(sorted(options.items())))
             for s in strategies for sd in seed_list}
    results = run_units(list(units.values()), executor)
    out: dict[str, Any] = {"n": n, "seeds": seed_list, "strategies": {}}
    for strategy in strategies:
        theory = optimum(strategy, mixture, n).loss
        losses = [results[units[strategy, sd]]["loss"] for sd in seed_list]
        diff = SeedDifference(f"{strategy.value}: (trained - theory) / theory", tuple((v - theory) / theory for v in losses))
        budget = results[units[strategy, seed_list[0]]]["budget"]
        out["strategies"][strategy.value] = {"theory": theory, "trained": losses, "budget": budget, **diff.to_json()}
    return out


def _prediction_note(data: dict[str, Any]) -> str:
    side = {1: "trained above the theory", -1: "trained below the theory", 0: "not resolved at this budget"}
    parts = [f"{k} {100 * v['mean']:+.3g}% +- {100 * v['half_width']:.2g}% ({side[v['sign']]})"
             for k, v in data["strategies"].items()]
    budget = next(iter(data["strategies"].values()))["budget"]
    return (f"trained one-layer attention vs theory at n = {data['n']} ({len(data['seeds'])} independent training "
            f"seeds, {budget['steps']:,} steps x batch {budget['batch_size']:,}, best of {budget['restarts']} restarts): "
            + ", ".join(parts) + f" ({100 * (1 - ALPHA):g}% Student-t intervals over seeds)")


# ----- Appendix E: depth ---------------------------------------------------------------------------------------------
DEPTH_STRATEGIES = (Strategy.PT, Strategy.JT, Strategy.PGD)
DEPTH_LAYERS = (2, 3)  # Appendix E.2: L = 1 (exact), 2, 3


def depth_experiment(mixture: TaskMixture, n: int, *, full: bool, seed: int = 0, seeds: int | None = None,
                     layers: tuple[int, ...] = DEPTH_LAYERS, device: str = "cpu", executor: UnitExecutor | None = None,
                     quick: bool | None = None, **options: Any) -> dict[str, Any]:
    """Appendix E.2 (3) from trained stacks: for each depth and strategy, the seeds' losses; whether depth lowers the
    loss below the exact one-layer optimum; the seed-paired gains PT - JT and PT - PGD at each depth against the
    exact one-layer gains.  One :class:`TrainingUnit` per strategy and seed (its stacks of every depth, each seed one
    training run: best of the protocol's restarts), on ``executor`` (else here).  ``quick`` (default ``not full``)
    picks the training protocol's variant, ``options`` override :func:`training.multilayer_points`' budget."""
    from training.multilayer import one_layer_optima  # torch: imported only when trained evidence is wanted

    seed_list = _seeds(seed, seeds or SEEDS[full])
    where = executor.device if executor is not None else device
    quick = not full if quick is None else quick
    units = {(s, sd): TrainingUnit("depth", mixture, n, s.value, sd, quick, where, tuple(sorted(layers)),
                                   tuple(sorted(options.items())))
             for s in DEPTH_STRATEGIES for sd in seed_list}
    results = run_units(list(units.values()), executor)
    one = {s.value: one_layer_optima(s, mixture, n)[0] for s in DEPTH_STRATEGIES}
    out: dict[str, Any] = {"n": n, "seeds": seed_list, "one_layer": one, "depths": {}}
    for depth in layers:
        cells = {s.value: [results[units[s, sd]][str(depth)] for sd in seed_list] for s in DEPTH_STRATEGIES}
        losses = {k: [c["loss"] for c in v] for k, v in cells.items()}
        stderrs = {k: [c["stderr"] for c in v] for k, v in cells.items()}
        budget = cells[DEPTH_STRATEGIES[0].value][0]["budget"]
        out["depths"][str(depth)] = {"losses": losses, "stderrs": stderrs, "budget": budget,
                                     **depth_decision(one, losses, stderrs, depth)}
    return out


def depth_decision(one: dict[str, float], losses: dict[str, list[float]], stderrs: dict[str, list[float]],
                   depth: int) -> dict[str, Any]:
    """What trained ``depth``-layer stacks (per strategy, one loss and evaluation SE per seed) show against the exact
    one-layer optima ``one``: which stacks lie below their one-layer optimum (the best seed's loss plus ``K_EVAL``
    evaluation SEs: an upper bound on the deeper optimum), the seed-paired gains PT - JT and PT - PGD, and whether the
    trained gap is narrower than the exact one-layer gap.  The last is reported only where both stacks are below their
    one-layer optima: an under-trained stack narrows a gap by not learning, which says nothing about depth."""
    below = {k: bool(min(v + K_EVAL * se for v, se in zip(losses[k], stderrs[k], strict=True)) < one[k]) for k in losses}
    gains = {k: SeedDifference(f"L={depth} trained PT - {k}", tuple(
        a - b for a, b in zip(losses["PT"], losses[k], strict=True))) for k in ("JT", "PGD")}
    narrower = {k: SeedDifference(f"one-layer exact gap PT-{k} minus L={depth} trained gap", tuple(
        (one["PT"] - one[k]) - v for v in d.values)) for k, d in gains.items()}
    texts = ["depth lowers the loss below the exact one-layer optimum for "
             + (", ".join(k for k, b in below.items() if b) or "no strategy (under-trained at this budget)")]
    texts += [d.text("task parameters still help", "task parameters hurt") for d in gains.values()]
    for k, d in narrower.items():
        texts.append(d.text("the trained gap is narrower", "the trained gap is wider") if below["PT"] and below[k]
                     else f"PT-{k}: trained gap not comparable (a stack is not below its one-layer optimum)")
    texts.append("whether the optima's gap narrows is not decidable from upper bounds")
    return {"below_one_layer": below, "gains": {k: v.to_json() for k, v in gains.items()},
            "narrower_than_one_layer": {k: {**v.to_json(), "comparable": below["PT"] and below[k]}
                                        for k, v in narrower.items()},
            "text": "; ".join(texts)}


@dataclass(frozen=True)
class ExperimentsPayload(ChannelPayload):
    """The trained evidence of an experiments' claim: at the quick budget (``run`` False) the ``command`` that trains it,
    both deciding ``commands`` (Ray, GPU), the number of ``deciding_seeds`` and the ``protocol``; at the full budget
    (``run`` True) the ``seeds`` and either the per-strategy prediction errors (``strategies``,
    :func:`prediction_experiment`) or the depth comparison (``one_layer``, ``depths``, :func:`depth_experiment`), with
    any ``budget_overrides``.  Its conclusions reach the reports as the finding's note."""

    channel = "trained_experiment"
    title = "Trained experiment"

    run: bool
    budget: str
    command: str | None = optional()
    commands: tuple[str, ...] | None = optional()
    mixture: str | None = None
    n: int | None = None
    deciding_seeds: int | None = optional()
    protocol: str | None = optional()
    seeds: tuple[int, ...] | None = optional()
    strategies: dict[str, Any] | None = optional()
    one_layer: dict[str, float] | None = optional()
    depths: dict[str, Any] | None = optional()
    budget_overrides: dict[str, Any] | None = optional()


# ----- the channel ---------------------------------------------------------------------------------------------------
def deciding_commands(claim_id: str) -> tuple[str, str]:
    """The commands that run the budget deciding a trained claim: the paper's protocol with its trainings as Ray
    tasks, or one after another on a GPU."""
    return (f"verify --claim {claim_id} --full --executor ray [--address ADDR]",
            f"verify --claim {claim_id} --full --device cuda")


class ExperimentsChannel:
    """The trained evidence of the experiments' claims, on the figure's own mixture (the selected one when it is in
    the claim's scope) at the first selected n (``EXPERIMENT_N`` on the figure's mixture).

    With ``full`` the trainings run (:class:`TrainingUnit`, one per strategy and training seed): on ``executor``
    (:class:`verify.ray_executor.RayExecutor`, entered; ``verify --executor ray``) or in this process.  ``seeds``,
    ``quick`` and ``options`` override the number of seeds, the training protocol's variant and its budget (tests
    use tiny ones); by default ``--full`` is the paper's protocol on ``SEEDS[True]`` seeds."""

    channel = ExperimentsPayload.channel

    def __init__(self, mixture: TaskMixture, n: int, seed: int, full: bool, device: str, *,
                 executor: UnitExecutor | None = None, seeds: int | None = None, quick: bool | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.mixture, self.n, self.seed, self.full, self.device = mixture, n, seed, full, device
        self.executor, self.seeds, self.quick, self.options = executor, seeds, quick, dict(options or {})

    def _where(self, claim: Claim) -> tuple[str, TaskMixture, int]:
        if claim.scope(self.mixture):
            return "the selected mixture", self.mixture, self.n
        return _FIGURE[claim.id], preset(_FIGURE[claim.id]), EXPERIMENT_N

    def for_claim(self, claim: Claim) -> Evidence | None:
        if claim.id not in _FIGURE:
            return None
        where, mixture, n = self._where(claim)
        depth = claim.id == "E.A2-depth"
        if not self.full:
            return self._not_run(claim.id, where, n, depth)
        budget = {"seeds": self.seeds, "quick": self.quick, **self.options}
        if depth:
            data = depth_experiment(mixture, n, full=True, seed=self.seed, seeds=self.seeds, device=self.device,
                                    executor=self.executor, quick=self.quick, **self.options)
            note = _depth_note(data, where)
        else:
            from claims.papers.chang2025.experiments import settings_of
            data = prediction_experiment(mixture, n, settings_of(mixture), full=True, seed=self.seed, seeds=self.seeds,
                                         device=self.device, executor=self.executor, quick=self.quick, **self.options)
            note = _prediction_note(data)
        overrides = {k: v for k, v in budget.items() if v is not None}
        return Evidence(ExperimentsPayload.from_json({"run": True, "budget": "full", "mixture": where, **data,
                                                      **({"budget_overrides": overrides} if overrides else {})}),
                        (Finding(self.channel, False, note),))

    def _not_run(self, claim_id: str, where: str, n: int, depth: bool) -> Evidence:
        from verify.trained import training_budget_text

        ray, gpu = deciding_commands(claim_id)
        seeds = SEEDS[True]
        strategies = len(DEPTH_STRATEGIES) if depth else None
        what = ("whether depth (L = 2, 3) lowers the loss, whether task-specific parameters still help at depth, and "
                "whether the trained gaps narrow" if depth else "how close the trained one-layer attention comes to the "
                                                                  "theory, per strategy")
        protocol = training_budget_text(False, layers=max(DEPTH_LAYERS) if depth else 1)
        units = (f"{seeds} x {strategies} = {seeds * strategies} independent trainings" if strategies
                 else f"{seeds} independent training seeds per strategy")
        note = (f"trained evidence: not run at the quick budget, so {what} is not resolved at this budget; the budget "
                f"that decides it is the paper's protocol ({protocol}) with {seeds} independent training seeds per "
                f"strategy ({units}, seed-paired {100 * (1 - ALPHA):g}% intervals over seeds) on {where} at n = {n}: "
                f"`{ray}` runs each training as a Ray task (one GPU each where the cluster has GPUs), `{gpu}` runs "
                "them one after another on one GPU (the paper's protocol is meant for GPUs)")
        return Evidence(ExperimentsPayload(run=False, budget="quick", command=ray, commands=(ray, gpu), mixture=where,
                                           n=n, deciding_seeds=seeds, protocol=protocol),
                        (Finding(self.channel, False, note),))


def _depth_note(data: dict[str, Any], where: str) -> str:
    first = next(iter(data["depths"].values()))["budget"]
    head = (f"trained stacks on {where} at n = {data['n']}: {len(data['seeds'])} independent training seeds per "
            f"strategy, each the best of {first['restarts']} restarts, batch {first['batch_size']}, "
            f"{first['protocol']} protocol; intervals over seeds ({100 * (1 - ALPHA):g}% Student-t, seed-paired)")
    return head + "; " + " | ".join(f"L={k} ({v['budget']['steps']:,} Adam steps): {v['text']}"
                                    for k, v in data["depths"].items())

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
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

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
        from scipy.stats import t as student_t  # scipy.stats is slow to import; the renderers import this module

        s = len(self.values)
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


# ----- one layer: the trained attention against the theory --------------------------------------------------------
def prediction_experiment(mixture: TaskMixture, n: int, strategies: tuple[Strategy, ...], *, full: bool, seed: int = 0,
                          seeds: int | None = None, device: str = "cpu", **options: Any) -> dict[str, Any]:
    """Train the one-layer attention (shared head; task heads for PGD) with each strategy on ``seeds`` independent
    seeds; per strategy, the relative prediction error (trained - theory) / theory over seeds.  ``options`` override
    the budget (:func:`training.evidence.evidence_options`; tests use tiny ones)."""
    from training import train  # torch: imported only when trained evidence is wanted
    from training.evidence import evidence_options

    out: dict[str, Any] = {"n": n, "seeds": _seeds(seed, seeds or SEEDS[full]), "strategies": {}}
    for strategy in strategies:
        budget = {**evidence_options(strategy, "attention", not full), **options}
        theory = optimum(strategy, mixture, n).loss
        errors, losses = [], []
        for s in out["seeds"]:
            res = train(strategy, mixture, n, model="attention", seed=s, device=device, **budget)
            losses.append(res.trained.mean)
            errors.append((res.trained.mean - theory) / theory)
        diff = SeedDifference(f"{strategy.value}: (trained - theory) / theory", tuple(errors))
        out["strategies"][strategy.value] = {"theory": theory, "trained": losses, "budget": budget, **diff.to_json()}
    return out


def _prediction_note(data: dict[str, Any]) -> str:
    parts = [f"{k} {100 * v['mean']:+.3g}% +- {100 * v['half_width']:.2g}%" for k, v in data["strategies"].items()]
    budget = next(iter(data["strategies"].values()))["budget"]
    return (f"trained one-layer attention vs theory at n = {data['n']} ({len(data['seeds'])} seeds, "
            f"{budget['steps']} steps x batch {budget['batch_size']}, best of {budget['restarts']} restarts): "
            + ", ".join(parts) + f" ({100 * (1 - ALPHA):g}% over seeds; an interval that holds 0 is not resolved)")


# ----- Appendix E: depth ---------------------------------------------------------------------------------------------
DEPTH_STRATEGIES = (Strategy.PT, Strategy.JT, Strategy.PGD)


def depth_experiment(mixture: TaskMixture, n: int, *, full: bool, seed: int = 0, seeds: int | None = None,
                     layers: tuple[int, ...] = (2, 3), device: str = "cpu", **options: Any) -> dict[str, Any]:
    """Appendix E.2 (3) from trained stacks: for each depth and strategy, the seeds' losses; whether depth lowers the
    loss below the exact one-layer optimum; the seed-paired gains PT - JT and PT - PGD at each depth against the
    exact one-layer gains.  ``options`` override :func:`training.multilayer_points`' budget."""
    from training import multilayer_points  # torch: imported only when trained evidence is wanted
    from training.multilayer import one_layer_optima

    seed_list = _seeds(seed, seeds or SEEDS[full])
    one = {s.value: one_layer_optima(s, mixture, n)[0] for s in DEPTH_STRATEGIES}
    out: dict[str, Any] = {"n": n, "seeds": seed_list, "one_layer": one, "depths": {}}
    for depth in layers:
        losses: dict[str, list[float]] = {}
        stderrs: dict[str, list[float]] = {}
        budget: dict[str, Any] = {}
        for strategy in DEPTH_STRATEGIES:
            points = [multilayer_points(mixture, [n], depth, strategy=strategy, quick=not full, seed=s, device=device,
                                        **options)[n] for s in seed_list]
            losses[strategy.value] = [p.loss for p in points]
            stderrs[strategy.value] = [p.stderr for p in points]
            budget = {"steps": points[0].steps, "restarts": points[0].restarts, "protocol": points[0].protocol,
                      "batch_size": points[0].options.get("batch_size")}
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


# ----- the channel ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentsPayload(ChannelPayload):
    """The trained evidence of an experiments' claim: at the quick budget only the ``command`` that trains it
    (``run`` False); at the full budget (``run`` True) the ``seeds`` and either the per-strategy prediction errors
    (``strategies``, :func:`prediction_experiment`) or the depth comparison (``one_layer``, ``depths``,
    :func:`depth_experiment`).  Its conclusions reach the reports as the finding's note."""

    channel = "trained_experiment"
    title = "Trained experiment"

    run: bool
    budget: str
    command: str | None = optional()
    mixture: str | None = None
    n: int | None = None
    seeds: tuple[int, ...] | None = optional()
    strategies: dict[str, Any] | None = optional()
    one_layer: dict[str, float] | None = optional()
    depths: dict[str, Any] | None = optional()


class ExperimentsChannel:
    """The trained evidence of the experiments' claims, on the figure's own mixture (the selected one when it is in
    the claim's scope) at the first selected n (``EXPERIMENT_N`` on the figure's mixture)."""

    channel = ExperimentsPayload.channel

    def __init__(self, mixture: TaskMixture, n: int, seed: int, full: bool, device: str) -> None:
        self.mixture, self.n, self.seed, self.full, self.device = mixture, n, seed, full, device

    def _where(self, claim: Claim) -> tuple[str, TaskMixture, int]:
        if claim.scope(self.mixture):
            return "the selected mixture", self.mixture, self.n
        return _FIGURE[claim.id], preset(_FIGURE[claim.id]), EXPERIMENT_N

    def for_claim(self, claim: Claim) -> Evidence | None:
        if claim.id not in _FIGURE:
            return None
        where, mixture, n = self._where(claim)
        command = f"verify --claim {claim.id} --full [--device cuda]"
        if not self.full:
            note = (f"trained evidence: not resolved at the quick budget (minutes per point on a CPU); `{command}` "
                    f"trains {SEEDS[True]} independent seeds at the paper's protocol on {where} at n = {n}")
            return Evidence(ExperimentsPayload(run=False, budget="quick", command=command, mixture=where, n=n),
                            (Finding(self.channel, False, note),))
        if claim.id == "E.A2-depth":
            data = depth_experiment(mixture, n, full=True, seed=self.seed, device=self.device)
            note = "trained stacks, " + " | ".join(f"L={k}: {v['text']}" for k, v in data["depths"].items())
        else:
            from claims.papers.chang2025.experiments import settings_of
            data = prediction_experiment(mixture, n, settings_of(mixture), full=True, seed=self.seed, device=self.device)
            note = _prediction_note(data)
        return Evidence(ExperimentsPayload.from_json({"run": True, "budget": "full", "mixture": where, **data}),
                        (Finding(self.channel, False, note),))

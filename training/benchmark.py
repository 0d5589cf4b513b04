"""Training benchmarks: ``python -m training.benchmark [--json FILE]`` and ``... --protocol [--device D] [--json F]``.

``--protocol`` (:func:`run_protocol_benchmark`): the paper's protocol (Section 6: batch 8192, 50 restarts,
20 000 Adam steps per (panel, strategy, n) point) with the panel engine (:mod:`training.panel`) against
the per-point path (the same engine one point at a time, restarts batched: what :func:`training.train` does, the
full 20 000 steps) and the sequential loop (one restart at a time), all measured in the same run.  Per model
kind (``KINDS``: reduced, attention, heads, multilayer):

* ms per step of one panel model (every n of ``FULL_NS`` x the kind's strategies x R restarts) and per point;
  the per-point path's ("per_point" in the keys) and the sequential loop's ms per step per point, at each n of
  ``FULL_NS``, averaged;
* steps until every restart of a cell is within 1% of its optimum (the exact-loss monitor), measured by
  training (``STEPS_CELL``: one n and the slowest strategy, ``--steps-restarts`` restarts at the protocol
  batch); kinds without an exact loss (the multi-layer stack) run the whole budget;
* seconds per point (ms per step per point x steps) for the panel, the per-point path and the sequential loop, and
  their ratios;
* estimated hours for the whole ``verify --figures --full`` set (``FULL_SET``: the points of each kind).

On a CPU the attention kinds are timed at a smaller batch (``CPU_BATCH``) and scaled linearly to 8192 (their
step cost is proportional to the batch); the reduced model is timed at 8192.  ``--json F`` is written atomically.

Without ``--protocol``: batched restarts vs the same restarts one after another.

Joint training ("JT") of the reduced model (Assumption 1) on the Figure 2(c) mixture
(d = 10, K = 2) at n = 10, R = 16 restarts, trained twice with the same code and seeds:

* batched: one model holding the 16 restarts;
* sequential: 16 runs with R = 1 (``first_restart = r``, so run r is restart r of the batched run,
  same initialisation and same data stream), one after another.

"Time to within 1%" is the training wall time until EVERY one of the 16 restarts has an exact
population loss (:func:`theory.loss.population_loss` of its current W, P; used only as a
monitor) at most 1% above the derived joint-training optimum L*_JT (Theorem 3), checked every
``CHECK_EVERY`` steps.  Batched: the first check at which all 16 qualify.  Sequential: each run
stops at its own first qualifying check and the times add up.  Training itself uses fresh
sampled sequences every step (:func:`montecarlo.sample_batch`; the query integrated out exactly
given the sampled task, beta and context).  Time spent in the monitor is excluded from both.
A run that has not qualified after ``MAX_STEPS`` steps reports ``null`` (never reached).

``--json FILE`` writes ``{"batched": {"seconds_to_1pct", "steps"}, "sequential": {...},
"speedup": sequential / batched, ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from montecarlo import resolve_device
from theory.errors import VerifyError
from theory.files import write_text_atomic
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.strategy import Strategy
from training.config import make_config
from training.models import TrainableModel
from training.multilayer import DEEPEN_STEP_FRACTION
from training.panel import train_panel

PRESET, N, RESTARTS = "fig2c", 10, 16
TARGET = 0.01  # within 1% of L*_JT
CHECK_EVERY = 10
MAX_STEPS = 2000
OPTIONS: dict[str, Any] = {"steps": MAX_STEPS, "batch_size": 1024, "lr": 0.2, "lr_final_ratio": 0.05,
                           "query": "integrated", "data": "sequences"}


def time_to_target(restarts: int, *, first_restart: int = 0, seed: int = 0,
                   device: str | torch.device = "cpu") -> dict[str, Any]:
    """Train ``restarts`` restarts as one model until all are within 1% of L*_JT (exact-loss monitor)."""
    mixture = preset(PRESET)
    target = (1 + TARGET) * optimum(Strategy.JT, mixture, N).loss
    reached: dict[str, Any] = {"step": None}

    def stop(step: int, net: TrainableModel) -> bool:
        losses = net.exact_losses(mixture, N)  # the reduced model's exact population loss per restart
        if losses is not None and bool(np.all(losses <= target)):
            reached["step"] = step
            return True
        return False

    config = make_config(restarts=restarts, first_restart=first_restart, **OPTIONS)
    run = train_panel("reduced", mixture, [N], [Strategy.JT], config=config, seed=seed, device=device, stop=stop,
                      stop_every=CHECK_EVERY)
    return {"seconds": run.seconds, "steps": reached["step"], "reached": reached["step"] is not None}


def run_benchmark(*, restarts: int = RESTARTS, seed: int = 0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Both variants in one process; ``seconds_to_1pct`` is None when a run never reached the target."""
    batched = time_to_target(restarts, seed=seed, device=device)
    singles = [time_to_target(1, first_restart=r, seed=seed, device=device) for r in range(restarts)]
    all_reached = all(s["reached"] for s in singles)
    sequential_seconds = sum(s["seconds"] for s in singles)
    out: dict[str, Any] = {
        "preset": PRESET, "n": N, "restarts": restarts, "target_rel_gap": TARGET, "options": OPTIONS,
        "check_every": CHECK_EVERY, "threads": torch.get_num_threads(), "device": str(resolve_device(device)),
        "batched": {"seconds_to_1pct": batched["seconds"] if batched["reached"] else None, "steps": batched["steps"]},
        "sequential": {"seconds_to_1pct": sequential_seconds if all_reached else None,
                       "steps": [s["steps"] for s in singles]},
    }
    b, s = out["batched"]["seconds_to_1pct"], out["sequential"]["seconds_to_1pct"]
    out["speedup"] = s / b if b and s else None
    return out


# ----- the protocol benchmark ----------------------------------------------------------------------------------------
PROTOCOL_STEPS = 20_000  # Section 6
PROTOCOL_BATCH = 8192
PROTOCOL_RESTARTS = 50
FULL_NS = tuple(range(1, 11)) + tuple(range(15, 51, 5))  # verify.panels.FULL.train_ns (checked in tests/benchmarks)
CPU_BATCH = {"reduced": 8192, "attention": 512, "heads": 512, "multilayer": 128}
TIMED_STEPS = 2  # steps timed per measurement, after one untimed warm-up step


@dataclass(frozen=True)
class Kind:
    """A model kind of the figures: the model, its strategies in one panel, a representative preset, its depth, the
    cell whose steps to 1% are measured, and how many points of ``verify --figures --full`` it trains."""

    model: str
    strategies: tuple[str, ...]
    preset: str
    layers: int
    steps_cell: tuple[str, int]
    full_points: int
    note: str


# verify --figures --full: 18 n per (panel, strategy).  Reduced: 2a, 2b, 2c, A1a, A1c (PT, FT, JT), 2d, A1d, A2a, A2d
# (PT, JT), A1b (PT, FT, JT): 26 pairs.  Heads (PGD, one layer): 2d, A1b, A1d, A2a, A2d.  Multi-layer: A2b, A2e
# (L = 2), A2c, A2f (L = 3), each PT and JT (shared head) and PGD (task heads).  The trained points of the shared-head
# attention are not drawn (verify.figures), so "attention" has none.
KINDS: dict[str, Kind] = {
    "reduced": Kind("reduced", ("PT", "FT", "JT"), "fig2c", 1, ("JT", 10), 26 * 18, "eq. (7), moment-form loss"),
    "attention": Kind("attention", ("PT", "JT"), "fig2a", 1, ("JT", 10), 0, "eq. (6), shared head"),
    "heads": Kind("attention", ("PGD",), "fig2d", 1, ("PGD", 10), 5 * 18, "eq. (17), task-specific heads"),
    "multilayer": Kind("multilayer", ("PT", "JT"), "figA2-clean", 2, ("JT", 10), 4 * 3 * 18,
                       "Appendix E; L = 2 timed; an L = 3 point is an L = 2 point plus a deepening stage of a third "
                       "of the steps at 3x the step cost (13 vs 4 Gram products per vector): 2x"),
}
_MULTILAYER_L3_FACTOR = 3.0  # per-step cost of L = 3 relative to L = 2: products of G~ per vector, 13 / 4, rounded down


def _per_point_ms_per_step(kind: Kind, mixture: TaskMixture, n: int, restarts: int, batch: int,
                       device: torch.device) -> float:
    """The per-point path: one cell (the kind's slowest strategy at n) as its own panel, the literal protocol; ms per
    step after one warm-up step."""
    config = make_config(steps=TIMED_STEPS + 1, batch_size=batch, restarts=restarts, protocol="literal")
    run = train_panel(kind.model, mixture, [n], [kind.steps_cell[0]], layers=kind.layers, config=config, seed=0,
                      device=device)
    return 1000.0 * float(np.mean(run.step_seconds[1:]))


def _panel_ms_per_step(kind: Kind, mixture: TaskMixture, restarts: int, batch: int, device: torch.device) -> float:
    """One panel model of the kind (every n of ``FULL_NS`` x its strategies x R restarts): ms per step, warm-up excluded."""
    config = make_config(steps=TIMED_STEPS + 1, batch_size=batch, restarts=restarts, tolerance=None)
    run = train_panel(kind.model, mixture, FULL_NS, kind.strategies, layers=kind.layers, config=config, seed=0,
                      device=device)
    return 1000.0 * float(np.mean(run.step_seconds[1:]))  # every step after the first (FT's phase 2 adds steps)


def steps_to_target(kind: Kind, mixture: TaskMixture, *, restarts: int, batch: int, device: torch.device,
                    budget: int = PROTOCOL_STEPS, check_every: int = 25) -> dict[str, Any]:
    """Train the kind's slowest cell (``kind.steps_cell``) until every restart's exact loss is within 1% of its
    optimum (the panel engine's early stop); ``None`` steps when the kind has no exact loss (it runs its budget)."""
    strategy, n = kind.steps_cell
    if kind.model == "multilayer":
        return {"steps": None, "reached": False, "budget": budget, "note": "no exact loss: the cell runs its budget"}
    config = make_config(steps=budget, batch_size=batch, restarts=restarts, tolerance=0.01,
                               check_every=check_every)
    run = train_panel(kind.model, mixture, [n], [strategy], layers=kind.layers, config=config, seed=0, device=device)
    cell = run.cells[0]
    return {"steps": cell.steps if all(cell.reached) else None, "reached": all(cell.reached), "budget": budget,
            "restarts": restarts, "batch": batch, "n": n, "strategy": strategy, "check_every": check_every,
            "seconds": run.seconds}


def measure_kind(name: str, *, device: torch.device, restarts: int = PROTOCOL_RESTARTS, batch: int | None = None,
                 steps_restarts: int = 4, steps_batch: int = PROTOCOL_BATCH, measure_steps: bool = True,
                 per_point_ns: Sequence[int] = FULL_NS) -> dict[str, Any]:
    """Every figure of one kind (see the module docstring); times are ms and s at the protocol batch (scaled)."""
    kind = KINDS[name]
    mixture = preset(kind.preset)
    timed_batch = batch or (PROTOCOL_BATCH if device.type == "cuda" else CPU_BATCH[name])
    scale = PROTOCOL_BATCH / timed_batch
    panel_ms = _panel_ms_per_step(kind, mixture, restarts, timed_batch, device) * scale
    cells = len(FULL_NS) * len(kind.strategies)
    per_point = [_per_point_ms_per_step(kind, mixture, n, restarts, timed_batch, device) * scale for n in per_point_ns]
    single = [_per_point_ms_per_step(kind, mixture, n, 1, timed_batch, device) * scale for n in per_point_ns]
    steps: dict[str, Any] = {"steps": None, "reached": False, "note": "not measured (--no-steps): the full budget"}
    if measure_steps:
        steps = steps_to_target(kind, mixture, restarts=steps_restarts, batch=steps_batch, device=device)
    new_steps = steps["steps"] if steps["steps"] is not None else PROTOCOL_STEPS
    point_ms = panel_ms / cells
    per_point_ms, sequential_ms = float(np.mean(per_point)), float(np.mean(single)) * restarts
    out: dict[str, Any] = {
        "model": kind.model, "strategies": list(kind.strategies), "preset": kind.preset, "layers": kind.layers,
        "note": kind.note, "timed_batch": timed_batch, "batch_scale": scale, "restarts": restarts,
        "ns": list(FULL_NS), "cells_per_panel": cells,
        "ms_per_step_panel": panel_ms, "ms_per_step_point": point_ms,
        "per_point_ms_per_step_point": per_point_ms, "sequential_ms_per_step_point": sequential_ms,
        "per_step_ratio_vs_per_point": per_point_ms / point_ms,
        "steps_to_1pct": steps, "steps_per_point": new_steps,
        "seconds_per_point": point_ms * new_steps / 1000.0,
        "per_point_seconds_per_point": per_point_ms * PROTOCOL_STEPS / 1000.0,
        "sequential_seconds_per_point": sequential_ms * PROTOCOL_STEPS / 1000.0,
    }
    out["ratio_vs_per_point"] = out["per_point_seconds_per_point"] / out["seconds_per_point"]
    out["ratio_vs_sequential"] = out["sequential_seconds_per_point"] / out["seconds_per_point"]
    factor = 1.0
    if name == "multilayer":  # half the points are L = 3: two layers, then the deepening stage (training.multilayer)
        factor = (1.0 + (1.0 + DEEPEN_STEP_FRACTION * _MULTILAYER_L3_FACTOR)) / 2.0
    out["full_points"] = kind.full_points
    out["full_set_hours"] = kind.full_points * out["seconds_per_point"] * factor / 3600.0
    out["per_point_full_set_hours"] = kind.full_points * out["per_point_seconds_per_point"] * factor / 3600.0
    return out


def run_protocol_benchmark(*, device: str | torch.device = "cpu", kinds: Sequence[str] = tuple(KINDS),
                           restarts: int = PROTOCOL_RESTARTS, steps_restarts: int = 4, steps_batch: int = PROTOCOL_BATCH,
                           measure_steps: bool = True, per_point_ns: Sequence[int] = FULL_NS) -> dict[str, Any]:
    """The protocol benchmark for ``kinds`` (see the module docstring): a JSON-able dict."""
    dev = resolve_device(device)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise VerifyError(f"--kinds: unknown {unknown} (expected some of {', '.join(KINDS)})")
    results = {name: measure_kind(name, device=dev, restarts=restarts, steps_restarts=steps_restarts,
                                  steps_batch=steps_batch, measure_steps=measure_steps, per_point_ns=per_point_ns)
               for name in kinds}
    total = sum(r["full_set_hours"] for r in results.values())
    per_point = sum(r["per_point_full_set_hours"] for r in results.values())
    return {"device": str(dev), "device_name": _device_name(dev), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "protocol": {"steps": PROTOCOL_STEPS, "batch": PROTOCOL_BATCH,
                                                     "restarts": restarts, "tolerance": 0.01},
            "kinds": results, "full_set_hours": total, "per_point_full_set_hours": per_point,
            "full_set_ratio": per_point / total if total > 0 else None,
            "complete": set(kinds) == set(KINDS)}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores visible)"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically (:func:`theory.files.write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def format_protocol(out: dict[str, Any]) -> str:
    lines = [f"{'kind':<11}{'ms/step panel':>14}{'ms/step pt':>11}{'per-pt pt':>10}{'seq pt':>10}{'steps':>7}"
             f"{'s/point':>9}{'per-pt s/pt':>11}{'x per-pt':>8}{'x seq':>8}{'full h':>8}{'per-pt h':>9}"]
    for name, r in out["kinds"].items():
        steps = r["steps_to_1pct"]["steps"]
        lines.append(f"{name:<11}{r['ms_per_step_panel']:>14.1f}{r['ms_per_step_point']:>11.2f}"
                     f"{r['per_point_ms_per_step_point']:>10.1f}{r['sequential_ms_per_step_point']:>10.1f}"
                     f"{'budget' if steps is None else steps:>7}{r['seconds_per_point']:>9.1f}"
                     f"{r['per_point_seconds_per_point']:>11.0f}{r['ratio_vs_per_point']:>7.1f}x{r['ratio_vs_sequential']:>7.1f}x"
                     f"{r['full_set_hours']:>8.2f}{r['per_point_full_set_hours']:>9.1f}")
    lines.append(f"whole --full set: {out['full_set_hours']:.2f} h (per-point path {out['per_point_full_set_hours']:.1f} h) on "
                 f"{out['device_name']}" + ("" if out["complete"] else " (kinds measured here only)"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the measurements to this JSON file")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--restarts", type=int, default=RESTARTS, help=f"R (default {RESTARTS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--protocol", action="store_true", help="the paper-protocol benchmark (panel engine vs "
                        "the per-point path and the sequential loop)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"--protocol: model kinds (default {','.join(KINDS)})")
    parser.add_argument("--steps-restarts", type=int, default=4, help="--protocol: restarts of the steps-to-1%% run")
    parser.add_argument("--steps-batch", type=int, default=PROTOCOL_BATCH, help="--protocol: batch of the steps-to-1%% run")
    parser.add_argument("--no-steps", action="store_true", help="--protocol: skip the steps-to-1%% runs (the full budget)")
    args = parser.parse_args(argv)
    if args.protocol:
        return _protocol_main(args)
    try:
        device = resolve_device(args.device)
        if args.restarts < 1:
            raise VerifyError(f"--restarts must be >= 1, got {args.restarts}")
        if args.threads is not None:
            if args.threads < 1:
                raise VerifyError(f"--threads must be >= 1, got {args.threads}")
            torch.set_num_threads(args.threads)
    except VerifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"JT, reduced model, {PRESET} (d=10, K=2), n={N}, R={args.restarts}; device {device}, "
          f"{torch.get_num_threads()} CPU thread(s)")
    out = run_benchmark(restarts=args.restarts, seed=args.seed, device=device)
    for key in ("batched", "sequential"):
        secs = out[key]["seconds_to_1pct"]
        print(f"{key:<11} seconds to all restarts within 1% of L*_JT: {'never' if secs is None else f'{secs:.2f}'}")
    speedup = out["speedup"]
    print(f"speedup    {'n/a' if speedup is None else f'{speedup:.1f}x'}")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


def _protocol_main(args: argparse.Namespace) -> int:
    try:
        device = resolve_device(args.device)
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        for name in ("restarts", "steps_restarts", "steps_batch"):
            if getattr(args, name) < 1:
                raise VerifyError(f"--{name.replace('_', '-')} must be >= 1")
        if args.threads is not None:
            if args.threads < 1:
                raise VerifyError(f"--threads must be >= 1, got {args.threads}")
            torch.set_num_threads(args.threads)
        if args.json is not None and not args.json.parent.is_dir():
            raise VerifyError(f"--json: no directory {args.json.parent}")
        restarts = args.restarts if args.restarts != RESTARTS else PROTOCOL_RESTARTS
        out = run_protocol_benchmark(device=device, kinds=kinds, restarts=restarts, steps_restarts=args.steps_restarts,
                                     steps_batch=args.steps_batch, measure_steps=not args.no_steps)
    except VerifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_protocol(out))
    if args.json is not None:
        write_json_atomic(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

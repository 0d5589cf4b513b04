"""Batched restarts vs the same restarts one after another: ``python -m training.benchmark [--json FILE]``.

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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from montecarlo import resolve_device
from theory.errors import VerifyError
from theory.mixture import preset
from theory.optima import optimum
from theory.strategy import Strategy
from training.models import TrainableModel
from training.strategies import make_config, run_training

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
    run = run_training(Strategy.JT, mixture, N, config=config, seed=seed, device=device, stop=stop, stop_every=CHECK_EVERY)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the measurements to this JSON file")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--restarts", type=int, default=RESTARTS, help=f"R (default {RESTARTS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())

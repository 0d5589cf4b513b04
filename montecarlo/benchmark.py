"""Cost per unit of precision of the Monte Carlo estimators: ``python -m montecarlo.benchmark``.

For each estimator (``direct``, ``fast``) and context length n at the
paper's Figure 2(c) mixture (d = 10, K = 2) with the joint-training optimum
(W*_JT, P*_JT) of Theorem 3, one run of a fixed number of samples
(:func:`default_samples`, or ``--samples``; never a time box, so every run draws the same samples)
measures

* samples per second,
* the per-sample variance of the loss,
* seconds to reach a relative standard error of 1e-3:
  ``variance_per_sample / (mean^2 * 1e-6) / samples_per_s``,

and prints each estimator's speed-up over ``direct``.  The estimators are ``direct``, ``fast`` (the device's
default Gram sampler: the full Wishart factor on a CPU, unchanged numbers), and ``fast-column`` (one product
``G a`` per sample, :func:`montecarlo.sample_gram_columns`, the CUDA default).  Each cell also reports
``effective_samples_per_s``: direct-equivalent samples per second, ``samples_per_s * variance_direct /
variance``, the rate at which the direct estimator would have to draw to gain precision as fast (the GPU
path's target is 1e9).  ``--json FILE`` writes ``{estimator: {n: {"samples_per_s", "variance_per_sample",
"seconds_to_rel_se_1e-3", "effective_samples_per_s"}}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from montecarlo.estimators import estimate_loss
from montecarlo.predictors import ReducedPredictor
from montecarlo.sampler import resolve_device
from theory.errors import VerifyError
from theory.files import write_text_atomic
from theory.mixture import preset
from theory.optima import optimum
from theory.seeds import child_seed

DEFAULT_NS = (10, 100, 1000)
TARGET_REL_SE = 1e-3
_KEY = "seconds_to_rel_se_1e-3"


ESTIMATORS = {"direct": ("direct", "auto"), "fast": ("fast", "auto"), "fast-column": ("fast", "column")}


def default_samples(method: str, n: int) -> int:
    """Samples per cell: about 1-3 s each on one CPU core (the direct estimator's cost grows with n)."""
    return max(2_000, 2_000_000 // n) if method == "direct" else 500_000


def measure(method: str, n: int, *, samples: int | None = None, device: str | torch.device = "auto",
            seed: int = 0) -> dict[str, float]:
    """One cell: fig2c at the JT optimum, a warm-up batch, then a run of ``samples`` samples (a sample budget)."""
    mixture = preset("fig2c")
    opt = optimum("JT", mixture, n)
    spec = ReducedPredictor(opt.W, opt.P)
    estimator, sampler = ESTIMATORS[method]
    options: dict[str, Any] = {"method": estimator, "target_rel_se": 0.0, "device": device, "min_samples": 2,
                               "sampler": sampler}
    estimate_loss(mixture, n, spec, max_samples=64, seed=child_seed(seed, "benchmark", "warm-up"), **options)  # warm-up (allocations, caches)
    est = estimate_loss(mixture, n, spec, max_samples=samples or default_samples(method, n), seed=seed, **options)
    rate = est.samples / est.seconds
    return {"samples_per_s": rate, "variance_per_sample": est.variance,
            _KEY: est.variance / (est.mean**2 * TARGET_REL_SE**2) / rate}


def run_benchmark(*, device: str | torch.device = "auto", samples: int | None = None, ns: Sequence[int] = DEFAULT_NS,
                  methods: Sequence[str] = ("direct", "fast"), seed: int = 0) -> dict[str, dict[int, dict[str, float]]]:
    """All cells: ``{method: {n: {"samples_per_s", "variance_per_sample", "seconds_to_rel_se_1e-3"}}}``."""
    results = {method: {n: measure(method, n, samples=samples, device=device, seed=seed) for n in ns}
               for method in methods}
    if "direct" in results:
        for cells in results.values():
            for n, cell in cells.items():
                direct = results["direct"][n]
                cell["effective_samples_per_s"] = cell["samples_per_s"] * direct["variance_per_sample"] / cell["variance_per_sample"]
    return results


def speedups(results: dict[str, dict[int, dict[str, float]]]) -> dict[str, dict[int, float]]:
    """Each estimator's time to rel SE 1e-3 relative to ``direct`` (direct seconds / its seconds)."""
    base = results["direct"]
    return {method: {n: base[n][_KEY] / cell[_KEY] for n, cell in cells.items()} for method, cells in results.items()}


def format_table(results: dict[str, dict[int, dict[str, float]]]) -> str:
    ratio = speedups(results)
    lines = [f"{'estimator':<12}{'n':>6}{'samples/s':>12}{'effective/s':>13}{'var/sample':>12}{'s to rel SE 1e-3':>18}"
             f"{'vs direct':>11}"]
    for method, cells in results.items():
        for n, cell in cells.items():
            lines.append(f"{method:<12}{n:>6}{cell['samples_per_s']:>12.4g}{cell.get('effective_samples_per_s', 0.0):>13.4g}"
                         f"{cell['variance_per_sample']:>12.4g}{cell[_KEY]:>18.4g}{ratio[method][n]:>10.1f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m montecarlo.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--json", type=Path, help="write the measurements to this JSON file")
    parser.add_argument("--samples", type=int, help="samples per (estimator, n) cell (default: 500000 fast, "
                        "max(2000, 2e6 / n) direct)")
    parser.add_argument("--n", default=",".join(map(str, DEFAULT_NS)), help="context lengths, comma separated")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
        ns = [int(v) for v in args.n.split(",") if v.strip()]
        if (args.samples is not None and args.samples < 2) or not ns or min(ns) < 1:
            raise VerifyError("--samples must be >= 2 and --n a list of integers >= 1")
        if args.threads is not None:
            if args.threads < 1:
                raise VerifyError(f"--threads must be >= 1, got {args.threads}")
            torch.set_num_threads(args.threads)
    except (VerifyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"fig2c (d=10, K=2) at the JT optimum; device {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU thread(s), {args.samples or 'default'} samples per cell")
    results = run_benchmark(device=device, samples=args.samples, ns=ns, methods=tuple(ESTIMATORS))
    print(format_table(results))
    if args.json is not None:
        payload = {method: {str(n): cell for n, cell in cells.items()} for method, cells in results.items()}
        write_text_atomic(args.json, json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

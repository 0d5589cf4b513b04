"""pytest-benchmark wrappers of ``montecarlo.benchmark`` (run with ``pytest --benchmark-only tests/benchmarks``).

The default suite passes ``--benchmark-skip``, which skips every test here.
Timings use one torch CPU thread: on a shared 2-core machine intra-op
threads make the small batched operations of the fast estimator erratic.
"""

from __future__ import annotations

import pytest

from montecarlo import ReducedPredictor, estimate_loss
from montecarlo.benchmark import run_benchmark, speedups
from theory.mixture import preset
from theory.optima import optimum

SAMPLES = {"direct": {10: 50_000, 100: 5_000, 1000: 500}, "fast": {10: 50_000, 100: 50_000, 1000: 50_000}}
TARGET_SPEEDUP = {100: 10.0, 1000: 50.0}  # fast vs direct, seconds to reach rel SE 1e-3 on CPU


@pytest.mark.parametrize("n", [10, 100, 1000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("method", ["direct", "fast"])
def test_estimator_throughput(benchmark, method: str, n: int) -> None:  # type: ignore[no-untyped-def]
    """Wall time of a fixed-size estimate at fig2c, JT optimum; records variance per sample alongside."""
    mixture = preset("fig2c")
    opt = optimum("JT", mixture, n)
    spec = ReducedPredictor(opt.W, opt.P)
    samples = SAMPLES[method][n]

    def run():  # type: ignore[no-untyped-def]
        return estimate_loss(mixture, n, spec, method=method, target_rel_se=0.0, max_samples=samples, device="cpu")

    est = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(samples=samples, variance_per_sample=est.variance,
                                seconds_to_rel_se_1e_3=est.variance / (est.mean**2 * 1e-6) / (samples / est.seconds))


def test_fast_reaches_rel_se_1e3_sooner(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Fast reaches rel SE 1e-3 >= 10x sooner than direct at n = 100 and >= 50x sooner at n = 1000."""
    results = benchmark.pedantic(run_benchmark, kwargs={"device": "cpu", "ns": (100, 1000)},
                                 rounds=1, iterations=1)
    ratio = speedups(results)["fast"]
    benchmark.extra_info.update({f"speedup_n{n}": r for n, r in ratio.items()})
    for n, target in TARGET_SPEEDUP.items():
        assert ratio[n] >= target, f"fast is only {ratio[n]:.1f}x sooner than direct at n={n} (target {target}x)"

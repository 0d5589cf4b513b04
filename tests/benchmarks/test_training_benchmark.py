"""pytest-benchmark wrappers of ``training.benchmark`` (run with ``pytest --benchmark-only tests/benchmarks``).

The default suite passes ``--benchmark-skip``, which skips every test here.
Timings use one torch CPU thread, as in tests/benchmarks/test_montecarlo_benchmark.py.
"""

from __future__ import annotations

from training.benchmark import RESTARTS, run_benchmark, time_to_target

TARGET_SPEEDUP = 5.0  # batched R=16 vs the same 16 restarts one after another, on a 2-core CPU
TARGET_SECONDS = 60.0  # batched JT on fig2c, n=10, all 16 restarts within 1% of L*_JT


def test_batched_restarts_reach_1pct(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Training time until all 16 batched restarts are within 1% of L*_JT (fig2c, n = 10)."""
    result = benchmark.pedantic(time_to_target, args=(RESTARTS,), kwargs={"device": "cpu"}, rounds=1, iterations=1)
    benchmark.extra_info.update(seconds_to_1pct=result["seconds"], steps=result["steps"])
    assert result["reached"], "the batched restarts never got within 1% of L*_JT"
    assert result["seconds"] <= TARGET_SECONDS, f"{result['seconds']:.1f} s > {TARGET_SECONDS} s"


def test_batched_vs_sequential_speedup(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Batched R=16 reaches 1% at least 5x sooner than the same restarts run one after another."""
    out = benchmark.pedantic(run_benchmark, kwargs={"device": "cpu"}, rounds=1, iterations=1)
    benchmark.extra_info.update(batched=out["batched"]["seconds_to_1pct"],
                                sequential=out["sequential"]["seconds_to_1pct"], speedup=out["speedup"])
    assert out["speedup"] is not None, "a run never reached the target"
    assert out["speedup"] >= TARGET_SPEEDUP, f"speedup {out['speedup']:.1f}x < {TARGET_SPEEDUP}x"

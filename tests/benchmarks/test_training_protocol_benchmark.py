"""pytest-benchmark wrapper of ``python -m training.benchmark --protocol`` (run with ``pytest --benchmark-only``).

The default suite passes ``--benchmark-skip``, which skips the timed test here; the consistency test (the
benchmark's view of ``verify --figures --full`` matches ``verify.panels``) runs in the default suite.
Timings use one torch CPU thread.  The reduced model is timed at the protocol's batch (8192) and 50 restarts;
the per-point path at three n of the grid; the steps to 1% at batch 2048 with 2 restarts, to keep the run short.
"""

from __future__ import annotations

import json
from pathlib import Path

from theory.strategy import Strategy
from training.benchmark import FULL_NS, KINDS, run_protocol_benchmark, write_json_atomic
from verify.panels import FULL, PANELS, PointKind, panel_points

TARGET_RATIO = 10.0  # panel engine vs the per-point path, CPU time per (panel, strategy, n) point


def test_full_set_matches_verify_panels() -> None:
    """FULL_NS is --full's n grid, and each kind's point count is what verify.figures trains under --full."""
    assert FULL_NS == FULL.train_ns
    counts = {"reduced": 0, "heads": 0, "multilayer": 0, "attention": 0}
    for spec in PANELS.values():
        for point in panel_points(spec, FULL):
            if point.kind is PointKind.TRAINED:
                kind = "multilayer" if spec.layers > 1 else ("heads" if point.strategy is Strategy.PGD else "reduced")
                counts[kind] += 1
    assert counts == {name: kind.full_points for name, kind in KINDS.items()}


def test_protocol_benchmark_reduced(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The reduced model's panel takes >= 10x less CPU time per point than the per-point path, measured in one run."""
    out = benchmark.pedantic(run_protocol_benchmark, kwargs={"device": "cpu", "kinds": ("reduced",),
                                                             "per_point_ns": (1, 10, 50), "steps_restarts": 2,
                                                             "steps_batch": 2048}, rounds=1, iterations=1)
    reduced = out["kinds"]["reduced"]
    benchmark.extra_info.update(ratio_vs_per_point=reduced["ratio_vs_per_point"], steps=reduced["steps_per_point"],
                                ms_per_step_point=reduced["ms_per_step_point"])
    path = tmp_path / "protocol.json"
    write_json_atomic(path, out)
    assert json.loads(path.read_text(encoding="utf-8"))["kinds"]["reduced"]["steps_to_1pct"]["reached"]
    assert reduced["ratio_vs_per_point"] >= TARGET_RATIO, reduced

"""The Ray executor: figure points as Ray tasks on a local 2-CPU cluster.

A small sweep (two panels, a tiny budget, a stand-in training channel) runs on Ray, is interrupted once five
points are recorded, and resumes; its records and panel files must equal the local executor's byte for byte, the
five first records must not be rewritten, and the resumed run must compute only the rest.

Ray is an optional extra for users (``pip install -e '.[ray]'``) and part of the test extra, so the README's test
command always runs this module.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import ray

from theory.errors import VerifyError
from theory.strategy import Strategy
from verify.figures import make_figures
from verify.panels import Budget, PointKind, PointSpec, panel, panel_points
from verify.ray_executor import RayExecutor, ray_runtime_env
from verify.sweep import POINTS_DIR, PointTask
from verify.trained import TrainedPoint

TINY = Budget("ray-test", ns=(1, 3), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=20_000,
              train_quick=True, train_ns=(3,))
PANELS = ["2d", "A2b"]  # Monte Carlo, head-scaled, unconstrained and trained points; a 2-layer panel without Monte Carlo
STOP_AFTER = 5


class FakeTraining:
    """A stand-in training channel, deterministic in the seed it is given (sent to the workers by value)."""

    identity = "fake training (ray tests)"

    def __call__(self, strategy: Strategy, mixture, n: int, *, layers: int, seed: int, quick: bool) -> TrainedPoint:
        from theory.optima import optimum

        return TrainedPoint(1.01 * optimum(strategy, mixture, n).loss * (1 + (seed % 1000) * 1e-9), 1e-3, f"fake L={layers}")


class FailingTraining(FakeTraining):
    def __call__(self, strategy: Strategy, mixture, n: int, *, layers: int, seed: int, quick: bool) -> TrainedPoint:
        raise VerifyError("model: no such model (raised inside a Ray task)")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster with 2 CPUs, the toolkit's packages sent along (the executor reuses it, as started)."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the fake providers live in this test module
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
             runtime_env=ray_runtime_env())
    try:
        yield
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _records(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / POINTS_DIR).glob("*.json"))}


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("fig_*")) if p.suffix in (".csv", ".json")}


def test_interrupted_ray_sweep_resumes_and_matches_the_local_executor(cluster, tmp_path: Path) -> None:
    total = sum(len(panel_points(panel(p), TINY)) for p in PANELS)
    local = tmp_path / "local"
    make_figures(PANELS, local, budget=TINY, seed=11, provider=FakeTraining(), progress=False)
    assert len(_records(local)) == total == 10 + 4

    remote = tmp_path / "ray"
    seen: list[PointSpec] = []

    def interrupt(point: PointSpec) -> None:
        seen.append(point)
        if len(seen) == STOP_AFTER:
            raise KeyboardInterrupt  # Ctrl-C in the driver, half-way: the unfinished tasks are cancelled

    with pytest.raises(KeyboardInterrupt):
        make_figures(PANELS, remote, budget=TINY, seed=11, provider=FakeTraining(), progress=False,
                     executor=RayExecutor(), on_point=interrupt)
    first = _records(remote)
    assert len(first) == STOP_AFTER and all(first[name] == _records(local)[name] for name in first)
    inodes = {name: (remote / POINTS_DIR / name).stat().st_ino for name in first}

    lines: list[str] = []
    make_figures(PANELS, remote, budget=TINY, seed=11, provider=FakeTraining(), progress=False, executor=RayExecutor(),
                 notify=lines.append)
    assert lines == [f"points: {STOP_AFTER} of {total} read back from {remote / POINTS_DIR}, {total - STOP_AFTER} computed "
                     "(ray, 2 CPUs and 0 GPUs, 1 CPU per task)"]
    assert {name: (remote / POINTS_DIR / name).stat().st_ino for name in first} == inodes  # nothing recomputed
    assert _records(remote) == _records(local)  # byte for byte, every point
    assert _files(remote) == _files(local) and len(_files(local)) == 2 * len(PANELS)  # each panel's CSV and JSON


def test_ray_executor_devices_and_errors(cluster, tmp_path: Path) -> None:
    with RayExecutor() as runner:  # the running 2-CPU cluster: CPU tasks
        assert runner.device == "cpu" and runner.describe() == "ray, 2 CPUs and 0 GPUs, 1 CPU per task"
        task = PointTask(PointSpec("2d", PointKind.TRAINED, Strategy.JT, 3), TINY, 0, runner.device, FailingTraining())
        with pytest.raises(VerifyError, match="model: no such model"):  # bad input inside a task stays a VerifyError
            list(runner.run([task]))
    assert ray.is_initialized()  # a cluster the executor did not start is left running
    with pytest.raises(VerifyError, match="'cuda' requested but the Ray cluster has no GPU"), RayExecutor(device="cuda"):
        pass
    with pytest.raises(VerifyError, match="--device: with --executor ray"):
        RayExecutor(device="cuda:1")


def test_one_gpu_per_task_where_the_cluster_has_gpus(cluster, monkeypatch) -> None:
    """The device decision alone (this machine has no GPU): a cluster reporting GPUs gets GPU tasks on ``cuda``,
    unless --device cpu asks for CPU tasks."""
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 2.0})
    with RayExecutor() as runner:
        assert runner.device == "cuda" and runner.describe() == "ray, 16 CPUs and 2 GPUs, 1 GPU per task"
    with RayExecutor(device="cuda") as runner:
        assert runner.device == "cuda"
    with RayExecutor(device="cpu") as runner:
        assert runner.device == "cpu" and runner.describe().endswith("1 CPU per task")

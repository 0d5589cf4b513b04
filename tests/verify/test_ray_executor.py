"""The Ray executor: figure points as Ray tasks on a local 2-CPU cluster.

A small sweep (two panels, a tiny budget, a stand-in training channel) runs on Ray, is interrupted once five
points are recorded, and resumes; its records and panel files must equal the local executor's byte for byte, the
five first records must not be rewritten, and the resumed run must compute only the rest.

Ray is an optional extra for users (``pip install -e '.[ray]'``) and part of the test extra, so the README's test
command always runs this module.
"""

from __future__ import annotations

import functools
import json
import logging
import math
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
    assert _files(remote) == _files(local) and len(_files(local)) == 4 * len(PANELS)  # CSV and JSON of each panel and its gaps


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


# --- the trained evidence of `verify --claim ID --full --executor ray` --------------------------------------------------
# A tiny budget (the quick protocol's variant, 4 Adam steps, 1 restart, 2 training seeds): the trainings are real, only
# small; the channel is built in the driver, and each TrainingUnit carries its budget to the Ray task.
TINY_TRAINING = {"steps": 4, "batch_size": 16, "restarts": 1, "warmup_steps": 0}


def _tiny_trainings(monkeypatch) -> None:
    import verify.run
    from verify.evidence.experiments import ExperimentsChannel

    monkeypatch.setattr(verify.run, "ExperimentsChannel",
                        functools.partial(ExperimentsChannel, seeds=2, quick=True, options=TINY_TRAINING))


def _trained(path: Path) -> dict:
    (claim,) = json.loads(path.read_text())["claims"]
    return claim["evidence"]["trained_experiment"]


def test_claim_trainings_on_ray_equal_the_local_ones(cluster, tmp_path: Path, monkeypatch, capsys) -> None:
    """The command the quick note names, on the running cluster (no --address: the executor reuses it), gives the
    numbers of the same run in this process, seed for seed."""
    from verify.cli import main
    from verify.evidence.experiments import DEPTH_STRATEGIES, deciding_commands

    _tiny_trainings(monkeypatch)
    command = deciding_commands("E.A2-depth")[0].replace(" [--address ADDR]", "").split()[1:]
    assert command == ["--claim", "E.A2-depth", "--full", "--executor", "ray"]
    common = ["--mixture", "figA2-clean", "--n", "2", "--seed", "3", "--no-progress", "--no-symbolic"]
    assert main([*command[:3], *common, "--json", str(tmp_path / "local.json")]) == 0
    assert main([*command, *common, "--json", str(tmp_path / "ray.json")]) == 0
    local, remote = _trained(tmp_path / "local.json"), _trained(tmp_path / "ray.json")
    assert remote == local
    assert local["run"] is True and local["budget"] == "full" and local["n"] == 2 and local["seeds"][0] == 3
    assert local["budget_overrides"] == {"seeds": 2, "quick": True, **TINY_TRAINING}
    assert sorted(local["depths"]) == ["2", "3"]
    for depth in local["depths"].values():
        assert sorted(depth["losses"]) == sorted(s.value for s in DEPTH_STRATEGIES)
        for losses in depth["losses"].values():  # two independent trainings: two different losses
            assert len(losses) == 2 and losses[0] != losses[1] and all(math.isfinite(v) for v in losses)
        gain = depth["gains"]["PGD"]
        assert gain["per_seed"] == pytest.approx([a - b for a, b in zip(depth["losses"]["PT"], depth["losses"]["PGD"],
                                                                            strict=True)], rel=1e-15)
    out = capsys.readouterr().out
    assert "2 independent training seeds per strategy" in out and "L=3" in out


def test_claim_without_trained_work_refuses_ray_before_any_work(capsys, monkeypatch) -> None:
    """Exit 2 and one line, from the flags alone: Ray is never started (ray.init would fail the test)."""
    from verify.cli import main

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray was started"))
    cases = {("--claim", "T1.loss", "--full"): "claim T1.loss has no trained work to distribute",
             ("--claim", "E.2d-gradual", "--full"): "claim E.2d-gradual has no trained work to distribute",
             ("--claim", "E.A2-depth"): "at the quick budget E.A2-depth trains nothing (add --full",
             ("--claim", "E.A2-depth", "--full", "--no-training"): "--no-training leaves no trained work"}
    for args, message in cases.items():
        assert main([*args, "--executor", "ray"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("verify: error: --executor: ") and message in err


def test_trained_claim_ids_known_to_the_command_line_are_the_channels() -> None:
    from verify.evidence.experiments import TRAINED_CLAIMS
    from verify.figure_cli import TRAINED_CLAIM_IDS

    assert TRAINED_CLAIM_IDS == TRAINED_CLAIMS

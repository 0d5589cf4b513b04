"""Figure runs as sweeps over points (verify.sweep): one record per finished point under DIR/points/, read back by
the next run, so an interrupted sweep resumes and nothing finished is lost or recomputed; keys that never reuse a
record of another budget, seed, device or provider; the --executor/--address flags of the strict command line.

The Ray executor itself is tested in tests/verify/test_ray_executor.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from theory.optima import optimum
from theory.strategy import Strategy
from verify.cli import main
from verify.figures import expected_time_line, make_figures
from verify.panels import PANELS as ALL_PANELS
from verify.panels import QUICK, Budget, PointKind, PointSpec, compute_panel, panel, panel_points, point_cost
from verify.sweep import (
    POINTS_DIR,
    LocalExecutor,
    PointTask,
    expected_seconds,
    local_workers,
    point_identity,
    record_path,
    work_units,
)
from verify.trained import TrainedPoint, default_provider, provider_identity, unavailable

ROOT = Path(__file__).resolve().parents[2]
TINY = Budget("sweep-test", ns=(1, 3), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=20_000,
              train_quick=True, train_ns=(3,))
PANELS = ["2c", "A2b"]  # a one-layer panel (exact, Monte Carlo, trained points) and a 3-layer one (no Monte Carlo)


@dataclass(frozen=True)
class FakeTraining:
    """A stand-in training channel: 1% above the derived optimum, plus a trace of the seed it was given."""

    identity = "fake training (tests)"

    def __call__(self, strategy: Strategy, mixture, n: int, *, layers: int, seed: int, quick: bool) -> TrainedPoint:
        return TrainedPoint(1.01 * optimum(strategy, mixture, n).loss * (1 + (seed % 1000) * 1e-9), None, f"fake L={layers}")


FAKE = FakeTraining()


def records(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / POINTS_DIR).glob("*.json"))}


def figure_numbers(out: Path) -> dict[str, bytes]:
    """The numbers behind the figures: every panel's CSV and JSON."""
    return {p.name: p.read_bytes() for p in sorted(out.glob("fig_*")) if p.suffix in (".csv", ".json")}


def expected_points() -> int:
    return sum(len(panel_points(panel(p), TINY)) for p in PANELS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted local sweep, the reference every other run is compared with byte for byte."""
    out = tmp_path_factory.mktemp("reference")
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False)
    return out


def test_one_record_per_point_and_panels_as_compute_panel_gives(reference: Path) -> None:
    names = sorted(records(reference))
    assert len(names) == expected_points() == 1 + 3 * 2 + 3 + 1 + 3
    assert sum(n.startswith("2c-montecarlo-") for n in names) == 6 and sum(n.startswith("A2b-trained-") for n in names) == 3
    for name, body in records(reference).items():
        record = json.loads(body)
        assert set(record) == {"key", "identity", "result"} and name.endswith(f"-{record['key'][:16]}.json")
        assert record["identity"]["seed"] == 3 and record["identity"]["budget"]["name"] == "sweep-test"
    direct = compute_panel(panel("2c"), budget=TINY, seed=3, provider=FAKE)  # no records, no executor
    assert (reference / "fig_2c.json").read_text(encoding="utf-8") == json.dumps(direct.to_json(), indent=2)
    assert (reference / "fig_2c.csv").read_text(encoding="utf-8") == direct.to_csv()


def test_a_rerun_reads_every_record_back_and_computes_nothing(reference: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "again"
    (out / POINTS_DIR).mkdir(parents=True)
    for name, body in records(reference).items():
        (out / POINTS_DIR / name).write_bytes(body)
    import verify.sweep

    def no_work(task):  # every point must come from its record
        raise AssertionError(f"recomputed {task.point.describe()}")

    monkeypatch.setattr(verify.sweep, "run_point", no_work)
    lines: list[str] = []
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False, notify=lines.append)
    assert lines == [f"points: {expected_points()} of {expected_points()} read back from {out / POINTS_DIR}, 0 computed "
                     "(local, on cpu)"]
    assert figure_numbers(out) == figure_numbers(reference) and records(out) == records(reference)


def test_a_pool_of_two_processes_gives_the_sequential_bytes(reference: Path, tmp_path: Path) -> None:
    """Two worker processes (spawned, one torch thread per point as in this process) write the same records and
    figure numbers as the sequential run, whatever order the points finish in."""
    out = tmp_path / "pool"
    executor = LocalExecutor("cpu", workers=2, pool_from=0.0)  # a pool even for this short run
    lines: list[str] = []
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False, executor=executor, notify=lines.append)
    assert records(out) == records(reference) and figure_numbers(out) == figure_numbers(reference)
    assert executor.describe() == "local, on cpu, 2 processes"
    assert lines == []  # a short run starts without an estimate, and a first local run has nothing to report
    assert LocalExecutor("cpu", workers=2).expected_parallelism([PointTask(p, TINY, 3, "cpu", FAKE)
                                                                 for p in panel_points(panel("2c"), TINY)]) == 1


def test_units_keep_a_deeper_stack_after_the_one_it_continues_and_the_costliest_go_first() -> None:
    channel = default_provider()
    tasks = [PointTask(p, QUICK, 0, "cpu", channel) for spec in ALL_PANELS.values() for p in panel_points(spec, QUICK)]
    units = work_units(tasks)
    assert sorted(t.point.describe() for u in units for t in u) == sorted(t.point.describe() for t in tasks)  # each once
    stacks = [u for u in units if len(u) > 1]
    assert len(stacks) == 6  # (clean, noisy) x (PT, JT, PGD) at n = 10: the 2-layer point, then the 3-layer one
    for unit in stacks:
        assert [panel(t.point.panel).layers for t in unit] == [2, 3]
        assert len({(panel(t.point.panel).preset, t.point.strategy, t.point.n) for t in unit}) == 1
    costs = [sum(point_cost(t.point, t.budget) for t in u) for u in units]
    assert costs == sorted(costs, reverse=True) and units[0] in stacks
    assert local_workers("cuda:0") == 1 and local_workers("cpu") >= 1


def test_the_expected_time_comes_from_counted_work() -> None:
    """Before a long run: the points, the trained models and the expected minutes (the longest worker's share of the
    counted work); twice the workers, at most the time; without training, the trained points cost nothing."""
    channel = default_provider()  # the training channel, whose rates were measured (nothing is trained here)
    tasks = [PointTask(p, QUICK, 0, "cpu", channel) for spec in ALL_PANELS.values() for p in panel_points(spec, QUICK)]
    one, two = expected_seconds(tasks, 1), expected_seconds(tasks, 2)
    assert one == pytest.approx(sum(point_cost(t.point, t.budget) for t in tasks))
    assert one / 2 <= two < one  # the 2-layer-then-3-layer units cannot be split
    line = expected_time_line(tasks, 2)
    assert line is not None and line.startswith(f"figure points: {len(tasks)} to compute (43 trained models), expected "
                                                f"about {two / 60:.0f} min on 2 processes")
    for other in (unavailable("--no-training"), FAKE):  # no training, or a provider of unknown cost
        untrained = [replace(t, provider=other) for t in tasks]
        assert expected_seconds(untrained, 2) < 60 and expected_time_line(untrained, 2) is None
    assert expected_time_line(tasks, 2, executor="ray") is None  # other machines: no estimate from this one


def test_an_interrupted_sweep_resumes_where_it_stopped(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    done: list[PointSpec] = []

    def interrupt_after_five(point: PointSpec) -> None:
        done.append(point)
        if len(done) == 5:
            raise KeyboardInterrupt  # what Ctrl-C does between two points

    with pytest.raises(KeyboardInterrupt):
        make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False, on_point=interrupt_after_five)
    first = records(out)
    assert len(first) == 5 and not list(out.glob("fig_*"))  # no panel was complete
    stamps = {name: (out / POINTS_DIR / name).stat().st_ino for name in first}
    lines: list[str] = []
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False, notify=lines.append)
    assert lines[0].startswith(f"points: 5 of {expected_points()} read back")
    assert {name: (out / POINTS_DIR / name).stat().st_ino for name in first} == stamps  # not rewritten
    assert records(out) == records(reference) and figure_numbers(out) == figure_numbers(reference)


def test_broken_and_foreign_records_are_recomputed_not_trusted(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "broken"
    (out / POINTS_DIR).mkdir(parents=True)
    originals = records(reference)
    for name, body in originals.items():
        (out / POINTS_DIR / name).write_bytes(body)
    names = sorted(originals)
    truncated, empty, foreign, wrong_shape, deleted = names[0], names[1], names[2], names[3], names[4]
    (out / POINTS_DIR / truncated).write_bytes(originals[truncated][: len(originals[truncated]) // 2])  # a kill mid-write
    (out / POINTS_DIR / empty).write_bytes(b"")
    other = json.loads(originals[names[5]])  # a valid record, but of another point
    (out / POINTS_DIR / foreign).write_text(json.dumps(other), encoding="utf-8")
    shape = json.loads(originals[wrong_shape])
    shape["result"] = {"series": [{"points": "nope"}]} if "exact" in wrong_shape else {"loss": "1.0"}
    (out / POINTS_DIR / wrong_shape).write_text(json.dumps(shape), encoding="utf-8")
    (out / POINTS_DIR / deleted).unlink()
    (out / POINTS_DIR / f".{names[6]}.abc123.tmp").write_bytes(b"{")  # a temporary file left by a kill
    lines: list[str] = []
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False, notify=lines.append)
    assert lines == [f"points: {expected_points() - 5} of {expected_points()} read back from {out / POINTS_DIR}, "
                     "5 computed (local, on cpu), 4 unreadable records replaced"]
    assert records(out) == originals and figure_numbers(out) == figure_numbers(reference)


def test_a_record_is_never_reused_for_another_budget_seed_device_or_provider() -> None:
    point = PointSpec("2c", PointKind.TRAINED, Strategy.JT, 3)
    base = PointTask(point, TINY, 3, "cpu", FAKE)
    variants = [replace(base, seed=4), replace(base, budget=replace(TINY, mc_min_samples=2_000)),
                replace(base, budget=replace(TINY, name="other")), replace(base, device="cuda"),
                replace(base, provider=unavailable("--no-training")), replace(base, point=replace(point, n=1)),
                replace(base, point=replace(point, strategy=Strategy.PT))]
    paths = {record_path(Path("p"), t) for t in [base, *variants]}
    assert len(paths) == 1 + len(variants)
    assert record_path(Path("p"), replace(base, device="cuda:1")) == record_path(Path("p"), replace(base, device="cuda"))
    assert point_identity(base)["provider"] == provider_identity(FAKE) == "fake training (tests)"
    assert "provider" not in point_identity(replace(base, point=PointSpec("2c", PointKind.EXACT)))
    assert set(point_identity(base)["code"]) == {"source_sha256", "torch", "numpy"}
    assert LocalExecutor("cuda:0").device == "cuda:0"


def test_a_killed_sweep_loses_nothing_it_finished(reference: Path, tmp_path: Path) -> None:
    """SIGKILL of a real sweep process once K records exist: the records are whole, and a rerun completes the sweep
    with the same bytes as the uninterrupted run."""
    out = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_sweep import FAKE, PANELS, TINY
        from verify.figures import make_figures
        make_figures(PANELS, {str(out)!r}, budget=TINY, seed=3, provider=FAKE, progress=False)
    """)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not (out / POINTS_DIR).is_dir() or len(records(out)) < 3:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no records after 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    first = records(out)
    assert 3 <= len(first) < expected_points()
    assert all(body == records(reference)[name] for name, body in first.items())  # whole, and the same bytes
    make_figures(PANELS, out, budget=TINY, seed=3, provider=FAKE, progress=False)
    assert records(out) == records(reference) and figure_numbers(out) == figure_numbers(reference)


# ----- the command line -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["--figures", "--executor", "spark"], "--executor: expected local or ray, got 'spark'"),
    (["--figures", "--executor", "ray", "--executor", "ray"], "--executor: given more than once"),
    (["--theorem", "1", "--executor", "ray"], "--executor: the selected claims have no trained work to distribute (it runs "
                                             "figure points"),
    (["--list", "--executor", "local"], "--executor: not used with --list"),
    (["--expand", "PT", "--executor", "local"], "--executor: not used with --expand"),
    (["--figures", "--address", "auto"], "--address: needs --executor ray"),
    (["--figure", "2a", "--executor", "local", "--address", "auto"], "--address: needs --executor ray"),
    (["--figures", "--executor", "ray", "--address", " "], "--address: expected auto, HOST:PORT or ray://HOST:PORT"),
    (["--figures", "--executor", "ray", "--address", "head"], "--address: expected auto, HOST:PORT or ray://HOST:PORT"),
    (["--figures", "--executor", "ray", "--address", "head:99999"], "--address: expected auto, HOST:PORT or ray://HOST:PORT"),
    (["--figures", "--executor", "ray", "--device", "cuda:0"], "--device: with --executor ray, expected auto, cpu or cuda"),
])
def test_executor_flags_are_checked_before_any_work(capsys, tmp_path: Path, argv: list[str], message: str) -> None:
    figures = "--figure" in argv or "--figures" in argv
    assert main([*argv, "--plot", str(tmp_path / "figs")] if figures else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "figs").exists()


def test_executor_ray_without_ray_names_the_extra(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed: find_spec("ray") is None
    assert main(["--figure", "2a", "--executor", "ray", "--plot", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err
    assert err == "verify: error: --executor: ray is not installed (install the extra: pip install -e '.[ray]')\n"
    assert not (tmp_path / "figs").exists()


def test_an_unreachable_ray_address_is_one_line_not_a_hang() -> None:
    """Ray retries an unreachable cluster without end; the executor tries a TCP connection first (ray not needed)."""
    from theory.errors import VerifyError
    from verify.ray_executor import check_address, probe_address

    assert check_address("ray://head:10001") == ("head", 10001) and check_address("[::1]:6379") == ("::1", 6379)
    assert check_address("auto") is None
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(VerifyError, match=rf"--address: cannot reach the Ray cluster at '127.0.0.1:{port}'"):
            probe_address(f"127.0.0.1:{port}", timeout=5)
    assert time.monotonic() - start < 6


def test_executor_local_from_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "figs"
    argv = ["--figure", "A2b", "--executor", "local", "--no-training", "--no-progress", "--plot", str(out)]
    assert main(argv) == 0
    assert "points:" not in capsys.readouterr().out  # nothing to say on a first local run
    assert main(argv) == 0
    assert "points: 4 of 4 read back" in capsys.readouterr().out

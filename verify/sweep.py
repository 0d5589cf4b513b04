"""Figure runs as sweeps over points, each finished point kept as a record, on an executor of choice.

A figure run is a set of *points* (:class:`verify.panels.PointSpec`): per panel one ``exact`` point (the derived,
claimed, head-scaled and unconstrained curves), one ``montecarlo`` point per (strategy, n) and one ``trained``
point per (strategy, training n). Each is computed by :func:`run_point`, a pure function of a picklable
:class:`PointTask` (point, budget, seed, device, trained-point provider) whose result is plain JSON.

Records. Every finished point is written at once, atomically (a temporary file in the same directory, then
:func:`os.replace`), to ``DIR/points/<panel>-<kind>[-<strategy>-n<n>]-<key>.json``. The key is a SHA-256 of the
point's identity (:func:`point_identity`): the point, the whole budget, the seed, the device type, the provider
(trained points), the record format, and the code (a digest of the toolkit's Python source, with the torch and
numpy versions). A new run first loads the records whose key it expects and that read back whole and well formed;
only the other points are computed, so an interrupted sweep resumes where it stopped, and a record of another
budget, seed, device, provider or code is never reused (its key differs). A file left unreadable by a kill is
recomputed and replaced. The panels are assembled from the records' results (:func:`verify.panels.assemble_panel`),
whether they were computed now or read back.

Executors (:class:`Executor`): :class:`LocalExecutor` runs the points on this machine: in this process, in panel
order (``workers=1``), or on a pool of ``workers`` processes (the command line's default on a CPU: one per core,
:func:`local_workers`), the costliest points first; :class:`verify.ray_executor.RayExecutor` runs them as Ray
tasks. A point's seed comes from the run's seed and the point's panel, strategy and n (never from the order of
execution or the process), and every point runs with one torch thread wherever it runs (:func:`run_point`), so
all of them give byte-identical records.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from verify.output import write_bytes_atomic
from verify.panels import (
    Budget,
    PanelData,
    PanelSpec,
    PointKind,
    PointSpec,
    assemble_panel,
    check_point_result,
    compute_point,
    panel,
    panel_points,
    point_affinity,
    point_cost,
)
from verify.trained import EvidenceProvider, TrainedProvider, provider_identity

__all__ = ["POINTS_DIR", "RECORD_FORMAT", "Executor", "LocalExecutor", "PointTask", "SweepStats", "code_version",
           "expected_seconds", "local_workers", "point_identity", "record_path", "run_point", "sweep", "task_cost", "work_units"]

POOL_FROM = 30.0  # seconds of expected work below which a local run stays in one process (measured: 4 one-layer
# panels without training, 9 s of CPU in one process, 18 s with two spawned workers)
RECORD_FORMAT = 1  # of a point record; bump when a record's layout or a result's meaning changes
POINTS_DIR = "points"  # the records' directory, under the plot directory
_SOURCE_PACKAGES = ("theory", "claims", "montecarlo", "training", "verify")


@dataclass(frozen=True)
class PointTask:
    """Everything one point needs, picklable: what an executor sends to the process or machine that computes it."""

    point: PointSpec
    budget: Budget
    seed: int
    device: str
    provider: TrainedProvider


def run_point(task: PointTask) -> dict[str, Any]:
    """The point's result as plain JSON (:func:`verify.panels.compute_point`); what every executor runs.

    With one torch thread, whatever the process: torch splits a reduction over its threads, so the thread count
    changes the last bits of sampled and trained losses, and a point must not depend on where it ran (in this
    process, in a pool worker, on a Ray node)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return compute_point(task.point, budget=task.budget, seed=task.seed, provider=task.provider, device=task.device)
    finally:
        torch.set_num_threads(threads)


def work_units(tasks: Sequence[PointTask]) -> list[list[PointTask]]:
    """The tasks grouped into units that one process runs in order (:func:`verify.panels.point_affinity`: a 3-layer
    stack continues from the 2-layer stack of the same preset, strategy and n, which a process keeps), the costliest
    unit first (:func:`verify.panels.point_cost`), so that a pool's last unit to start is a short one."""
    groups: dict[Any, list[PointTask]] = {}
    for i, task in enumerate(tasks):
        groups.setdefault(point_affinity(task.point) or ("alone", i), []).append(task)
    units = [sorted(g, key=lambda t: panel(t.point.panel).layers) for g in groups.values()]
    return sorted(units, key=lambda u: -sum(task_cost(t) for t in u))


def task_cost(task: PointTask) -> float:
    """The task's expected seconds of one idle core (:func:`verify.panels.point_cost`); a trained point counts only
    for the toolkit's training channel (whose rates were measured), none for a provider that does not train or
    one of unknown cost."""
    if task.point.kind is PointKind.TRAINED and not isinstance(task.provider, EvidenceProvider):
        return 0.0
    return point_cost(task.point, task.budget)


def expected_seconds(tasks: Sequence[PointTask], workers: int) -> float:
    """The expected wall time of ``tasks`` on ``workers`` idle cores: the units of :func:`work_units`, costliest first,
    each to the worker that is free first (what a pool does), from each point's counted work
    (:func:`verify.panels.point_cost`).  An estimate to print, never a budget."""
    free = [0.0] * max(1, workers)
    for unit in work_units(tasks):
        i = free.index(min(free))
        free[i] += sum(task_cost(t) for t in unit)
    return max(free)


def local_workers(device: str) -> int:
    """The processes a local run uses by default: one per core this process may run on for CPU points, one for a
    GPU (the device is the parallelism there)."""
    if _device_type(device) != "cpu":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _worker_start() -> None:
    """A pool worker leaves Ctrl-C to the parent, which stops the pool (the worker's unfinished point is lost, the
    finished ones are already records)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_unit(job: tuple[int, list[PointTask]]) -> tuple[int, list[dict[str, Any]]]:
    index, unit = job
    return index, [run_point(task) for task in unit]


class Executor(Protocol):
    """Runs point tasks. Used as a context manager: on entry it starts (or connects to) what runs the points and
    sets :attr:`device`, the device the points run on; :meth:`run` yields each task with its result as it finishes
    (in any order) and, when closed early (an error or an interrupt in the caller), stops the tasks not yet
    finished; on exit it stops what it started."""

    name: str
    device: str

    def __enter__(self) -> Executor: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None: ...

    def run(self, tasks: Sequence[PointTask]) -> Generator[tuple[PointTask, dict[str, Any]], None, None]: ...

    def describe(self) -> str: ...


class LocalExecutor:
    """The points on this machine. ``workers=1``: in this process, one after another, in the order given (a panel's
    points in :func:`verify.panels.panel_points` order, panel after panel). ``workers > 1``: on a pool of that many
    processes (started fresh, ``spawn``: no torch state is forked; only for at least ``pool_from`` seconds of expected
    work), fed the units of :func:`work_units`, costliest first; each unit's results come back when the unit is done.
    Ctrl-C or an error in the caller terminates the pool.  A program that uses a pool needs the usual
    ``if __name__ == "__main__":`` guard (``spawn`` imports the main module again in each worker)."""

    name = "local"

    def __init__(self, device: str = "cpu", workers: int = 1, *, pool_from: float = POOL_FROM) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.device = device
        self.workers = workers
        self.pool_from = pool_from
        self._pool_size = 1

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def run(self, tasks: Sequence[PointTask]) -> Generator[tuple[PointTask, dict[str, Any]], None, None]:
        self._pool_size = self.expected_parallelism(tasks)
        units = work_units(tasks)
        if self._pool_size <= 1:
            for task in tasks:
                yield task, run_point(task)
            return
        pool = multiprocessing.get_context("spawn").Pool(self._pool_size, initializer=_worker_start)
        try:
            for index, results in pool.imap_unordered(_run_unit, list(enumerate(units)), chunksize=1):
                yield from zip(units[index], results, strict=True)
            pool.close()
            pool.join()
        finally:
            pool.terminate()  # after close() and join(): nothing left to stop

    def expected_parallelism(self, tasks: Sequence[PointTask]) -> int:
        """How many processes :meth:`run` would use for ``tasks``: one when their expected work is under
        ``pool_from`` seconds (starting a worker costs about 5 s of CPU: it imports torch and the toolkit)."""
        if expected_seconds(tasks, 1) < self.pool_from:
            return 1
        return min(self.workers, len(work_units(tasks)))

    def describe(self) -> str:
        return f"local, on {self.device}" + (f", {self._pool_size} processes" if self._pool_size > 1 else "")


@cache
def code_version() -> dict[str, str]:
    """The code a record was computed with: a SHA-256 of the Python source of the toolkit's five packages (any
    change to it starts the records afresh), and the torch and numpy versions."""
    import numpy
    import torch

    digest = hashlib.sha256()
    for package in _SOURCE_PACKAGES:
        spec = importlib.util.find_spec(package)
        roots = list(spec.submodule_search_locations or []) if spec is not None else []
        for root in roots:
            for path in sorted(Path(root).rglob("*.py")):
                digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return {"source_sha256": digest.hexdigest(), "torch": str(torch.__version__), "numpy": str(numpy.__version__)}


def _device_type(device: str) -> str:
    """``cuda:1`` -> ``cuda``: the index does not change the numbers, the kind of device may."""
    return str(device).split(":", 1)[0]


def point_identity(task: PointTask) -> dict[str, Any]:
    """What a point's numbers depend on, as plain JSON: the record's key is its SHA-256."""
    identity: dict[str, Any] = {"format": RECORD_FORMAT, "code": code_version(), "point": task.point.to_json(),
                                "budget": asdict(task.budget), "seed": task.seed, "device": _device_type(task.device)}
    if task.point.kind is PointKind.TRAINED:
        identity["provider"] = provider_identity(task.provider)
    return json.loads(json.dumps(identity))  # tuples -> lists: equal to what a record reads back


def _key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def record_path(points_dir: Path, task: PointTask) -> Path:
    """Where the point's record goes: ``<panel>-<kind>[-<strategy>-n<n>]-<first 16 hex digits of the key>.json``."""
    p = task.point
    stem = f"{p.panel}-{p.kind}" + ("" if p.kind is PointKind.EXACT else f"-{p.strategy}-n{p.n}")
    return points_dir / f"{stem}-{_key(point_identity(task))[:16]}.json"


def _record_bytes(task: PointTask, result: dict[str, Any]) -> bytes:
    identity = point_identity(task)
    record = {"key": _key(identity), "identity": identity, "result": result}
    return (json.dumps(record, indent=1, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")


def _read_record(path: Path, task: PointTask) -> dict[str, Any] | None:
    """The result of the point's record at ``path`` when it exists, reads back whole and is this point's (same key,
    same identity, a well-formed result); None otherwise (it is then recomputed and replaced)."""
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
        identity = point_identity(task)
        if not isinstance(record, dict) or record.get("key") != _key(identity) or record.get("identity") != identity:
            return None
        result = record["result"]
        check_point_result(task.point, result)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return result if isinstance(result, dict) else None


@dataclass
class SweepStats:
    """What a sweep did: points read back from records, computed now, and unreadable records replaced."""

    points: int = 0
    reused: int = 0
    computed: int = 0
    replaced: int = 0
    points_dir: Path | None = None
    panels: list[PanelData] = field(default_factory=list)


def sweep(specs: Iterable[PanelSpec], out_dir: str | Path, *, budget: Budget, seed: int, provider: TrainedProvider,
          executor: Executor, prepare_dir: Callable[[Path], Path] | None = None,
          on_point: Callable[[PointSpec], Any] | None = None, on_panel: Callable[[PanelData], Any] | None = None,
          on_start: Callable[[list[PointTask]], Any] | None = None) -> SweepStats:
    """Compute the panels' points on ``executor`` (entered already), each written at once as a record under
    ``out_dir/points/``, after reading back the records a previous run left; return the panels, in ``specs`` order.

    ``prepare_dir(out_dir)`` is called before the first record is written (it creates and checks the directory);
    ``on_point(point)`` after each point is done (read back or written); ``on_panel(data)`` as soon as all of a
    panel's points are done (panels read back whole come first, then in the order their last point finishes);
    ``on_start(todo)`` with the tasks left to compute, once the records are read and before any is computed.
    """
    specs = list(dict.fromkeys(specs))  # a panel named twice is one panel
    out = Path(out_dir)
    points_dir = out / POINTS_DIR
    tasks = [PointTask(p, budget, seed, executor.device, provider) for spec in specs for p in panel_points(spec, budget)]
    stats = SweepStats(points=len(tasks), points_dir=points_dir)
    results: dict[PointSpec, dict[str, Any]] = {}
    remaining = {spec.id: len(panel_points(spec, budget)) for spec in specs}
    done: dict[str, PanelData] = {}
    by_id = {spec.id: spec for spec in specs}

    def finished(point: PointSpec, result: dict[str, Any]) -> None:
        results[point] = result
        remaining[point.panel] -= 1
        if on_point is not None:
            on_point(point)
        if remaining[point.panel] == 0:
            data = assemble_panel(by_id[point.panel], budget=budget, seed=seed, results=results)
            done[point.panel] = data
            if on_panel is not None:
                on_panel(data)

    todo: list[PointTask] = []
    for task in tasks:
        path = record_path(points_dir, task)
        result = _read_record(path, task) if path.exists() else None
        if result is None:
            stats.replaced += path.exists()
            todo.append(task)
        else:
            stats.reused += 1
            finished(task.point, result)
    if on_start is not None:
        on_start(todo)
    ready = False
    with contextlib.closing(executor.run(todo)) as running:  # closed at once on an error: unfinished tasks stop
        for task, result in running:
            if not ready:
                (prepare_dir or (lambda d: d))(out)
                points_dir.mkdir(parents=True, exist_ok=True)
                ready = True
            body = _record_bytes(task, result)
            write_bytes_atomic(record_path(points_dir, task), body, "--plot")
            stats.computed += 1
            finished(task.point, json.loads(body)["result"])  # the panel is assembled from what the record holds
    stats.panels = [done[spec.id] for spec in specs]
    return stats

"""Figure points as Ray tasks: ``verify --figures --executor ray [--address ADDR]``.

Ray is an optional extra (``pip install -e '.[ray]'``); this module imports it only when an executor starts.
:class:`RayExecutor` connects to the cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``), or
starts a local one (all of this machine's cores), or uses the Ray instance this process has already started
(started with ``runtime_env=ray_runtime_env()``).
Every point is one task (:func:`verify.sweep.run_point`) that asks for one GPU when the cluster has GPUs (and
runs on ``cuda``, the GPU Ray gives it), else one CPU. The tasks run the driver's own code: the four packages
travel with them (Ray's ``py_modules``), with one BLAS thread as in the ``verify`` command. Results come back to
the driver as they finish (``ray.wait``), which writes each point's record at once (:func:`verify.sweep.sweep`).
On an error or an interrupt the tasks not yet finished are cancelled; what finished is kept.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import socket
from collections.abc import Generator, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from theory.errors import VerifyError
from verify.sweep import PointTask, run_point

__all__ = ["RAY_DEVICES", "RAY_INSTALL_HINT", "RayExecutor", "check_address", "check_ray_device", "probe_address", "ray_installed",
           "ray_runtime_env"]

RAY_INSTALL_HINT = "pip install -e '.[ray]'"
RAY_DEVICES = ("auto", "cpu", "cuda")  # --device with --executor ray: Ray picks the GPU of each task
_PACKAGES = ("theory", "montecarlo", "training", "verify")
_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # as verify.cli does for itself


def ray_installed() -> bool:
    """True when ``import ray`` would find the package (nothing is imported)."""
    return importlib.util.find_spec("ray") is not None


def check_ray_device(device: str | None) -> None:
    """VerifyError unless ``device`` (the --device value) can be used on Ray: auto, cpu or cuda (no index)."""
    if device is not None and device not in RAY_DEVICES:
        raise VerifyError(f"--device: with --executor ray, expected auto, cpu or cuda (Ray gives each task its GPU), "
                          f"got {device!r}")


def ray_runtime_env() -> dict[str, Any]:
    """The Ray job's runtime environment for figure points: the driver's four package directories (uploaded to the
    cluster by Ray, so the tasks run this code) and one BLAS thread. :class:`RayExecutor` passes it to ``ray.init``;
    a caller that starts Ray itself passes it too (``ray.init(..., runtime_env=ray_runtime_env())``)."""
    dirs = []
    for package in _PACKAGES:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if len(locations) != 1:
            raise VerifyError(f"--executor: cannot find the directory of package {package!r} to send to Ray")
        dirs.append(str(Path(locations[0]).resolve()))
    return {"py_modules": dirs, "env_vars": dict(_WORKER_ENV)}


def _ray() -> ModuleType:
    if not ray_installed():
        raise VerifyError(f"--executor: ray is not installed (install the extra: {RAY_INSTALL_HINT})")
    return importlib.import_module("ray")


def check_address(address: str) -> tuple[str, int] | None:
    """The (host, port) of a --address value, None for ``auto`` or ``local``; VerifyError for anything else than
    ``auto``, ``local``, ``HOST:PORT`` or ``ray://HOST:PORT`` (the form alone: nothing is contacted)."""
    if address in ("auto", "local"):
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or any(ch.isspace() for ch in host) or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise VerifyError(f"--address: expected auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def probe_address(address: str, timeout: float = 10.0) -> None:
    """VerifyError unless a TCP connection to ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``) opens within
    ``timeout`` seconds: Ray itself retries an unreachable cluster without end. ``auto`` and ``local`` are left to
    Ray (it fails at once when no cluster runs on this machine)."""
    where = check_address(address)
    if where is None:
        return
    try:
        with socket.create_connection(where, timeout=timeout):
            pass
    except OSError as exc:
        raise VerifyError(f"--address: cannot reach the Ray cluster at {address!r}: {exc.strerror or exc}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RayExecutor:
    """Points as Ray tasks (see the module docstring).

    ``device``: None or ``auto``, a GPU per task when the cluster has GPUs, else a CPU; ``cpu``, a CPU per task;
    ``cuda``, a GPU per task (VerifyError when the cluster has none). ``num_cpus`` sizes a local cluster started here.
    """

    name = "ray"

    def __init__(self, address: str | None = None, device: str | None = None, *, num_cpus: int | None = None) -> None:
        check_ray_device(device)
        self.address = address
        self.request = device
        self.num_cpus = num_cpus
        self.device = "cpu"
        self.gpus = 0.0
        self.cpus = 0.0
        self._started = False

    def __enter__(self) -> RayExecutor:
        ray = _ray()
        if not ray.is_initialized():
            if self.address is not None:
                probe_address(self.address)
            try:
                ray.init(address=self.address, num_cpus=self.num_cpus if self.address is None else None,
                         include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                         runtime_env=ray_runtime_env())
            except (ConnectionError, RuntimeError, ValueError, TimeoutError, OSError) as exc:
                where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray cluster"
                raise VerifyError(f"--address: cannot connect to {where}: {_first_line(exc)}") from None
            self._started = True
        try:
            resources = ray.cluster_resources()
            self.gpus, self.cpus = float(resources.get("GPU", 0.0)), float(resources.get("CPU", 0.0))
            if self.request == "cuda" and self.gpus <= 0:
                raise VerifyError("--device: 'cuda' requested but the Ray cluster has no GPU (use 'cpu' or 'auto')")
            self.device = "cuda" if self.request != "cpu" and self.gpus > 0 else "cpu"
            if self.cpus < 1:
                raise VerifyError(f"--executor: the Ray cluster has {self.cpus:g} CPUs (each task needs 1)")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._started:
            self._started = False
            _ray().shutdown()

    def describe(self) -> str:
        per_task = "1 GPU" if self.device == "cuda" else "1 CPU"
        return f"ray, {self.cpus:g} CPUs and {self.gpus:g} GPUs, {per_task} per task"

    def run(self, tasks: Sequence[PointTask]) -> Generator[tuple[PointTask, dict[str, Any]], None, None]:
        """Submit every task, then yield each with its result as it finishes; cancel the rest on the way out."""
        if not tasks:
            return
        ray = _ray()
        gpu = self.device == "cuda"
        remote = ray.remote(run_point).options(num_cpus=1, num_gpus=1 if gpu else 0,
                                               runtime_env={"env_vars": dict(_WORKER_ENV)})
        pending: dict[Any, PointTask] = {remote.remote(task): task for task in tasks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                task = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, VerifyError):  # bad input found inside a task: one line, exit 2
                        raise VerifyError(str(cause)) from None
                    raise
                yield task, result
        finally:
            for ref in pending:  # a task that ended meanwhile, or a cluster already gone, is no error here
                with contextlib.suppress(Exception):
                    ray.cancel(ref)

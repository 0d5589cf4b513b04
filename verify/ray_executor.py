"""Figure points, and the independent trainings of the experiments' trained evidence, as Ray tasks: ``verify
--figures --executor ray [--address ADDR]``, ``verify --claim E.A2-depth --full --executor ray``.

Ray is an optional extra (``pip install -e '.[ray]'``); this module imports it only when an executor starts.
:class:`RayExecutor` connects to the cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``), or
starts a local one (all of this machine's cores), or uses the Ray instance this process has already started
(started with ``runtime_env=ray_runtime_env()``).
Every point is one task (:func:`verify.sweep.run_point`) that asks for one GPU when the cluster has GPUs (and
runs on ``cuda``, the GPU Ray gives it), else one CPU. The tasks run the driver's own code: the five packages
travel with them (Ray's ``py_modules``), with one BLAS thread as in the ``verify`` command. Results come back to
the driver as they finish (``ray.wait``), which writes each point's record at once (:func:`verify.sweep.sweep`).
The trainings of ``verify --claim ID --full`` (one strategy and training seed each,
:func:`verify.evidence.experiments.run_unit`) go the same way (:meth:`RayExecutor.map`).
On an error or an interrupt the tasks not yet finished are cancelled; what finished is kept.

Nothing waits without end: before ``ray.init`` the address is probed (:func:`probe_address`) with a timeout in
seconds (``verify --connect-timeout``): a TCP connection must open and the server must answer an HTTP/2
handshake (Ray's GCS and Ray Client are gRPC servers) within it, since Ray itself retries a silent address
without end; the driver waits for results in one-second slices, so Ctrl-C stops a run within a second or two.
This module's top level imports only the standard library (the ``verify`` command checks addresses before
anything heavy loads).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import socket
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from theory.errors import VerifyError

if TYPE_CHECKING:
    from verify.sweep import PointTask

__all__ = ["CONNECT_TIMEOUT", "CONNECT_TIMEOUT_MAX", "RAY_DEVICES", "RAY_INSTALL_HINT", "RayExecutor", "check_address",
           "check_ray_device", "probe_address", "ray_installed", "ray_runtime_env"]

CONNECT_TIMEOUT = 10.0  # seconds: --connect-timeout's default (a cluster on the same network answers in milliseconds)
CONNECT_TIMEOUT_MAX = 3600.0
_WAIT_SLICE = 1.0  # seconds: ray.wait returns at least this often, so Ctrl-C is handled between waits
# An HTTP/2 client connection preface and an empty SETTINGS frame (RFC 9113, 3.4 and 6.5): a gRPC server answers
# with a SETTINGS frame of its own (type 4) at once.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_H2_SETTINGS = 4

RAY_INSTALL_HINT = "pip install -e '.[ray]'"
RAY_DEVICES = ("auto", "cpu", "cuda")  # --device with --executor ray: Ray picks the GPU of each task
_PACKAGES = ("theory", "montecarlo", "training", "claims", "verify")
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
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


def check_address(address: str, source: str = "--address") -> tuple[str, int] | None:
    """The (host, port) of an address, None for ``auto`` or ``local``; VerifyError naming ``source`` (the flag, or
    ``RAY_ADDRESS``) for anything else than ``auto``, ``local``, ``HOST:PORT`` or ``ray://HOST:PORT`` (the form
    alone: nothing is contacted)."""
    if address in ("auto", "local"):
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or any(ch.isspace() for ch in host) or not (port.isascii() and port.isdigit() and len(port) <= 5) \
            or not 0 < int(port) < 65536:
        raise VerifyError(f"{source}: expected auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def probe_address(address: str, timeout: float = CONNECT_TIMEOUT, source: str = "--address") -> None:
    """VerifyError (naming ``source``) unless, within ``timeout`` seconds, a TCP connection to ``address``
    (``HOST:PORT`` or ``ray://HOST:PORT``) opens and the server answers an HTTP/2 handshake with its SETTINGS
    frame, as the gRPC servers of Ray's GCS and Ray Client do: Ray itself retries an unreachable or silent cluster
    without end.  With ``RAY_USE_TLS`` set only the connection is probed (the handshake would be TLS's).  ``auto``
    and ``local`` are left to Ray (it fails at once when no cluster runs on this machine)."""
    where = check_address(address, source)
    if where is None:
        return
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(where, timeout=timeout) as conn:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
                return
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            conn.sendall(_H2_PREFACE)
            header = b""
            while len(header) < 9:
                conn.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = conn.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
    except TimeoutError:
        raise VerifyError(f"{source}: the Ray cluster at {address!r} did not answer within {timeout:g} s "
                          "(raise --connect-timeout, or check the address)") from None
    except OSError as exc:
        raise VerifyError(f"{source}: cannot reach the Ray cluster at {address!r}: {exc.strerror or exc}") from None
    if len(header) < 9 or header[3] != _H2_SETTINGS:
        raise VerifyError(f"{source}: {address!r} is not a Ray cluster (it does not answer as a gRPC server)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RayExecutor:
    """Points as Ray tasks (see the module docstring).

    ``device``: None or ``auto``, a GPU per task when the cluster has GPUs, else a CPU; ``cpu``, a CPU per task;
    ``cuda``, a GPU per task (VerifyError when the cluster has none). ``num_cpus`` sizes a local cluster started here.
    """

    name = "ray"

    def __init__(self, address: str | None = None, device: str | None = None, *, num_cpus: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        check_ray_device(device)
        self.address = address
        self.connect_timeout = connect_timeout
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
                probe_address(self.address, self.connect_timeout)
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
        """Submit every figure point, then yield each with its result as it finishes (:meth:`map` of
        :func:`verify.sweep.run_point`)."""
        from verify.sweep import run_point

        return self.map(run_point, tasks)

    def map(self, function: Callable[[_Item], _Result], items: Sequence[_Item]) -> Generator[tuple[_Item, _Result], None, None]:
        """Each item as one Ray task running ``function(item)`` (a module-level function of the toolkit, so the
        workers import it from the packages sent along; items and results are pickled); yield each item with its
        result as it finishes; cancel the rest on the way out.  A VerifyError raised inside a task is raised here
        as one (bad input: one line, exit 2)."""
        if not items:
            return
        ray = _ray()
        gpu = self.device == "cuda"
        remote = ray.remote(function).options(num_cpus=1, num_gpus=1 if gpu else 0,
                                              runtime_env={"env_vars": dict(_WORKER_ENV)})
        pending: dict[Any, _Item] = {remote.remote(item): item for item in items}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=_WAIT_SLICE)
                if not ready:  # back in Python between slices: a Ctrl-C is raised here
                    continue
                ref = ready[0]
                item = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, VerifyError):  # bad input found inside a task: one line, exit 2
                        raise VerifyError(str(cause)) from None
                    raise
                yield item, result
        finally:
            for ref in pending:  # a task that ended meanwhile, or a cluster already gone, is no error here
                with contextlib.suppress(Exception):
                    ray.cancel(ref)

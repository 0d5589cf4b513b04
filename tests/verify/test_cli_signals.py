"""Nothing waits forever, and every stop is one line: Ray addresses, Ctrl-C, SIGTERM and SIGHUP.

* A Ray address (``--address`` or ``RAY_ADDRESS``) is checked before any work, within ``--connect-timeout``
  seconds: a TCP server that accepts and never answers (a thread here) gives exit 2 and one line in time.
* The Ray driver waits in slices, so Ctrl-C reaches it (a fake Ray whose tasks never finish).
* ``verify --all --no-training`` is stopped by SIGINT, SIGTERM and SIGHUP at several moments: exit 130, 143 and
  129 with one line on stderr, and no process it started is alive afterwards (read from /proc).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def no_run(monkeypatch) -> list[object]:
    from verify import cli, figure_cli

    calls: list[object] = []
    monkeypatch.setattr(cli, "_claims", lambda *a, **k: calls.append("claims") or 0)
    monkeypatch.setattr(figure_cli, "run_figures", lambda *a, **k: calls.append("figures") or [])
    return calls


def _ray_or_skip() -> None:
    from verify.ray_executor import ray_installed

    # ray is in the test extra (pyproject), so a missing ray is a broken install, never a reason to skip
    assert ray_installed(), "ray is not installed: pip install -e '.[test]'"


def test_a_silent_ray_address_is_exit_2_within_the_timeout(silent_server: int) -> None:
    _ray_or_skip()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "--figure", "2a", "--executor", "ray", "--address",
                           f"127.0.0.1:{silent_server}", "--connect-timeout", "1", "--no-progress"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--address: the Ray cluster at" in proc.stderr and "did not answer within 1 s" in proc.stderr
    assert time.monotonic() - start < 30  # the 1 s timeout plus start-up on a busy machine, never Ray's endless retry


def test_ray_address_from_the_environment_is_checked(silent_server: int, monkeypatch, capsys, no_run) -> None:
    _ray_or_skip()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{silent_server}")
    assert main(["--figure", "2a", "--executor", "ray", "--connect-timeout", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: error: RAY_ADDRESS: ") and "did not answer" in err and not no_run
    monkeypatch.setenv("RAY_ADDRESS", "no port")
    assert main(["--figure", "2a", "--executor", "ray"]) == 2
    assert "RAY_ADDRESS: expected auto, HOST:PORT" in capsys.readouterr().err and not no_run


def test_a_bad_address_is_found_before_the_claims_run(capsys, no_run) -> None:
    _ray_or_skip()
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    port = refused.getsockname()[1]
    refused.close()  # nothing listens there now
    assert main(["--theorem", "3", "--figure", "2a", "--executor", "ray", "--address", f"127.0.0.1:{port}"]) == 2
    assert "--address: cannot reach the Ray cluster" in capsys.readouterr().err and not no_run


def test_a_non_grpc_server_is_not_a_ray_cluster(capsys, no_run) -> None:
    _ray_or_skip()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    assert main(["--figure", "2a", "--executor", "ray", "--address", f"127.0.0.1:{server.getsockname()[1]}"]) == 2
    assert "is not a Ray cluster" in capsys.readouterr().err and not no_run
    thread.join(timeout=5)
    server.close()


def test_ctrl_c_reaches_a_ray_driver_waiting_for_tasks(monkeypatch) -> None:
    """ray.wait is called with a timeout, so a Ctrl-C is raised between waits and the tasks are cancelled."""
    import verify.sweep  # noqa: F401  (imported by run(); loaded first so the interrupt comes while waiting)
    from verify import ray_executor

    cancelled: list[Any] = []

    class Remote:
        def options(self, **_: Any) -> Remote:
            return self

        def remote(self, task: Any) -> object:
            return object()

    fake = SimpleNamespace(remote=lambda fn: Remote(), cancel=cancelled.append,
                           wait=lambda refs, num_returns, timeout: (time.sleep(min(timeout, 0.2)), ([], refs))[1],
                           exceptions=SimpleNamespace(RayTaskError=RuntimeError))
    monkeypatch.setattr(ray_executor, "_ray", lambda: fake)
    executor = ray_executor.RayExecutor(None, "cpu")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            for _ in executor.run([SimpleNamespace(), SimpleNamespace()]):  # type: ignore[list-item]
                pass
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - start < 5 and len(cancelled) == 2


# ----- signals at several moments of a real run ------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc/*/stat's parent field)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(text.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _workers(pid: int) -> set[int]:
    """The spawned multiprocessing workers among ``pid``'s descendants."""
    found = set()
    for child in _children(pid):
        with contextlib.suppress(OSError):
            if b"multiprocessing.spawn" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
    return found


@pytest.mark.parametrize(("signum", "delay", "group"), [
    (signal.SIGINT, 0.5, False), (signal.SIGINT, 6.0, True), (signal.SIGTERM, 2.0, False), (signal.SIGHUP, 6.0, False),
    (signal.SIGINT, None, True), (signal.SIGTERM, None, False),
], ids=["SIGINT-0.5s", "SIGINT-6s-to-the-group", "SIGTERM-2s", "SIGHUP-6s", "SIGINT-to-the-group-with-workers",
        "SIGTERM-with-workers"])
def test_a_stop_signal_is_one_line_and_leaves_no_process(signum: signal.Signals, delay: float | None, group: bool) -> None:
    """``group``: sent to the whole process group, as a terminal's Ctrl-C is (the workers get it too). ``delay``
    None: as soon as the spawned workers exist (however long the imports take on a busy machine)."""
    status = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signum]
    line = "verify: interrupted\n" if signum == signal.SIGINT else f"verify: terminated ({signum.name})\n"
    proc = subprocess.Popen([sys.executable, "-m", "verify.cli", "--all", "--no-training", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=group)
    if delay is None:
        deadline = time.monotonic() + 120
        while not _workers(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # inside a worker's own start-up imports, the moment that printed tracebacks
        assert _workers(proc.pid), "the run started no worker process"
    else:
        time.sleep(delay)
    started = _children(proc.pid)
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status and err == line, (proc.returncode, err)
    deadline = time.monotonic() + 10  # the multiprocessing resource tracker exits once its pipe closes
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert not [p for p in started if _alive(p)]

"""A worker process beside the main one, that neither prints on Ctrl-C nor outlives the ``verify`` command.

The spawned worker (:func:`background_worker`) is for CPU work that can run beside the numeric search (sympy is
single-threaded).  Signals are the main process's to handle: it prints the one line (``verify: interrupted``,
exit 130; SIGTERM 143, SIGHUP 129) and stops the worker.  So:

* the worker is started with SIGINT, SIGTERM and SIGHUP *blocked* (the mask is inherited through fork and exec),
  so a Ctrl-C at the terminal, which reaches the whole process group, cannot interrupt the worker's start-up
  (its imports of torch or sympy) and print a traceback; its initializer, which is in this light module and
  runs before any task imports the numeric stack, then ignores them for good;
* on Linux the worker asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), so even a main
  process killed outright (SIGKILL) leaves no orphan; and on any exception in the main process (an interrupt
  included) the worker is killed and reaped before the pool's pipes close.

Standard library only at import time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

__all__ = ["STOP_SIGNALS", "background_worker"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _ready() -> int:
    """A first task: makes the pool start its worker now, while the start-up signals are blocked."""
    return os.getpid()


def _worker_start(parent: int) -> None:
    """The worker's initializer: ignore the stop signals (the parent handles them), die with the parent."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # pending ones are discarded: they are ignored now
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill and reap the pool's workers *before* the pool closes its pipes (a worker still starting would
    otherwise read a closed pipe and print an EOFError traceback beside the one-line message)."""
    workers = list(getattr(pool, "_processes", {}).values())
    for process in workers:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    for process in workers:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def background_worker() -> Iterator[ProcessPoolExecutor]:
    """One spawned worker process (see the module docstring); on any exception it is stopped at once."""
    # multiprocessing's resource tracker, started with the first pool, inherits this: a worker killed by a stop signal
    # leaves its queue's semaphores to the tracker, whose "leaked semaphore" warning would break the one-line contract
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start, initargs=(os.getpid(),))
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            started = pool.submit(_ready)  # spawns the worker, which inherits the blocked mask
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a signal that came meanwhile is delivered now
        yield pool
        started.result()
    except BaseException:  # an interrupt, a stop signal or an error: stop the worker now
        _stop(pool)
        raise
    pool.shutdown(wait=True)

"""How fast ``verify`` answers what needs no work (run with ``pytest --benchmark-only tests/benchmarks``).

Each command is a fresh interpreter (``python -m verify.cli ...``), timed against ``python -c pass`` in the same
run, so the ratio says what the command adds to the interpreter's own start on whatever machine runs it.  The
target is 0.5 s wall for ``--help`` and a bad-input error (the numeric stack is imported only when work starts).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 0.5
ROUNDS = 7
COMMANDS = {
    "help": ["--help"],
    "bad-input": ["--mixture", "nope.json"],
    "bad-mixture-path": ["--all", "--mixture", "nope.json"],
    "version": ["--version"],
    "list": ["--list"],
}


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120)
    return time.perf_counter() - start


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_answers_at_once(benchmark, name: str) -> None:  # type: ignore[no-untyped-def]
    """Median wall time of ``verify <args>`` and its ratio to ``python -c pass``, interleaved round by round."""
    command = [sys.executable, "-m", "verify.cli", *COMMANDS[name]]
    baseline: list[float] = []

    def python_pass() -> None:  # untimed by the benchmark: measured here, right before each timed round
        baseline.append(_wall([sys.executable, "-c", "pass"]))

    def run() -> None:
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120)

    benchmark.pedantic(run, setup=python_pass, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    seconds = statistics.median(benchmark.stats.stats.data)
    interpreter = statistics.median(baseline)
    ratio = seconds / interpreter
    benchmark.extra_info.update(seconds=seconds, python_pass_seconds=interpreter, ratio_to_python_pass=ratio)
    print(f"\nverify {' '.join(COMMANDS[name])}: {seconds:.3f} s, python -c pass {interpreter:.3f} s, ratio {ratio:.1f}")
    if name in ("help", "bad-input", "bad-mixture-path"):
        assert seconds < TARGET_SECONDS, f"verify {' '.join(COMMANDS[name])} took {seconds:.2f} s (target {TARGET_SECONDS} s)"

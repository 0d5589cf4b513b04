"""Fixtures of the Monte Carlo tests; the tolerances and their justification live in ``mc_checks.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from mc_checks import MC_CHECK_BUDGET, MonteCarloChecker


@pytest.fixture(scope="session")
def mc() -> Iterator[MonteCarloChecker]:
    """The session's k-sigma checker; fails at teardown if the suite outgrew its false-alarm budget."""
    checker = MonteCarloChecker()
    yield checker
    assert checker.count <= MC_CHECK_BUDGET, (
        f"tests/montecarlo made {checker.count} Monte Carlo checks, more than MC_CHECK_BUDGET = {MC_CHECK_BUDGET}: "
        "raise the budget in tests/montecarlo/mc_checks.py (K_SIGMA follows)")


@pytest.fixture(scope="session", autouse=True)
def _one_cpu_thread() -> Iterator[None]:
    """Run these tests on one torch CPU thread.

    The batches here are small (at most a few MiB), where intra-op threads buy
    little; and when another process holds a core, OpenMP's spinning barriers
    slowed this suite about 7x (78 s instead of 11 s on 2 cores).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

"""Fixtures of the training tests: one torch CPU thread (small batches; a shared 2-core machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_cpu_thread() -> Iterator[None]:
    """Run these tests on one torch CPU thread (intra-op threads buy nothing at these sizes)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

"""Shared test configuration: hypothesis profiles, chosen by HYPOTHESIS_PROFILE (default ``dev``).

* ``ci``: derandomised (the same examples every run), no deadline, 15 examples per property.
* ``dev``: random, no deadline, 60 examples per property.
* ``nightly``: 500 examples.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=15,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Doctests are collected from the packages (``--doctest-modules``), not from the tests' own conftest files:
    ``tests/training/conftest.py`` and ``tests/montecarlo/conftest.py`` share a basename and would be imported twice."""
    return True if collection_path.name == "conftest.py" else None

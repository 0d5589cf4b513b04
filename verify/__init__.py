"""The ``verify`` command and what it composes: the claim checks, the evidence channels, the reports and figures.

Public API: :func:`main` (the command line, ``verify --help``) and :func:`run_checks` (judge claims on a
mixture and attach every channel's evidence).  Both are imported on first use: importing this package
imports nothing (``python -m verify.cli`` must find ``verify.cli`` not yet loaded, and the command line
answers bad input before torch or sympy load).
"""

from __future__ import annotations

from typing import Any

__all__ = ["main", "run_checks"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from verify.cli import main

        return main
    if name == "run_checks":
        from verify.run import run_checks

        return run_checks
    raise AttributeError(f"module 'verify' has no attribute {name!r}")

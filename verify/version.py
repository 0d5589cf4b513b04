"""The tool's identity for ``--version`` and the JSON report: package version and git commit when known."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TOOL_NAME = "prompt-icl-verify"
SCHEMA_VERSION = 3  # of the JSON report written by ``verify --json``; bump when a field changes meaning or type


@cache
def tool_version() -> str:
    """The installed package version (``0+unknown`` when run from a tree that is not installed)."""
    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:
        return "0+unknown"


@cache
def git_commit() -> str | None:
    """The commit of the source tree when it is a git checkout with git on PATH, else None."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and len(text) == 40 else None


def tool_info() -> dict[str, str | None]:
    """``{"name", "version", "git_commit"}`` for the report's ``tool`` field."""
    return {"name": TOOL_NAME, "version": tool_version(), "git_commit": git_commit()}

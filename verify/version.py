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


_HEX = frozenset("0123456789abcdef")


def _is_commit(text: str) -> bool:
    return len(text) == 40 and set(text) <= _HEX


def _read_head(root: Path) -> str | None:
    """HEAD's commit read from the ``.git`` files (a checkout or a worktree; loose or packed ref), or None when
    anything is unusual: then git itself is asked.  Reading files spares ``verify --version`` a process."""
    try:
        git = root / ".git"
        gitdir = Path(git.read_text().removeprefix("gitdir:").strip()) if git.is_file() else git
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve() if (gitdir / "commondir").exists() else gitdir
        head = (gitdir / "HEAD").read_text().strip()
        if _is_commit(head):
            return head
        ref = head.removeprefix("ref:").strip()
        if not head.startswith("ref:") or not ref.startswith("refs/"):
            return None
        for base in (gitdir, common):
            if (base / ref).is_file():
                text = (base / ref).read_text().strip()
                return text if _is_commit(text) else None
        for line in (common / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _is_commit(sha):
                return sha
    except (OSError, ValueError):
        return None
    return None


@cache
def git_commit() -> str | None:
    """The commit of the source tree when it is a git checkout (read from its files, else asked of git on PATH),
    else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists():
        found = _read_head(root)
        if found is not None:
            return found
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

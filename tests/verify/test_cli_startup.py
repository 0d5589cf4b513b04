"""The command line answers before the numeric stack loads: ``--help``, ``--version``, ``--list`` and bad input
import neither torch, sympy, scipy, matplotlib nor Ray (nor numpy), and the light copies the parser uses agree
with what they stand for (the claim index with the registry, the panel ids with the panels)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "torch", "sympy", "scipy", "matplotlib", "ray", "rich.table")
_PROBE = """
import json, sys
from verify.cli import main
status = main(sys.argv[1:])
print("LOADED " + json.dumps([sorted(m for m in {heavy!r} if m in sys.modules), status]), file=sys.stderr)
"""


def _loaded(argv: list[str]) -> tuple[list[str], int]:
    """Run ``verify.cli.main(argv)`` in a fresh interpreter; the heavy modules it imported and its status."""
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("LOADED"), proc.stderr
    heavy, status = json.loads(line.removeprefix("LOADED "))
    return heavy, status


@pytest.mark.parametrize("argv", [
    ["--help"], ["--version"], ["--all", "--mixture", "nope.json"], ["--all", "--n=--5"], ["--claim", "nope"],
    ["--figure", "9z"], ["--all", "--json", "/nonexistent-dir/x.json"], ["--all", "--device", "tpu"], ["--bogus"],
    ["--list", "--quick"], ["--all", "--max-size", "4"],
], ids=" ".join)
def test_no_numeric_stack_before_the_answer(argv: list[str]) -> None:
    heavy, status = _loaded(argv)
    assert status in (0, 2) and heavy == []


def test_list_needs_no_numeric_stack() -> None:
    heavy, status = _loaded(["--list"])
    assert status == 0 and [m for m in heavy if m != "rich.table"] == []


def test_the_claim_index_is_current() -> None:
    """verify/claim_index.json is what the registry gives (else: python -m verify.claim_index --write)."""
    from verify import claim_index

    stored = json.loads(claim_index.INDEX_PATH.read_text(encoding="utf-8"))
    fresh = claim_index.build_index()
    assert stored == fresh, "verify/claim_index.json is out of date: run python -m verify.claim_index --write"


def test_a_stale_index_falls_back_to_the_registry(monkeypatch, tmp_path) -> None:
    from verify import claim_index

    stale = tmp_path / "claim_index.json"
    stale.write_text(json.dumps({"source_digest": "0", "packs": {}}))
    monkeypatch.setattr(claim_index, "INDEX_PATH", stale)
    claim_index.index.cache_clear()
    try:
        assert "chang2025" in claim_index.pack_keys() and claim_index.pack("chang2025").claims
    finally:
        claim_index.index.cache_clear()


def test_the_panel_ids_are_the_panels() -> None:
    from verify.figure_cli import PANEL_IDS
    from verify.panels import PANELS

    assert PANEL_IDS == tuple(PANELS)


def test_the_report_file_names_are_what_the_report_writes(tmp_path) -> None:
    from verify.figure_cli import REPORT_FILES
    from verify.report import files

    source = Path(files.__file__).read_text()
    assert all(f'"{name}"' in source for name in REPORT_FILES)


_SHA = "0123456789abcdef0123456789abcdef01234567"


def _checkout(root: Path, layout: str) -> Path:
    """A source tree whose ``.git`` holds HEAD in one of the layouts git writes (gitrepository-layout(5))."""
    git = root / ".git"
    git.mkdir(parents=True)
    if layout == "detached":
        (git / "HEAD").write_text(_SHA + "\n")
        return root
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    if layout == "loose":
        (git / "refs" / "heads").mkdir(parents=True)
        (git / "refs" / "heads" / "main").write_text(_SHA + "\n")
    elif layout == "packed":
        (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n{_SHA} refs/heads/main\n")
    elif layout == "worktree":  # .git is a file naming the worktree's git dir, whose commondir holds the refs
        (git / "refs" / "heads").mkdir(parents=True)
        (git / "refs" / "heads" / "main").write_text(_SHA + "\n")
        tree = root / "tree"
        wt_git = git / "worktrees" / "tree"
        wt_git.mkdir(parents=True)
        (wt_git / "HEAD").write_text("ref: refs/heads/main\n")
        (wt_git / "commondir").write_text("../..\n")
        tree.mkdir()
        (tree / ".git").write_text(f"gitdir: {wt_git}\n")
        return tree
    return root


@pytest.mark.parametrize("layout", ["detached", "loose", "packed", "worktree"])
def test_version_reads_the_commit_from_each_layout_git_writes(tmp_path: Path, layout: str) -> None:
    from verify.version import _read_head

    assert _read_head(_checkout(tmp_path, layout)) == _SHA


def test_version_reads_no_commit_outside_a_checkout_or_from_an_unusual_head(tmp_path: Path) -> None:
    from verify.version import _read_head

    assert _read_head(tmp_path) is None
    root = _checkout(tmp_path / "odd", "loose")
    (root / ".git" / "HEAD").write_text("ref: somewhere/else\n")
    assert _read_head(root) is None

"""Claim packs from outside the package: ``verify --pack PATH`` and installed entry-point packs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claims.packs import ENTRY_POINT_GROUP, load_pack, register
from claims.papers import PAPERS
from theory.errors import VerifyError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "isotropic_pack"


def _verify(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def test_the_example_pack_runs_every_channel_from_the_shell(tmp_path: Path) -> None:
    out = tmp_path / "pack.json"
    proc = _verify(["--pack", str(EXAMPLE), "--all", "--no-progress", "--json", str(out)])
    assert proc.returncode == 0, proc.stderr
    (claim,) = json.loads(out.read_text())["claims"]
    assert claim["id"] == "ISO.loss" and claim["verdict"] == "verified"
    assert {"theory", "minimiser", "training", "montecarlo", "montecarlo_at_claimed"} <= set(claim["evidence"])


def test_a_pack_of_ones_own_is_listed_and_a_wrong_formula_in_it_is_refuted(tmp_path: Path) -> None:
    text = (EXAMPLE / "__init__.py").read_text(encoding="utf-8")
    wrong = tmp_path / "wrong_pack.py"
    wrong.write_text(text.replace('KEY = "isotropic-example"', 'KEY = "wrong-example"').replace('"ISO.loss"', '"WRONG.loss"')
                     .replace("return sigma2 + d * (d + 1 + sigma2)", "return d * (d + 1 + sigma2)"), encoding="utf-8")
    listed = _verify(["--pack", str(wrong), "--list"])
    assert listed.returncode == 0 and "WRONG.loss" in listed.stdout
    out = tmp_path / "wrong.json"
    proc = _verify(["--pack", str(wrong), "--all", "--no-progress", "--no-training", "--no-symbolic", "--json", str(out)])
    assert proc.returncode == 0, proc.stderr
    (claim,) = json.loads(out.read_text())["claims"]
    assert claim["verdict"] == "refuted" and claim["counterexample"]["mixture"]["sigma2"] > 0  # only the noise term was dropped


def test_an_installed_pack_is_found_by_its_entry_point(tmp_path: Path) -> None:
    dist = tmp_path / "isotropic_example_pack-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: isotropic-example-pack\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\niso = isotropic_pack:PAPER\n", encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE.parent), str(ROOT)])}
    listed = _verify(["--paper", "isotropic-example", "--list"], env)
    assert listed.returncode == 0 and "ISO.loss" in listed.stdout, listed.stderr
    proc = _verify(["--paper", "isotropic-example", "--claim", "ISO.loss", "--no-progress", "--no-training"], env)
    assert proc.returncode == 0 and "verified" in proc.stdout, proc.stderr


@pytest.mark.parametrize("bad", ["missing.py", "examples"])
def test_a_path_that_is_not_a_pack_is_one_line_and_exit_2(bad: str) -> None:
    proc = _verify(["--pack", str(ROOT / bad), "--list"])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--pack" in proc.stderr


def test_a_pack_may_not_take_a_registered_key_or_claim_id() -> None:
    paper = load_pack(EXAMPLE)
    from dataclasses import replace
    with pytest.raises(VerifyError, match="already taken"):
        register(replace(paper, key="chang2025"), dict(PAPERS))
    clash = replace(paper, key="clash", claims=(replace(paper.claims[0], id="T2.loss"),))
    with pytest.raises(VerifyError, match="T2.loss"):
        register(clash, dict(PAPERS))

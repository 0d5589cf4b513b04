"""Issue 11, part 2: the same seed gives the same report on any machine, load or CPU thread count.

Every budget is in samples or steps (never seconds), every Monte Carlo sum is taken in a fixed order
(:func:`montecarlo.estimators.fixed_order_sum`), and every wall-clock number sits under the report's one
``timings`` key.  The mixture has d = 2 on purpose: the fast estimator's CPU batches are then ~39 000 samples,
above torch's parallel grain size (32 768), where a plain ``Tensor.sum()`` splits between threads and its last
bits depended on the thread count (measured before the fix: a Monte Carlo stderr differed in the 16th digit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from claims.registry import claim as registered_claim
from claims.registry import claims
from theory.mixture import load_mixture
from verify.cli import main
from verify.report.build import build_report
from verify.run import run_checks

MIXTURE = {"d": 2, "sigma_x": [[1.0, 0.3], [0.3, 2.0]], "sigma2": 0.0,
           "tasks": [{"weight": 0.4, "mean": [1.0, -0.5], "cov": [[1.0, 0.2], [0.2, 0.5]]},
                     {"weight": 0.6, "mean": [-0.5, 1.0], "cov": "identity"}]}
# Reduced-model training and the fast estimator (T1.loss), attention training with task heads and Monte Carlo
# at the claimed parameters (T4.W), and the direct estimator running the attention itself (S6.shared-head).
CLAIM_IDS = ("T1.loss", "T4.W", "S6.shared-head")


def _mixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "d2.json"
    path.write_text(json.dumps(MIXTURE), encoding="utf-8")
    return path


def _without_timings(text: str) -> str:
    report = json.loads(text)
    assert isinstance(report.pop("timings")["total_seconds"], float)
    return json.dumps(report, indent=2)


def _keys_outside_timings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if k != "timings"} | {key for k, v in value.items() if k != "timings"
                                                       for key in _keys_outside_timings(v)}
    if isinstance(value, list):
        return {key for v in value for key in _keys_outside_timings(v)}
    return set()


def test_verify_twice_writes_the_same_json(tmp_path: Path) -> None:
    """`verify --json F` run twice: byte for byte the same once `timings` is removed, and no other wall time in it."""
    mixture = _mixture_file(tmp_path)
    texts: dict[str, list[str]] = {}
    for run in range(2):
        for claim in ("T1.loss", "S6.shared-head"):
            out = tmp_path / f"run{run}-{claim}.json"
            assert main(["--claim", claim, "--mixture", str(mixture), "--n", "4", "--json", str(out), "--no-progress",
                         "--no-symbolic"]) == 0
            texts.setdefault(claim, []).append(_without_timings(out.read_text(encoding="utf-8")))
    for claim, (first, second) in texts.items():
        assert first == second, claim
    report = json.loads((tmp_path / "run0-T1.loss.json").read_text(encoding="utf-8"))
    assert "training" in report["claims"][0]["evidence"] and "montecarlo" in report["claims"][0]["evidence"]
    assert not {k for k in _keys_outside_timings(report) if "second" in k}, "a wall time outside `timings`"
    assert set(report["timings"]["evidence"]) >= {"T1.loss.training", "T1.loss.montecarlo"}


def test_report_does_not_depend_on_the_thread_count(tmp_path: Path) -> None:
    """run_checks with torch's own thread setting (threads=None) at 1 and at 2 intra-op threads: the same JSON."""
    mixture = load_mixture(str(_mixture_file(tmp_path)))
    claims = [registered_claim(c) for c in CLAIM_IDS]
    previous = torch.get_num_threads()
    texts = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            verdicts = run_checks(claims, mixture, [4], seed=3, symbolic=False, progress=False, mixture_name="d2.json",
                                  threads=None)
            assert torch.get_num_threads() == threads
            texts.append(_without_timings(json.dumps(build_report(verdicts, mixture, "d2.json", [4], 3, 0.0))))
    finally:
        torch.set_num_threads(previous)
    assert texts[0] == texts[1]
    claims_out = json.loads(texts[0])["claims"]
    assert "training" in claims_out[1]["evidence"] and claims_out[2]["evidence"]["unconstrained"]["montecarlo"][0]["method"].startswith("direct")


def test_run_checks_restores_the_thread_count(tmp_path: Path) -> None:
    """The evidence runs on one CPU thread by default (wall time only) and leaves torch's setting as it was."""
    mixture = load_mixture(str(_mixture_file(tmp_path)))
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        run_checks([claims()["L3"]], mixture, [1], symbolic=False, progress=False, training=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)

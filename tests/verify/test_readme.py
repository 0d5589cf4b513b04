"""README's verdict section is generated from docs/report.json, so its counts and numbers cannot drift."""

from __future__ import annotations

import json
from pathlib import Path

from verify.report.markdown import README_END, README_START, readme_verdicts

ROOT = Path(__file__).resolve().parents[2]


def test_readme_verdicts_are_generated_from_the_committed_report() -> None:
    report = json.loads((ROOT / "docs" / "report.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    assert readme[start:end] == readme_verdicts(report), (
        "README's verdict section is stale: paste `python -m verify.report.findings --readme docs/report.json`")

"""Writing a report directory: ``verify --all --report DIR``.

``DIR/report.html`` (the page), ``DIR/report.md`` (its Markdown twin), ``DIR/report.json`` (the JSON report both are
rendered from), ``DIR/counterexamples/<claim id>.json`` (each refuted claim's smallest counterexample as a
``--mixture`` file) and the figures under ``DIR/figures/`` (made by :mod:`verify.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.output import json_text, write_text_atomic
from verify.report.html import render_html
from verify.report.markdown import render_markdown
from verify.report.schema import Report
from verify.report.text import counterexample_file, counterexample_json

if TYPE_CHECKING:
    from verify.figures import FigureFiles


def write_report(report: dict[str, Any], out_dir: str | Path, figures: Sequence[FigureFiles]) -> Path:
    """Write report.html, report.md, report.json and the counterexample mixtures into ``out_dir``; returns the HTML path."""
    from verify.figures import check_output_dir

    out = check_output_dir(out_dir, "--report")
    for claim in report["claims"]:
        if claim.get("counterexample"):
            path = out / counterexample_file(claim["id"])
            check_output_dir(path.parent, "--report")
            write_text_atomic(path, counterexample_json(claim["counterexample"]), "--report")
    html_path = out / "report.html"
    typed = Report.from_json(report)  # read back once: both pages render the typed records
    write_text_atomic(html_path, render_html(typed, figures, out), "--report")
    write_text_atomic(out / "report.md", render_markdown(typed, figures, out), "--report")
    write_text_atomic(out / "report.json", json_text(report), "--report")
    return html_path

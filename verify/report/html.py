"""A static HTML page (and its Markdown twin) for a ``verify`` run: verdicts, errata, asymptotics, figures.

``verify --all --report DIR`` writes ``DIR/report.html``, ``DIR/report.md``,
``DIR/report.json`` and the figures under ``DIR/figures/`` (Figures 2, A1 and
A2 of the paper, reproduced by :mod:`verify.figures`). The page has no
scripts and no external resources: images are files next to it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from verify.figures import FigureFiles, check_output_dir
from verify.output import json_text, write_text_atomic
from verify.report_text import (
    ASYMPTOTIC_COLUMNS,
    NOT_COMPUTED,
    asymptotic_rows,
    counterexample_mixture,
    counterexample_summary,
    md_escape,
    montecarlo_text,
    side_text,
    symbolic_text,
    theory_text,
    training_text,
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
.verified { color: #1a7f37; font-weight: bold; }
.refuted { color: #cf222e; font-weight: bold; }
.inconclusive { color: #9a6700; font-weight: bold; }
pre { background: #f6f8fa; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 2em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; }
"""

VERDICT_COLUMNS = ("claim", "source", "statement", "verdict", "theory: failed / checked", "symbolic", "Monte Carlo",
                   "training", "counterexample")


def _verdict_cells(claim: dict[str, Any]) -> list[str]:
    return [claim["id"], claim["source"], claim["statement"], claim["verdict"], theory_text(claim), symbolic_text(claim),
            montecarlo_text(claim), training_text(claim), counterexample_summary(claim.get("counterexample"))]


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _agreement_text(files: FigureFiles) -> list[str]:
    lines = []
    for strategy, entry in files.agreement.items():
        parts = []
        if entry.get("montecarlo_max_abs_z") is not None:
            parts.append(f"Monte Carlo max |z| vs derived {entry['montecarlo_max_abs_z']:.2f} "
                         f"over {entry['montecarlo_points']} n")
        if entry.get("trained_max_rel_gap") is not None:
            parts.append(f"trained largest rel. gap {entry['trained_max_rel_gap']:+.2e} over {entry['trained_points']} n")
        if parts:
            lines.append(f"{strategy}: " + "; ".join(parts))
    return lines


def render_html(report: dict[str, Any], figures: Sequence[FigureFiles], base: Path) -> str:
    """The page as a string; figure paths are made relative to ``base`` (the page's directory)."""
    s = report["summary"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>verify report: task-specific prompts for ICL</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>Claims of “Provable Benefits of Task-Specific Prompts for In-context Learning”</h1>",
           f"<p>{escape(report['paper'])}. Selected mixture <code>{escape(str(report['mixture']['name']))}</code>, "
           f"n = {escape(str(report['n']))}, seed {report['seed']}, {report['timings']['total_seconds']:.1f} s.</p>",
           f'<p id="summary"><span class="verified">{s["verified"]} verified</span>, '
           f'<span class="refuted">{s["refuted"]} refuted</span>, '
           f'<span class="inconclusive">{s["inconclusive"]} inconclusive</span>.</p>',
           "<h2>Verdicts</h2>", '<table id="verdicts"><thead><tr>']
    out += [f"<th>{escape(c)}</th>" for c in VERDICT_COLUMNS]
    out.append("</tr></thead><tbody>")
    for claim in report["claims"]:
        cells = _verdict_cells(claim)
        row = [f"<td>{escape(v)}</td>" for v in cells]
        row[3] = f'<td class="{escape(claim["verdict"])}">{escape(claim["verdict"])}</td>'
        out.append(f'<tr data-claim="{escape(claim["id"])}">' + "".join(row) + "</tr>")
    out.append("</tbody></table>")
    out.append("<h2>Refuted claims: counterexamples and corrections</h2>")
    refuted = [c for c in report["claims"] if c["verdict"] == "refuted"]
    if not refuted:
        out.append("<p>No claim was refuted.</p>")
    for c in refuted:
        out.append(f'<section class="erratum" id="erratum-{escape(c["id"])}"><h3>{escape(c["id"])} '
                   f"({escape(c['source'])})</h3><p><b>Stated:</b> {escape(c['statement'])}</p>")
        ce = c.get("counterexample")
        if ce:
            out.append(f"<p><b>Counterexample</b> (found in {escape(str(ce.get('found_in', '-')))}, n = {ce['n']}): "
                       f"{escape(ce['quantity'])} claimed <code>{escape(side_text(ce, 'claimed', 200))}</code>, derived "
                       f"<code>{escape(side_text(ce, 'derived', 200))}</code> (relative error "
                       f"{ce.get('rel_error', float('nan')):.3g}).</p><pre>{escape(counterexample_mixture(ce))}</pre>")
        for note in c.get("notes", []):
            out.append(f"<p><i>{escape(note)}</i></p>")
        out.append(f"<p><b>Corrected:</b> {escape(c['correction'] or 'no corrected statement registered')}</p></section>")
    out.append("<h2>Asymptotic expansions</h2>")
    rows = asymptotic_rows(report)
    if rows is None:
        out.append(f'<p id="asymptotics-missing">{escape(NOT_COMPUTED)}</p>')
    else:
        out.append('<table id="asymptotics"><thead><tr>' + "".join(f"<th>{escape(c)}</th>" for c in ASYMPTOTIC_COLUMNS)
                   + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in rows]
        out.append("</tbody></table>")
    out.append("<h2>Figures</h2>")
    if not figures:
        out.append("<p>No figures were made for this report.</p>")
    for f in figures:
        links = " · ".join(f'<a href="{escape(_rel(p, base))}">{label}</a>'
                           for label, p in (("SVG", f.svg), ("CSV", f.csv), ("JSON", f.json)))
        lines = "".join(f"<br>{escape(t)}" for t in (*_agreement_text(f), *f.notes))
        out.append(f'<figure id="figure-{escape(f.panel)}"><img src="{escape(_rel(f.png, base))}" '
                   f'alt="{escape(f.figure)}: loss / E[y^2] against n"><figcaption><b>{escape(f.figure)}</b> '
                   f"({links}){lines}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_markdown(report: dict[str, Any], figures: Sequence[FigureFiles], base: Path) -> str:
    """The same content as :func:`render_html`, as Markdown."""
    s = report["summary"]
    out = ["# Claims of \"Provable Benefits of Task-Specific Prompts for In-context Learning\"", "",
           f"{report['paper']}. Selected mixture `{report['mixture']['name']}`, n = {report['n']}, seed {report['seed']}, "
           f"{report['timings']['total_seconds']:.1f} s.", "",
           f"**{s['verified']} verified, {s['refuted']} refuted, {s['inconclusive']} inconclusive.**", "", "## Verdicts", "",
           "| " + " | ".join(VERDICT_COLUMNS) + " |", "|" + "---|" * len(VERDICT_COLUMNS)]
    for claim in report["claims"]:
        cells = _verdict_cells(claim)
        if claim["verdict"] == "refuted":
            cells[3] = "**refuted**"
        out.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
    out += ["", "## Refuted claims: counterexamples and corrections", ""]
    for c in [c for c in report["claims"] if c["verdict"] == "refuted"]:
        out += [f"### {c['id']} ({c['source']})", "", f"Stated: {c['statement']}", ""]
        ce = c.get("counterexample")
        if ce:
            out += [f"Counterexample (n = {ce['n']}): {ce['quantity']} claimed `{side_text(ce, 'claimed', 200)}`, "
                    f"derived `{side_text(ce, 'derived', 200)}`.", "", "```json", counterexample_mixture(ce), "```", ""]
        out += [f"Corrected: {c['correction'] or 'no corrected statement registered'}", ""]
    out += ["## Asymptotic expansions", ""]
    out += asymptotics_markdown(report)
    out += ["", "## Figures", ""]
    for f in figures:
        out += [f"### {f.figure}", "", f"![{f.figure}: loss / E[y^2] against n]({_rel(f.png, base)})", "",
                f"[SVG]({_rel(f.svg, base)}) · [CSV]({_rel(f.csv, base)}) · [JSON]({_rel(f.json, base)})", ""]
        out += [f"- {t}" for t in (*_agreement_text(f), *f.notes)]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def asymptotics_markdown(report: dict[str, Any]) -> list[str]:
    """The asymptotics table as Markdown lines, or the "not computed" line."""
    rows = asymptotic_rows(report)
    if rows is None:
        return [NOT_COMPUTED]
    return ["| " + " | ".join(ASYMPTOTIC_COLUMNS) + " |", "|" + "---|" * len(ASYMPTOTIC_COLUMNS),
            *["| " + " | ".join(md_escape(v) for v in r) + " |" for r in rows]]


def write_report(report: dict[str, Any], out_dir: str | Path, figures: Sequence[FigureFiles]) -> Path:
    """Write report.html, report.md and report.json into ``out_dir``; returns the HTML path."""
    out = check_output_dir(out_dir, "--report")
    html_path = out / "report.html"
    write_text_atomic(html_path, render_html(report, figures, out), "--report")
    write_text_atomic(out / "report.md", render_markdown(report, figures, out), "--report")
    write_text_atomic(out / "report.json", json_text(report), "--report")
    return html_path

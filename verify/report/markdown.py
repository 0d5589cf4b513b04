"""The Markdown renderings of a JSON report: ``report.md`` (next to the HTML report) and ``docs/findings.md``.

Mathematics is TeX between ``$`` (inline) and ``$$`` (display), which GitHub renders.  Both documents come from
:func:`markdown_document` and depend only on the report (no clock, no live registry).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.report.build import GAPS_CAPTION
from verify.report.schema import AsymptoticRow, ClaimEntry, Report
from verify.report.text import (
    NOT_COMPUTED,
    agreement_lines,
    channel_cells,
    channel_columns,
    counterexample_file,
    counterexample_mixture,
    evidence_rows,
    md_escape,
    one_line,
    reason_text,
    reproduce_command,
    scope_text,
    severity_text,
    side_value,
    symbolic_text,
    theory_text,
)
from verify.report.typeset import array_tex, fitted_tex, mixture_tex, number_tex, quantity_tex

if TYPE_CHECKING:
    from verify.figures import FigureFiles


TITLE = "Claims of \u201cProvable Benefits of Task-Specific Prompts for In-context Learning\u201d"
FINDINGS_COMMAND = "python -m verify.report.findings docs/report.json > docs/findings.md"

# Which docs page discusses a claim (by the id's prefix); docs/findings.md links to it.
_PAGES = {"L": "lemmas.md", "T1": "theorem1.md", "T2": "theorem2.md", "T3": "theorem3.md", "T4": "theorem4-proposition1.md",
          "P1": "theorem4-proposition1.md", "C1": "corollary1.md", "S4": "corollary1.md",
          "S6": "assumption1.md", "A1": "assumption1.md"}
_ASYMPTOTIC_PREFIXES = ("C1.rate.", "C1.mean.", "S4.limit.", "S4.prompts.")


def page_for(claim_id: str) -> str:
    """The docs page for a claim id (``"T3.prompts"`` -> ``theorem3.md``)."""
    if claim_id.startswith(_ASYMPTOTIC_PREFIXES):
        return "asymptotics.md"
    head = claim_id.split(".")[0]
    return _PAGES.get(head, _PAGES.get(head[:1], "index.md"))


def display(tex: str) -> list[str]:
    """A display formula: ``$$`` lines with a blank line around (GitHub)."""
    return ["", "$$", tex, "$$", ""]


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _verdict_word(verdict: str) -> str:
    return f"**{verdict}**" if verdict != "verified" else verdict


def summary_lines(report: Report) -> list[str]:
    """The counts, the findings by root cause (one line each, with their claims and severity) and the measured
    claims."""
    groups = report.findings or ()
    out = [f"**{summary_text(report)}** ({len(report.claims)} claims).", "",
           f"### Findings by root cause ({len(groups)})", ""]
    by_id = {c.id: c for c in report.claims}
    for g in groups:
        links = ", ".join(f"[{i}](#claim-{i})" for i in g.claims)
        why = one_line(by_id[g.claims[0]]) if g.claims[0] in by_id else g.title
        out.append(f"- {links} ({severity_text(g.severity)}): {why}")
    if not groups:
        out.append("No claim was refuted.")
    measured = [c for c in report.claims if c.verdict == "measured"]
    if measured:
        out += ["", f"### Measured, not judged ({len(measured)}): assumptions' costs and qualitative statements", ""]
        out += [f"- [{c.id}](#claim-{c.id}) ({c.kind or ''}): {c.reason}" for c in measured]
    return out + [""]


def summary_text(report: Report) -> str:
    """'24 verified, 11 refuted (9 findings by root cause), 5 measured, 0 inconclusive' from the report's summary."""
    s = report.summary
    findings = f" ({s.findings} findings by root cause)" if s.findings is not None else ""
    measured = f", {s.count('measured')} measured" if s.count("measured") else ""
    return f"{s.verified} verified, {s.refuted} refuted{findings}{measured}, {s.inconclusive} inconclusive"


def claims_table(report: Report, docs_links: bool) -> list[str]:
    head = ["id", "source", "verdict", "theory: failed / checked", "symbolic", *channel_columns()]
    if docs_links:
        head.append("page")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in report.claims:
        cells = [f"[{c.id}](#claim-{c.id})", c.source, _verdict_word(c.verdict), theory_text(c), symbolic_text(c),
                 *channel_cells(c)]
        if docs_links:
            page = page_for(c.id)
            cells.append(f"[{page[:-3]}]({page})")
        out.append("| " + " | ".join(md_escape(x) for x in cells) + " |")
    return out + [""]


def _value_tex(value: Any) -> str:
    return array_tex(value) if isinstance(value, (int, float, list)) else rf"\text{{{value}}}"


def counterexample_lines(claim: ClaimEntry, with_file: bool) -> list[str]:
    ce = claim.counterexample
    if ce is None:
        return []
    q = quantity_tex(ce.quantity)
    out = [f"**Counterexample** (the smallest found: shrunk from {ce.found_in or '-'}; n = {ce.n}):"]
    for line in mixture_tex(ce.mixture):
        out += display(line)
    label = q if q is not None else rf"\text{{{ce.quantity}}}"
    out += display(rf"{label}:\quad \text{{claimed }} {_value_tex(side_value(ce, 'claimed'))},\quad "
                   rf"\text{{derived }} {_value_tex(side_value(ce, 'derived'))}\quad "
                   rf"(\text{{relative error }} {number_tex(ce.rel_error, 3)})")
    if ce.note:
        out += [f"Note: {ce.note}", ""]
    if with_file:
        out += [f"Reproduce (in the report directory; the mixture is [{counterexample_file(claim.id)}]"
                f"({counterexample_file(claim.id)})):", "", "```", reproduce_command(claim.id, ce), "```", ""]
    else:
        name = f"{claim.id}.json"
        out += [f"Reproduce: save the mixture below as `{name}` and run "
                f"`verify --claim {claim.id} --mixture {name} --n {ce.n}`.", "",
                "```json", counterexample_mixture(ce), "```", ""]
    return out


def evidence_lines(claim: ClaimEntry, report: Report) -> list[str]:
    out = ["**Evidence** (each channel with its resolution: the smallest effect it could have seen):", "",
           "| channel | result | resolution |", "|---|---|---|"]
    out += [f"| {md_escape(r.channel)} | {md_escape(r.result)} | {md_escape(r.resolution)} |" for r in evidence_rows(claim, report)]
    return out + [""]


def claim_section(claim: ClaimEntry, report: Report, *, with_file: bool, figure_links: dict[str, tuple[str, str]],
                  docs_links: bool) -> list[str]:
    cid = claim.id
    page = f" · [{page_for(cid)[:-3]}]({page_for(cid)})" if docs_links else ""
    out = [f'<a id="claim-{cid}"></a>', "", f"### {cid}: {claim.source} · {_verdict_word(claim.verdict)}{page}"]
    out += _formula_lines(claim)
    out += _verdict_lines(claim)
    out += counterexample_lines(claim, with_file)
    out += evidence_lines(claim, report)
    out += _correction_lines(claim)
    if claim.notes:
        out += ["Notes: " + "; ".join(claim.notes), ""]
    return out + _concerns_lines(claim, report, figure_links)


def _formula_lines(claim: ClaimEntry) -> list[str]:
    """The statement, the scope, and the claimed and the derived formula with their difference."""
    tex = claim.tex
    out = display(tex.statement) if tex is not None and tex.statement else ["", claim.statement, ""]
    out += [f"Scope: {scope_text(claim)}.", ""]
    if tex is None:
        return out
    if tex.claimed:
        out += ["**Claimed** (the paper):"] + display(tex.claimed)
    if tex.derived:
        out += [f"**Derived** ({tex.derived_setting or ''}):"] + display(tex.derived)
        if tex.difference:
            out += display(tex.difference)
    return out


def _verdict_lines(claim: ClaimEntry) -> list[str]:
    """The verdict and its reason, the kind and reading, the other readings' verdicts, and why."""
    out = [f"**Verdict: {claim.verdict}.** {reason_text(claim)}", ""]
    if claim.kind:
        out += [f"Kind: {claim.kind}" + (f" (if refuted: {severity_text(claim.severity)})" if claim.severity else "")
                + f". Read {claim.reading or ''}.", ""]
    for r in claim.readings or ():
        out += [f"Read {r.reading}: **{r.verdict}** ({r.cases - r.failed} of {r.cases} cases hold).", ""]
    why = claim.tex.why if claim.tex is not None else ""
    if why:
        out += [f"Why: {why}.", ""]
    return out


def _correction_lines(claim: ClaimEntry) -> list[str]:
    """A refuted or measured claim's corrected statement, and whether the search verified it."""
    if claim.verdict not in ("refuted", "measured") or not claim.correction:
        return []
    out = []
    if claim.tex is not None and claim.tex.corrected:
        out += ["**Corrected statement:**"] + display(claim.tex.corrected)
    corr = claim.corrected
    checked = (f"{corr.verdict} by the same search ({corr.cases - corr.failed} of {corr.cases} cases hold)"
               if corr is not None and corr.verdict != "unchecked" else "not checked")
    return out + [f"As recorded: {claim.correction} (the corrected statement: {checked})", ""]


def _concerns_lines(claim: ClaimEntry, report: Report, figure_links: dict[str, tuple[str, str]]) -> list[str]:
    """The figures and the expansions the claim concerns, linked."""
    concerns = [f"[{figure_links[p][0]}]({figure_links[p][1]})" for p in claim.figures or () if p in figure_links]
    rows = [r for r in report.asymptotics or () if r.claim == claim.id]
    if rows:
        concerns.append("expansions: " + ", ".join(f"[{r.quantity}](#expansions)" for r in rows))
    return ["Concerns: " + "; ".join(concerns) + ".", ""] if concerns else []


def asymptotics_markdown(report: Report) -> list[str]:
    """The asymptotics table with its formulas in inline TeX, or the "not computed" line."""
    items = report.asymptotics
    if items is None:
        return [NOT_COMPUTED]
    out = ["| quantity | derived on the mixture (fit to n = 10^6) | derived, isotropic (exact) | claimed | claim | verdict |",
           "|---|---|---|---|---|---|"]
    out += ["| " + " | ".join(md_escape(c) for c in _asymptotic_cells(r)) + " |" for r in items]
    return out


def _asymptotic_cells(r: AsymptoticRow) -> list[str]:
    general = r.derived_general_tex or r.derived_general or "-"
    return [f"${r.quantity_tex}$" if r.quantity_tex else r.quantity,
            f"${fitted_tex(r.derived_leading)}$",
            f"${general}$" if r.derived_general_tex else general,
            f"${r.claimed_leading_tex}$" if r.claimed_leading_tex else r.claimed_leading,
            f"[{r.claim}](#claim-{r.claim})" if r.claim else "-", _verdict_word(r.verdict)]


def figure_lines(figures: Sequence[FigureFiles], base: Path | None) -> list[str]:
    """The figures: each loss panel with its files and what its sampled and trained points say against the derived
    curves, then its gaps between strategies where they were drawn."""
    out = ["## Figures", ""]
    for f in figures:
        png = _rel(f.png, base) if base else f.png.as_posix()
        out += [f'<a id="figure-{f.panel}"></a>', "", f"### {f.figure}", "", f"![{f.figure}: loss / E[y^2] against n]({png})", ""]
        if base:
            out += [f"[SVG]({_rel(f.svg, base)}) · [CSV]({_rel(f.csv, base)}) · [JSON]({_rel(f.json, base)})", ""]
        out += [f"- {t}" for t in (*agreement_lines(f.agreement), *f.notes)]
        out.append("")
        out += _gap_lines(f, base)
    return out


def _gap_lines(f: FigureFiles, base: Path | None) -> list[str]:
    """The panel's gaps between strategies (``fig_<id>_gaps.*``, verify.gap_panels), when they were drawn."""
    png = f.gaps.get("png")
    if png is None:
        return []

    def rel(path: Path) -> str:
        return _rel(path, base) if base else path.as_posix()

    out = [f'<a id="figure-{f.panel}-gaps"></a>', "", f"![{f.figure}: gaps between strategies against n]({rel(png)})",
           "", f"{f.figure}. {GAPS_CAPTION}", ""]
    files = [f"[{ext.upper()}]({rel(path)})" for ext, path in f.gaps.items() if ext != "png"]
    return out + ([" · ".join(files), ""] if base and files else [])


def markdown_document(report: Report, *, title: str, preamble: Sequence[str], figures: Sequence[FigureFiles] = (),
                      base: Path | None = None, with_files: bool = False, docs_links: bool = False) -> str:
    """The whole Markdown document: summary, figures, every claim, the expansions."""
    out = [f"# {title}", "", *preamble, "", "## Summary", "", *summary_lines(report), "### All claims", "",
           *claims_table(report, docs_links)]
    links = {f.panel: (f.figure, f"#figure-{f.panel}") for f in figures}
    if figures:
        out += figure_lines(figures, base)
    out += ["## Claims", ""]
    for c in report.claims:
        out += claim_section(c, report, with_file=with_files, figure_links=links, docs_links=docs_links)
    out += ['<a id="expansions"></a>', "", "## Asymptotic expansions", "", *asymptotics_markdown(report), ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).rstrip("\n") + "\n"


def run_line(report: Report) -> str:
    return (f"{report.paper}. Selected mixture `{report.mixture.name}`, n = {list(report.n)}, seed {report.seed}, "
            f"device {report.device or 'cpu'}.")


def render_markdown(report: Report | dict[str, Any], figures: Sequence[FigureFiles], base: Path) -> str:
    """``report.md``: the HTML report's content as Markdown (figure and counterexample paths relative to ``base``),
    from the typed report or its JSON object (read back once, :meth:`Report.of`)."""
    rep = Report.of(report)
    preamble = [run_line(rep) + f" {rep.total_seconds:.1f} s."]
    return markdown_document(rep, title=TITLE, preamble=preamble, figures=figures, base=base, with_files=True)


README_COMMAND = "python -m verify.report.findings --readme docs/report.json"
README_START, README_END = "<!-- verdicts: generated by `" + README_COMMAND + "` -->", "<!-- end of generated verdicts -->"


def readme_verdicts(report: Report | dict[str, Any]) -> str:
    """README's verdict section, generated from a report (tests/verify/test_readme.py keeps README in step): the
    counts, then one line per finding (its claims and severity) and per measured claim, every number from the report."""
    rep = Report.of(report)
    by_id = {c.id: c for c in rep.claims}
    out = [README_START, f"**{summary_text(rep)}** (`verify --all`, seed {rep.seed}, selected mixture "
           f"`{rep.mixture.name}`). Findings, one per root cause:", ""]
    for g in rep.findings or ():
        corrected = [by_id[i].corrected for i in g.claims if i in by_id]
        checked = {c.verdict if c is not None else "unchecked" for c in corrected}
        tail = (f"; corrected statement {'/'.join(sorted(checked))} by the search" if checked else "")
        out.append(f"- **{', '.join(g.claims)}** ({severity_text(g.severity)}): {g.title}{tail}.")
    measured = [(c, c.measurement) for c in rep.claims if c.verdict == "measured"]
    if measured:
        out += ["", "Measured, not counted as errors (assumptions' costs and qualitative statements):", ""]
        out += [f"- **{c.id}** ({c.kind}): largest measured value {100 * abs(m.largest):.3g}% ({m.at})."
                for c, m in measured if m is not None and m.largest is not None]
    return "\n".join(out + ["", README_END])


def render_findings(report: Report | dict[str, Any]) -> str:
    """docs/findings.md as a string, from the typed report or its JSON object."""
    rep = Report.of(report)
    preamble = [f"<!-- Generated by `{FINDINGS_COMMAND}`; do not edit by hand. -->", "",
                "What the toolkit concluded about each claim of the paper, generated from `docs/report.json`, the output of",
                "`verify --all --json docs/report.json --no-progress`.",
                f"That run used seed {rep.seed}; the selected mixture was `{rep.mixture.name}` at n = {list(rep.n)}.", "",
                "A claim is `refuted` when some mixture the paper's setting allows breaks it; the counterexample is the",
                "smallest one found (shrunk), and the corrected statement says what does hold. See [the index](index.md)",
                "for how verdicts are reached; `verify --all --report DIR` renders the same report as a web page with the figures."]
    return markdown_document(rep, title="Findings", preamble=preamble, docs_links=True)


def mixture_numbers_tex(report: Report) -> list[str]:
    """The selected mixture as TeX lines (the run section)."""
    return mixture_tex(report.mixture)

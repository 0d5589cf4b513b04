"""The HTML report of a ``verify`` run: one static page a referee can read, print or archive.

A summary first (verdict counts, the refuted claims with one line each), then the figures as a gallery, then one
anchored section per claim (the paper's statement, the claimed and the derived formula side by side with their
difference marked, the verdict and its reason, the smallest counterexample with the command that reproduces it,
every channel's evidence with its resolution, the corrected statement, and the figures or expansions it concerns),
then the asymptotic expansions and the run's settings.  Mathematics is presentation MathML (rendered natively by
Chromium and Firefox); the page has no scripts and no external resources: images and files sit next to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.evidence import CHANNELS
from verify.report.build import GAPS_CAPTION
from verify.report.schema import AsymptoticRow, ClaimEntry, Measurement, Regime, Report, Tex
from verify.report.text import (
    NOT_COMPUTED,
    VERDICTS,
    agreement_lines,
    counterexample_file,
    evidence_rows,
    one_line,
    reason_text,
    reproduce_command,
    scope_text,
    severity_text,
    side_value,
)
from verify.report.typeset import (
    array_tex,
    fitted_tex,
    highlight_difference,
    inline_html,
    leaves,
    mixture_is_structured,
    mixture_tex,
    number_tex,
    prose_html,
    quantity_tex,
    tex_to_mathml,
)

if TYPE_CHECKING:
    from verify.figures import FigureFiles

TITLE = "Claims of \u201cProvable Benefits of Task-Specific Prompts for In-context Learning\u201d"
ISOTROPIC = (r"$\Sigma_x = \xi I$, $\Sigma_{\beta_k} = s_k I$, collinear means, $s = \sum_k \pi_k s_k$, "
             r"$a = \sum_k \pi_k \lVert \mu_k \rVert^2$")
AUTHORS = "X. Chang, Y. Li, M. Kara, S. Oymak, A. K. Roy-Chowdhury \u00b7 AISTATS 2025"

CSS = """
:root { --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --panel: #f6f8fa; --ok: #1a7f37; --ok-bg: #dafbe1;
        --bad: #cf222e; --bad-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff8c5; --link: #0969da; }
* { box-sizing: border-box; }
html { scroll-padding-top: 3.5rem; }
body { margin: 0; color: var(--ink); background: #fff; font: 17px/1.55 "Latin Modern Roman", "Libertinus Serif", Georgia,
       "Times New Roman", serif; }
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", math; font-size: 1.08em; }
a { color: var(--link); text-decoration: none; } a:hover { text-decoration: underline; }
code, pre, .ui, nav, table, .badge, figcaption, .label, .meta { font-family: system-ui, -apple-system, "Segoe UI", Roboto,
       "Liberation Sans", sans-serif; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.84em; }
nav.topbar { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,0.96); border-bottom: 1px solid var(--rule);
       font-size: 14px; }
nav.topbar .wrap { display: flex; gap: 1.4em; align-items: center; padding-top: 0.55em; padding-bottom: 0.55em; }
nav.topbar b { margin-right: auto; color: var(--ink); }
.wrap { max-width: 1040px; margin: 0 auto; padding: 0 28px; }
header.title { padding: 1.8em 0 0.6em; border-bottom: 1px solid var(--rule); margin-bottom: 0.4em; }
#summary h2 { margin-top: 1em; }
h1 { font-size: 1.75em; line-height: 1.25; margin: 0 0 0.3em; font-weight: 600; }
h2 { font-size: 1.35em; margin: 2.2em 0 0.6em; padding-bottom: 0.25em; border-bottom: 1px solid var(--rule); font-weight: 600; }
h3 { font-size: 1.1em; margin: 1.4em 0 0.5em; font-weight: 600; }
h4 { font: 600 12px/1.4 system-ui, sans-serif; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
     margin: 1.3em 0 0.4em; }
.meta { color: var(--muted); font-size: 14px; margin: 0.2em 0; }
.badge { display: inline-block; padding: 0.12em 0.6em; border-radius: 999px; font-size: 12px; font-weight: 600;
         letter-spacing: 0.04em; text-transform: uppercase; vertical-align: 0.12em; border: 1px solid transparent; }
.badge.verified, .badge.holds { color: var(--ok); background: var(--ok-bg); border-color: #aceebb; }
.badge.refuted, .badge.fails { color: var(--bad); background: var(--bad-bg); border-color: #ffcecb; }
.badge.measured { color: #0b5c8a; background: #e3f1fb; border-color: #b6dcf3; }
.badge.unchecked { color: var(--bad); background: var(--bad-bg); border-color: #ffcecb; }
.badge.inconclusive, .badge.not-applicable { color: var(--warn); background: var(--warn-bg); border-color: #f5e0a0; }
.counts { display: flex; gap: 14px; margin: 0.8em 0 1.2em; }
.count { flex: 1; border: 1px solid var(--rule); border-radius: 8px; padding: 0.6em 1em; color: var(--ink); }
.count b { display: block; font: 600 2.1em/1.1 system-ui, sans-serif; }
.count.verified b { color: var(--ok); } .count.refuted b { color: var(--bad); } .count.inconclusive b { color: var(--warn); }
.count span { font: 14px system-ui, sans-serif; color: var(--muted); }
ol.refuted-list { padding-left: 1.4em; } ol.refuted-list li { margin: 0.35em 0; }
ol.refuted-list .src { color: var(--muted); font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 0.6em 0 1em; }
th, td { text-align: left; vertical-align: top; padding: 0.45em 0.6em; border-bottom: 1px solid var(--rule); }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
table.index td:first-child { white-space: nowrap; font-family: ui-monospace, monospace; font-size: 13px; }
table.index td.why { font-family: "Latin Modern Roman", Georgia, serif; font-size: 15px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 18px; }
.gallery figure { margin: 0; border: 1px solid var(--rule); border-radius: 8px; overflow: hidden; background: #fff; }
.gallery img { display: block; width: 100%; height: auto; border-bottom: 1px solid var(--rule); }
.gallery figcaption { padding: 0.55em 0.8em; font-size: 13px; color: var(--muted); }
.gallery figcaption b { color: var(--ink); }
.gallery details { margin: 0.3em 0 0; font-size: 12.5px; } .gallery ul { padding-left: 1.2em; margin: 0.3em 0; }
article.claim { border: 1px solid var(--rule); border-left: 5px solid var(--ok); border-radius: 8px; padding: 0.4em 1.4em 1em;
                margin: 1.6em 0; }
article.claim.refuted { border-left-color: var(--bad); } article.claim.inconclusive { border-left-color: var(--warn); }
article.claim > header { display: flex; align-items: baseline; gap: 0.8em; flex-wrap: wrap; }
article.claim h3 { margin: 0.7em 0 0.2em; font-size: 1.2em; }
article.claim h3 .source { font-weight: normal; color: var(--muted); font-size: 0.85em; }
.claim-nav { margin-left: auto; font-size: 13px; white-space: nowrap; }
.claim-nav a { margin-left: 0.8em; }
.formula { overflow-x: auto; overflow-y: hidden; padding: 0.2em 0; }
.statement { background: var(--panel); border-radius: 6px; padding: 0.5em 1em; margin: 0.5em 0; }
.compare { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin: 0.6em 0; }
.compare.stacked { grid-template-columns: 1fr; }
.compare > div { border: 1px solid var(--rule); border-radius: 6px; padding: 0.3em 0.9em 0.6em; min-width: 0; }
.compare .label { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted);
                  margin: 0.4em 0 0.2em; }
.setting { font-size: 14px; color: var(--muted); margin: 0.3em 0 0; }
.claimed .diff { background: var(--bad-bg); color: var(--bad); border-radius: 3px; }
.derived .diff, .corrected .diff { background: var(--ok-bg); color: var(--ok); border-radius: 3px; }
.difference { border-radius: 6px; padding: 0.2em 1em; margin: 0.4em 0; }
.difference.zero { background: var(--ok-bg); } .difference.nonzero { background: var(--bad-bg); }
.verdict-line { margin: 0.4em 0; }
.reason { color: var(--muted); font-size: 15px; }
.counterexample { background: var(--panel); border-radius: 6px; padding: 0.4em 1em 0.6em; }
pre.command { background: #1f2328; color: #f0f3f6; padding: 0.6em 0.9em; border-radius: 6px; overflow-x: auto; margin: 0.5em 0; }
table.evidence td:first-child { width: 21%; font-weight: 600; }
table.evidence td:nth-child(3) { width: 32%; color: var(--muted); }
details { margin: 0.4em 0; font-size: 14px; color: var(--muted); } summary { cursor: pointer; }
.concerns { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-start; }
.concerns a.thumb { display: block; width: 180px; font: 12px system-ui, sans-serif; color: var(--muted); }
.concerns img { width: 180px; border: 1px solid var(--rule); border-radius: 4px; display: block; }
table.expansions, table.evidence, table.index { table-layout: fixed; }
table.expansions td { vertical-align: top; }
table.expansions th:nth-child(1) { width: 22%; } table.expansions th:nth-child(2) { width: 18%; }
table.expansions th:nth-child(4) { width: 15%; } table.expansions th:nth-child(5) { width: 11%; }
table.expansions math { math-style: normal; } table.expansions td:nth-child(4) { overflow-wrap: normal; }
table.expansions th.paper, table.expansions td.paper { background: var(--panel); }
table.expansions td.toolkit .formula + .setting { margin-bottom: 0.5em; }
table.index th:nth-child(1) { width: 17%; } table.index th:nth-child(2) { width: 16%; }
table.index th:nth-child(3), table.index th:nth-child(4) { width: 11%; }
td { overflow-wrap: anywhere; } td .formula, td math { max-width: 100%; }
/* a formula wider than its box scrolls inside it (never clipped, never wider than the page) */
.formula { max-width: 100%; scrollbar-width: thin; }
/* matrices and vectors: entries at the size of the text around them, brackets stretched over the rows */
mtable { math-style: normal; } mtd { padding: 0.1em 0.35em; }
details.full-values { margin: 0.2em 0 0.5em; }
.backtop { font-size: 13px; }
footer { margin: 3em 0 2em; color: var(--muted); font-size: 13px; border-top: 1px solid var(--rule); padding-top: 1em; }
@media (max-width: 760px) { .compare { grid-template-columns: 1fr; } .counts { flex-direction: column; } }
@media print {
  @page { margin: 16mm 14mm; }
  body { font-size: 10.5pt; }
  nav.topbar, .claim-nav, .backtop { display: none; }
  .wrap { max-width: none; padding: 0; }
  a { color: inherit; }
  #figures, #claims-section, #expansions { break-before: page; }
  article.claim { break-inside: auto; border-left-width: 3pt; }
  article.claim > header, h2, h3, h4, .compare { break-after: avoid; }
  .compare, figure, tr { break-inside: avoid; }
  .formula { overflow: visible; }
  .gallery { grid-template-columns: 1fr 1fr; }
  pre.command { background: #fff; color: #000; border: 1px solid #999; }
}
"""


WIDE_TOKENS = 48  # a formula with more tokens than this does not fit half the page: claimed and derived stack


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def math_block(tex: str | None, mathml: str | None = None, cls: str = "") -> str:
    """A display formula (``<div class="formula">``): sympy's MathML when given, else the TeX converted."""
    if not tex and not mathml:
        return ""
    body = mathml if mathml else tex_to_mathml(str(tex))
    return f'<div class="formula{" " + cls if cls else ""}">{body}</div>'


def badge(verdict: str) -> str:
    return f'<span class="badge {escape(verdict.replace(" ", "-"))}">{escape(verdict)}</span>'


def claim_anchor(claim_id: str) -> str:
    return f"claim-{claim_id}"


def _caption(text: str) -> str:
    """A figure caption or note from verify.panels (ASCII notation) as HTML, its formulas typeset."""
    return prose_html(re.sub(r"\bThm\b", "Theorem", text))


# ----- sections ----------------------------------------------------------------------------------------------------
def _header(report: Report) -> str:
    tool = report.tool
    commit = (tool.git_commit or "")[:10]
    n = ", ".join(map(str, report.n))
    return (f'<header class="title" id="top"><h1>{escape(TITLE)}</h1><p class="meta">{escape(AUTHORS)}</p>'
            f'<p class="meta">{escape(tool.name or "verify")} {escape(tool.version or "")}'
            f'{" (commit " + escape(commit) + ")" if commit else ""} · selected mixture '
            f'<code>{escape(str(report.mixture.name))}</code> · n = {escape(n)} · seed {report.seed} · '
            f'device {escape(str(report.device or "cpu"))} · {report.total_seconds:.0f} s</p></header>')


def _summary(report: Report) -> str:
    s = report.summary
    total = len(report.claims)
    counts = "".join(f'<a class="count {v}" href="#index"><b>{s.count(v)}</b><span>{v} of {total}</span></a>' for v in VERDICTS)
    out = ['<section id="summary"><h2>Summary</h2>', f'<div class="counts ui">{counts}</div>',
           f"<p>{_channels_text(report)} A claim is "
           f"{badge('refuted')} when some mixture the paper's setting allows breaks it (the smallest counterexample is "
           f"shown with the command that reproduces it), {badge('inconclusive')} when a channel disagrees within its "
           f"resolution, and {badge('verified')} otherwise. Assumptions and qualitative statements ('aligns closely') "
           f"are {badge('measured')}: their cost or size is reported, never counted as an error of the paper. "
           f"Refutations with one root cause are one finding.</p>", _findings(report)]
    measured = [c for c in report.claims if c.verdict == "measured"]
    if measured:
        out.append(f"<h3>Measured, not judged ({len(measured)}): assumptions' costs and qualitative statements</h3>"
                   '<ol class="refuted-list">')
        out += [f'<li><a href="#{escape(claim_anchor(c.id))}"><b>{escape(c.id)}</b></a> '
                f'<span class="src">{escape(str(c.kind or ""))}</span>: {prose_html(c.reason)}</li>' for c in measured]
        out.append("</ol>")
    inconclusive = [c for c in report.claims if c.verdict == "inconclusive"]
    if inconclusive:
        out.append(f"<h3>Inconclusive claims ({len(inconclusive)})</h3><ol class=\"refuted-list\">")
        out += [f'<li><a href="#{escape(claim_anchor(c.id))}"><b>{escape(c.id)}</b></a>: {prose_html(c.reason)}</li>'
                for c in inconclusive]
        out.append("</ol>")
    out.append("</section>")
    return "\n".join(out)


def _findings(report: Report) -> str:
    """The findings by root cause: each with its severity, its claims and why (its first claim's one line)."""
    by_id = {c.id: c for c in report.claims}
    groups = report.findings or ()
    refuted = [c for c in report.claims if c.verdict == "refuted"]
    out = [f"<h3>Findings by root cause ({len(groups)}, from {len(refuted)} refuted claims)</h3>"]
    if not groups:
        out.append("<p>No claim was refuted.</p>")
        return "\n".join(out)
    out.append('<ol class="refuted-list">')
    for g in groups:
        links = ", ".join(f'<a href="#{escape(claim_anchor(i))}"><b>{escape(i)}</b></a>' for i in g.claims)
        why = one_line(by_id[g.claims[0]]) if g.claims[0] in by_id else g.title
        out.append(f'<li><span class="src">{escape(severity_text(g.severity))}</span> '
                   f'{links}: {prose_html(why)}</li>')
    out.append("</ol>")
    return "\n".join(out)


def _channels_text(report: Report) -> str:
    """Which channels this run's evidence comes from, read from the claims' evidence (a channel that did not run,
    e.g. training under --no-training, is named as not run)."""
    claims = report.claims
    given = [{type(p) for p in c.evidence.channels} for c in claims]
    ran = [("sympy decisions", sum(c.evidence.symbolic is not None for c in claims)),
           *((str(cls.summary_label), sum(cls in g for g in given)) for cls in CHANNELS if cls.summary_label)]
    used = [f"{label} ({count} claim{'s' if count != 1 else ''})" for label, count in ran if count]
    missing = [label for label, count in ran if not count]
    text = f"This run checked the {len(claims)} claims by exact theory (a search over {_cases(report)})"
    text += (", " + ", ".join(used[:-1]) + (" and " if len(used) > 1 else "") + used[-1] if used else "") + "."
    if missing:
        text += f" Not run in this report: {', '.join(missing)}."
    return escape(text)


def _cases(report: Report) -> str:
    checked = max((c.evidence.theory.cases_checked for c in report.claims), default=0)
    return f"up to {checked} mixtures and context lengths" if checked else "mixtures"


def _figure_claims(report: Report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in report.claims:
        for p in c.figures or ():
            out.setdefault(p, []).append(c.id)
    return out


def _file_links(paths: Sequence[tuple[str, Path]], base: Path) -> str:
    return " · ".join(f'<a href="{escape(_rel(p, base))}">{label}</a>' for label, p in paths)


def _gallery(report: Report, figures: Sequence[FigureFiles], base: Path) -> str:
    out = ['<section id="figures"><h2>Figures</h2>']
    if not figures:
        out.append("<p>No figures were made for this report.</p></section>")
        return "\n".join(out)
    out.append("<p>The paper's loss-against-n panels, reproduced: derived curves, the paper's claimed curves where they "
               "differ, Monte Carlo estimates with error bars and trained points. Click a panel for the full image."
               + (" A panel's gaps between strategies, against n, are beside it." if any(_gap_files(f) for f in figures) else "")
               + "</p>")
    about = _figure_claims(report)
    out.append('<div class="gallery">')
    for f in figures:
        out.append(_panel_figure(f, about.get(f.panel, []), base))
        if _gap_files(f):
            out.append(_gap_figure(f, base))
    out.append("</div></section>")
    return "\n".join(out)


def _panel_figure(f: FigureFiles, claims: list[str], base: Path) -> str:
    """One loss panel of the gallery: the image, the paper's caption, its files, its claims, agreement and notes."""
    from verify.panels import PANELS

    links = _file_links((("PNG", f.png), ("SVG", f.svg), ("CSV", f.csv), ("JSON", f.json)), base)
    caption = _caption(PANELS[f.panel].caption) if f.panel in PANELS else ""
    claim_links = ", ".join(f'<a href="#{escape(claim_anchor(c))}">{escape(c)}</a>' for c in claims)
    notes = "".join(f"<li>{_caption(t)}</li>" for t in (*agreement_lines(f.agreement), *f.notes))
    more = (f"<details><summary>{len(claims)} claims; agreement and notes</summary>"
            f"{'<p>Claims: ' + claim_links + '</p>' if claim_links else ''}<ul>{notes}</ul></details>")
    return (f'<figure id="figure-{escape(f.panel)}"><a href="{escape(_rel(f.png, base))}">'
            f'<img src="{escape(_rel(f.png, base))}" alt="{escape(f.figure)}: loss / E[y^2] against n" loading="eager"></a>'
            f"<figcaption><b>{escape(f.figure)}</b> {caption}<br>{links}{more}</figcaption></figure>")


GAP_FILES = ("png", "svg", "csv", "json")  # what verify.figures.write_panel writes for a panel's gaps


def _gap_files(f: FigureFiles) -> list[tuple[str, Path]]:
    """The panel's gap files (``fig_<id>_gaps.*``) as (label, path), PNG first; none when the panel has no image of
    its gaps."""
    if "png" not in f.gaps:
        return []
    return [(ext.upper(), f.gaps[ext]) for ext in GAP_FILES if ext in f.gaps]


def _gap_figure(f: FigureFiles, base: Path) -> str:
    """A panel's gaps between strategies (verify.gap_panels), next to its loss panel in the gallery."""
    files = _gap_files(f)
    png = escape(_rel(files[0][1], base))
    return (f'<figure id="figure-{escape(f.panel)}-gaps" class="gaps"><a href="{png}">'
            f'<img src="{png}" alt="{escape(f.figure)}: gaps between strategies against n" loading="eager"></a>'
            f"<figcaption><b>{escape(f.figure)}</b> {escape(GAPS_CAPTION)}<br>"
            f"{_file_links(files, base)}</figcaption></figure>")


def _index(report: Report) -> str:
    rows = []
    for c in report.claims:
        local = c.on_selected_mixture.verdict if c.on_selected_mixture else "-"
        rows.append(f'<tr><td><a href="#{escape(claim_anchor(c.id))}">{escape(c.id)}</a></td>'
                    f'<td>{escape(c.source)}</td><td>{badge(c.verdict)}</td><td>{badge(local)}</td>'
                    f'<td class="why">{prose_html(one_line(c))}</td></tr>')
    return ('<table class="index" id="index"><thead><tr><th>claim</th><th>where</th><th>verdict</th>'
            f'<th>on {escape(str(report.mixture.name))}</th><th>why</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _compare(claim: ClaimEntry) -> str:
    """Claimed and derived side by side; where both are general formulas their differing tokens are marked."""
    tex = claim.tex
    if tex is None or not tex.claimed:
        return ""
    claimed = tex_to_mathml(tex.claimed)
    derived = tex.derived_mathml or (tex_to_mathml(tex.derived) if tex.derived else "")
    if derived and not tex.derived_symbolic and tex.derived != tex.claimed:
        claimed, derived, _ = highlight_difference(claimed, derived)
    source = tex.derived_source or ""
    src = f" <code>{escape(source)}</code>" if tex.derived_symbolic and source else ""
    wide = max(len(leaves(claimed)), len(leaves(derived)) if derived else 0) > WIDE_TOKENS
    out = [f'<div class="compare{" stacked" if wide else ""}">',
           f'<div class="claimed"><div class="label">Claimed: the paper</div><div class="formula">{claimed}</div>'
           f'<p class="setting">{escape(claim.source)}</p></div>',
           f'<div class="derived"><div class="label">Derived: the toolkit</div><div class="formula">{derived}</div>'
           f'<p class="setting">{inline_html(tex.derived_setting or "")}{src}</p></div>', "</div>"]
    if tex.difference:
        out.append(_difference(claim, tex))
    return "\n".join(out)


def _difference(claim: ClaimEntry, tex: Tex) -> str:
    """Claimed minus derived at d = 1 (from the derivation), and first, for a claim that agrees there but is refuted,
    claimed minus derived at its smallest counterexample."""
    difference = str(tex.difference)
    zero = re.search(r"=\s*0\s*$", difference) is not None
    body = tex.difference_mathml or tex_to_mathml(difference)
    decisive = _decisive_difference(claim) if zero and claim.verdict == "refuted" else None
    out = []
    if decisive is not None and claim.counterexample is not None:  # agrees at d = 1, refuted elsewhere: the refuting case first
        ce = claim.counterexample
        d = ce.mixture.d
        where = inline_html(f"$d = {d}$, $n = {ce.n}$")
        out.append(f'<div class="formula difference nonzero">{tex_to_mathml(decisive)}</div>'
                   f'<p class="setting">claimed minus derived at the smallest counterexample ({where}, below): '
                   "the case that refutes the claim</p>")
        note = (f" at $d = 1$: they agree there (symbolically); the claim fails "
                f"{'from' if d == 2 else 'at'} $d = {d}$")
    else:
        note = (" at $d = 1$: the claim and the derivation agree there" if zero
                else " at $d = 1$ (from the claim's symbolic decision)")
    out.append(f'<div class="formula difference {"zero" if zero else "nonzero"}">{body}</div>'
               f'<p class="setting">claimed minus derived{inline_html(note)}</p>')
    return "\n".join(out)


def _difference_value(a: Any, b: Any) -> Any:
    """a - b for two numbers or two nested lists of the same shape, else None."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) - float(b)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = [_difference_value(x, y) for x, y in zip(a, b, strict=True)]
        return None if any(v is None for v in out) else out
    return None


def _decisive_difference(claim: ClaimEntry) -> str | None:
    """TeX of claimed - derived at the claim's smallest counterexample (numbers or arrays), when it has one with a
    numeric value on both sides and d of at least 2 (where a d = 1 identity says nothing)."""
    ce = claim.counterexample
    if ce is None or ce.mixture.d < 2:
        return None
    diff = _difference_value(side_value(ce, "claimed"), side_value(ce, "derived"))
    if diff is None:
        return None
    q = quantity_tex(ce.quantity)
    label = r"\text{claimed} \;-\; \text{derived}" + (rf"\ \text{{of }} {q}" if q else "")
    return rf"{label} = {array_tex(diff, 6, abbreviate=True)}"


def _counterexample(claim: ClaimEntry) -> str:
    ce = claim.counterexample
    if ce is None:
        return ""
    q = quantity_tex(ce.quantity)
    label = q if q is not None else rf"\text{{{ce.quantity}}}"
    values = [side_value(ce, side) for side in ("claimed", "derived")]
    shown = [array_tex(v, abbreviate=True) if isinstance(v, (int, float, list)) else rf"\text{{{v}}}" for v in values]
    file = counterexample_file(claim.id)
    out = ['<h4>Smallest counterexample</h4><div class="counterexample">',
           f'<p class="setting">Shrunk from <code>{escape(str(ce.found_in or "-"))}</code>; context length n = {ce.n}. '
           f'Mixture (<a href="{escape(file)}">{escape(file)}</a>):</p>']
    out += [math_block(line) for line in mixture_tex(ce.mixture, abbreviate=True)]
    if mixture_is_structured(ce.mixture):
        out.append(_full_values([*mixture_tex(ce.mixture)], "every entry of the mixture"))
    out.append(math_block(rf"{label}\ \text{{claimed}} = {shown[0]}"))
    out.append(math_block(rf"{label}\ \text{{derived}} = {shown[1]}"))
    if any(isinstance(v, list) and array_tex(v) != s for v, s in zip(values, shown, strict=True)):
        out.append(_full_values([rf"\text{{claimed}} = {array_tex(values[0])}", rf"\text{{derived}} = {array_tex(values[1])}"],
                                "every entry of both sides"))
    error = inline_html(f"${number_tex(ce.rel_error, 3)}$")
    out.append(f'<p class="setting">Relative error {error}.</p>')
    if ce.note:
        out.append(f'<p class="setting">{prose_html(ce.note)}</p>')
    out.append(f'<p class="setting">Reproduce it (in the report directory):</p>'
               f'<pre class="command">{escape(reproduce_command(claim.id, ce))}</pre></div>')
    return "\n".join(out)


def _full_values(lines: list[str], what: str) -> str:
    """The unabbreviated formulas, one click away."""
    return (f'<details class="full-values"><summary>Show {escape(what)}</summary>'
            + "".join(math_block(line) for line in lines) + "</details>")


def _evidence(claim: ClaimEntry, report: Report) -> str:
    rows = "".join(f"<tr><td>{escape(r.channel)}</td><td>{prose_html(r.result)}</td><td>{prose_html(r.resolution)}</td></tr>"
                   for r in evidence_rows(claim, report))
    return ('<h4>Evidence</h4><table class="evidence"><thead><tr><th>channel</th><th>result</th>'
            f"<th>resolution: the smallest effect it could see</th></tr></thead><tbody>{rows}</tbody></table>")


def corrected_text(claim: ClaimEntry) -> str:
    """Whether the corrected statement was itself verified by the search (it is a claim of the toolkit's)."""
    corr = claim.corrected
    verdict = corr.verdict if corr is not None else "unchecked"
    if corr is None or verdict == "unchecked":
        return f"{badge('unchecked')} no check of the corrected statement is registered: it is not verified"
    return (f"{badge(verdict)} the corrected statement, run through the same search: {corr.cases - corr.failed} "
            f"of {corr.cases} cases hold")


def _reading(claim: ClaimEntry) -> str:
    """The claim's kind and the reading its verdict is about, the measurement of a measured claim, the other
    reading's verdict, and where an asymptotic claim's leading term starts to describe its quantity."""
    out = [f'<p class="reading">Kind: <b>{escape(str(claim.kind or "result"))}</b>'
           + (f' (if refuted: {escape(severity_text(claim.severity))})' if claim.severity else "")
           + f'. Read {prose_html(str(claim.reading or ""))}.</p>']
    m = claim.measurement
    if claim.verdict == "measured" and m is not None and m.largest is not None:
        out.append(_measurement(m))
    for r in claim.readings or ():
        out.append(f'<p class="reason">Read {prose_html(r.reading)}: {badge(r.verdict)} '
                   f'({r.cases - r.failed} of {r.cases} cases hold).</p>')
    regime = claim.evidence.regime
    if regime is not None and regime.exponent is not None:
        out.append(_regime(regime))
    return "\n".join(out)


def _measurement(m: Measurement) -> str:
    """What the search measured for an assumption or a qualitative claim: the largest value, where, and by n."""
    trend = ", ".join(f"{100 * v:.3g}% at n = {n}" for n, v in (m.by_n or {}).items())
    return (f'<p class="reason">Measured ({prose_html(str(m.quantity))}): largest {100 * abs(m.largest):.3g}% '
            f'at {escape(str(m.at))}; by n: {escape(trend)}; no cost on {m.zero_cases} of {m.cases} cases.</p>')


def _regime(regime: Regime) -> str:
    """From which n the leading term of an asymptotic claim describes its quantity on the selected mixture."""
    where = (f"from n = {regime.dominates_from_n}" if regime.dominates_from_n is not None
             else "nowhere up to n = 10⁶")
    return (f'<p class="reason">Regime: the leading term {regime.coefficient:.4g}·n<sup>{regime.exponent}</sup> '
            f'describes {prose_html(str(regime.quantity))} on the selected mixture {where} (the rest of the expansion '
            f'is at most half of it there).</p>')


def _corrected(claim: ClaimEntry) -> str:
    if claim.verdict not in ("refuted", "measured") or not claim.correction:
        return ""
    tex = claim.tex
    out = ["<h4>Corrected statement</h4>", f'<p class="reason">{corrected_text(claim)}</p>']
    if tex is not None and tex.corrected:
        corrected = tex_to_mathml(tex.corrected)
        if tex.claimed:
            claimed, corrected, _ = highlight_difference(tex_to_mathml(tex.claimed), corrected)
            out.append(f'<div class="compare stacked"><div class="claimed"><div class="label">Claimed</div>'
                       f'<div class="formula">{claimed}</div></div><div class="corrected"><div class="label">What holds '
                       f'instead</div><div class="formula">{corrected}</div></div></div>')
        else:
            out.append(f'<div class="corrected"><div class="formula">{corrected}</div></div>')
    out.append(f"<details><summary>As recorded in the claim (text)</summary><p>"
               f"{prose_html(claim.correction or 'no corrected statement registered')}</p></details>")
    return "\n".join(out)


def _concerns(claim: ClaimEntry, report: Report, figures: dict[str, FigureFiles], base: Path) -> str:
    parts = []
    for p in claim.figures or ():
        f = figures.get(p)
        if f is not None:
            parts.append(f'<a class="thumb" href="#figure-{escape(p)}"><img src="{escape(_rel(f.png, base))}" '
                         f'alt="{escape(f.figure)}">{escape(f.figure)}</a>')
    rows = [r for r in report.asymptotics or () if r.claim == claim.id]
    expansions = "".join(_expansion_rows(r, report, link_claim=False) for r in rows)
    if not parts and not expansions:
        return ""
    out = ["<h4>Figures and expansions it concerns</h4>"]
    if parts:
        out.append(f'<div class="concerns">{"".join(parts)}</div>')
    if expansions:
        out.append(f'<table class="expansions">{EXPANSION_HEAD}<tbody>{expansions}</tbody></table>')
    return "\n".join(out)


def _claim(claim: ClaimEntry, report: Report, prev_id: str | None, next_id: str | None,
           figures: dict[str, FigureFiles], base: Path) -> str:
    tex = claim.tex
    cid = claim.id
    nav = ['<a href="#summary">summary</a>', '<a href="#index">all claims</a>']
    if prev_id:
        nav.insert(0, f'<a href="#{escape(claim_anchor(prev_id))}">\u2190 {escape(prev_id)}</a>')
    if next_id:
        nav.append(f'<a href="#{escape(claim_anchor(next_id))}">{escape(next_id)} \u2192</a>')
    out = [f'<article class="claim {escape(claim.verdict)}" id="{escape(claim_anchor(cid))}">',
           f'<header><h3>{badge(claim.verdict)} {escape(cid)} <span class="source">{escape(claim.source)}</span></h3>'
           f'<nav class="claim-nav ui">{"".join(nav)}</nav></header>']
    if tex is not None and tex.statement:
        out.append(math_block(tex.statement, cls="statement"))
    else:  # a claim whose record has no typeset forms: its statement as text
        out.append(f'<p class="statement">{prose_html(claim.statement)}</p>')
    out.append(f'<p class="setting">Scope: {inline_html(scope_text(claim))}.</p>')
    out.append(_compare(claim))
    out.append(_verdict(claim, report))
    out.append(_reading(claim))
    if claim.notes:
        out.append("<p class=\"reason\">Notes: " + prose_html("; ".join(claim.notes)) + "</p>")
    out.append(_counterexample(claim))
    out.append(_evidence(claim, report))
    out.append(_corrected(claim))
    out.append(_concerns(claim, report, figures, base))
    out.append('<p class="backtop"><a href="#top">\u2191 back to top</a></p></article>')
    return "\n".join(x for x in out if x)


def _verdict(claim: ClaimEntry, report: Report) -> str:
    """The global verdict with the record's why, its reason, and the local verdict on the selected mixture."""
    why = claim.tex.why if claim.tex is not None else ""
    local = claim.on_selected_mixture.verdict if claim.on_selected_mixture is not None else "-"
    return (f'<h4>Verdict</h4><p class="verdict-line">{badge(claim.verdict)} '
            f'{inline_html(why) + "." if why else ""}</p>'
            f'<p class="reason">{prose_html(reason_text(claim))}. On <code>{escape(str(report.mixture.name))}</code>: '
            f'{badge(local)}</p>')


def _expansion_rows(r: AsymptoticRow, report: Report, link_claim: bool = True) -> str:
    """One quantity: what the paper claims and, apart from it, what the toolkit derives (the fit on the selected
    mixture, and the exact isotropic leading term)."""
    quantity = r.quantity_tex or rf"\text{{{r.quantity}}}"
    claimed = r.claimed_leading_tex or rf"\text{{{r.claimed_leading}}}"
    present = {c.id for c in report.claims}
    claim = (f'<a href="#{escape(claim_anchor(r.claim))}">{escape(r.claim)}</a>'
             if r.claim is not None and r.claim in present and link_claim else escape(r.claim or "no claim"))
    general = r.derived_general_tex
    fitted = tex_to_mathml(r"\approx " + fitted_tex(r.derived_leading), display=False)
    derived = (f'<div class="formula">{fitted}</div>'
               f'<div class="setting">fitted in float64 on {escape(str(r.mixture))} up to n = 10⁶</div>')
    if general:
        derived += (f'<div class="formula">{tex_to_mathml(general, display=False)}</div>'
                    '<div class="setting">exact leading term: isotropic setting, symbolic d</div>')
    return (f'<tr><td><div class="formula">{tex_to_mathml(quantity, display=False)}</div></td>'
            f'<td class="paper"><div class="formula">{tex_to_mathml(claimed, display=False)}</div></td>'
            f'<td class="toolkit">{derived}</td><td>{claim}</td>'
            f'<td>{badge(r.verdict) if r.verdict != "-" else ""}</td></tr>')


def _expansions(report: Report) -> str:
    items = report.asymptotics
    out = ['<section id="expansions"><h2>Asymptotic expansions in 1/n</h2>']
    if items is None:
        out.append(f'<p id="asymptotics-missing">{escape(NOT_COMPUTED)}</p></section>')
        return "\n".join(out)
    out.append("<p>Each quantity's leading term as the paper claims it, and apart from it as the toolkit derives it: "
               "fitted in float64 on the selected mixture up to n = 10⁶ (with the uncertainty of the last digits), and "
               f"exactly in the isotropic setting ({inline_html(ISOTROPIC)}).</p>")
    rows = "".join(_expansion_rows(r, report) for r in items)
    out.append(f'<table class="expansions" id="asymptotics">{EXPANSION_HEAD}<tbody>{rows}</tbody></table></section>')
    return "\n".join(out)


EXPANSION_HEAD = ('<thead><tr><th>quantity</th><th class="paper">the paper claims</th><th class="toolkit">the toolkit '
                  'derives</th><th>claim</th><th>verdict</th></tr></thead>')


def _run(report: Report) -> str:
    m = report.mixture
    lines = "".join(math_block(line) for line in mixture_tex(m, abbreviate=True))
    if mixture_is_structured(m):
        lines += _full_values(mixture_tex(m), "every entry of the mixture")
    return (f'<section id="run"><h2>The run</h2><p>Selected mixture <code>{escape(str(m.name))}</code> '
            f"(the local verdicts and every channel's evidence are on it; it also joins the search):</p>{lines}"
            f"<p>Context lengths n = {escape(', '.join(map(str, report.n)))}; seed {report.seed}; device "
            f"{escape(str(report.device or 'cpu'))}. The same seed gives the same report (less its timings) on any "
            "machine. <code>report.json</code> next to this page holds every number shown here.</p></section>")


def render_html(report: Report | dict[str, Any], figures: Sequence[FigureFiles], base: Path) -> str:
    """The page as a string, from the typed report or its JSON object (read back once, :meth:`Report.of`); figure and
    counterexample paths are relative to ``base`` (the page's directory)."""
    rep = Report.of(report)
    by_panel = {f.panel: f for f in figures}
    ids = [c.id for c in rep.claims]
    claims = [_claim(c, rep, ids[i - 1] if i else None, ids[i + 1] if i + 1 < len(ids) else None, by_panel, base)
              for i, c in enumerate(rep.claims)]
    nav = ('<nav class="topbar"><div class="wrap"><b>verify report</b><a href="#summary">Summary</a>'
           '<a href="#figures">Figures</a><a href="#claims-section">Claims</a><a href="#expansions">Expansions</a>'
           '<a href="#run">Run</a></div></nav>')
    body = [nav, '<div class="wrap">', _header(rep), "<main>", _summary(rep), _gallery(rep, figures, base),
            '<section id="claims-section"><h2>Claims</h2>', _index(rep), *claims, "</section>", _expansions(rep),
            _run(rep), "</main>",
            '<footer>Generated by <code>verify --report</code> from <code>report.json</code>. '
            'Markdown twin: <a href="report.md">report.md</a>.</footer></div>']
    head = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>verify: {escape(TITLE)}</title><style>{CSS}</style></head><body>")
    return head + "\n".join(body) + "\n</body></html>\n"

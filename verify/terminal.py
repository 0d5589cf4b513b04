"""The verdict table for people: compact by default, details per claim with ``--verbose`` or ``--claim ID``.

The console takes the terminal's width (nothing fixed); when the output is not a terminal (a pipe, a file) it
prints plain ASCII with no colour and no box drawing. User-controlled text (file names, mixture names, claim
text) is never read as rich markup: every cell is a :class:`rich.text.Text` and free text is printed with
``markup=False``.

It reads the JSON report as typed records (:class:`verify.report.schema.Report`, parsed once by the caller with
``Report.from_json``); a record a partial or older report lacks is None and is shown as absent.
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.console import Console
from rich.text import Text

from claims.kinds import Severity
from verify.claim_index import pack as claim_pack  # the registry's ids and statements, without importing it
from verify.numbers import exact

if TYPE_CHECKING:  # the schema is read through the records the caller parsed; importing it here is not needed
    from verify.report.schema import (
        ClaimEntry,
        CorrectedVerdict,
        Counterexample,
        Evidence,
        FindingGroup,
        Report,
        SelectedRow,
        Summary,
    )

_STYLE = {"verified": "green", "refuted": "bold red", "inconclusive": "yellow", "measured": "cyan"}


def make_console(file: TextIO | None = None) -> Console:
    """A console on ``file`` (default stdout) at the terminal's width; plain text when it is not a terminal."""
    stream = file if file is not None else sys.stdout
    plain = not (hasattr(stream, "isatty") and stream.isatty())
    return Console(file=stream, highlight=False, emoji=False, no_color=plain, soft_wrap=False,
                   legacy_windows=False, safe_box=True)


def _box(console: Console) -> box.Box:
    return box.SIMPLE if console.is_terminal else box.ASCII


def _print(console: Console, text: str, style: str | None = None) -> None:
    console.print(Text(text, style=style or ""), markup=False, highlight=False, soft_wrap=True)


# ----- one-line summaries ---------------------------------------------------------------------------------------
def _short(value: Any) -> str:
    if isinstance(value, float):
        return exact(value)
    return str(value)


def _short_value(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return exact(value)
    text = json.dumps(value)
    return text if len(text) < 60 else text[:57] + "..."


def _summary(value: Any) -> str:
    """A value for the one-line reason: numbers to 6 significant digits (``--claim ID`` prints them exactly)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 3:
        return "[...]"
    return _short_value(value)


def counterexample_text(ce: Counterexample | None) -> str:
    """``d=1 K=1 sigma2=0 n=1: L*_PGD claimed 1.0 vs derived 2.0`` (one line)."""
    if not ce:
        return "-"
    m = ce.mixture
    return (f"d={m.d} K={len(m.tasks)} sigma2={exact(m.sigma2)} n={ce.n}: "
            f"{ce.quantity} claimed {_short_value(ce.claimed)} vs derived {_short_value(ce.derived)}")


def _unstated(claim: ClaimEntry) -> str:
    """The reason of a report that states none, from its evidence."""
    notes = [n for n in claim.notes or () if isinstance(n, str)]
    ce = claim.counterexample
    if claim.verdict == "refuted":
        if not ce:
            return "; ".join(notes) or "refuted (see --claim ID)"
        return (f"d={ce.mixture.d} K={len(ce.mixture.tasks)} n={ce.n}: claimed {_summary(ce.claimed)}"
                f", derived {_summary(ce.derived)}")
    if claim.verdict == "inconclusive":
        return "; ".join(notes) if notes else "the evidence neither confirms nor refutes it (see --claim ID)"
    th = claim.evidence.theory if claim.evidence else None
    if th is not None and isinstance(th.cases_checked, int):
        return (f"{th.cases_checked - (th.cases_failed or 0)}/{th.cases_checked} cases agree "
                f"(rel err {th.max_rel_error or 0:.0e})")
    return "; ".join(notes) or "-"


def reason(claim: ClaimEntry) -> str:
    """Why the claim got its verdict, in one line (the report's ``reason`` when present)."""
    given = claim.reason
    if isinstance(given, str) and given.strip():
        return " ".join(given.split())
    return _unstated(claim)


def on_selected(claim: ClaimEntry) -> str:
    """The local verdict on the selected mixture: ``holds``, ``fails at n=10`` or ``n/a``."""
    sel = claim.on_selected_mixture
    if sel is not None:
        if sel.verdict in ("holds", "inconclusive"):
            return sel.verdict
        if sel.verdict == "fails":
            return f"fails at n={sel.first_failing_n}" if sel.first_failing_n is not None else "fails"
        if sel.verdict == "measured" and isinstance(sel.measured, (int, float)):
            return f"gap {100 * sel.measured:.3g}%"
        return "n/a"
    rows = [r for r in (claim.evidence.selected_mixture if claim.evidence else None) or () if r.in_scope]
    if not rows:
        return "n/a"
    failing = [r.n for r in rows if r.holds is False]
    return f"fails at n={failing[0]}" if failing else "holds"


# ----- the report ---------------------------------------------------------------------------------------------
def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 3, 0)] + "..."


def verdict_rows(report: Report) -> list[tuple[str, str, str, str]]:
    """(claim id, verdict, local verdict on the selected mixture, one-line reason) per claim."""
    return [(c.id, c.verdict, on_selected(c), reason(c)) for c in report.claims or ()]


READING_OF_RESULTS = ("results are read as exact identities (relative error within max(1e-8, 100 eps kappa) agrees, "
                      "beyond max(1e-6, 1e4 eps kappa) refutes, kappa the conditioning); other kinds state their reading "
                      "under the reason")


def _wrapped(console: Console, text: str, indent: int) -> None:
    """``text`` wrapped to the console's width under an indent of ``indent`` spaces (never cut)."""
    width = max(console.width - indent, 20)
    for line in textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [""]:
        _print(console, " " * indent + line)


def regime_text(c: ClaimEntry) -> str:
    """Where an asymptotic claim's leading term starts to describe its quantity on the selected mixture ('' if none)."""
    r = c.evidence.regime if c.evidence else None
    if r is None or r.exponent is None:
        return ""
    where = f"from n = {r.dominates_from_n}" if r.dominates_from_n is not None else "nowhere up to n = 1e6"
    return (f"regime: the leading term {r.coefficient:.4g} n^{r.exponent} of {r.quantity} describes it "
            f"{where} (the rest of the expansion at most half of it)")


_SEVERITY_LABELS = {"main": "in the main text", "slip": "appendix or notation slips", "harmless": "harmless"}


def _refuted_text(s: Summary) -> str:
    """The refuted count, with its findings by root cause and by severity when the report counts them."""
    refuted = s.refuted or 0
    if s.findings is None or not refuted:
        return f"{refuted} refuted"
    sev = ", ".join(f"{v} {_SEVERITY_LABELS.get(k, k)}" for k, v in (s.findings_by_severity or {}).items() if v)
    return (f"{refuted} refuted = {s.findings} finding{'s' if s.findings != 1 else ''} by root cause"
            + (f" ({sev})" if sev else ""))


def summary_line(report: Report) -> str:
    """The counts by verdict, with the refutations counted once per root cause and by severity."""
    s = report.summary
    parts = [f"{s.verified or 0} verified", _refuted_text(s)]
    if s.measured:
        parts.append(f"{s.measured} measured (assumptions' costs and qualitative statements, not errors)")
    parts.append(f"{s.inconclusive or 0} inconclusive")
    text = ", ".join(parts)
    if s.corrections and any(s.corrections.values()):
        text += "; corrected statements: " + ", ".join(f"{v} {k}" for k, v in s.corrections.items() if v)
    return text


def _severity(severity: str | None, missing: str) -> str:
    return Severity(severity).description if severity in list(Severity) else missing


def _print_table(report: Report, console: Console) -> None:
    """One row a claim (claim, verdict, on the selected mixture, kind), its reason, reading and regime under it."""
    name = str(report.mixture.name if report.mixture else "?")
    claims = report.claims or ()
    rows = [(c.id, c.verdict, on_selected(c), str(c.kind or "result")) for c in claims]
    head = ("claim", "verdict", f"on {_clip(name, 20)}", "kind")
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(4)]
    _wrapped(console, f"Claims checked (local verdict on {name}, n = {', '.join(map(str, report.n or ()))}); "
             f"{READING_OF_RESULTS}", 0)
    _print(console, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    _print(console, "  ".join("-" * w for w in widths))
    for c, row in zip(claims, rows, strict=True):
        cells = Text(row[0].ljust(widths[0]) + "  ")
        cells.append(row[1].ljust(widths[1]), style=_STYLE.get(row[1], "") if console.is_terminal else "")
        cells.append("  " + row[2].ljust(widths[2]) + "  " + row[3])
        console.print(cells, markup=False, highlight=False, soft_wrap=True)
        _wrapped(console, reason(c), 4)
        if row[3] != "result" and c.reading:
            _wrapped(console, f"reading: {c.reading}", 4)
        if regime_text(c):
            _wrapped(console, regime_text(c), 4)


def _print_findings(groups: tuple[FindingGroup, ...], console: Console) -> None:
    if groups:
        _print(console, "Findings by root cause:")
    for i, g in enumerate(groups, 1):
        _wrapped(console, f"{i}. {', '.join(g.claims)} [{_severity(g.severity, 'severity not stated')}]: {g.title}", 2)


def print_report(report: Report, console: Console | None = None, *, verbose: bool = False) -> None:
    """The verdict table (claim, verdict, on the selected mixture, kind), each row followed by its reason in full,
    wrapped and indented (and the reading, for claims that are not exact results); then the findings by root cause
    and the counts.  ``verbose`` adds every channel of every claim."""
    console = console or make_console()
    _print_table(report, console)
    if verbose:
        for c in report.claims or ():
            print_claim_details(c, console)
    _print_findings(report.findings or (), console)
    seconds = report.total_seconds
    _wrapped(console, summary_line(report) + (f" in {seconds:.1f} s" if seconds is not None else ""), 0)
    if not verbose:
        _print(console, "details and corrected statements: verify --claim ID, or --verbose")


def _selected_lines(rows: tuple[SelectedRow, ...]) -> list[tuple[str, str]]:
    """Claimed against derived on the selected mixture, one line per n."""
    return [(f"selected mixture, n={r.n}",
             f"claimed {_short(r.claimed)} vs derived {_short(r.derived)}"
             + (f" (rel error {r.rel_error:.1e})" if isinstance(r.rel_error, float) else "")
             if r.in_scope else "out of scope") for r in rows]


def _search_line(c: ClaimEntry) -> list[tuple[str, str]]:
    """The search over mixtures: its failing cases, or for a measured claim how many cases it measured (a measured
    claim has no failing case: its search measures a cost or a gap, which the ``measured`` line gives)."""
    th = c.evidence.theory if c.evidence else None
    m = c.measurement
    if c.verdict == "measured":
        return [("search", f"measured on {m.cases} cases, zero on {m.zero_cases} of them")] if m else []
    if th is None:
        return []
    return [("search", f"{th.cases_failed}/{th.cases_checked} cases fail, max rel error {th.max_rel_error:.1e}")]


def evidence_lines(ev: Evidence) -> list[tuple[str, str]]:
    """The lines of the evidence channels' payloads (each channel's own rows)."""
    return [row for payload in ev.channels for row in payload.terminal_rows()]


def _corrected_line(correction: str, corr: CorrectedVerdict | None) -> tuple[str, str]:
    checked = (f" [{corr.verdict} by the search: {corr.cases - corr.failed}/{corr.cases} cases hold]"
               if corr is not None and corr.verdict not in (None, "unchecked") else " [not checked]")
    return ("corrected", correction + checked)


def _record_lines(c: ClaimEntry) -> list[tuple[str, str]]:
    """The counterexample (not for a measured claim), notes, measurement, other readings and correction."""
    measured = c.verdict == "measured"  # a measured claim's largest case is where its cost peaks, not a failure
    lines = [("counterexample", counterexample_text(c.counterexample))] if c.counterexample and not measured else []
    lines += [("note", str(note)) for note in c.notes or ()]
    m = c.measurement
    if m is not None and m.largest is not None:
        lines.append(("measured", f"{m.quantity}: largest {100 * abs(m.largest):.3g}% at {m.at}"))
    lines += [("other reading", f"{r.reading}: {r.verdict} ({r.cases - r.failed}/{r.cases} cases hold)")
              for r in c.readings or ()]
    if c.correction:
        lines.append(_corrected_line(str(c.correction), c.corrected))
    return lines


def _channel_lines(c: ClaimEntry) -> list[tuple[str, str]]:
    ev = c.evidence
    lines = _selected_lines(ev.selected_mixture or ()) if ev else []
    lines += _search_line(c)
    sym = ev.symbolic if ev else None
    if sym:
        lines.append(("symbolic", ("holds" if sym.holds else "fails") + f" ({sym.setting})"))
    return lines + (evidence_lines(ev) if ev else []) + _record_lines(c)


def print_claim_details(c: ClaimEntry, console: Console | None = None) -> None:
    """Every channel of one claim, one ``label: text`` line each (wrapped to the terminal, never markup)."""
    console = console or make_console()
    console.print()
    head = Text(f"{c.id}  ")
    head.append(c.verdict, style=_STYLE.get(c.verdict, ""))
    console.print(head)
    _print(console, f"  statement: {c.statement or ''}")
    if c.kind:
        sev = _severity(c.severity, "")
        _print(console, f"  kind: {c.kind}" + (f" (if refuted: {sev})" if sev else ""))
        _print(console, f"  reading: {c.reading or ''}")
    _print(console, f"  reason: {reason(c)}")
    for label, text in _channel_lines(c):
        _print(console, f"  {label}: {text}")


def print_claim_list(console: Console | None = None, paper: str = "chang2025", *, verbose: bool = False) -> None:
    """``verify --list [--paper KEY]``: one line a claim (id, kind, where the paper states it); ``verbose`` adds the
    statement, scope and reading under each, wrapped to the terminal."""
    console = console or make_console()
    claims = list(claim_pack(paper).claims)
    width = max(len(c.id) for c in claims)
    kinds = max(len(str(c.kind)) for c in claims)
    _wrapped(console, f"{len(claims)} claims of {paper} (verify --claim ID checks one; --list --verbose shows statements)", 0)
    for c in claims:
        _print(console, _clip(f"{c.id.ljust(width)}  {str(c.kind).ljust(kinds)}  {c.source}", max(console.width, 40)))
        if verbose:
            _wrapped(console, c.statement, 4)
            _wrapped(console, f"scope: {c.scope_text}", 4)
            _wrapped(console, f"reading: {c.reading}", 4)

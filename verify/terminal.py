"""The verdict table for people: compact by default, details per claim with ``--verbose`` or ``--claim ID``.

The console takes the terminal's width (nothing fixed); when the output is not a terminal (a pipe, a file) it
prints plain ASCII with no colour and no box drawing. User-controlled text (file names, mixture names, claim
text) is never read as rich markup: every cell is a :class:`rich.text.Text` and free text is printed with
``markup=False``.

The report's newer fields (``reason``, ``on_selected_mixture``, ``timings``) are read when present, with a
fallback to the older evidence rows.
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.text import Text

from claims.kinds import Severity
from verify.claim_index import pack as claim_pack  # the registry's ids and statements, without importing it
from verify.numbers import exact

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
    if isinstance(value, dict) and "frobenius_norm" in value:
        return f"|.|={exact(value['frobenius_norm'])}"
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
    if isinstance(value, list) and len(value) > 3:
        return "[...]"
    return _short_value(value)


def counterexample_text(ce: dict[str, Any] | None) -> str:
    """``d=1 K=1 sigma2=0 n=1: L*_PGD claimed 1.0 vs derived 2.0`` (one line)."""
    if not ce:
        return "-"
    m = ce.get("mixture", {})
    return (f"d={m.get('d', '?')} K={len(m.get('tasks', []))} sigma2={exact(m.get('sigma2', '?'))} n={ce.get('n', '?')}: "
            f"{ce.get('quantity', '?')} claimed {_short_value(ce.get('claimed'))} vs derived {_short_value(ce.get('derived'))}")


def reason(claim: dict[str, Any]) -> str:
    """Why the claim got its verdict, in one line (the report's ``reason`` when present)."""
    given = claim.get("reason")
    if isinstance(given, str) and given.strip():
        return " ".join(given.split())
    notes = [n for n in claim.get("notes", []) if isinstance(n, str)]
    th = claim.get("evidence", {}).get("theory", {})
    if claim.get("verdict") == "refuted":
        ce = claim.get("counterexample")
        if not ce:
            return "; ".join(notes) or "refuted (see --claim ID)"
        m = ce.get("mixture", {})
        return (f"d={m.get('d', '?')} K={len(m.get('tasks', []))} n={ce.get('n', '?')}: claimed {_summary(ce.get('claimed'))}"
                f", derived {_summary(ce.get('derived'))}")
    if claim.get("verdict") == "inconclusive":
        return "; ".join(notes) if notes else "the evidence neither confirms nor refutes it (see --claim ID)"
    checked, failed = th.get("cases_checked"), th.get("cases_failed")
    if isinstance(checked, int):
        return f"{checked - (failed or 0)}/{checked} cases agree (rel err {th.get('max_rel_error', 0):.0e})"
    return "; ".join(notes) or "-"


def on_selected(claim: dict[str, Any]) -> str:
    """The local verdict on the selected mixture: ``holds``, ``fails at n=10`` or ``n/a``."""
    sel = claim.get("on_selected_mixture")
    if isinstance(sel, dict):
        verdict = sel.get("verdict")
        if verdict == "holds":
            return "holds"
        if verdict == "fails":
            first = sel.get("first_failing_n")
            return f"fails at n={first}" if first is not None else "fails"
        if verdict == "measured" and isinstance(sel.get("measured"), (int, float)):
            return f"gap {100 * sel['measured']:.3g}%"
        return "inconclusive" if verdict == "inconclusive" else "n/a"
    rows = [r for r in claim.get("evidence", {}).get("selected_mixture", []) if r.get("in_scope")]
    if not rows:
        return "n/a"
    failing = [r["n"] for r in rows if r.get("holds") is False]
    return f"fails at n={failing[0]}" if failing else "holds"


def _seconds(report: dict[str, Any]) -> float | None:
    timings = report.get("timings")
    if isinstance(timings, dict) and isinstance(timings.get("total_seconds"), (int, float)):
        return float(timings["total_seconds"])
    seconds = report.get("seconds")
    return float(seconds) if isinstance(seconds, (int, float)) else None


# ----- the report ---------------------------------------------------------------------------------------------
def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 3, 0)] + "..."


def verdict_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(claim id, verdict, local verdict on the selected mixture, one-line reason) per claim."""
    return [(c["id"], c["verdict"], on_selected(c), reason(c)) for c in report.get("claims", [])]


READING_OF_RESULTS = ("results are read as exact identities (relative error within max(1e-8, 100 eps kappa) agrees, "
                      "beyond max(1e-6, 1e4 eps kappa) refutes, kappa the conditioning); other kinds state their reading "
                      "under the reason")


def _wrapped(console: Console, text: str, indent: int) -> None:
    """``text`` wrapped to the console's width under an indent of ``indent`` spaces (never cut)."""
    width = max(console.width - indent, 20)
    for line in textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [""]:
        _print(console, " " * indent + line)


def regime_text(c: dict[str, Any]) -> str:
    """Where an asymptotic claim's leading term starts to describe its quantity on the selected mixture ('' if none)."""
    r = c.get("evidence", {}).get("regime")
    if not isinstance(r, dict) or r.get("exponent") is None:
        return ""
    where = (f"from n = {r['dominates_from_n']}" if r.get("dominates_from_n") is not None
             else "nowhere up to n = 1e6")
    return (f"regime: the leading term {r['coefficient']:.4g} n^{r['exponent']} of {r['quantity']} describes it "
            f"{where} (the rest of the expansion at most half of it)")


def summary_line(report: dict[str, Any]) -> str:
    """The counts by verdict, with the refutations counted once per root cause and by severity."""
    s = report.get("summary", {})
    parts = [f"{s.get('verified', 0)} verified"]
    refuted = s.get("refuted", 0)
    if "findings" in s and refuted:
        by = s.get("findings_by_severity", {})
        labels = {"main": "in the main text", "slip": "appendix or notation slips", "harmless": "harmless"}
        sev = ", ".join(f"{v} {labels.get(k, k)}" for k, v in by.items() if v)
        parts.append(f"{refuted} refuted = {s['findings']} finding{'s' if s['findings'] != 1 else ''} by root cause"
                     + (f" ({sev})" if sev else ""))
    else:
        parts.append(f"{refuted} refuted")
    if s.get("measured"):
        parts.append(f"{s['measured']} measured (assumptions' costs and qualitative statements, not errors)")
    parts.append(f"{s.get('inconclusive', 0)} inconclusive")
    corr = s.get("corrections")
    text = ", ".join(parts)
    if isinstance(corr, dict) and any(corr.values()):
        text += "; corrected statements: " + ", ".join(f"{v} {k}" for k, v in corr.items() if v)
    return text


def print_report(report: dict[str, Any], console: Console | None = None, *, verbose: bool = False) -> None:
    """The verdict table (claim, verdict, on the selected mixture, kind), each row followed by its reason in full,
    wrapped and indented (and the reading, for claims that are not exact results); then the findings by root cause
    and the counts.  ``verbose`` adds every channel of every claim."""
    console = console or make_console()
    name = str(report.get("mixture", {}).get("name", "?"))
    ns = ", ".join(str(n) for n in report.get("n", []))
    claims = report.get("claims", [])
    rows = [(c["id"], c["verdict"], on_selected(c), str(c.get("kind", "result"))) for c in claims]
    head = ("claim", "verdict", f"on {_clip(name, 20)}", "kind")
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(4)]
    _wrapped(console, f"Claims checked (local verdict on {name}, n = {ns}); {READING_OF_RESULTS}", 0)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    _print(console, line(head))
    _print(console, "  ".join("-" * w for w in widths))
    for c, row in zip(claims, rows, strict=True):
        cells = Text(row[0].ljust(widths[0]) + "  ")
        cells.append(row[1].ljust(widths[1]), style=_STYLE.get(row[1], "") if console.is_terminal else "")
        cells.append("  " + row[2].ljust(widths[2]) + "  " + row[3])
        console.print(cells, markup=False, highlight=False, soft_wrap=True)
        _wrapped(console, reason(c), 4)
        if c.get("kind", "result") != "result" and c.get("reading"):
            _wrapped(console, f"reading: {c['reading']}", 4)
        if regime_text(c):
            _wrapped(console, regime_text(c), 4)
    if verbose:
        for c in claims:
            print_claim_details(c, console)
    groups = report.get("findings") or []
    if groups:
        _print(console, "Findings by root cause:")
        for i, g in enumerate(groups, 1):
            sev = Severity(g["severity"]).description if g.get("severity") in list(Severity) else "severity not stated"
            _wrapped(console, f"{i}. {', '.join(g['claims'])} [{sev}]: {g['title']}", 2)
    seconds = _seconds(report)
    _wrapped(console, summary_line(report) + (f" in {seconds:.1f} s" if seconds is not None else ""), 0)
    if not verbose:
        _print(console, "details and corrected statements: verify --claim ID, or --verbose")


def _channel_lines(c: dict[str, Any]) -> list[tuple[str, str]]:
    ev = c.get("evidence", {})
    lines: list[tuple[str, str]] = []
    for r in ev.get("selected_mixture", []):
        lines.append((f"selected mixture, n={r['n']}",
                      f"claimed {_short(r.get('claimed'))} vs derived {_short(r.get('derived'))}"
                      + (f" (rel error {r['rel_error']:.1e})" if isinstance(r.get("rel_error"), float) else "")
                      if r.get("in_scope") else "out of scope"))
    th = ev.get("theory")
    if th:
        lines.append(("search", f"{th['cases_failed']}/{th['cases_checked']} cases fail, max rel error {th['max_rel_error']:.1e}"))
    sym = ev.get("symbolic")
    if sym:
        lines.append(("symbolic", ("holds" if sym["holds"] else "fails") + f" ({sym['setting']})"))
    from verify.evidence import channel_payloads  # the channels' modules: imported when a claim's details are printed

    for payload in channel_payloads(ev):
        lines.extend(payload.terminal_rows())
    if c.get("counterexample"):
        lines.append(("counterexample", counterexample_text(c["counterexample"])))
    for note in c.get("notes", []):
        lines.append(("note", str(note)))
    m = c.get("measurement")
    if isinstance(m, dict) and m.get("largest") is not None:
        lines.append(("measured", f"{m['quantity']}: largest {100 * abs(m['largest']):.3g}% at {m['at']}"))
    for r in c.get("readings") or []:
        lines.append(("other reading", f"{r['reading']}: {r['verdict']} ({r['cases'] - r['failed']}/{r['cases']} cases hold)"))
    if c.get("correction"):
        corr = c.get("corrected") or {}
        checked = (f" [{corr['verdict']} by the search: {corr['cases'] - corr['failed']}/{corr['cases']} cases hold]"
                   if corr.get("verdict") not in (None, "unchecked") else " [not checked]")
        lines.append(("corrected", str(c["correction"]) + checked))
    return lines


def print_claim_details(c: dict[str, Any], console: Console | None = None) -> None:
    """Every channel of one claim, one ``label: text`` line each (wrapped to the terminal, never markup)."""
    console = console or make_console()
    console.print()
    head = Text(f"{c['id']}  ")
    head.append(c["verdict"], style=_STYLE.get(c["verdict"], ""))
    console.print(head)
    _print(console, f"  statement: {c.get('statement', '')}")
    if c.get("kind"):
        sev = Severity(c["severity"]).description if c.get("severity") in list(Severity) else ""
        _print(console, f"  kind: {c['kind']}" + (f" (if refuted: {sev})" if sev else ""))
        _print(console, f"  reading: {c.get('reading', '')}")
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

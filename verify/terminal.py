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
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from theory.registry import claims as registered_claims
from theory.unconstrained import optimum_label
from verify.numbers import exact, uncertain

_STYLE = {"verified": "green", "refuted": "bold red", "inconclusive": "yellow"}


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
        return "n/a"
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


def print_report(report: dict[str, Any], console: Console | None = None, *, verbose: bool = False) -> None:
    """The compact verdict table (claim, verdict, on the selected mixture, reason), one row per claim at the
    console's width (the reason is cut with '...'); ``verbose`` adds every channel of every claim below it."""
    console = console or make_console()
    name = str(report.get("mixture", {}).get("name", "?"))
    ns = ", ".join(str(n) for n in report.get("n", []))
    rows = verdict_rows(report)
    head = ("claim", "verdict", f"on {_clip(name, 20)}", "reason")
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(3)]
    reason_width = max(console.width - sum(widths) - 3 * 2 - (4 if console.is_terminal else 0), 16)
    _print(console, f"Claims checked (local verdict on {name}, n = {ns})")
    if console.is_terminal:
        table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False)
        for i, col in enumerate(head):
            table.add_column(col, no_wrap=True, min_width=widths[i] if i < 3 else None)
        for cid, verdict, local, why in rows:
            table.add_row(Text(cid), Text(verdict, style=_STYLE.get(verdict, "")), Text(local), Text(_clip(why, reason_width)))
        console.print(table)
    else:  # a pipe or a file: plain ASCII columns
        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths, strict=True)) + "  " + _clip(cells[3], reason_width)
        _print(console, line(head))
        _print(console, "  ".join("-" * w for w in widths) + "  " + "-" * min(reason_width, max(len(r[3]) for r in rows) if rows else 6))
        for row in rows:
            _print(console, line(row))
    if verbose:
        for c in report.get("claims", []):
            print_claim_details(c, console)
    s = report.get("summary", {})
    seconds = _seconds(report)
    _print(console, f"{s.get('verified', 0)} verified, {s.get('refuted', 0)} refuted, {s.get('inconclusive', 0)} inconclusive"
                    + (f" in {seconds:.1f} s" if seconds is not None else ""))
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
    mini = ev.get("minimiser")
    if mini:
        lines.append(("minimiser", f"{mini['strategy']} n={mini['n']}: BFGS loss {exact(mini['numerical_loss'])} vs derived "
                                   f"{exact(mini['derived_loss'])} (rel {mini['loss_rel_diff']:.1e})"))
    mc = ev.get("montecarlo")
    if mc:
        text = f"{uncertain(mc['estimate'], mc['stderr'])} vs derived {exact(mc['derived'])}: z {mc['z_derived']:+.1f}"
        if "z_claimed" in mc:
            text += f"; vs claimed {exact(mc.get('claimed'))}: z {mc['z_claimed']:+.1f}"
        lines.append(("Monte Carlo", text))
    at = ev.get("montecarlo_at_claimed")
    if at:
        text = (f"at the claimed parameters {uncertain(at['estimate'], at['stderr'])}: z vs optimum "
                f"{at['z_vs_derived_optimum']:+.1f}")
        if "z_vs_claimed_loss" in at:
            text += f", z vs claimed loss {at['z_vs_claimed_loss']:+.1f}"
        lines.append(("Monte Carlo", text))
    un = ev.get("unconstrained")
    if un:
        for o in un["optima"]:
            head = "shared head" if o["shared_head"] else "task heads"
            lines.append((f"unconstrained {o['mode']}, n={o['n']}",
                          f"{optimum_label(o, exact)} ({head}) vs reduced {exact(o['reduced_loss'])} "
                          f"({-100 * o['relative_gain']:+.3g}%), gradient norm {o['gradient_norm']:.1e}"))
        for m in un["montecarlo"]:
            p = m["paired"]
            lines.append((f"unconstrained {m['mode']}, sampled",
                          f"n={m['n']}: attention {uncertain(m['estimate'], m['stderr'])}, z vs exact {m['z_exact']:+.1f}; "
                          f"paired gap to reduced {uncertain(p['difference'], p['stderr'])} vs exact "
                          f"{exact(p['exact_difference'])} (resolves {p['resolvable_difference']:.2g})"))
    tr = ev.get("training")
    if tr:
        lines.append(("training", f"{tr['strategy']} ({tr['model']}) n={tr['n']}: {uncertain(tr['trained_loss'], tr['trained_stderr'])}"
                                  f" vs {exact(tr['derived_loss'])} ({100 * tr['rel_gap']:+.1f}%, {tr['direction']})"))
    if c.get("counterexample"):
        lines.append(("counterexample", counterexample_text(c["counterexample"])))
    for note in c.get("notes", []):
        lines.append(("note", str(note)))
    if c.get("verdict") == "refuted" and c.get("correction"):
        lines.append(("corrected", str(c["correction"])))
    return lines


def print_claim_details(c: dict[str, Any], console: Console | None = None) -> None:
    """Every channel of one claim, one ``label: text`` line each (wrapped to the terminal, never markup)."""
    console = console or make_console()
    console.print()
    head = Text(f"{c['id']}  ")
    head.append(c["verdict"], style=_STYLE.get(c["verdict"], ""))
    console.print(head)
    _print(console, f"  statement: {c.get('statement', '')}")
    _print(console, f"  reason: {reason(c)}")
    for label, text in _channel_lines(c):
        _print(console, f"  {label}: {text}")


def print_claim_list(console: Console | None = None, paper: str = "chang2025") -> None:
    """``verify --list [--paper KEY]``: id, source and statement of every claim of the pack."""
    console = console or make_console()
    table = Table(title=Text("Registered claims"), box=_box(console), show_edge=console.is_terminal, pad_edge=False,
                  show_lines=console.is_terminal)
    for col in ("id", "source", "statement"):
        table.add_column(col, overflow="fold", no_wrap=col == "id")
    for c in registered_claims(paper).values():
        table.add_row(Text(c.id), Text(c.source), Text(f"{c.statement} (scope: {c.scope_text})"))
    console.print(table)

"""The verdict table (terminal) and the machine-readable report (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from theory.claims import CLAIMS
from theory.mixture import TaskMixture
from theory.verdicts import ClaimVerdict
from verify.version import SCHEMA_VERSION, tool_info

_STYLE = {"verified": "green", "refuted": "bold red", "inconclusive": "yellow"}


LOCAL_VERDICTS = ("holds", "fails", "inconclusive", "not applicable")


def build_report(verdicts: list[ClaimVerdict], mixture: TaskMixture, mixture_name: str, ns: list[int],
                 seed: int, seconds: float, *, device: str = "cpu") -> dict[str, Any]:
    """The JSON report (schema: docs/json-schema.md): run metadata, one object per claim, and the wall times.

    ``seconds`` is the run's wall time.  Every wall-clock number is under the one key ``timings``
    (``{"total_seconds", "evidence": {"<claim id>.<channel>": seconds}}``) so that two runs with the same
    seed give the same JSON once ``timings`` is dropped (issue 11).
    """
    claims = [v.to_json() for v in verdicts]
    counts = {k: sum(c["verdict"] == k for c in claims) for k in ("verified", "refuted", "inconclusive")}
    local = {k: sum((c["on_selected_mixture"] or {}).get("verdict") == k for c in claims) for k in LOCAL_VERDICTS}
    evidence_times = {f"{v.claim.id}.{channel}": round(t, 3) for v in verdicts for channel, t in v.timings.items()}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": tool_info(),
        "paper": "Provable Benefits of Task-Specific Prompts for In-context Learning (AISTATS 2025)",
        "mixture": {"name": mixture_name, **mixture.to_dict()},
        "n": [int(n) for n in ns], "seed": int(seed), "device": str(device),
        "summary": counts, "summary_on_selected_mixture": local, "claims": claims,
        "timings": {"total_seconds": round(float(seconds), 3), "evidence": evidence_times},
    }


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict) and "frobenius_norm" in value:
        return f"|.|={value['frobenius_norm']:.6g}"
    return str(value)


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=160)
    table = Table(title=f"Claims checked on {report['mixture']['name']} (n = {report['n']}) and "
                        f"{report['claims'][0]['evidence']['theory']['cases_checked'] if report['claims'] else 0}+ "
                        "search cases", show_lines=True)
    for col in ("claim", "verdict", "selected mixture: claimed vs derived", "search", "symbolic", "minimiser",
                "Monte Carlo", "training", "counterexample"):
        table.add_column(col, overflow="fold")
    for c in report["claims"]:
        ev = c["evidence"]
        rows = ev.get("selected_mixture", [])
        sel = "; ".join(
            f"n={r['n']}: " + (f"{_short(r['claimed'])} vs {_short(r['derived'])}" if r["in_scope"] else "out of scope")
            for r in rows)
        th = ev["theory"]
        search = f"{th['cases_failed']}/{th['cases_checked']} fail, max rel {th['max_rel_error']:.1e}"
        sym = ev.get("symbolic")
        sym_text = "-" if sym is None else (("holds" if sym["holds"] else "fails") + f" ({sym['setting']})")
        mini = ev.get("minimiser")
        mini_text = "-" if mini is None else f"{mini['strategy']} n={mini['n']}: rel {mini['loss_rel_diff']:.1e}"
        mc = ev.get("montecarlo")
        mc_text = "-" if mc is None else (f"{mc['estimate']:.6g} +- {mc['stderr']:.2g}; z(derived) {mc['z_derived']:+.1f}"
                                         + (f", z(claimed) {mc['z_claimed']:+.1f}" if "z_claimed" in mc else ""))
        at = ev.get("montecarlo_at_claimed")
        if at is not None:
            mc_text = ("" if mc is None else mc_text + "\n") + (
                f"at claimed params: {at['estimate']:.6g} +- {at['stderr']:.2g}; z(vs optimum) {at['z_vs_derived_optimum']:+.1f}"
                + (f", z(vs claimed loss) {at['z_vs_claimed_loss']:+.1f}" if "z_vs_claimed_loss" in at else ""))
        ce = c["counterexample"]
        ce_text = "-"
        if ce:
            m = ce["mixture"]
            ce_text = (f"d={m['d']} K={len(m['tasks'])} sigma2={m['sigma2']:g} n={ce['n']}: "
                       f"{ce['quantity']} claimed {_short_value(ce['claimed'])} vs derived {_short_value(ce['derived'])}")
        verdict = f"[{_STYLE[c['verdict']]}]{c['verdict']}[/]"
        tr = ev.get("training")
        tr_text = "-" if tr is None else (f"{tr['strategy']} ({tr['model']}) n={tr['n']}: {tr['trained_loss']:.6g} +- "
                                          f"{tr['trained_stderr']:.2g} vs {tr['derived_loss']:.6g} ({100 * tr['rel_gap']:+.1f}%, "
                                          f"{tr['direction']})")
        table.add_row(c["id"], verdict, escape(sel), search, escape(sym_text), mini_text, mc_text, tr_text, escape(ce_text))
    console.print(table)
    s = report["summary"]
    console.print(f"{s['verified']} verified, {s['refuted']} refuted, {s['inconclusive']} inconclusive "
                  f"in {report['timings']['total_seconds']:.1f} s")
    for c in report["claims"]:
        if c["verdict"] == "refuted" and c["correction"]:
            console.print(f"[bold]{c['id']}[/] corrected: {escape(c['correction'])}")


def _short_value(value: Any) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.6g}"
    text = json.dumps(value)
    return text if len(text) < 60 else text[:57] + "..."


def print_claim_list(console: Console | None = None) -> None:
    console = console or Console(width=160)
    table = Table(title="Registered claims")
    for col in ("id", "source", "statement", "scope"):
        table.add_column(col, overflow="fold")
    for c in CLAIMS.values():
        table.add_row(c.id, c.source, c.statement, c.scope_text)
    console.print(table)

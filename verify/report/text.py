"""Plain-text pieces of the report shared by the HTML page, its Markdown twin and docs/findings.md.

Everything here reads the JSON report of :func:`verify.report.build_report` (a dict), never the live
registry, so a page generated from a stored report cannot drift from it.
"""

from __future__ import annotations

import json
from typing import Any

ASYMPTOTIC_COLUMNS = ("quantity", "mixture", "derived_leading", "derived_general", "claimed_leading", "exponent", "coefficient", "verdict")
NOT_COMPUTED = "Asymptotic expansions: not computed in this report."


def value_text(value: Any, limit: int = 80) -> str:
    """A short human form of a claimed/derived value (number, matrix, or norm summary)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.6g}"
    if isinstance(value, dict) and "frobenius_norm" in value:
        return f"matrix {value.get('shape')} with Frobenius norm {value['frobenius_norm']:.6g}"
    if isinstance(value, list):
        text = json.dumps(_rounded(value))
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _rounded(value: Any) -> Any:
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def theory_text(claim: dict[str, Any]) -> str:
    th = claim["evidence"]["theory"]
    if th["cases_checked"] == 0:
        return "symbolic only"
    return f"{th['cases_failed']} / {th['cases_checked']}"


def symbolic_text(claim: dict[str, Any]) -> str:
    sym = claim["evidence"].get("symbolic")
    return "-" if sym is None else ("holds" if sym["holds"] else "fails") + f" ({sym['setting']})"


def montecarlo_text(claim: dict[str, Any]) -> str:
    mc = claim["evidence"].get("montecarlo")
    if not mc:
        return "-"
    text = f"{mc['strategy']} n={mc['n']}: {mc['estimate']:.6g} ± {mc['stderr']:.2g}, z(derived) {mc['z_derived']:+.1f}"
    if "z_claimed" in mc:
        text += f", z(claimed) {mc['z_claimed']:+.1f}"
    return text


def training_text(claim: dict[str, Any]) -> str:
    tr = claim["evidence"].get("training")
    if not tr:
        return "-"
    if isinstance(tr, dict) and "trained_loss" in tr:
        gap = tr.get("rel_gap")
        return f"{tr['trained_loss']:.6g}" + ("" if gap is None else f", rel. gap {gap:+.2e}")
    return value_text(tr)


def side_text(record: dict[str, Any], side: str, limit: int = 80) -> str:
    """A claimed/derived value of a report record (schema 2 value fields): the full array when the record has it,
    else the number, else the stored readable text."""
    array = record.get(f"{side}_array")
    if array is not None:
        return value_text(array, limit)
    number = record.get(f"{side}_value")
    return value_text(number if number is not None else record[side], limit)


def counterexample_summary(ce: dict[str, Any] | None) -> str:
    """One line: where the claim fails, and claimed vs derived."""
    if not ce:
        return "-"
    m = ce["mixture"]
    return (f"d={m['d']} K={len(m['tasks'])} sigma2={m['sigma2']:g} n={ce['n']}: {ce['quantity']} "
            f"claimed {side_text(ce, 'claimed')} vs derived {side_text(ce, 'derived')}")


def counterexample_mixture(ce: dict[str, Any]) -> str:
    """The counterexample's mixture as compact JSON (one task per line)."""
    m = ce["mixture"]
    lines = [f'{{"d": {m["d"]}, "sigma_x": {json.dumps(_rounded(m["sigma_x"]))}, "sigma2": {m["sigma2"]:g},', ' "tasks": [']
    tasks = [f'   {json.dumps(_rounded(t))}' for t in m["tasks"]]
    lines.append(",\n".join(tasks))
    lines.append(" ]}")
    return "\n".join(lines)


def asymptotic_rows(report: dict[str, Any]) -> list[list[str]] | None:
    """The rows of the asymptotics table, or None when the report has no ``asymptotics`` key."""
    items = report.get("asymptotics")
    if items is None:
        return None
    return [[_cell(item.get(col)) for col in ASYMPTOTIC_COLUMNS] for item in items]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return value_text(value, limit=120)
    return str(value)


def md_escape(text: str) -> str:
    """Escape a table cell for Markdown (pipes and newlines)."""
    return text.replace("|", "\\|").replace("\n", " ")

"""Plain-text pieces of the reports shared by the HTML page, its Markdown twin and docs/findings.md.

Everything here reads the JSON report of :func:`verify.report.build.build_report` as typed records
(:mod:`verify.report.schema`), never the live registry, so a page generated from a stored report cannot drift from
it.  A function given a claim, a counterexample or the report also takes its JSON object and reads it with the
schema's ``from_json``.  Sentences may carry ``$...$`` inline math (each renderer typesets it).
"""

from __future__ import annotations

import json
import math
from typing import Any

from claims.kinds import Severity
from verify.evidence import CHANNELS, ReportRow
from verify.report.schema import ClaimEntry, Counterexample, Mixture, Report, SelectedRow, SelectedVerdict
from verify.report.typeset import number_tex, quantity_tex

NOT_COMPUTED = "Asymptotic expansions: not computed in this report."
VERDICTS = ("verified", "refuted", "measured", "inconclusive")
SEARCH_NAME, SYMBOLIC_NAME, SELECTED_NAME = "Theory: search over mixtures", "Symbolic decision", "Selected mixture"
EvidenceRow = ReportRow  # one channel's row of the evidence table
Record = Counterexample | SelectedRow  # a record with claimed and derived value fields


def _entry(claim: ClaimEntry | dict[str, Any]) -> ClaimEntry:
    """The typed claim (its JSON object is read with the schema)."""
    return claim if isinstance(claim, ClaimEntry) else ClaimEntry.from_json(claim)


def _counterexample(ce: Counterexample | dict[str, Any]) -> Counterexample:
    """The typed counterexample (its JSON object is read with the schema)."""
    return ce if isinstance(ce, Counterexample) else Counterexample.from_json(ce)


def _record(record: Record | dict[str, Any]) -> Record:
    """A typed record with value fields; a JSON object is a counterexample's (the only one the renderers pass)."""
    return record if isinstance(record, (Counterexample, SelectedRow)) else Counterexample.from_json(record)


def severity_text(severity: str | None) -> str:
    """A finding's severity in words (claims.record.Severity), or 'severity not stated'."""
    return Severity(severity).description if severity in list(Severity) else "severity not stated"


def value_text(value: Any, limit: int = 80) -> str:
    """A short human form of a claimed/derived value (number, matrix, or norm summary)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        text = json.dumps(_rounded(value))
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _rounded(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def theory_text(claim: ClaimEntry | dict[str, Any]) -> str:
    th = _entry(claim).evidence.theory
    if th.cases_checked == 0:
        return "symbolic only"
    return f"{th.cases_failed} / {th.cases_checked}"


def symbolic_text(claim: ClaimEntry | dict[str, Any]) -> str:
    sym = _entry(claim).evidence.symbolic
    return "-" if sym is None else ("holds" if sym.holds else "fails") + f" ({setting_text(sym.setting)})"


def channel_columns() -> list[str]:
    """The headings of the channels' columns in the Markdown claims table."""
    return [c.table_heading for c in CHANNELS if c.table_heading]


def channel_cells(claim: ClaimEntry | dict[str, Any]) -> list[str]:
    """The claim's cells in those columns ("-" where the channel gave no evidence)."""
    given = {type(p): p for p in _entry(claim).evidence.channels}
    return [given[c].table_cell() if c in given else "-" for c in CHANNELS if c.table_heading]


def side_value(record: Record | dict[str, Any], side: str) -> Any:
    """The full claimed/derived value of a report record (schema 2 value fields, ``side`` "claimed" or "derived"): the
    array (a list, as in the JSON), else the number, else the readable text."""
    typed = _record(record)
    array = getattr(typed, f"{side}_array", None)  # a selected-mixture row has no array field
    if array is not None:
        return list(array)
    number = getattr(typed, f"{side}_value")
    return number if number is not None else getattr(typed, side)


def side_text(record: Record | dict[str, Any], side: str, limit: int = 80) -> str:
    """A claimed/derived value of a report record in short: the full array when the record has it, else the number,
    else the stored readable text."""
    return value_text(side_value(record, side), limit)


def counterexample_summary(ce: Counterexample | dict[str, Any] | None) -> str:
    """One line: where the claim fails, and claimed vs derived."""
    if not ce:
        return "-"
    typed = _counterexample(ce)
    m = typed.mixture
    return (f"d={m.d} K={len(m.tasks)} sigma2={m.sigma2:g} n={typed.n}: {typed.quantity} "
            f"claimed {side_text(typed, 'claimed')} vs derived {side_text(typed, 'derived')}")


def counterexample_mixture(ce: Counterexample | dict[str, Any]) -> str:
    """The counterexample's mixture as compact JSON (one task per line)."""
    m = _counterexample(ce).mixture
    lines = [f'{{"d": {m.d}, "sigma_x": {json.dumps(_rounded(m.sigma_x))}, "sigma2": {m.sigma2:g},', ' "tasks": [']
    tasks = [f'   {json.dumps(_rounded(t.to_json()))}' for t in m.tasks]
    lines.append(",\n".join(tasks))
    lines.append(" ]}")
    return "\n".join(lines)


def counterexample_file(claim_id: str) -> str:
    """Where a report directory keeps a claim's counterexample mixture (a ``--mixture`` file)."""
    return f"counterexamples/{claim_id}.json"


def counterexample_json(ce: Counterexample | dict[str, Any]) -> str:
    """The counterexample's mixture as a ``--mixture`` file: every number exactly as found."""
    return json.dumps(_counterexample(ce).mixture.to_json(), indent=1) + "\n"


def reproduce_command(claim_id: str, ce: Counterexample | dict[str, Any]) -> str:
    """The one command (run in the report directory) that reproduces the counterexample."""
    n = _counterexample(ce).n
    return f"verify --claim {claim_id} --mixture {counterexample_file(claim_id)}" + (f" --n {n}" if n is not None else "")


def one_line(claim: ClaimEntry | dict[str, Any]) -> str:
    """Why the verdict, in one line (``$...$`` math): the record's ``why`` for a refuted claim, else the reason."""
    typed = _entry(claim)
    why = typed.tex.why if typed.tex is not None else None
    return why or reason_text(typed)


def reason_text(claim: ClaimEntry | dict[str, Any]) -> str:
    """The verdict's reason with the check's quantity and the symbolic setting typeset (``$...$``)."""
    typed = _entry(claim)
    text = typed.reason
    ce = typed.counterexample
    q = quantity_tex(ce.quantity) if ce else None
    if ce and q:
        text = text.replace(f": {ce.quantity} claimed", f": ${q}$ claimed", 1)
    sym = typed.evidence.symbolic
    if sym and sym.setting in text:
        text = text.replace(sym.setting, setting_text(sym.setting))
    return text


# The symbolic channel's settings (theory.symbolic, theory.asymptotics), with their mathematics typeset.
_SETTINGS = {
    "d = 2, generic A and Sigma_x = L L^T, symbolic n": r"$d = 2$, generic $A$ and $\Sigma_x = L L^{\top}$, symbolic $n$",
    "d = 2, Sigma_x = L L^T, symbolic n and sigma": r"$d = 2$, $\Sigma_x = L L^{\top}$, symbolic $n$ and $\sigma$",
    "symbolic d (MatrixSymbol calculus), checked entrywise at d = 2":
        r"symbolic $d$ (sympy matrix calculus), checked entrywise at $d = 2$",
    "d = 1, K = 2, all parameters symbolic": r"$d = 1$, $K = 2$, all parameters symbolic",
    "isotropic Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means, any K, symbolic d, n, xi, s, a, sigma; exact expansion "
    "at n = infinity": (r"isotropic $\Sigma_x = \xi I$, $\Sigma_{\beta_k} = s_k I$, collinear means, any $K$, symbolic "
                        r"$d, n, \xi, s, a, \sigma$; exact expansion at $n = \infty$"),
}


def scope_text(claim: ClaimEntry | dict[str, Any]) -> str:
    """The claim's scope, with ``sigma^2`` typeset."""
    return _entry(claim).scope.replace("sigma^2", "$\\sigma^2$")


def setting_text(setting: str) -> str:
    """A symbolic setting as prose with ``$...$`` math (known settings; any other is returned as it is)."""
    tail = ""
    if setting.endswith(", sigma = 0"):
        setting, tail = setting[: -len(", sigma = 0")], r", $\sigma = 0$"
    return _SETTINGS.get(setting, setting) + tail


def tolerance_tex(x: float) -> str:
    """``1e-08`` as ``10^{-8}`` (a power of ten), else the number."""
    exponent = round(math.log10(x)) if x > 0 else 0
    return f"10^{{{exponent}}}" if x > 0 and abs(x - 10.0**exponent) <= 1e-12 * x else number_tex(x)


def md_escape(text: str) -> str:
    """Escape a table cell for Markdown (pipes and newlines)."""
    return text.replace("|", "\\|").replace("\n", " ")


def agreement_lines(agreement: dict[str, dict[str, Any]]) -> list[str]:
    """What a panel's sampled and trained points say against its derived curves, one line per setting."""
    lines = []
    for strategy, entry in agreement.items():
        parts = []
        if entry.get("montecarlo_max_abs_z") is not None:
            parts.append(f"Monte Carlo max |z| vs derived {entry['montecarlo_max_abs_z']:.2f} over {entry['montecarlo_points']} n")
        if entry.get("trained_max_rel_gap") is not None:
            parts.append(f"trained largest relative gap {entry['trained_max_rel_gap']:+.2e} over {entry['trained_points']} n")
        if parts:
            lines.append(f"{strategy}: " + "; ".join(parts))
    return lines


# ----- evidence, with what each channel could have seen ---------------------------------------------------------------
def _mixture_name(report: Report | dict[str, Any]) -> str | None:
    mixture = report.mixture if isinstance(report, Report) else Mixture.from_json(report["mixture"])
    return mixture.name


def _tolerance_text(claim: ClaimEntry) -> str:
    tol = claim.evidence.theory.tolerance
    return (f"agrees at relative error $\\le {tolerance_tex(tol.agree_rtol)}$, fails above "
            f"${tolerance_tex(tol.refute_rtol)}$ (float64 solves round near $10^{{-12}}$)")


_MEASURED_RESOLUTION = ("the claim's check in float64; a value within its round-off (relative $10^{-6}$, more where the "
                        "computation is ill-conditioned) counts as zero; no threshold applied: the paper states none, so "
                        "a measurement never fails")


def _search_row(claim: ClaimEntry) -> EvidenceRow:
    th = claim.evidence.theory
    m = claim.measurement
    if m is not None:  # an assumption or qualitative claim: what the search measured, never a count of failures
        return EvidenceRow(SEARCH_NAME, f"measured on {m.cases} cases, zero on {m.zero_cases} of them; largest "
                           f"{m.largest:.3g} ({m.at}; {m.quantity})", _MEASURED_RESOLUTION)
    if th.cases_checked:
        return EvidenceRow(SEARCH_NAME, f"{th.cases_failed} of {th.cases_checked} cases fail; "
                           f"largest relative error {th.max_rel_error:.3g}", _tolerance_text(claim))
    return EvidenceRow(SEARCH_NAME, "no numeric case: decided symbolically", "-")


def _local_text(local: SelectedVerdict) -> str:
    """The local verdict on the selected mixture, its largest error (or measured value), first failing n and note, in
    one line."""
    text = f"{local.verdict} at n = {', '.join(map(str, local.n or ()))}"
    if local.measured is not None:
        text += f"; largest value {local.measured:.3g}"
    elif local.max_rel_error is not None:
        text += f"; largest relative error {local.max_rel_error:.3g}"
    if local.first_failing_n is not None:
        text += f"; first failing n = {local.first_failing_n}"
    return text + (f" ({local.note})" if local.note else "")


def evidence_rows(claim: ClaimEntry | dict[str, Any], report: Report | dict[str, Any]) -> list[EvidenceRow]:
    """The claim's search, symbolic decision and local verdict, then every channel that produced evidence for it
    (in :data:`verify.evidence.CHANNELS`' order), each with its resolution."""
    typed = _entry(claim)
    rows = [_search_row(typed)]
    sym = typed.evidence.symbolic
    if sym:
        rows.append(EvidenceRow(SYMBOLIC_NAME, ("holds" if sym.holds else "fails") + f" ({setting_text(sym.setting)})",
                                "exact: sympy cancels claimed minus derived identically, or shows it is not zero"))
    if typed.on_selected_mixture:
        local = typed.on_selected_mixture
        rows.append(EvidenceRow(SELECTED_NAME + f" ({_mixture_name(report)})", _local_text(local),
                                _MEASURED_RESOLUTION if local.verdict == "measured" else _tolerance_text(typed)))
    for payload in typed.evidence.channels:
        rows.extend(payload.report_rows())
    return rows

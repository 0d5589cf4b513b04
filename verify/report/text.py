"""Plain-text pieces of the reports shared by the HTML page, its Markdown twin and docs/findings.md.

Everything here reads the JSON report of :func:`verify.report.build.build_report` (a dict), never the live
registry, so a page generated from a stored report cannot drift from it.  Sentences may carry ``$...$`` inline
math (each renderer typesets it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from claims.kinds import Severity, optimum_label
from verify.evidence.minimiser import MINIMISER_RTOL
from verify.report.typeset import number_tex, quantity_tex

NOT_COMPUTED = "Asymptotic expansions: not computed in this report."
VERDICTS = ("verified", "refuted", "measured", "inconclusive")
CHANNEL_NAMES = {
    "theory": "Theory: search over mixtures", "symbolic": "Symbolic decision", "selected_mixture": "Selected mixture",
    "minimiser": "Minimiser (scipy, exact loss)", "montecarlo": "Monte Carlo at the derived optimum",
    "montecarlo_at_claimed": "Monte Carlo at the paper's parameters", "training": "Training",
    "unconstrained": "Unconstrained attention (eq. 6/17)",
}


def severity_text(severity: str | None) -> str:
    """A finding's severity in words (claims.record.Severity), or 'severity not stated'."""
    return Severity(severity).description if severity in list(Severity) else "severity not stated"


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
    return "-" if sym is None else ("holds" if sym["holds"] else "fails") + f" ({setting_text(sym['setting'])})"


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
    if tr is None:
        return "-"
    return (f"{tr['strategy']} ({tr['model']}) n={tr['n']}: {tr['trained_loss']:.6g} ± {tr['trained_stderr']:.2g} "
            f"vs {tr['derived_loss']:.6g} ({tr.get('summary', tr['direction'])})")


def side_text(record: dict[str, Any], side: str, limit: int = 80) -> str:
    """A claimed/derived value of a report record (schema 2 value fields): the full array when the record has it,
    else the number, else the stored readable text."""
    array = record.get(f"{side}_array")
    if array is not None:
        return value_text(array, limit)
    number = record.get(f"{side}_value")
    return value_text(number if number is not None else record[side], limit)


def side_value(record: dict[str, Any], side: str) -> Any:
    """The full claimed/derived value of a report record: the array, else the number, else the readable text."""
    for key in (f"{side}_array", f"{side}_value"):
        if record.get(key) is not None:
            return record[key]
    return record[side]


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


def counterexample_file(claim_id: str) -> str:
    """Where a report directory keeps a claim's counterexample mixture (a ``--mixture`` file)."""
    return f"counterexamples/{claim_id}.json"


def counterexample_json(ce: dict[str, Any]) -> str:
    """The counterexample's mixture as a ``--mixture`` file: every number exactly as found."""
    return json.dumps(ce["mixture"], indent=1) + "\n"


def reproduce_command(claim_id: str, ce: dict[str, Any]) -> str:
    """The one command (run in the report directory) that reproduces the counterexample."""
    n = f" --n {ce['n']}" if ce.get("n") is not None else ""
    return f"verify --claim {claim_id} --mixture {counterexample_file(claim_id)}{n}"


def one_line(claim: dict[str, Any]) -> str:
    """Why the verdict, in one line (``$...$`` math): the record's ``why`` for a refuted claim, else the reason."""
    why = (claim.get("tex") or {}).get("why")
    return why or reason_text(claim)


def reason_text(claim: dict[str, Any]) -> str:
    """The verdict's reason with the check's quantity and the symbolic setting typeset (``$...$``)."""
    text = claim["reason"]
    ce = claim.get("counterexample")
    q = quantity_tex(ce["quantity"]) if ce else None
    if ce and q:
        text = text.replace(f": {ce['quantity']} claimed", f": ${q}$ claimed", 1)
    sym = claim["evidence"].get("symbolic")
    if sym and sym["setting"] in text:
        text = text.replace(sym["setting"], setting_text(sym["setting"]))
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


def scope_text(claim: dict[str, Any]) -> str:
    """The claim's scope, with ``sigma^2`` typeset."""
    return claim["scope"].replace("sigma^2", "$\\sigma^2$")


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
@dataclass(frozen=True)
class EvidenceRow:
    """One channel's evidence for a claim: what it found, and its resolution (the smallest effect it could see)."""

    channel: str
    result: str
    resolution: str


def _pct(x: float) -> str:
    return f"{100 * x:.2g}%"


def _report_k(report: dict[str, Any]) -> float | None:
    """The run's Monte Carlo k (every estimate of a run shares it)."""
    for c in report.get("claims", []):
        mc = c["evidence"].get("montecarlo")
        if mc and "k_sigma" in mc:
            return float(mc["k_sigma"])
    return None


def evidence_rows(claim: dict[str, Any], report: dict[str, Any]) -> list[EvidenceRow]:
    """Every channel that produced evidence for ``claim``, in a fixed order, with its resolution."""
    ev = claim["evidence"]
    rows: list[EvidenceRow] = []
    th = ev["theory"]
    tol = th["tolerance"]
    tol_text = (f"agrees at relative error $\\le {tolerance_tex(tol['agree_rtol'])}$, fails above "
                f"${tolerance_tex(tol['refute_rtol'])}$ (float64 solves round near $10^{{-12}}$)")
    if th["cases_checked"]:
        rows.append(EvidenceRow(CHANNEL_NAMES["theory"], f"{th['cases_failed']} of {th['cases_checked']} cases fail; "
                                f"largest relative error {th['max_rel_error']:.3g}", tol_text))
    else:
        rows.append(EvidenceRow(CHANNEL_NAMES["theory"], "no numeric case: decided symbolically", "-"))
    sym = ev.get("symbolic")
    if sym:
        rows.append(EvidenceRow(CHANNEL_NAMES["symbolic"], ("holds" if sym["holds"] else "fails") + f" ({setting_text(sym['setting'])})",
                                "exact: sympy cancels claimed minus derived identically, or shows it is not zero"))
    local = claim.get("on_selected_mixture") or {}
    if local:
        err = local.get("max_rel_error")
        text = f"{local['verdict']} at n = {', '.join(map(str, local.get('n', [])))}"
        if err is not None:
            text += f"; largest relative error {err:.3g}"
        if local.get("first_failing_n") is not None:
            text += f"; first failing n = {local['first_failing_n']}"
        if local.get("note"):
            text += f" ({local['note']})"
        rows.append(EvidenceRow(CHANNEL_NAMES["selected_mixture"] + f" ({report['mixture']['name']})", text, tol_text))
    mn = ev.get("minimiser")
    if mn:
        rows.append(EvidenceRow(
            CHANNEL_NAMES["minimiser"],
            f"{mn['strategy']} at n = {mn['n']}: {mn['numerical_loss']:.10g} from a seeded start vs derived {mn['derived_loss']:.10g} "
            f"(relative difference {mn['loss_rel_diff']:.1e}; $W$ {mn['W_rel_diff']:.1e}, $P$ {mn['P_rel_diff']:.1e}; "
            f"{mn['iterations']} iterations"
            + ("" if "converged" not in mn else  # reports written before the minimiser certified convergence
               (", converged" if mn["converged"] else ", did not converge") + f", gradient norm {mn['gradient_norm']:.1e}")
            + ")",
            f"agrees within {MINIMISER_RTOL:g} of the loss: a lower loss than the derived optimum by more than "
            f"{MINIMISER_RTOL * abs(mn['derived_loss']):.2g} would be seen"))
    mc = ev.get("montecarlo")
    if mc:
        k, se = mc["k_sigma"], mc["stderr"]
        text = (f"{mc['strategy']} at n = {mc['n']}: {mc['estimate']:.6g} ± {se:.2g} ({mc['samples']:,} samples) "
                f"vs derived {mc['derived']:.10g}, $z = {mc['z_derived']:+.2f}$")
        if "z_claimed" in mc:
            text += f"; vs claimed {mc['claimed']:.10g}, $z = {mc['z_claimed']:+.2f}$"
        if mc.get("summary"):
            text += f"; {mc['summary']}"
        rows.append(EvidenceRow(CHANNEL_NAMES["montecarlo"], text,
                                f"$k\\,\\mathrm{{se}} = {k:.2f} \\times {se:.2g} = {k * se:.2g}$ "
                                f"({_pct(k * se / abs(mc['derived']))} of the loss)"))
    at = ev.get("montecarlo_at_claimed")
    if at:
        se = at["stderr"]
        text = (f"{at['predictor']} predictor at n = {at['n']}: {at['estimate']:.6g} ± {se:.2g} ({at['samples']:,} samples) "
                f"vs the derived optimum {at['derived_optimum']:.10g}, $z = {at['z_vs_derived_optimum']:+.2f}$")
        if "z_vs_claimed_loss" in at:
            text += f"; vs the claimed loss, $z = {at['z_vs_claimed_loss']:+.2f}$"
        if at.get("summary"):
            text += f"; {at['summary']}"
        k = _report_k(report)
        bound = (f"$k\\,\\mathrm{{se}} = {k:.2f} \\times {se:.2g} = {k * se:.2g}$ ({_pct(k * se / abs(at['derived_optimum']))} "
                 "of the loss)") if k is not None else f"se = {se:.2g}"
        rows.append(EvidenceRow(CHANNEL_NAMES["montecarlo_at_claimed"], text, bound))
    tr = ev.get("training")
    if tr:
        k = tr["k_sigma"]
        se = tr["trained_stderr"]
        # reports written before the channel stated its resolution have no summary
        summary = tr.get("summary", f"relative gap {tr['rel_gap']:+.2%}, {tr['direction']}")
        text = (f"{tr['trained_strategy']} ({tr['model']} model) at n = {tr['n']}: trained {tr['trained_loss']:.6g} ± {se:.2g} "
                f"vs derived {tr['derived_loss']:.6g} ({summary}; "
                f"{tr['restarts']} restarts, {tr['steps']} steps{', quick budget' if tr.get('quick') else ''})")
        rows.append(EvidenceRow(
            CHANNEL_NAMES["training"], text,
            f"below the optimum: ${k:.2f}\\,\\mathrm{{se}} = {k * se:.2g}$; above it: gaps within the optimisation tolerance "
            f"{tr['tolerance']:.0%} of the loss ({tr['tolerance'] * tr['derived_loss']:.2g}) are not resolved"))
    un = ev.get("unconstrained")
    if un:
        parts = []
        for o in un.get("optima", []):
            head = "shared head" if o["shared_head"] else "task heads"
            parts.append(f"{o['mode']} ({head}) n = {o['n']}: {optimum_label(o, lambda v: f'{v:.10g}')} vs reduced {o['reduced_loss']:.10g} "
                         f"({-100 * o['relative_gain']:+.3g}%), gradient norm {o['gradient_norm']:.1e}")
        res: list[str] = [f"optimum of eq. (6)/(17) by variable projection from {un.get('starts', '?')} starts "
               "(gradient norm at the optimum shown), exact only where a certified lower bound meets it"]
        for m in un.get("montecarlo", []):
            res.append(f"sampled check ({m['method']}, n = {m['n']}) resolves relative gaps of {_pct(m['resolvable_relative_gap'])} "
                       "and more" + (f", paired differences of {m['paired']['resolvable_difference']:.2g} and more"
                                     if m.get("paired") else ""))
        rows.append(EvidenceRow(CHANNEL_NAMES["unconstrained"], "; ".join(parts), "; ".join(res)))
    return rows

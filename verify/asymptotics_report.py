"""Asymptotics in the ``verify`` command: the expansions table, ``--expand``, ``--latex`` and the gap plot's data.

Every row pairs the derived leading term (exact and symbolic in the isotropic
setting of :mod:`theory.isotropic`; a float64 fit up to n = 10^6 for the
selected mixture) with what the paper claims (Corollary 1, Section 4.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from theory.asymptotics import (
    QUANTITIES,
    LeadingFit,
    numeric_leading_term,
    numeric_value,
    setting_values,
    symbolic_expansion,
)
from theory.errors import VerifyError
from theory.mixture import Array, TaskMixture
from theory.strategy import Strategy
from verify.numbers import evaluated, uncertain
from verify.report.schema import AsymptoticRow
from verify.terminal import make_console

# quantity -> (what the paper claims, the claim id that checks it)
CLAIMED = {
    "PT-FT": ("O(n^-2) ||Delta||_F", "C1.rate.PT-FT"),
    "FT-JT": ("O(n^-1) ||Delta||_F", "C1.rate.FT-JT"),
    "ratio": ("O(n^-1)", "C1.rate.ratio"),
    "PT": ("-> 0", "S4.limit.loss"),
    "FT": ("-> 0", "S4.limit.loss"),
    "JT": ("-> 0", "S4.limit.loss"),
    "nWbar-I.PT": ("-> 0 (W_bar -> I/n)", "S4.limit.W"),
    "nWbar-I.JT": ("-> 0 (W_bar -> I/n)", "S4.limit.W"),
    "P.FT": ("~ -n Sigma_x mu_k", "S4.prompts.large-n"),
    "P.JT": ("~ -n Sigma_x mu_k", "S4.prompts.large-n"),
    "JT-PGD": ("(no claim)", None),
    "PGD": ("(no claim)", None),
}
# quantity -> (the quantity, what the paper claims), as TeX for the reports (verify.report)
_L = {s: rf"\mathcal{{L}}^{{\star}}_{{\mathrm{{{s}}}}}" for s in ("PT", "FT", "JT")}
QUANTITY_TEX = {
    "PT-FT": (rf"{_L['PT']} - {_L['FT']}", r"\mathcal{O}(n^{-2}) \lVert \Delta \rVert_F"),
    "FT-JT": (rf"{_L['FT']} - {_L['JT']}", r"\mathcal{O}(n^{-1}) \lVert \Delta \rVert_F"),
    "ratio": (rf"\frac{{{_L['PT']} - {_L['FT']}}}{{{_L['FT']} - {_L['JT']}}}", r"\mathcal{O}(n^{-1})"),
    "PT": (_L["PT"], r"\to 0"), "FT": (_L["FT"], r"\to 0"), "JT": (_L["JT"], r"\to 0"),
    "nWbar-I.PT": (r"\lVert n \bar{W}^{\star}_{\mathrm{PT}} - I \rVert_F", r"\to 0\ (\bar{W}^{\star} \to I/n)"),
    "nWbar-I.JT": (r"\lVert n \bar{W}^{\star}_{\mathrm{JT}} - I \rVert_F", r"\to 0\ (\bar{W}^{\star} \to I/n)"),
    "P.FT": (r"\lVert P^{\star}_{\mathrm{FT}} \rVert_F", r"\sim -n\, \Sigma_x \mu_k"),
    "P.JT": (r"\lVert P^{\star}_{\mathrm{JT}} \rVert_F", r"\sim -n\, \Sigma_x \mu_k"),
    "JT-PGD": (rf"{_L['JT']} - \tilde{{\mathcal{{L}}}}^{{\star}}_{{\mathrm{{PGD}}}}", r"\text{(no claim)}"),
    "PGD": (r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}}", r"\text{(no claim)}"),
}
TABLE_QUANTITIES = ("PT-FT", "FT-JT", "ratio", "JT-PGD", "PT", "FT", "JT", "PGD", "nWbar-I.PT", "nWbar-I.JT", "P.FT", "P.JT")


def fit_uncertainty(fit: LeadingFit) -> float | None:
    """Uncertainty of a fitted leading coefficient: the spread of the last two Richardson estimates
    (c(n) = c + b/n on the last two and on the two before), floored at n_max * eps relative (the rounding of
    float64 solves whose condition number grows like n).
    Measured against the exact isotropic coefficients (FT-JT and PT on fig2c) it covers the true error."""
    if fit.exponent is None or len(fit.ns) < 3:
        return None
    ns = np.asarray(fit.ns, dtype=float)
    c = np.asarray(fit.values, dtype=float) * ns ** (-fit.exponent)
    rich = (ns[-1] * c[-1] - ns[-2] * c[-2]) / (ns[-1] - ns[-2])
    rich_prev = (ns[-2] * c[-2] - ns[-3] * c[-3]) / (ns[-2] - ns[-3])
    # floor: the float64 solves behind each value lose about n_max * eps relative (condition number ~ n)
    return float(max(abs(rich - rich_prev), ns[-1] * np.finfo(float).eps * abs(fit.coefficient)))


def fitted_text(fit: LeadingFit) -> str:
    """``2148.112869(44) n^-2`` (value with its uncertainty), or why there is no fit."""
    if fit.exponent is None:
        return "vanishes identically"
    return f"{uncertain(fit.coefficient, fit_uncertainty(fit))} n^{fit.exponent}" + ("" if fit.stable else " (unstable fit)")


def _general_form(quantity: str, latex: bool) -> str:
    """The derived leading term(s) in the isotropic setting, symbolic d (components joined)."""
    parts = []
    losses = quantity in ("PT", "FT", "JT", "PGD")  # lead with sigma^2: show the n^-1 term too
    for ex in symbolic_expansion(quantity, "isotropic", 1 if losses else 0 if quantity == "ratio" else 2):
        text = ex.latex(leading_only=not losses) if latex else ex.text(leading_only=not losses)
        parts.append(f"{ex.component}: {text}" if ex.component else text)
    return "; ".join(parts)


def general_form_tex(quantity: str) -> str:
    """The same as :func:`_general_form`, as one TeX formula (components labelled with ``\\text``)."""
    parts = []
    losses = quantity in ("PT", "FT", "JT", "PGD")
    for ex in symbolic_expansion(quantity, "isotropic", 1 if losses else 0 if quantity == "ratio" else 2):
        text = ex.latex(leading_only=not losses)
        parts.append(f"{_COMPONENT_TEX[ex.component]}:\\ {text}" if ex.component else text)
    return r",\quad ".join(parts)


_COMPONENT_TEX = {"along u": r"\text{along } u", "orthogonal to u": r"\text{orthogonal to } u",
                  "p_k / m_k along u": r"u^{\top} p_k / u^{\top} \mu_k"}


def asymptotic_rows(mixture: TaskMixture, mixture_name: str, verdicts: dict[str, str] | None = None, *,
                    latex: bool = False, symbolic: bool = True) -> list[dict[str, Any]]:
    """One row per quantity: derived leading term (general and on this mixture), claimed, verdict.

    Keys (the report's ``asymptotics`` objects): quantity, mixture, exponent, coefficient,
    coefficient_uncertainty, stable, derived_leading, derived_general, claimed_leading, claim, verdict, and the TeX forms
    quantity_tex, derived_general_tex, claimed_leading_tex.
    """
    rows = []
    for q in TABLE_QUANTITIES:
        fit = numeric_leading_term(q, mixture)
        claimed, claim_id = CLAIMED[q]
        rows.append({
            "quantity": q, "mixture": mixture_name, "exponent": fit.exponent, "coefficient": fit.coefficient,
            "coefficient_uncertainty": fit_uncertainty(fit), "stable": fit.stable, "derived_leading": fitted_text(fit),
            "derived_general": _general_form(q, latex) if symbolic else None,
            "claimed_leading": claimed, "claim": claim_id,
            "verdict": (verdicts or {}).get(claim_id or "", "-"),
            "quantity_tex": QUANTITY_TEX[q][0], "derived_general_tex": general_form_tex(q) if symbolic else None,
            "claimed_leading_tex": QUANTITY_TEX[q][1],
        })
    return rows


def print_asymptotics(rows: Sequence[AsymptoticRow], console: Console | None = None, *, verbose: bool = False) -> None:
    """The expansions table (quantity, fitted leading term on the mixture, claimed, verdict) of the report's typed
    ``asymptotics`` rows; ``verbose`` adds the derived general (isotropic, symbolic d) forms below it (``verify``
    passes it for --verbose and for --latex)."""
    from verify.terminal import _box

    console = console or make_console()
    name = rows[0].mixture if rows else "?"
    table = Table(title=Text(f"Expansions in 1/n: leading terms, fitted on {name} up to n = 1e6"), box=_box(console),
                  show_edge=console.is_terminal, pad_edge=False)
    for col in ("quantity", f"derived on {name}"[:24], "claimed", "verdict"):
        table.add_column(col, overflow="fold", no_wrap=col != "claimed")
    for r in rows:
        table.add_row(Text(r.quantity), Text(r.derived_leading), Text(r.claimed_leading), Text(r.verdict if r.claim else "-"))
    console.print(table)
    if verbose:
        for r in rows:
            claim = f" [{r.claim}]" if r.claim else ""
            if r.derived_general:
                console.print(Text(f"{r.quantity}{claim} (isotropic, symbolic d): {r.derived_general}"), soft_wrap=True)
    console.print(Text("s = sum_k pi_k s_k, a = sum_k pi_k |mu_k|^2 (Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means); "
                       "ratio = (L*_PT - L*_FT)/(L*_FT - L*_JT); nWbar-I = n W_bar* - I; P = p*_k / m_k along the means"
                       + ("" if verbose else "; general forms: --verbose")))


def expansion_report(quantity: str, order: int, mixture: TaskMixture, mixture_name: str) -> dict[str, Any]:
    """``verify --expand``: the exact expansions (isotropic and d = 1), their values on the mixture, and the fit."""
    if quantity not in QUANTITIES:
        raise VerifyError(f"--expand: unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if quantity == "ratio" and not np.any(mixture.means[mixture.weights > 0]):
        raise VerifyError(f"--expand ratio: undefined on {mixture_name!r}: every task of positive weight has mean zero "
                          "(both gaps vanish); pick a mixture with non-zero means")
    out: dict[str, Any] = {"quantity": quantity, "order": order, "mixture": mixture_name, "expansions": []}
    for setting in ("isotropic", "d=1"):
        values = setting_values(setting, mixture)
        for ex in symbolic_expansion(quantity, setting, order):
            try:
                as_json = ex.to_json(values)
            except (TypeError, ZeroDivisionError, OverflowError):  # a coefficient is infinite or complex at these values
                raise VerifyError(f"--expand {quantity}: the exact {setting} expansion has no finite value on "
                                  f"{mixture_name!r} (a parameter is zero or out of float64 range)") from None
            out["expansions"].append({**as_json, "latex_expression": ex.latex(), "text_expression": ex.text(),
                                      "applies_to_mixture": values is not None})
    fit = numeric_leading_term(quantity, mixture)
    out["numeric_fit"] = {**fit.to_json(), "coefficient_uncertainty": fit_uncertainty(fit)}
    return out


def pretty_expansion(ex: dict[str, Any], *, width: int, unicode: bool = True) -> str:
    """One expansion of :func:`expansion_report` as sympy's two-dimensional pretty print (Unicode fractions,
    superscripts, Greek letters; ASCII art without ``unicode``), wrapped at ``width`` columns, with its O() term."""
    import sympy as sp

    n = sp.Symbol("n", positive=True)
    terms = [sp.sympify(t["coefficient"]) * n ** int(t["exponent"]) for t in ex["terms"]]
    order = sp.Order(n ** (-int(ex["order"]) - 1), (n, sp.oo))
    expr = sp.Add(*terms, order, evaluate=False) if terms else order
    return str(sp.pretty(expr, use_unicode=unicode, num_columns=max(40, width), order="none"))


def _power(exponent: int, unicode: bool) -> str:
    """``n^-2``: the same in Unicode and ASCII, so that scripts that read the fitted terms need no mode."""
    return f"n^{exponent}"


def numeric_series(terms: list[dict[str, Any]], order: int, *, unicode: bool = True) -> str:
    """``2148.1 n⁻² − 9.3 n⁻³ + O(n⁻⁴)``: each term's sign between the terms (never ``+ -``)."""
    out = ""
    for i, t in enumerate(terms):
        value = float(t["coefficient"])
        body = f"{evaluated(abs(value))} {_power(int(t['exponent']), unicode)}"
        sign = ("\u2212" if unicode else "-") if value < 0 else "+"
        out += (f"-{body}" if value < 0 else body) if i == 0 else f" {sign} {body}"
    return f"{out} + O({_power(-order - 1, unicode)})" if out else f"O({_power(-order - 1, unicode)})"


def print_expansion(report: dict[str, Any], latex: bool, console: Console | None = None) -> None:
    """``verify --expand``: each exact expansion (sympy's pretty print, wrapped to the terminal; LaTeX with
    ``latex``), its coefficients on the mixture (the exact formula at float64 parameters, 14 digits), and the fit with
    its uncertainty."""
    import textwrap

    console = console or make_console()
    width = max(40, console.width)
    unicode = not latex and (console.encoding or "").lower().replace("-", "").startswith("utf")

    def say(text: str = "", indent: str = "") -> None:
        lines = textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ") if text else [""]
        for line in lines:
            console.print(Text(line), markup=False, highlight=False, soft_wrap=True)

    say(f"{report['quantity']} in powers of 1/n through {_power(-report['order'], unicode)}")
    for ex in report["expansions"]:
        comp = f" ({ex['component']})" if ex["component"] else ""
        say()
        say(f"{ex['setting']}{comp}" + ("" if ex["applies_to_mixture"] else f"  ({report['mixture']} is not of this form)"))
        if latex:  # one line, as it is to be pasted
            console.print(Text("  " + ex["latex_expression"]), markup=False, highlight=False, soft_wrap=True)
        else:
            for line in pretty_expansion(ex, width=width - 2, unicode=unicode).splitlines():
                console.print(Text("  " + line), markup=False, highlight=False, soft_wrap=True)
        terms = ex.get("numeric_terms", []) if ex["applies_to_mixture"] else []
        if terms:
            say(f"on {report['mixture']}: " + numeric_series(terms, report["order"], unicode=unicode), "  ")
    fit = report["numeric_fit"]
    lead = ("vanishes identically" if fit["exponent"] is None
            else f"{uncertain(fit['coefficient'], fit.get('coefficient_uncertainty'))} {_power(fit['exponent'], unicode)}")
    say()
    say(f"float64 fit on {report['mixture']} (n = {fit['ns'][0]} .. {fit['ns'][-1]}): {lead}"
        f" (slope {fit['slope']:.6f}; {'stable' if fit['stable'] else 'UNSTABLE'})")
    say("s = \u03a3\u2096 \u03c0\u2096 s\u2096, a = \u03a3\u2096 \u03c0\u2096 \u2016\u03bc\u2096\u2016\u00b2 "
        "(\u03a3\u2093 = \u03be I, \u03a3_\u03b2\u2096 = s\u2096 I, collinear means)" if unicode else
        "s = sum_k pi_k s_k, a = sum_k pi_k |mu_k|^2 (Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means)")


@dataclass(frozen=True)
class GapCurve:
    """One Corollary 1 gap (``"PT-FT"``, ``"FT-JT"``) on a grid of n, with its derived leading term and claimed rate."""

    name: str
    lower: Strategy  # the strategy with the smaller loss (its colour on the plot)
    values: Array
    leading_coefficient: float
    leading_exponent: int
    claimed_exponent: int
    anchor: float  # the exact gap at n = 10, where the claimed rate is drawn through


@dataclass(frozen=True)
class RatioCurve:
    """(L*_PT - L*_FT) / (L*_FT - L*_JT) on the grid, its derived limit, and its value at n = 10."""

    values: Array
    limit: float
    anchor: float


@dataclass(frozen=True)
class GapCurves:
    """What the gap plot shows (drawn by :func:`verify.plotting.render_gaps`)."""

    mixture_name: str
    ns: Array
    gaps: list[GapCurve]
    ratio: RatioCurve | None


GAP_PLOT_NS = np.unique(np.geomspace(1, 1e6, 61).round().astype(int))
_CLAIMED_RATE = {"PT-FT": -2, "FT-JT": -1}  # Corollary 1
_LOWER = {"PT-FT": Strategy.FT, "FT-JT": Strategy.JT}


def gap_curves(mixture: TaskMixture, mixture_name: str) -> GapCurves:
    """L*_PT - L*_FT and L*_FT - L*_JT from n = 1 to 1e6 (exact), their derived leading terms and the claimed rates
    (Corollary 1: n^-2 and n^-1, drawn through the exact gap at n = 10), and the ratio of the gaps."""
    ns = GAP_PLOT_NS
    gaps = []
    for gap in ("PT-FT", "FT-JT"):
        values = np.array([numeric_value(gap, mixture, int(n)) for n in ns])
        if not np.any(values > 0):
            continue
        fit = numeric_leading_term(gap, mixture)
        gaps.append(GapCurve(f"L*_{gap.replace('-', ' - L*_')}", _LOWER[gap], values, float(fit.coefficient),
                             int(fit.exponent or 0), _CLAIMED_RATE[gap], float(numeric_value(gap, mixture, 10))))
    ratio = None
    if np.any(mixture.means[mixture.weights > 0]):
        values = np.array([numeric_value("ratio", mixture, int(n)) for n in ns])
        ratio = RatioCurve(values, float(numeric_leading_term("ratio", mixture).coefficient),
                           float(numeric_value("ratio", mixture, 10)))
    return GapCurves(mixture_name, ns, gaps, ratio)

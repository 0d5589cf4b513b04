"""The derived side of each claim, typeset from the toolkit's own symbolic derivation (sympy), never by hand.

A claim's record names its derivation in ``tex["derivation"]``:

* ``"d1:KEY"`` (``":noiseless"`` appended for sigma = 0): ``theory.symbolic.d1_problem()[KEY]``, the exact optimum at
  d = 1, K = 2 with every parameter a symbol (solved by sympy from the Wick-derived loss), rewritten in the paper's
  notation: at d = 1, ``Sigma_tilde``, ``Sigma_bar`` and ``Sigma_x`` are scalars, and every expression the theorems
  are about depends on the task parameters only through them.  For a claim decided at d = 1 the claim's own
  symbolic decision (``claim.symbolic()``) also gives the difference claimed - derived, rewritten the same way;
* ``"expansion:Q1,Q2"`` (``":noiseless"``: sigma = 0): the leading terms of
  ``theory.asymptotics.symbolic_expansion(Q, "isotropic")`` (isotropic covariances, collinear means, symbolic d);
* ``"lemma3"``: ``theory.moments.derive_trace_quadratic_gradient()`` (sympy matrix calculus).

Each form is printed twice by sympy: ``latex`` (the report's TeX) and presentation MathML (the HTML report).
Deriving takes about a minute of sympy, so the forms are generated once into ``derived_forms.json`` next to
this module, which the JSON report reads::

    python -m verify.report.derivation --write   # regenerate verify/report/derived_forms.json
    python -m verify.report.derivation --check   # exit 1 when it is stale (also a test)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple
from xml.dom import minidom

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

from claims.record import Claim
from verify.report.build import FORMS_PATH, DerivedForm, read_forms
from verify.report.typeset import mathml_inner, tex_to_mathml

# Settings as prose with $...$ inline math (the reports typeset it).
D1_SETTING = r"$d = 1$, $K = 2$, every parameter a symbol; at $d = 1$ the matrices are scalars"
ISOTROPIC_SETTING = (r"isotropic covariances $\Sigma_x = \xi I$, $\Sigma_{\beta_k} = s_k I$, collinear means, symbolic $d$; "
                     r"$s = \sum_k \pi_k s_k$, $a = \sum_k \pi_k \lVert \mu_k \rVert^2$, $u$ the means' direction, $v \perp u$")

# The paper's notation for the d = 1 scalars and the per-task variances.
SIGMA_TILDE = sp.Symbol("Sigma_tilde", positive=True)
SIGMA_BAR = sp.Symbol("Sigma_bar", positive=True)
SIGMA_X = sp.Symbol("Sigma_x", positive=True)
TASK_SIGMAS = (sp.Symbol("s_1", positive=True), sp.Symbol("s_2", positive=True))
NAMES: dict[sp.Symbol, str] = {
    SIGMA_TILDE: r"\tilde{\Sigma}_{\beta}", SIGMA_BAR: r"\bar{\Sigma}_{\beta}", SIGMA_X: r"\Sigma_x",
    TASK_SIGMAS[0]: r"\bar{\Sigma}_{\beta_1}", TASK_SIGMAS[1]: r"\bar{\Sigma}_{\beta_2}",
}

# What each derived quantity is, as the left-hand side of its equation.
D1_LHS = {
    "wbar_pt": r"\bar{W}^{\star}_{\mathrm{PT}}", "loss_pt": r"\mathcal{L}^{\star}_{\mathrm{PT}}",
    "P_ft": r"(\bar{p}_k)^{\star}_{\mathrm{FT}}", "loss_ft": r"\mathcal{L}^{\star}_{\mathrm{FT}}",
    "wbar_jt": r"\bar{W}^{\star}_{\mathrm{JT}}", "P_jt": r"(\bar{p}_k)^{\star}_{\mathrm{JT}}",
    "loss_jt": r"\mathcal{L}^{\star}_{\mathrm{JT}}", "wbar_pgd": r"\bar{W}^{\star}_{\mathrm{PGD}}",
    "loss_pgd": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{PGD}}",
    "per_task_pgd": r"\tilde{\mathcal{L}}^{\star}_{\mathrm{Attn}} = \sum_{k} \pi_k \min_{W_k} \mathcal{L}^{\mathrm{PGD}}_k(W_k)",
}
EXPANSION_LHS = {
    "PT-FT": r"\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}",
    "FT-JT": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}}",
    "ratio": (r"\frac{\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}}"
              r"{\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}}}"),
    "PT": r"\mathcal{L}^{\star}_{\mathrm{PT}}", "FT": r"\mathcal{L}^{\star}_{\mathrm{FT}}", "JT": r"\mathcal{L}^{\star}_{\mathrm{JT}}",
    "nWbar-I.PT|along u": r"u^{\top}(n \bar{W}^{\star}_{\mathrm{PT}} - I)\,u",
    "nWbar-I.PT|orthogonal to u": r"v^{\top}(n \bar{W}^{\star}_{\mathrm{PT}} - I)\,v",
    "nWbar-I.JT|along u": r"u^{\top}(n \bar{W}^{\star}_{\mathrm{JT}} - I)\,u",
    "nWbar-I.JT|orthogonal to u": r"v^{\top}(n \bar{W}^{\star}_{\mathrm{JT}} - I)\,v",
    "P.FT|p_k / m_k along u": r"\frac{u^{\top} (\bar{p}_k)^{\star}_{\mathrm{FT}}}{u^{\top} \mu_k}",
    "P.JT|p_k / m_k along u": r"\frac{u^{\top} (\bar{p}_k)^{\star}_{\mathrm{JT}}}{u^{\top} \mu_k}",
}


class NotationPrinter(MathMLPresentationPrinter):
    """sympy's presentation MathML printer, with the paper's names for the notation symbols (their TeX, converted)."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        super().__init__({})
        self._names = names

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain") -> Any:
        if sym in self._names:
            node = minidom.parseString(mathml_inner(self._names[sym])).documentElement
            return self.dom.importNode(node, True)
        return super()._print_Symbol(sym, style)


def expr_latex(expr: sp.Expr) -> str:
    return sp.latex(expr, symbol_names=NAMES)


def expr_mathml(expr: sp.Expr) -> str:
    """Presentation MathML of ``expr`` (an ``mrow``), by sympy's printer; named entities as numeric references."""
    text = NotationPrinter(NAMES).doprint(expr)
    text = text.replace("&InvisibleTimes;", "&#x2062;").replace("&ApplyFunction;", "&#x2061;")
    return text.replace("<mo>-</mo>", "<mo>&#x2212;</mo>")


def _equation(lhs: str, expr: sp.Expr, tail: str = "", factor: str = "") -> tuple[str, str]:
    """TeX and MathML of ``lhs = expr [factor] [tail]`` (``tail`` e.g. ``+ O(n^{-3})``)."""
    tex = f"{lhs} = {expr_latex(expr)}{' ' + factor if factor else ''}{' ' + tail if tail else ''}"
    mathml = (mathml_inner(lhs) + "<mo>=</mo>" + expr_mathml(expr) + (mathml_inner(factor) if factor else "")
              + (mathml_inner(tail) if tail else ""))
    return tex, f"<mrow>{mathml}</mrow>"


# ----- d = 1 -------------------------------------------------------------------------------------------------------
class D1Symbols(NamedTuple):
    """The symbols of :func:`theory.symbolic.d1_problem`: context length, noise, the input scale, the tasks' scales,
    the first task's probability and the tasks' means."""

    n: sp.Symbol
    sigma: sp.Symbol
    lx: sp.Symbol
    b1: sp.Symbol
    b2: sp.Symbol
    pi: sp.Symbol
    m1: sp.Symbol
    m2: sp.Symbol


def _d1_symbols() -> D1Symbols:
    from theory.symbolic import d1_problem

    pr = d1_problem()
    return D1Symbols(*(pr[k] for k in D1Symbols._fields))


def in_notation(expr: sp.Expr, per_task: bool = False) -> sp.Expr:
    """A d = 1 expression of :func:`theory.symbolic.d1_problem` in the paper's notation.

    ``Sigma_x = lx^2``, ``Sigma_bar = Sigma_x (pi lb_1^2 + (1 - pi) lb_2^2)``, ``Sigma_tilde = Sigma_bar + Sigma_x
    (pi mu_1^2 + (1 - pi) mu_2^2)``: ``lb_2`` and ``mu_2`` are eliminated in favour of ``Sigma_bar`` and ``Sigma_tilde``
    (the derived optima depend on them only through their squares).  ``per_task``: each task's ``Sigma_x lb_k^2``
    is kept as its own symbol instead (the per-task bound of Proposition 1 depends on the tasks separately).
    """
    s = _d1_symbols()
    lx, b1, b2, pi, m1, m2 = s.lx, s.b1, s.b2, s.pi, s.m1, s.m2
    e = sp.together(expr)
    if per_task:
        e = e.subs({b1: sp.sqrt(TASK_SIGMAS[0] / SIGMA_X), b2: sp.sqrt(TASK_SIGMAS[1] / SIGMA_X)})
    else:
        b2sq = (SIGMA_BAR / SIGMA_X - pi * b1**2) / (1 - pi)
        m2sq = ((SIGMA_TILDE - SIGMA_BAR) / SIGMA_X - pi * m1**2) / (1 - pi)
        e = e.subs({b2: sp.sqrt(b2sq), m2: sp.sqrt(m2sq)})
    e = sp.factor(sp.cancel(e.subs(lx, sp.sqrt(SIGMA_X))))
    return e


def _by_name(expr: sp.Expr) -> sp.Expr:
    """Re-attach the d = 1 problem's symbols to an expression parsed from text (names only survive ``str``)."""
    symbols = {str(v): v for v in _d1_symbols()}
    return expr.subs({f: symbols[str(f)] for f in expr.free_symbols if str(f) in symbols})


def _d1_form(claim: Claim, key: str, noiseless: bool) -> DerivedForm:
    from theory.symbolic import d1_problem

    s = _d1_symbols()
    sigma = s.sigma
    value = d1_problem()[key]
    per_task = key == "per_task_pgd"
    prompt = isinstance(value, sp.MatrixBase)
    if prompt:  # p_k = (factor) mu_k, the same factor for both tasks
        factors = [sp.cancel(value[k] / m) for k, m in ((0, s.m1), (1, s.m2))]
        value = factors[0]
    if noiseless:
        value = value.subs(sigma, 0)
    expr = in_notation(value, per_task)
    if prompt:
        other = in_notation(factors[1].subs(sigma, 0) if noiseless else factors[1])
        if sp.cancel(other - expr) != 0:
            raise ArithmeticError(f"{claim.id}: the prompt factor differs between the tasks")
    tex, mathml = _equation(D1_LHS[key], expr, factor=r"\mu_k" if prompt else "")
    setting = (D1_SETTING + (r", per task $\bar{\Sigma}_{\beta_k} = \Sigma_x \Sigma_{\beta_k}$" if per_task else "")
               + (r", $\sigma^2 = 0$" if noiseless else ""))
    form = DerivedForm(setting, f"theory.symbolic.d1_problem()[{key!r}]", tex, mathml, (sp.srepr(expr),))
    diff = _d1_difference(claim, prompt, noiseless, per_task) if claim.symbolic is not None else None
    if diff is None:
        return form
    label = r"\text{claimed} \;-\; \text{derived}"
    difference_tex, difference_mathml = _equation(label, diff, factor=r"\mu_k" if prompt else "")
    return replace(form, difference_tex=difference_tex, difference_mathml=difference_mathml,
                   expressions=(*form.expressions, sp.srepr(diff)))


def _d1_difference(claim: Claim, prompt: bool, noiseless: bool, per_task: bool) -> sp.Expr | None:
    """claimed - derived at d = 1 from the claim's own symbolic decision, in the paper's notation (None if unreadable)."""
    assert claim.symbolic is not None
    result = claim.symbolic()
    try:
        entries = sp.sympify(result.difference)
    except (sp.SympifyError, SyntaxError, TypeError):
        return None
    first = _by_name(sp.sympify(entries[0]))
    if prompt:
        first = sp.cancel(first / _d1_symbols().m1)
    if noiseless:
        first = first.subs(_d1_symbols().sigma, 0)
    return in_notation(first, per_task)


# ----- expansions in 1/n ---------------------------------------------------------------------------------------------
def _expansion_form(quantities: list[str], noiseless: bool) -> DerivedForm:
    from theory.asymptotics import symbolic_expansion
    from theory.isotropic import isotropic_problem

    n, sigma = isotropic_problem()["n"], isotropic_problem()["sigma"]
    texs, mathmls, exprs = [], [], []
    for q in quantities:
        order = 1 if q == "ratio" or q in ("PT", "FT", "JT") or q.startswith(("nWbar", "P.")) else 2
        for ex in symbolic_expansion(q, "isotropic", order):
            terms = [(e, c) for e, c in ex.terms]
            if noiseless:
                terms = [(e, c.subs(sigma, 0)) for e, c in terms]
                terms = [(e, c) for e, c in terms if c != 0]
            lead_e, lead_c = terms[0]
            expr = sp.factor(lead_c) * n**lead_e
            lhs = EXPANSION_LHS[f"{q}|{ex.component}" if ex.component else q]
            tail = rf"+ \mathcal{{O}}(n^{{{lead_e - 1}}})"
            tex, mathml = _equation(lhs, expr, tail)
            texs.append(tex)
            mathmls.append(mathml)
            exprs.append(sp.srepr(expr))
    sep_tex, sep_mathml = r",\qquad ", '<mo separator="true">,</mo><mspace width="2em"/>'
    return DerivedForm(ISOTROPIC_SETTING + (r", $\sigma^2 = 0$" if noiseless else ""),
                       f"theory.asymptotics.symbolic_expansion({', '.join(map(repr, quantities))}, 'isotropic')",
                       sep_tex.join(texs), "<mrow>" + sep_mathml.join(mathmls) + "</mrow>", tuple(exprs))


def _lemma3_form() -> DerivedForm:
    from theory.moments import derive_trace_quadratic_gradient

    derived = derive_trace_quadratic_gradient()
    lhs = r"\frac{\partial}{\partial W} \operatorname{tr}(W A W^{\top} B)"
    tex = f"{lhs} = {sp.latex(derived)}".replace("^{T}", r"^{\top}")
    return DerivedForm(r"symbolic $d$ (sympy matrix calculus)", "theory.moments.derive_trace_quadratic_gradient()", tex,
                       "<mrow>" + mathml_inner(lhs) + "<mo>=</mo>" + expr_mathml(derived) + "</mrow>", (sp.srepr(derived),))


def derived_form(claim: Claim) -> DerivedForm | None:
    """The derived form of a claim whose record names a derivation, else None."""
    pointer = claim.tex.get("derivation")
    if not pointer:
        return None
    kind, _, rest = pointer.partition(":")
    what, _, flag = rest.partition(":")
    if flag not in ("", "noiseless"):
        raise ValueError(f"{claim.id}: unknown derivation flag {flag!r}")
    makers: dict[str, Callable[[], DerivedForm]] = {
        "d1": lambda: _d1_form(claim, what, flag == "noiseless"),
        "expansion": lambda: _expansion_form(what.split(","), flag == "noiseless"),
        "lemma3": _lemma3_form,
    }
    if kind not in makers:
        raise ValueError(f"{claim.id}: unknown derivation {pointer!r}")
    form = makers[kind]()
    tex_to_mathml(form.tex)  # the TeX must convert too (the Markdown and any other TeX consumer read it)
    return replace(form, derivation=pointer, mathml=_block(form.mathml),
                   difference_mathml=_block(form.difference_mathml) if form.difference_mathml else form.difference_mathml)


def _block(mathml: str) -> str:
    """An ``mrow`` as a display ``<math>`` element."""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{mathml}</math>'


def derived_forms(claims: list[Claim]) -> dict[str, DerivedForm]:
    """Claim id -> derived form, for every claim whose record names a derivation."""
    out = {}
    for c in claims:
        form = derived_form(c)
        if form is not None:
            out[c.id] = form
    return out


def forms_text(forms: dict[str, DerivedForm]) -> str:
    return json.dumps({"sympy_version": sp.__version__, "forms": {cid: f.to_json() for cid, f in forms.items()}}, indent=1,
                      ensure_ascii=False) + "\n"


def _same(a: sp.Basic, b: sp.Basic) -> bool:
    """Equal as expressions: structurally, or their difference cancels (scalars)."""
    if a == b:
        return True
    if isinstance(a, sp.MatrixExpr) or isinstance(b, sp.MatrixExpr):
        return bool(sp.simplify(a - b) == 0) if a.shape == b.shape else False
    return bool(sp.cancel(sp.expand(a - b)) == 0)


def stale(stored: dict[str, Any], fresh: dict[str, DerivedForm]) -> list[str]:
    """Claims whose stored derived expressions (a ``derived_forms.json`` object) differ mathematically from a fresh
    derivation (or are missing)."""
    forms = read_forms(stored)
    out = [cid for cid, form in fresh.items() if cid not in forms or not _same_form(forms[cid], form)]
    return out + [cid for cid in forms if cid not in fresh]


def _same_form(old: DerivedForm, new: DerivedForm) -> bool:
    """The same derivation, and its expressions equal one by one (:func:`_same`)."""
    if old.derivation != new.derivation or len(old.expressions) != len(new.expressions):
        return False
    return all(_same(sp.sympify(a), sp.sympify(b)) for a, b in zip(old.expressions, new.expressions, strict=True))


def main(argv: list[str] | None = None) -> int:
    from claims.registry import claims

    parser = argparse.ArgumentParser(prog="python -m verify.report.derivation", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help=f"regenerate {FORMS_PATH.name}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 when {FORMS_PATH.name} is stale")
    args = parser.parse_args(argv)
    fresh = derived_forms(list(claims().values()))
    if args.write:
        FORMS_PATH.write_text(forms_text(fresh), encoding="utf-8")
        print(f"wrote {FORMS_PATH} ({len(fresh)} derived forms)")
        return 0
    changed = stale(json.loads(FORMS_PATH.read_text(encoding="utf-8")), fresh)
    if changed:
        print(f"{FORMS_PATH.name} is stale for {', '.join(changed)}: run python -m verify.report.derivation --write",
              file=sys.stderr)
        return 1
    print(f"{FORMS_PATH.name} is current ({len(fresh)} derived forms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mathematics for the reports: TeX to presentation MathML (offline, ``latex2mathml``), TeX for numbers, matrices,
mixtures and the checks' quantity names, prose with ``$...$`` inline math, and the highlighting of where two
formulas differ.

Chromium renders presentation MathML natively, so the HTML report needs no script and no network; GitHub renders
the same TeX in Markdown between ``$`` (inline) and ``$$`` (display).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from html import escape
from typing import Any
from xml.dom import minidom

from latex2mathml.converter import convert

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_UPPER_GREEK = re.compile(r"<mi>(&#x0039[1-9A-F];|&#x003A[0-9];)</mi>")  # capital Greek is upright in TeX
_RELATIONS = {"&#x0007E;": "&#x0223C;", "&#x027FA;": "&#x027FA;", "&#x027F9;": "&#x027F9;", "&#x027F8;": "&#x027F8;"}
_RELATION_MI = re.compile(r"<mi>(" + "|".join(map(re.escape, _RELATIONS)) + r")</mi>")
_NAMED_OPERATOR = re.compile(r"<mo>([A-Za-z]{2,})</mo>")
_INLINE = re.compile(r"\$([^$]+)\$")
LEAVES = ("mi", "mn", "mo", "mtext", "ms")
MIN_SIMILARITY = 0.6


def tex_to_mathml(tex: str, display: bool = True) -> str:
    """``<math>`` for a TeX string (no ``$``), with TeX's conventions that latex2mathml leaves out: capital Greek
    upright, ``\\operatorname`` names (tr, min) as identifiers, and ``\\sim``, ``\\iff``, ``\\Longrightarrow`` as
    operators (spaced like relations)."""
    out = convert(tex, display="block" if display else "inline")
    out = _UPPER_GREEK.sub(r'<mi mathvariant="normal">\1</mi>', out)
    out = _NAMED_OPERATOR.sub(r"<mi>\1</mi>", out)  # tr, min: function names, spaced like identifiers
    return _RELATION_MI.sub(lambda m: f"<mo>{_RELATIONS[m.group(1)]}</mo>", out)


def mathml_inner(tex: str) -> str:
    """The ``<mrow>`` inside :func:`tex_to_mathml` (to compose formulas from TeX and sympy's MathML)."""
    out = tex_to_mathml(tex)
    return out[out.index(">") + 1: out.rindex("</math>")]


def inline_html(text: str) -> str:
    """Prose with ``$...$`` inline math as HTML: the text escaped, the math as inline MathML."""
    parts = _INLINE.split(text)
    return "".join(tex_to_mathml(p, display=False) if i % 2 else escape(p) for i, p in enumerate(parts))


def _root(mathml: str) -> minidom.Element:
    root = minidom.parseString(mathml).documentElement
    if root is None:
        raise ValueError("empty MathML")
    return root


def leaves(mathml: str) -> list[str]:
    """The token elements of a MathML string, as ``tag:text`` (what the difference highlighting compares)."""
    return [f"{el.tagName}:{_text(el)}" for el in _leaf_elements(_root(mathml))]


def _text(el: minidom.Element) -> str:
    return "".join(n.data for n in el.childNodes if n.nodeType == n.TEXT_NODE).strip()


def _leaf_elements(root: minidom.Element) -> list[minidom.Element]:
    out: list[minidom.Element] = []
    for node in root.childNodes:
        if node.nodeType != node.ELEMENT_NODE:
            continue
        if node.tagName in LEAVES:
            out.append(node)
        else:
            out += _leaf_elements(node)
    return out


def highlight_difference(a: str, b: str) -> tuple[str, str, int]:
    """Mark the token elements where two ``<math>`` strings differ (``class="diff"``), by a longest-matching-run diff
    of their tokens.  Returns both strings and the number of marked tokens (none when the two share less than
    ``MIN_SIMILARITY`` of their tokens)."""
    roots = [_root(x) for x in (a, b)]
    els = [_leaf_elements(r) for r in roots]
    keys = [[f"{e.tagName}:{_text(e)}" for e in side] for side in els]
    matcher = SequenceMatcher(None, keys[0], keys[1], autojunk=False)
    if matcher.ratio() < MIN_SIMILARITY:  # different formulas, not an edit of one another: marking them says nothing
        return a, b, 0
    marked = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for el in (*els[0][i1:i2], *els[1][j1:j2]):
            if _text(el):
                el.setAttribute("class", "diff")
                marked += 1
    return roots[0].toxml(), roots[1].toxml(), marked


# ----- numbers, matrices and mixtures as TeX -------------------------------------------------------------------------
def number_tex(x: float | int | None, digits: int = 10) -> str:
    """A number in TeX: up to ``digits`` significant digits, ``1.5 \\times 10^{-8}`` for small and large ones."""
    if x is None:
        return r"\text{--}"
    if isinstance(x, bool):
        return rf"\text{{{x}}}"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return rf"\text{{{x}}}"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def array_tex(value: Any, digits: int = 10) -> str:
    """A number, vector or matrix (nested lists) in TeX; a vector is a row, a matrix a ``pmatrix``, a stack of
    matrices a list of them."""
    if isinstance(value, (int, float)) or value is None:
        return number_tex(value, digits)
    if value and isinstance(value[0], list) and value[0] and isinstance(value[0][0], list):
        return r"\left(" + r",\ ".join(array_tex(v, digits) for v in value) + r"\right)"
    if value and isinstance(value[0], list):
        rows = [" & ".join(number_tex(v, digits) for v in row) for row in value]
        return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
    return r"\begin{pmatrix} " + " & ".join(number_tex(v, digits) for v in value) + r" \end{pmatrix}"


def mixture_tex(mixture: dict[str, Any]) -> list[str]:
    """A mixture (the report's mixture object) as TeX lines: the shared part, then one line per task."""
    lines = [rf"d = {mixture['d']},\quad K = {len(mixture['tasks'])},\quad \Sigma_x = {array_tex(mixture['sigma_x'])},"
             rf"\quad \sigma^2 = {number_tex(mixture['sigma2'])}"]
    for k, task in enumerate(mixture["tasks"], start=1):
        lines.append(rf"\pi_{{{k}}} = {number_tex(task['weight'])},\quad \mu_{{{k}}} = {array_tex(task['mean'])}^{{\top}},"
                     rf"\quad \Sigma_{{\beta_{{{k}}}}} = {array_tex(task['cov'])}")
    return lines


# ----- the checks' quantity names ------------------------------------------------------------------------------------
_L = r"\mathcal{{L}}^{{\star}}_{{\mathrm{{{0}}}}}"
_QUANTITIES: dict[str, str] = {
    "E[X^T X A X^T X]": r"\mathbb{E}[X^{\top} X A X^{\top} X]",
    "E[X^T xi xi^T X]": r"\mathbb{E}[X^{\top} \xi \xi^{\top} X]",
    "d/dW tr(W A W^T B)": r"\frac{\partial}{\partial W} \operatorname{tr}(W A W^{\top} B)",
    "attention output": r"f_{\mathrm{Attn}}(Z^{(k)})",
    "O(1) term of W_bar*_JT": r"\mathcal{O}(1) \text{ term of } \bar{W}^{\star}_{\mathrm{JT}}",
    "L*_Attn (shared head, joint)": r"\mathcal{L}^{\star}_{\mathrm{Attn}} \text{ (shared head, joint)}",
    "L*_FT vs unconstrained": r"\mathcal{L}^{\star}_{\mathrm{FT}} \text{ vs the unconstrained attention}",
    "L*_FT, L*_JT at zero means": r"\mathcal{L}^{\star}_{\mathrm{FT}},\ \mathcal{L}^{\star}_{\mathrm{JT}} \text{ at zero means}",
    "(PT-FT, FT-JT) vanish iff all mu_k = 0": (r"(\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}},\ "
                                               r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}}) = 0 "
                                               r"\iff \mu_k = 0\ \forall k"),
    "leading exponents of L*_PT, L*_FT, L*_JT": (r"\text{leading exponents in } n \text{ of } \mathcal{L}^{\star}_{\mathrm{PT}},\ "
                                                 r"\mathcal{L}^{\star}_{\mathrm{FT}},\ \mathcal{L}^{\star}_{\mathrm{JT}}"),
    "leading exponents of ||n W_bar*_PT - I||_F, ||n W_bar*_JT - I||_F": (
        r"\text{leading exponents in } n \text{ of } \lVert n \bar{W}^{\star}_{\mathrm{PT}} - I \rVert_F,\ "
        r"\lVert n \bar{W}^{\star}_{\mathrm{JT}} - I \rVert_F"),
    "leading exponent in n of ratio (PT-FT)/(FT-JT)": (
        r"\text{leading exponent in } n \text{ of } \frac{\mathcal{L}^{\star}_{\mathrm{PT}} - \mathcal{L}^{\star}_{\mathrm{FT}}}"
        r"{\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}}}"),
}
# quantity patterns -> TeX, with §1, §2, ... for the matched groups
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^L~\*_(\w+)$"), r"\tilde{\mathcal{L}}^{\star}_{\mathrm{§1}}"),
    (re.compile(r"^L\*_(\w+)$"), r"\mathcal{L}^{\star}_{\mathrm{§1}}"),
    (re.compile(r"^L\*_Attn,(\w+) \(unconstrained\)$"), r"\mathcal{L}^{\star}_{\mathrm{Attn},\mathrm{§1}} \text{ (unconstrained)}"),
    (re.compile(r"^L\*_(\w+) - L\*_(\w+)$"), r"\mathcal{L}^{\star}_{\mathrm{§1}} - \mathcal{L}^{\star}_{\mathrm{§2}}"),
    (re.compile(r"^W_bar\*_(\w+)$"), r"\bar{W}^{\star}_{\mathrm{§1}}"),
    (re.compile(r"^P\*_(\w+)$"), r"P^{\star}_{\mathrm{§1}}"),
    (re.compile(r"^P\*_FT, P\*_JT at n = 1e\+0?(\d+)$"), r"P^{\star}_{\mathrm{FT}},\ P^{\star}_{\mathrm{JT}} \text{ at } n = 10^{§1}"),
    (re.compile(r"^leading exponent in n of L\*_(\w+) - L\*_(\w+)$"),
     r"\text{leading exponent in } n \text{ of } \mathcal{L}^{\star}_{\mathrm{§1}} - \mathcal{L}^{\star}_{\mathrm{§2}}"),
    (re.compile(r"^exponent q in (\w+)-(\w+)\(t mu\) ~ t\^q as t -> 0 \(n = (\d+)\)$"),
     r"q:\ (\mathcal{L}^{\star}_{\mathrm{§1}} - \mathcal{L}^{\star}_{\mathrm{§2}})(t\mu) \sim t^{q},\ t \to 0\ (n = §3)"),
    (re.compile(r"^relative gap \((\w+)\)$"), r"\text{relative gap (§1)}"),
]


def quantity_tex(quantity: str | None) -> str | None:
    """A check's quantity name (``"W_bar*_PT"``, ``"L*_FT - L*_JT"``) as TeX, or None when it has no TeX form."""
    if quantity is None:
        return None
    if quantity in _QUANTITIES:
        return _QUANTITIES[quantity]
    for pattern, tex in _PATTERNS:
        m = pattern.match(quantity)
        if m:
            for i, group in enumerate(m.groups(), start=1):
                tex = tex.replace(f"§{i}", group)
            return tex
    return None


def fitted_tex(text: str) -> str:
    """A fitted leading term ``"2148.112869(44) n^-2"`` as TeX (``2148.112869(44)\\, n^{-2}``); other text as ``\\text``."""
    m = re.fullmatch(r"(-?[\d.]+(?:\(\d+\))?(?:e[+-]?\d+)?) n\^(-?\d+)( \(unstable fit\))?", text)
    if not m:
        return rf"\text{{{text}}}"
    return rf"{m.group(1)}\, n^{{{m.group(2)}}}" + (r"\ \text{(unstable fit)}" if m.group(3) else "")


def join_tex(parts: Sequence[str], sep: str = r",\quad ") -> str:
    return sep.join(p for p in parts if p)

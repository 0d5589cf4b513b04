"""Mathematics for the reports: TeX to presentation MathML (offline, ``latex2mathml``), TeX for numbers, matrices,
mixtures and the checks' quantity names, prose with ``$...$`` inline math, and the highlighting of where two
formulas differ.

Chromium renders presentation MathML natively, so the HTML report needs no script and no network; GitHub renders
the same TeX in Markdown between ``$`` (inline) and ``$$`` (display).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from html import escape
from typing import TYPE_CHECKING, Any
from xml.dom import minidom

from latex2mathml.converter import convert

if TYPE_CHECKING:
    from verify.report.schema import Mixture

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_UPPER_GREEK = re.compile(r"<mi>(&#x0039[1-9A-F];|&#x003A[0-9];)</mi>")  # capital Greek is upright in TeX
_RELATIONS = {"&#x0007E;": "&#x0223C;", "&#x027FA;": "&#x027FA;", "&#x027F9;": "&#x027F9;", "&#x027F8;": "&#x027F8;"}
_RELATION_MI = re.compile(r"<mi>(" + "|".join(map(re.escape, _RELATIONS)) + r")</mi>")
_OPEN_FENCE = re.compile(r"<mo>(&#x00028;|&#x0005B;|&#x0007C;|&#x02016;)</mo><mtable")
_CLOSE_FENCE = re.compile(r"</mtable><mo>(&#x00029;|&#x0005D;|&#x0007C;|&#x02016;)</mo>")
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
    # a matrix's brackets stretch over its rows (latex2mathml leaves pmatrix's fences as plain operators)
    out = _OPEN_FENCE.sub(r'<mo stretchy="true" fence="true" form="prefix">\1</mo><mtable', out)
    out = _CLOSE_FENCE.sub(r'</mtable><mo stretchy="true" fence="true" form="postfix">\1</mo>', out)
    if "<msup><mo stretchy" in out or "<msub><mo stretchy" in out:
        out = _script_bases(out)
    return _RELATION_MI.sub(lambda m: f"<mo>{_RELATIONS[m.group(1)]}</mo>", out)


_SCRIPT_ARITY = {"msup": 2, "msub": 2, "msubsup": 3}


def _script_bases(mathml: str) -> str:
    """latex2mathml gives ``\begin{pmatrix}...\\end{pmatrix}^{\top}`` a script element with the fence, the table and
    the other fence as separate children, so the table is drawn as the script (tiny); here the extra leading
    children become one ``mrow``, the base."""
    root = _root(mathml)
    doc = root.ownerDocument
    assert doc is not None
    for tag, arity in _SCRIPT_ARITY.items():
        for el in root.getElementsByTagName(tag):
            kids = [k for k in el.childNodes if k.nodeType == k.ELEMENT_NODE]
            if len(kids) > arity:
                base = doc.createElement("mrow")
                for k in kids[: len(kids) - arity + 1]:
                    base.appendChild(el.removeChild(k))
                el.insertBefore(base, el.firstChild)
    return root.toxml()


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


def array_tex(value: Any, digits: int = 10, *, abbreviate: bool = False) -> str:
    r"""A number, vector or matrix (nested lists or tuples) in TeX; a vector is a row, a matrix a ``pmatrix``, a stack
    of matrices a list of them.  ``abbreviate``: a structured vector or matrix of size 4 or more by its structure
    (:func:`structured_tex`: ``I_{10}``, ``1.7\,\mathbf{1}_{10}``, ``\operatorname{diag}(0.9, 0.9^{-1}, \ldots)``)."""
    if isinstance(value, (int, float)) or value is None:
        return number_tex(value, digits)
    if abbreviate and (short := structured_tex(value, digits)) is not None:
        return short
    if value and isinstance(value[0], _ARRAY) and value[0] and isinstance(value[0][0], _ARRAY):
        return r"\left(" + r",\ ".join(array_tex(v, digits, abbreviate=abbreviate) for v in value) + r"\right)"
    if value and isinstance(value[0], _ARRAY):
        rows = [" & ".join(number_tex(v, digits) for v in row) for row in value]
        return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
    return r"\begin{pmatrix} " + " & ".join(number_tex(v, digits) for v in value) + r" \end{pmatrix}"


ABBREVIATE_FROM = 4  # vectors and matrices of this size or more are shown by their structure when they have one
_ARRAY = (list, tuple)  # a vector or a matrix's row: a JSON list, or the tuple a typed report record holds


def _powers(xs: Sequence[float]) -> tuple[float, list[int]] | None:
    """(base, exponents) when every x is an integer power of one simple base (the paper's 0.9^-9), else None."""
    for base in (0.9, 0.5, 2.0, 10.0):
        ks = [round(math.log(x) / math.log(base)) if x > 0 else None for x in xs]
        if all(k is not None and abs(k) <= 12 and math.isclose(x, base**k, rel_tol=1e-9) for k, x in zip(ks, xs, strict=True)):
            return base, [int(k) for k in ks if k is not None]
    return None


def _power_tex(base: float, k: int, digits: int) -> str:
    return "1" if k == 0 else number_tex(base, digits) if k == 1 else f"{number_tex(base, digits)}^{{{k}}}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def structured_tex(value: Any, digits: int = 10) -> str | None:
    r"""A vector or square matrix of size ``ABBREVIATE_FROM`` or more by its structure, else None: ``\mathbf{0}_{d}``,
    ``c\,\mathbf{1}_{d}`` (constant vectors), ``I_{d}``, ``c\, I_{d}``, ``\operatorname{diag}(a, b, \ldots, z)``."""
    if not isinstance(value, _ARRAY) or len(value) < ABBREVIATE_FROM:
        return None
    if all(_is_number(v) for v in value):
        return _constant_vector_tex(value, digits)
    diag = _diagonal(value)
    return None if diag is None else _diagonal_tex(diag, digits)


def _constant_vector_tex(value: Sequence[float], digits: int) -> str | None:
    r"""``\mathbf{0}_{d}``, ``\mathbf{1}_{d}`` or ``c\,\mathbf{1}_{d}`` for a constant vector, else None."""
    if len(set(value)) != 1:
        return None
    d, c = len(value), float(value[0])
    if c == 0:
        return rf"\mathbf{{0}}_{{{d}}}"
    return rf"\mathbf{{1}}_{{{d}}}" if c == 1 else rf"{number_tex(c, digits)}\,\mathbf{{1}}_{{{d}}}"


def _diagonal(value: Sequence[Any]) -> list[float] | None:
    """The diagonal of a square diagonal matrix (rows of numbers), else None."""
    d = len(value)
    if not all(isinstance(row, _ARRAY) and len(row) == d and all(isinstance(v, (int, float)) for v in row) for row in value):
        return None
    if any(value[i][j] != 0 for i in range(d) for j in range(d) if i != j):
        return None
    return [float(value[i][i]) for i in range(d)]


def _diagonal_tex(diag: list[float], digits: int) -> str:
    r"""A diagonal matrix by its structure: ``I_{d}``, ``c\, I_{d}``, ``\operatorname{diag}(a, b, \ldots, z)`` where
    b, ..., z is a progression, else every entry."""
    d = len(diag)
    if len(set(diag)) == 1:
        return rf"I_{{{d}}}" if diag[0] == 1 else rf"{number_tex(diag[0], digits)}\, I_{{{d}}}"
    tail = diag[1:]  # "a, b, ..., z" only where b, ..., z is a progression (the paper's diag{0.9, 0.9^-1, ..., 0.9^-9})
    geometric = all(x != 0 for x in tail) and all(math.isclose(tail[i + 1] / tail[i], tail[1] / tail[0], rel_tol=1e-9)
                                                  for i in range(len(tail) - 1))
    arithmetic = all(math.isclose(tail[i + 1] - tail[i], tail[1] - tail[0], rel_tol=1e-9, abs_tol=1e-12)
                     for i in range(len(tail) - 1))
    if not (geometric or arithmetic):
        return rf"\operatorname{{diag}}\left({', '.join(number_tex(x, digits) for x in diag)}\right)"
    powers = _powers_diag_tex(diag, digits) if geometric else None
    if powers is not None:
        return powers
    shown = [number_tex(x, digits) for x in (diag[0], diag[1], diag[-1])]
    return rf"\operatorname{{diag}}\left({shown[0]}, {shown[1]}, \ldots, {shown[2]}\right)"


def _powers_diag_tex(diag: list[float], digits: int) -> str | None:
    r"""A scalar times powers of a simple base (``2 \operatorname{diag}(0.9, 0.9^{-1}, \ldots, 0.9^{-9})``), else None."""
    for c in (1.0, 2.0, 0.5, 3.0, 5.0, 10.0):
        found = _powers([x / c for x in diag])
        if found is not None and set(found[1]) != {0}:
            base, ks = found
            factor = "" if c == 1.0 else rf"{number_tex(c, digits)}\,"
            shown = [_power_tex(base, k, digits) for k in (ks[0], ks[1], ks[-1])]
            return rf"{factor}\operatorname{{diag}}\left({shown[0]}, {shown[1]}, \ldots, {shown[2]}\right)"
    return None


def mixture_tex(mixture: Mixture, *, abbreviate: bool = False) -> list[str]:
    """A mixture (the report's mixture record) as TeX lines: the shared part, then one line per task; ``abbreviate``:
    structured vectors and matrices by their structure (:func:`structured_tex`)."""
    def arr(v: Any) -> str:
        return array_tex(v, abbreviate=abbreviate)

    lines = [rf"d = {mixture.d},\quad K = {len(mixture.tasks)},\quad \Sigma_x = {arr(mixture.sigma_x)},"
             rf"\quad \sigma^2 = {number_tex(mixture.sigma2)}"]
    for k, task in enumerate(mixture.tasks, start=1):
        mean = arr(task.mean)
        mean = mean if structured_tex(task.mean) is not None and abbreviate else "{" + mean + "}^{\\top}"
        lines.append(rf"\pi_{{{k}}} = {number_tex(task.weight)},\quad \mu_{{{k}}} = {mean},"
                     rf"\quad \Sigma_{{\beta_{{{k}}}}} = {arr(task.cov)}")
    return lines


def mixture_is_structured(mixture: Mixture) -> bool:
    """True when :func:`mixture_tex` abbreviates something of this mixture."""
    values = [mixture.sigma_x, *[v for t in mixture.tasks for v in (t.mean, t.cov)]]
    return any(structured_tex(v) is not None for v in values)


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


# ----- the ASCII notation of the records' prose, as TeX ---------------------------------------------------------------
# The records, reasons, notes and figure captions write formulas in ASCII (Sigma_x, W_bar*_PT, tr(Sigma_tilde),
# L~*_PGD, 0.9^-9, mu = (1.7, -1.3) 1_10); the reports typeset them.  A name is mathematics only when its base is
# one letter, a Greek letter or a known operator, so identifiers (unconstrained_optimum, theory.d1_problem) stay text.
_GREEK_WORDS = ("alpha", "beta", "gamma", "delta", "Delta", "epsilon", "theta", "lambda", "Lambda", "mu", "xi", "pi",
                "rho", "sigma", "Sigma", "tau", "phi", "Phi", "psi", "omega", "Omega", "Gamma")
_OPERATOR_WORDS = {"sum": r"\sum", "min": r"\min", "max": r"\max", "argmin": r"\operatorname{argmin}"}
_SIGMA_NAMES = {"Sigma_bar": r"\bar{\Sigma}_{\beta}", "Sigma_tilde": r"\tilde{\Sigma}_{\beta}"}
_NAME = re.compile(r"(?<![\w.$\\])(?P<base>[A-Za-z]+|1)(?P<tail>(?:~|\*|_bar|_tilde|_hat|_\{[^{}]*\}|_[A-Za-z0-9]+|\^\{[^{}]*\}"
                   r"|\^-?[A-Za-z0-9]+)*)(?![\w{])")
_POWER = re.compile(r"(?<![\w.$])(\d+(?:\.\d+)?)\^(-?\d+)(?![\w.])")
_MATRIX_LITERAL = re.compile(r"\[\[[-+\d.eE, \[\]]+\]\]")  # a matrix as JSON (a check's note)
_LHS = re.compile(r"(?<![\w.$])([A-Za-z])\s*(?:=|<=|>=)\s*$")
_RELATION_TEXT = {"->": r"\to", "<=": r"\le", ">=": r"\ge", "!=": r"\ne"}
_GLUE = re.compile(r"(?:\s|[-+=*/<>(),|]|\.\.\.|\d+(?:\.\d+)?|[A-Za-z](?![A-Za-z]))*")
_OPERAND = re.compile(r"\s*(?:=|->|<=|>=|<|>|~)\s*(?:-?\d+(?:\.\d+)?[A-Za-z]?|[A-Za-z](?![\w(])|\((?:\s*-?\d+(?:\.\d+)?,?)+\s*\))")


def _subscript_tex(sub: str) -> str:
    if sub.startswith("{") and sub.endswith("}"):
        return "{" + _math_tex(sub[1:-1]) + "}"
    for greek in _GREEK_WORDS:
        if sub.startswith(greek) and (sub[len(greek):].isdigit() or not sub[len(greek):]):
            rest = sub[len(greek):]
            return "{\\" + greek + (f"_{{{rest}}}" if rest else "") + "}"
    if len(sub) >= 2 and sub.isupper() or sub in ("Attn",):
        return rf"{{\mathrm{{{sub}}}}}"
    return "{" + sub + "}"


def _name_tex(base: str, tail: str) -> str | None:
    """One ASCII name (``W_bar*_PT``, ``Sigma_beta1``, ``L~*_PGD``, ``x^T``, ``1_10``) as TeX; None when it is no
    mathematics (a word, an identifier)."""
    whole = base + tail
    for name, tex in _SIGMA_NAMES.items():
        if whole == name or whole.startswith(name + "_"):
            return tex
    head = _name_head(base, tail)
    if head is None or (not tail and base not in _GREEK_WORDS):
        return None
    accent, star, subs, sups = _name_parts(tail)
    if any(_is_word(s[1:-1]) for s in subs):  # a lower-case word as subscript: an identifier, not a name
        return None
    return _scripted_tex(rf"\{accent}{{{head}}}" if accent else head, star, subs, sups)


def _name_head(base: str, tail: str) -> str | None:
    """The TeX of a name's base (an operator, a Greek letter, one letter, the ones vector ``1_d``), else None."""
    if base in _OPERATOR_WORDS:
        return _OPERATOR_WORDS[base]
    if base in _GREEK_WORDS:
        return "\\" + base
    if base == "1":
        return r"\mathbf{1}" if tail.startswith("_") else None
    if len(base) == 1:
        return r"\mathcal{L}" if base == "L" and "*" in tail else base
    return None


_NAME_PART = re.compile(r"~|\*|_bar|_tilde|_hat|_\{[^{}]*\}|_[A-Za-z0-9]+|\^\{[^{}]*\}|\^-?[A-Za-z0-9]+")


def _name_parts(tail: str) -> tuple[str, bool, list[str], list[str]]:
    """A name's accent (``tilde``, ``bar``, ``hat`` or none), whether it is starred, its subscripts and superscripts
    (each as ``{TeX}``)."""
    accent, star, subs, sups = "", False, [], []
    for part in _NAME_PART.findall(tail):
        if part in ("~", "_tilde"):
            accent = "tilde"
        elif part in ("_bar", "_hat"):
            accent = part[1:]
        elif part == "*":
            star = True
        elif part.startswith("_"):
            subs.append(_subscript_tex(part[1:]))
        else:
            sup = part[1:]
            sups.append(r"{\top}" if sup == "T" else "{" + (sup[1:-1] if sup.startswith("{") else sup) + "}")
    return accent, star, subs, sups


def _is_word(sub: str) -> bool:
    """A subscript that is a lower-case word (``unconstrained_optimum``): the name is an identifier."""
    return len(sub) > 1 and sub.isalpha() and sub.islower() and sub != "kl"


def _scripted_tex(tex: str, star: bool, subs: list[str], sups: list[str]) -> str:
    """``tex`` with its star and superscripts, then its subscripts (``Sigma_beta_k``: the second subscript is the
    Greek one's)."""
    sups = [r"{\star}", *sups] if star else sups
    if sups:
        tex += "^{" + " ".join(x[1:-1] for x in sups) + "}"
    if subs:
        inner = subs[-1][1:-1]
        for sub in reversed(subs[:-1]):
            inner = sub[1:-1] + (f"_{{{inner}}}" if sub[1:-1].startswith("\\") else f" {inner}")
        tex += "_{" + inner + "}"
    return tex


def _balanced(text: str, start: int, opening: str, closing: str) -> int | None:
    """The index just after the bracket that closes the one at ``start``, or None."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i + 1
    return None


_CALLS = (("tr(", r"\operatorname{tr}\left(", r"\right)", "(", ")"), ("E[", r"\mathbb{E}\left[", r"\right]", "[", "]"),
          ("diag{", r"\operatorname{diag}\{", r"\}", "{", "}"), ("||", r"\lVert ", r"\rVert", "", ""))


def _math_tex(text: str) -> str:
    """An ASCII formula (everything in it is mathematics) as TeX."""
    spans = _atoms(text)
    out, last = [], 0
    for start, end, tex in spans:
        out.append(_glue_tex(text[last:start]))
        out.append(tex)
        last = end
    out.append(_glue_tex(text[last:]))
    return "".join(out)


def _glue_tex(text: str) -> str:
    for a, b in _RELATION_TEXT.items():
        text = text.replace(a, f" {b} ")
    return text.replace("...", r"\ldots").replace("*", r" \cdot ")


def _atoms(text: str) -> list[tuple[int, int, str]]:
    """The ASCII mathematics atoms of ``text``: (start, end, TeX), in order, not overlapping."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(text):
        atom = _call_atom(text, i) or _matrix_atom(text, i) or _power_atom(text, i)
        if atom is not None:
            out.append(atom)
            i = atom[1]
            continue
        m = _NAME.match(text, i)
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.$\\")):
            tex = _name_tex(m.group("base"), m.group("tail"))
            if tex is not None:
                out.append((i, m.end(), tex))
            i = m.end()
            continue
        i += 1
    return out


def _call_atom(text: str, i: int) -> tuple[int, int, str] | None:
    """A call at ``i`` (``tr(...)``, ``E[...]``, ``diag{...}``, ``||...||_F``) with its argument typeset, else None."""
    if i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_$\\"):
        return None
    for word, head, tail, opening, closing in _CALLS:
        if not text.startswith(word, i):
            continue
        if word == "||":
            atom = _norm_atom(text, i, head, tail)
        else:
            closed = _balanced(text, i + len(word) - 1, opening, closing)
            atom = None if closed is None else (i, closed, head + _math_tex(text[i + len(word):closed - 1]) + tail)
        if atom is not None:
            return atom
    return None


def _norm_atom(text: str, i: int, head: str, tail: str) -> tuple[int, int, str] | None:
    """``||...||`` at ``i``, with its subscript (``_F``, ``_2``, ``_{...}``), else None when it is not closed."""
    end = text.find("||", i + 2)
    if end < 0:
        return None
    inner, stop = text[i + 2:end], end + 2
    norm = re.match(r"_(F|2|\{[^}]*\})", text[stop:])
    sub = ""
    if norm:
        sub, stop = "_{" + norm.group(1).strip("{}") + "}", stop + norm.end()
    return i, stop, head + _math_tex(inner) + tail + sub


def _matrix_atom(text: str, i: int) -> tuple[int, int, str] | None:
    """A matrix written as JSON at ``i`` (a check's note), else None."""
    m = _MATRIX_LITERAL.match(text, i)
    if not m:
        return None
    try:
        return i, m.end(), array_tex(json.loads(m.group(0)), 6)
    except ValueError:
        return None


def _power_atom(text: str, i: int) -> tuple[int, int, str] | None:
    """A number's power at ``i`` (``0.9^-9``), else None."""
    m = _POWER.match(text, i)
    if m and (i == 0 or not text[i - 1].isalnum()):
        return i, m.end(), f"{m.group(1)}^{{{m.group(2)}}}"
    return None


def ascii_math(text: str) -> str:
    """Prose with the ASCII notation of its formulas (``Sigma_x``, ``W_bar*_PT``, ``tr(Sigma_tilde)``, ``L~*_PGD``,
    ``0.9^-9``, ``||Delta||_F``) marked as ``$...$`` TeX, for :func:`inline_html`; ``$...$`` already there is kept.
    Neighbouring formulas joined by operators, numbers and single letters become one, and ``= value`` after a formula
    joins it (``mu = (1.7, -1.3) 1_10`` is one formula)."""
    parts = _INLINE.split(text)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f"${part}$")
            continue
        atoms = _atoms(part)
        runs: list[list[int]] = []  # [start, end] of each formula in part
        for start, end, _ in atoms:
            glue = part[runs[-1][1]:start] if runs else ""
            if runs and _GLUE.fullmatch(glue) and not _top_level_comma(part[runs[-1][0]:start]):
                runs[-1][1] = end
            else:
                runs.append([start, end])
        pieces, last = [], 0
        for start, end in runs:
            while (m := _OPERAND.match(part, end)) is not None:
                end = m.end()
            lhs = _LHS.search(part, last, start)
            if lhs is not None:  # "A = <formula>": the single-letter left-hand side joins it
                start = lhs.start(1)
            start, end = _balance(part, max(start, last), end)
            pieces.append(_prose_glue(part[last:start]))
            pieces.append(f"${_math_tex(part[start:end]).strip()}$")
            last = end
        pieces.append(_prose_glue(part[last:]))
        out.append("".join(pieces))
    return "".join(out)


def _top_level_comma(text: str) -> bool:
    """True when ``text`` has ", " outside brackets: a list in prose (its formulas stay apart, so lines can break)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0 and text[i + 1:i + 2] == " ":
            return True
    return False


def _balance(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``text[start:end]`` over a bracket right next to it that it leaves open (``L_k(W_k`` -> ``L_k(W_k)``)."""
    for opening, closing in ("()", "[]"):
        span = text[start:end]
        while span.count(opening) > span.count(closing) and text[end:end + 1] == closing:
            end += 1
            span = text[start:end]
        while span.count(closing) > span.count(opening) and start > 0 and text[start - 1] == opening:
            start -= 1
            span = text[start:end]
    return start, end


def _prose_glue(text: str) -> str:
    """Relations left in prose (between words) in Unicode: ``->`` as an arrow."""
    return text.replace("->", "\u2192").replace("<=", "\u2264").replace(">=", "\u2265")


def prose_html(text: str) -> str:
    """Prose as HTML with both its ``$...$`` math and the ASCII notation of its formulas typeset (:func:`ascii_math`)."""
    return inline_html(ascii_math(text))

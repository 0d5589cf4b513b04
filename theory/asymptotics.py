"""Expansions in 1/n of the optimal losses, their gaps and the optimal parameters (Corollary 1, Section 4).

Two independent routes:

* exact and symbolic, in the specialisations where the optima have closed
  forms in every parameter: ``"isotropic"`` (symbolic d, Sigma_x = xi I,
  Sigma_beta_k = s_k I, collinear means, any K;
  :func:`theory.isotropic.isotropic_problem`) and ``"d=1"`` (the same closed
  forms at d = 1, which is the general d = 1 case).  Each closed form is a sum of
  rational functions of n; :func:`laurent_at_infinity` expands each term at
  n = infinity by power-series division and cancels the coefficients exactly.
* numeric, for any mixture: the quantity in float64 (solves, no inverses;
  gaps from cancellation-free forms) on a geometric grid of n up to 10^6; the
  leading exponent from the log-log slope and the coefficient by Richardson
  extrapolation, with a stability check (:func:`numeric_leading_term`).

Quantities: the optimal losses ``PT``, ``FT``, ``JT``, ``PGD``; the gaps
``PT-FT``, ``FT-JT``, ``JT-PGD``; ``ratio`` = (PT-FT)/(FT-JT); and the
parameters ``nWbar-I.PT``, ``nWbar-I.JT`` (n W_bar - I, how W_bar approaches
I/n) and ``P.FT``, ``P.JT`` (the optimal prompts).  Symbolically a matrix is
given by its components: along the mean direction u and (isotropic only)
orthogonal to it; numerically by its Frobenius norm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from theory.errors import VerifyError
from theory.mixture import Array, TaskMixture
from theory.optima import _plain_quadratic, optimum
from theory.symbolic_result import SymbolicResult

LOSSES = ("PT", "FT", "JT", "PGD")
GAPS = ("PT-FT", "FT-JT", "JT-PGD")
PARAMETERS = ("nWbar-I.PT", "nWbar-I.JT", "P.FT", "P.JT")
QUANTITIES = LOSSES + GAPS + ("ratio",) + PARAMETERS
SETTINGS = ("d=1", "isotropic")
FIT_NS = tuple(int(round(x)) for x in np.geomspace(1e2, 1e6, 13))  # 10^2 .. 10^6, three points per decade


def check_quantity(quantity: str) -> str:
    if quantity not in QUANTITIES:
        raise VerifyError(f"quantity: unknown {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    return quantity


# ----- exact expansions at n = infinity ----------------------------------------------------------------
Series = dict[int, sp.Expr]  # exponent of n -> coefficient


def _quotient(a: list[Any], b: list[Any], count: int) -> list[sp.Expr]:
    """The first ``count`` coefficients of (sum a_k e^k) / (sum b_k e^k), power-series division (b_0 != 0)."""
    c: list[sp.Expr] = []
    for k in range(count):
        c.append((a[k] - sum(b[j] * c[k - j] for j in range(1, k + 1))) / b[0])
    return c


def _term_series(term: sp.Expr, n: sp.Symbol, lowest: int) -> Series:
    """Laurent series at n = inf of one rational term, exponents down to ``lowest``."""
    num, den = sp.fraction(sp.together(term))
    P, Q = sp.Poly(sp.expand(num), n), sp.Poly(sp.expand(den), n)
    if P.is_zero:
        return {}
    top, count = P.degree() - Q.degree(), P.degree() - Q.degree() - lowest + 1
    a = [P.coeff_monomial(n ** (P.degree() - i)) if P.degree() - i >= 0 else 0 for i in range(count)]
    b = [Q.coeff_monomial(n ** (Q.degree() - i)) if Q.degree() - i >= 0 else 0 for i in range(count)]
    return {top - k: c for k, c in enumerate(_quotient(a, b, count))}


def laurent_at_infinity(expr: sp.Expr, n: sp.Symbol, lowest: int) -> Series:
    """Exact expansion of a sum of rational functions of n at n = infinity, through n^lowest.

    Coefficients are cancelled exactly; zero coefficients are dropped.
    """
    total: dict[int, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr, deep=False)):
        for e, c in _term_series(term, n, lowest).items():
            total[e] = total.get(e, 0) + c
    out = {}
    for e in sorted(total, reverse=True):
        if e < lowest:
            continue
        c = sp.cancel(sp.together(total[e]))
        if c != 0:
            out[e] = c
    return out


def _divide(num: Series, den: Series, lowest: int) -> Series:
    """num / den as a Laurent series (exact), through n^lowest."""
    if not den:
        raise ZeroDivisionError("the denominator series vanishes")
    tn, td = max(num), max(den)
    count = tn - td - lowest + 1
    c = _quotient([num.get(tn - i, 0) for i in range(count)], [den.get(td - i, 0) for i in range(count)], count)
    return {tn - td - k: ck for k, ck in enumerate(map(sp.cancel, c)) if ck != 0}


@dataclass(frozen=True)
class Expansion:
    """sum_e coefficient_e n^e through n^(-order); ``component`` names a matrix component ('' for scalars)."""

    quantity: str
    setting: str
    component: str
    terms: tuple[tuple[int, sp.Expr], ...]
    order: int

    @property
    def leading_exponent(self) -> int | None:
        return self.terms[0][0] if self.terms else None

    @property
    def leading_coefficient(self) -> sp.Expr:
        return self.terms[0][1] if self.terms else sp.Integer(0)

    def _pretty(self, printer: Callable[[sp.Expr], str], leading_only: bool) -> str:
        n = sp.Symbol("n")
        if not self.terms:
            return "0"
        terms = self.terms[:1] if leading_only else self.terms
        expr = sp.Add(*(sp.factor(c) * n**e for e, c in terms), evaluate=False)
        rest = f" + O(n^{self.terms[0][0] - 1})" if leading_only else f" + O(n^{-self.order - 1})"
        if printer is sp.latex:
            rest = f" + O(n^{{{self.terms[0][0] - 1 if leading_only else -self.order - 1}}})"
        return printer(expr) + rest

    def text(self, leading_only: bool = False) -> str:
        return self._pretty(sp.sstr, leading_only)

    def latex(self, leading_only: bool = False) -> str:
        return self._pretty(sp.latex, leading_only)

    def evaluate(self, values: dict[sp.Symbol, Any]) -> list[tuple[int, float]]:
        """(exponent, numeric coefficient) at the given parameter values."""
        return [(e, float(sp.N(c.subs(values), 30))) for e, c in self.terms]

    def to_json(self, values: dict[sp.Symbol, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "quantity": self.quantity, "setting": self.setting, "component": self.component, "order": self.order,
            "leading_exponent": self.leading_exponent, "leading_coefficient": str(sp.factor(self.leading_coefficient)),
            "terms": [{"exponent": e, "coefficient": str(sp.factor(c)), "latex": sp.latex(sp.factor(c))} for e, c in self.terms],
        }
        if values is not None:
            out["numeric_terms"] = [{"exponent": e, "coefficient": c} for e, c in self.evaluate(values)]
        return out


@lru_cache(maxsize=2)
def _problem(setting: str) -> dict[str, Any]:
    """The closed forms of :func:`theory.isotropic.isotropic_problem`; ``"d=1"`` substitutes d = 1
    (at d = 1 every mixture is isotropic and every mean collinear, so that is the general d = 1 case)."""
    from theory.isotropic import isotropic_problem
    if setting not in SETTINGS:
        raise VerifyError(f"setting: unknown {setting!r}; expected one of {', '.join(SETTINGS)}")
    pr = dict(isotropic_problem())
    if setting == "d=1":
        d = pr.pop("d")
        pr = {k: (tuple(e.subs(d, 1) for e in v) if isinstance(v, tuple) else v.subs(d, 1)) for k, v in pr.items()}
    return pr


def _components(quantity: str, pr: dict[str, Any], setting: str) -> list[tuple[str, sp.Expr]]:
    """The exact closed form(s) of a quantity in a symbolic setting."""
    n = pr["n"]
    losses = {s: pr[f"loss_{s.lower()}"] for s in LOSSES}
    if quantity in LOSSES:
        return [("", losses[quantity])]
    if quantity in GAPS:
        a, b = quantity.split("-")
        return [("", losses[a] - losses[b])]
    strategy = quantity.split(".")[1].lower()
    if quantity.startswith("nWbar"):
        wbar = pr[f"wbar_{strategy}"]
        if setting == "d=1":
            return [("", n * wbar[0] - 1)]
        return [("along u", n * wbar[0] - 1), ("orthogonal to u", n * wbar[1] - 1)]
    return [("p_k / m_k along u", pr[f"prompt_{strategy}"])]


@lru_cache(maxsize=64)
def symbolic_expansion(quantity: str, setting: str, order: int = 3) -> list[Expansion]:
    """Exact expansions of ``quantity`` in 1/n through n^(-order), one per matrix component."""
    check_quantity(quantity)
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 8:
        raise VerifyError(f"order: must be an integer from 0 to 8, got {order!r}")
    pr = _problem(setting)
    n = pr["n"]
    if quantity == "ratio":
        # both gaps lead at n^-2 (checked: _divide needs only as many terms as the ratio keeps)
        g1 = laurent_at_infinity(_components("PT-FT", pr, setting)[0][1], n, -order - 2)
        g2 = laurent_at_infinity(_components("FT-JT", pr, setting)[0][1], n, -order - 2)
        if max(g1) != -2 or max(g2) != -2:
            raise ArithmeticError(f"gap expansions lead at n^{max(g1)}, n^{max(g2)}; expected n^-2")
        series = _divide(g1, g2, -order)
        return [Expansion(quantity, setting, "", tuple(series.items()), order)]
    return [Expansion(quantity, setting, comp, tuple(laurent_at_infinity(expr, n, -order).items()), order)
            for comp, expr in _components(quantity, pr, setting)]


def setting_values(setting: str, mixture: TaskMixture) -> dict[sp.Symbol, Any] | None:
    """Values of the symbolic setting's parameters that reproduce ``mixture``, or None if it is not of that form.

    ``s = sum_k pi_k s_k`` and ``a = sum_k pi_k m_k^2`` (see :mod:`theory.isotropic`).
    """
    m = mixture
    pr = _problem(setting)
    eye = np.eye(m.d)
    xi, s_k = m.sigma_x[0, 0], m.covs[:, 0, 0]
    if setting == "d=1" and m.d != 1:
        return None
    if not (np.array_equal(m.sigma_x, xi * eye) and all(np.array_equal(c, sk * eye) for c, sk in zip(m.covs, s_k, strict=True))):
        return None
    norms = np.linalg.norm(m.means, axis=1)
    if np.any(norms):
        u = m.means[int(np.argmax(norms))] / norms.max()
        coords = m.means @ u
        if not np.allclose(np.outer(coords, u), m.means, rtol=0, atol=1e-12 * norms.max()):
            return None  # means not collinear
    else:
        coords = np.zeros(m.K)
    values = {pr["xi"]: float(xi), pr["s"]: float(m.weights @ s_k), pr["a"]: float(m.weights @ coords**2),
              pr["sigma"]: float(np.sqrt(m.sigma2))}
    if setting == "isotropic":
        values[pr["d"]] = m.d
    return values


# ----- numeric: float64 values and leading-term fits ---------------------------------------------------
def _gap_pt_ft(m: TaskMixture, n: int) -> float:
    """L*_PT - L*_FT = sum_k pi_k m_k^T Sigma_x m_k, m_k = (n W*_PT Sigma_x - I) mu_k (no cancellation)."""
    W = optimum("PT", m, n).W
    mk = (n * (W @ m.sigma_x) - np.eye(m.d)) @ m.means.T
    return float(np.einsum("k,ik,ij,jk->", m.weights, mk, m.sigma_x, mk))


def _gap_ft_jt(m: TaskMixture, n: int) -> float:
    """L*_FT - L*_JT = Q(W*_PT) - Q(W*_JT) = tr(D G_JT D^T Sigma_x) for the joint profile Q, D = W*_PT - W*_JT.

    D is not formed as a difference (it is O(|mu|^2 / n^2) of W): subtracting the two stationarity conditions
    Sigma_x W G_JT = H_JT gives Sigma_x D G_JT = n (I - n Sigma_x W*_PT) S, S = Sigma_x M Sigma_x.
    """
    G, _ = _plain_quadratic(m, n)
    sx = m.sigma_x
    S = sx @ m.mean_outer @ sx
    G_jt = G - n * n * S
    E = np.eye(m.d) - n * (sx @ optimum("PT", m, n).W)
    D = np.linalg.solve(G_jt, np.linalg.solve(sx, n * (E @ S)).T).T  # G_jt is symmetric
    return float(np.trace(D @ G_jt @ D.T @ sx))


def means_vanish(m: TaskMixture) -> bool:
    """Every task of positive weight has mean zero: a task of weight 0 does not enter any loss (no 0/0 from it)."""
    return not np.any(m.means[m.weights > 0])


def numeric_value(quantity: str, mixture: TaskMixture, n: int) -> float:
    """The quantity at one n in float64 (matrices: Frobenius norm)."""
    check_quantity(quantity)
    if quantity in LOSSES:
        return optimum(quantity, mixture, n).loss
    if quantity == "PT-FT":
        return _gap_pt_ft(mixture, n)
    if quantity == "FT-JT":
        return _gap_ft_jt(mixture, n)
    if quantity == "JT-PGD":
        return optimum("JT", mixture, n).loss - optimum("PGD", mixture, n).loss
    if quantity == "ratio":
        if means_vanish(mixture):
            raise VerifyError("ratio: undefined when every task of positive weight has mean zero (both gaps vanish)")
        return _gap_pt_ft(mixture, n) / _gap_ft_jt(mixture, n)
    strategy = quantity.split(".")[1]
    opt = optimum(strategy, mixture, n)
    value: Array = n * opt.W_bar - np.eye(mixture.d) if quantity.startswith("nWbar") else opt.P
    return float(np.linalg.norm(value))


@dataclass(frozen=True)
class LeadingFit:
    """value(n) ~ coefficient * n^exponent, fitted on ``ns``; ``stable`` when the last slopes and
    Richardson estimates agree (slope within 1e-3 of the integer exponent, coefficient within 1e-6)."""

    quantity: str
    exponent: int | None
    slope: float
    coefficient: float
    stable: bool
    ns: tuple[int, ...]
    values: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "exponent": self.exponent, "slope": self.slope,
                "coefficient": self.coefficient, "stable": self.stable, "ns": list(self.ns), "values": list(self.values)}


def numeric_leading_term(quantity: str, mixture: TaskMixture, ns: tuple[int, ...] = FIT_NS) -> LeadingFit:
    """Leading exponent and coefficient of ``quantity`` as n -> infinity, from float64 values on ``ns``.

    The exponent is the local log-log slope between the last two n, rounded to
    an integer; the coefficient is c(n) = value n^-p extrapolated assuming
    c(n) = c + b/n (Richardson on the last two points).  Quantities that are exactly
    zero give exponent None, coefficient 0 (stable only when every mean is 0, where they vanish identically).
    """
    check_quantity(quantity)
    if quantity == "ratio" and means_vanish(mixture):  # 0/0: both gaps vanish identically
        return LeadingFit(quantity, None, 0.0, 0.0, True, tuple(ns), tuple(0.0 for _ in ns))
    values = np.array([numeric_value(quantity, mixture, int(n)) for n in ns])
    if not np.any(values):  # exactly zero: the gaps and prompts when every mean is 0 (no rounding enters then);
        # with non-zero means it can only be float64 underflow (|mu| ~ 1e-80 and below): no fit, and say so
        return LeadingFit(quantity, None, 0.0, 0.0, means_vanish(mixture), tuple(ns), tuple(values.tolist()))
    logn, logv = np.log(np.asarray(ns, dtype=float)), np.log(np.abs(values))
    slopes = np.diff(logv) / np.diff(logn)
    p = int(round(slopes[-1]))
    c = values * np.asarray(ns, dtype=float) ** (-p)
    n1, n2, n0 = float(ns[-2]), float(ns[-1]), float(ns[-3])
    rich = (n2 * c[-1] - n1 * c[-2]) / (n2 - n1)
    rich_prev = (n1 * c[-2] - n0 * c[-3]) / (n1 - n0)
    stable = bool(abs(slopes[-1] - p) < 1e-3 and abs(rich - rich_prev) <= 1e-6 * max(abs(rich), 1e-300))
    return LeadingFit(quantity, p, float(slopes[-1]), float(rich), stable, tuple(ns), tuple(values.tolist()))


ONSET_GRID = tuple(range(1, 201)) + tuple(int(v) for v in np.unique(np.round(np.geomspace(200, 10**6, 60)))[1:])


def leading_term_onset(quantity: str, mixture: TaskMixture, leading: LeadingFit,
                       grid: tuple[int, ...] = ONSET_GRID) -> int | None:
    """From which n the leading term describes ``quantity``: the smallest n of ``grid`` from which on, at every larger
    n of the grid, the rest of the expansion is at most half the leading term (|value / (c n^p) - 1| <= 1/2).  None
    when there is no stable leading term or the criterion fails at the grid's end.

    An asymptotic statement about a rate says nothing below this n; the paper's figures stop at n = 50-100.
    """
    if leading.exponent is None or not leading.stable or leading.coefficient == 0.0:
        return None
    onset = None
    for n in reversed(grid):
        term = leading.coefficient * float(n) ** leading.exponent
        if abs(numeric_value(quantity, mixture, n) / term - 1.0) > 0.5:
            break
        onset = n
    return onset


def mean_scaling_exponent(quantity: str, mixture: TaskMixture, n: int, ts: tuple[float, ...] = (1e-1, 1e-2, 1e-3)) -> float:
    """Exponent q with quantity(t mu) ~ t^q as the task means shrink (t -> 0), at fixed n (log-log slope); NaN where a
    value underflows float64 to 0 (means below about 1e-80: the slope cannot be measured, the caller's check is then
    inconclusive)."""
    def scaled(t: float) -> TaskMixture:
        return TaskMixture(mixture.sigma_x, mixture.weights, t * mixture.means, mixture.covs, mixture.sigma2)
    # "as the means shrink" is relative to the tasks' own spread: the slope reaches its limit once t |mu| is small
    # against the task covariances' scale, so the t grid is measured in units of |mu|_max / sqrt(lambda_min(Sigma_beta))
    spread = float(np.sqrt(max(min(float(np.linalg.eigvalsh(c)[0]) for c in mixture.covs), 1e-300)))
    unit = max(1.0, float(np.max(np.abs(mixture.means))) / spread)
    values = np.array([numeric_value(quantity, scaled(t / unit), n) for t in ts])
    if not np.all(np.isfinite(values)) or np.any(values[-2:] == 0.0):
        return float("nan")
    return float(np.diff(np.log(np.abs(values)))[-1] / np.diff(np.log(ts))[-1])


# ----- symbolic decisions of the asymptotic claims (isotropic setting, symbolic d) ----------------------
ISOTROPIC_SETTING = ("isotropic Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means, any K, "
                     "symbolic d, n, xi, s, a, sigma; exact expansion at n = infinity")


def _mean_order(coefficient: sp.Expr, a: sp.Symbol) -> int:
    """Order of vanishing at a = 0 (a = sum pi_k |mu_k|^2), i.e. half the power of the task means."""
    num, den = sp.fraction(sp.factor(coefficient))
    low = min(sp.Poly(num, a).monoms(), default=(0,))[0]
    return low - min(sp.Poly(den, a).monoms(), default=(0,))[0]


def decide_rate(quantity: str, claimed: int) -> SymbolicResult:
    """Corollary 1's rates: the exact leading exponent in n of ``quantity`` (isotropic setting) against ``claimed``."""
    (ex,) = symbolic_expansion(quantity, "isotropic", 0 if quantity == "ratio" else 2)
    return SymbolicResult(ISOTROPIC_SETTING, ex.leading_exponent == claimed, f"{quantity} = {ex.text(leading_only=True)}")


def decide_mean_order(quantity: str) -> SymbolicResult:
    """Corollary 1's 'proportional to ||Delta||_F': the order in the task means of the leading coefficient is 2."""
    (ex,) = symbolic_expansion(quantity, "isotropic", 2)
    power = 2 * _mean_order(ex.leading_coefficient, _problem("isotropic")["a"])
    return SymbolicResult(ISOTROPIC_SETTING, power == 2, (f"leading coefficient {sp.factor(ex.leading_coefficient)} "
                                                          f"is of order |mu|^{power} as the means shrink"))


def decide_preconditioner_limit() -> SymbolicResult:
    """Section 4.1: n W_bar*_PT - I and n W_bar*_JT - I vanish as n -> infinity (negative leading exponents)."""
    exs = symbolic_expansion("nWbar-I.PT", "isotropic", 1) + symbolic_expansion("nWbar-I.JT", "isotropic", 1)
    holds = all(e.leading_exponent is not None and e.leading_exponent < 0 for e in exs)
    return SymbolicResult(ISOTROPIC_SETTING, holds, "; ".join(f"{e.quantity} ({e.component}) = {e.text(True)}" for e in exs))


def decide_loss_limit() -> SymbolicResult:
    """Section 4.1: L*_PT, L*_FT, L*_JT -> 0 at sigma = 0 (the first term surviving sigma = 0 has a negative exponent)."""
    sigma = _problem("isotropic")["sigma"]
    leading = []
    for strategy in ("PT", "FT", "JT"):
        (ex,) = symbolic_expansion(strategy, "isotropic", 1)
        leading.append(next(((e, sp.factor(c.subs(sigma, 0))) for e, c in ex.terms if c.subs(sigma, 0) != 0), (None, 0)))
    holds = all(e is not None and e < 0 for e, _ in leading)
    text = "; ".join(f"L*_{s} = {c} n^{e} + ..." for s, (e, c) in zip(("PT", "FT", "JT"), leading, strict=True))
    return SymbolicResult(ISOTROPIC_SETTING + ", sigma = 0", holds, text)


def decide_prompt_growth() -> SymbolicResult:
    """Section 4.1: p*_k grows like -n Sigma_x mu_k (leading exponent 1 in n for FT and JT)."""
    exs = symbolic_expansion("P.FT", "isotropic", 1) + symbolic_expansion("P.JT", "isotropic", 1)
    holds = all(e.leading_exponent == 1 for e in exs)
    return SymbolicResult(ISOTROPIC_SETTING, holds, "; ".join(f"{e.quantity}: {e.component} = {e.text(True)}" for e in exs))

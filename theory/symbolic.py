"""Symbolic decisions of claims where a specialisation allows it.

* Lemmas 1-3 at explicit d with every entry a symbol (n symbolic).
* Theorems 1-4 and Proposition 1 at d = 1, K = 2 with every parameter a
  symbol: the optima are solved by sympy from the Wick-derived loss
  (:func:`theory.loss.derive_task_loss`), independently of
  :mod:`theory.optima`, and the claimed formula minus the derived one is
  cancelled to zero - or shown not to be.

A "holds at d = 1" result does not decide the claim for d >= 2: transposes
and non-commuting products only appear there.  The numeric search covers that.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np
import sympy as sp

from theory.loss import derive_task_loss
from theory.moments import (
    derive_noise_moment,
    derive_trace_quadratic_gradient,
    derive_wishart_fourth_moment,
    generic_lemma_inputs,
    symbolic_lower_triangular,
)
from theory.symbolic_result import SymbolicResult


@cache
def _noise_moment_function(d: int) -> Callable[..., np.ndarray]:
    L = symbolic_lower_triangular("l", d)
    s, n = sp.Symbol("s", nonnegative=True), sp.Symbol("n", positive=True)
    expr = derive_noise_moment(L, s, n)
    entries = [L[i, j] for i in range(d) for j in range(i + 1)]
    return sp.lambdify([entries, s, n], expr, "numpy")


def noise_moment_numeric(sigma_x: np.ndarray, sigma2: float, n: int) -> np.ndarray:
    """The Wick derivation of E[X^T xi xi^T X], evaluated at a numeric Sigma_x (for Lemma 2's checker)."""
    d = sigma_x.shape[0]
    chol = np.linalg.cholesky(sigma_x)
    entries = [chol[i, j] for i in range(d) for j in range(i + 1)]
    return np.asarray(_noise_moment_function(d)(entries, np.sqrt(sigma2), n), dtype=float)


def _is_zero_matrix(M: sp.Matrix) -> tuple[bool, str]:
    """Decide M == 0 identically: a non-zero value at a rational point proves it is not;
    otherwise cancel each entry exactly.  Returns (is_zero, a readable form of M)."""
    symbols = sorted(M.free_symbols, key=str)
    point = {s: sp.Rational(3 + 2 * i, 7 + i) for i, s in enumerate(symbols)}
    if any(sp.nsimplify(e.subs(point)) != 0 for e in M):
        entries = [sp.cancel(e) for e in M]
        shown = [sp.factor(e) if sp.count_ops(e) < 400 else e for e in entries]
        return False, str(shown)[:2000]
    numerators = [sp.expand(sp.numer(sp.together(e))) for e in M]
    return all(e == 0 for e in numerators), str(numerators)[:2000]


def decide_lemma1() -> SymbolicResult:
    A, L, n = generic_lemma_inputs(2)
    sigma = L * L.T
    derived = derive_wishart_fourth_moment(A, L, n)
    claimed = n * (sigma * A).trace() * sigma + n * (n + 1) * sigma * A * sigma
    holds, diff = _is_zero_matrix(claimed - derived)
    holds_sym, _ = _is_zero_matrix((claimed - derived).subs({A[0, 1]: A[1, 0]}))
    note = f"; with A symmetric the difference is {'zero' if holds_sym else 'non-zero'}"
    return SymbolicResult("d = 2, generic A and Sigma_x = L L^T, symbolic n", holds, diff + note)


def decide_lemma2() -> SymbolicResult:
    L = symbolic_lower_triangular("l", 2)
    s, n = sp.Symbol("sigma", nonnegative=True), sp.Symbol("n", positive=True)
    holds, diff = _is_zero_matrix(derive_noise_moment(L, s, n) - n * s**2 * L * L.T)
    return SymbolicResult("d = 2, Sigma_x = L L^T, symbolic n and sigma", holds, diff)


def decide_lemma3() -> SymbolicResult:
    derived = derive_trace_quadratic_gradient()
    d = sp.Symbol("d", integer=True, positive=True)
    W, A, B = (sp.MatrixSymbol(s, d, d) for s in "WAB")
    claimed = B.T * W * A.T + B * W * A
    difference = sp.simplify(derived - claimed)
    explicit = (derived - claimed).subs(d, 2).doit().as_explicit()
    holds, _ = _is_zero_matrix(sp.Matrix(explicit))
    return SymbolicResult("symbolic d (MatrixSymbol calculus), checked entrywise at d = 2", holds, str(difference))


# ----- d = 1, K = 2, every parameter a symbol ---------------------------------------------------
@lru_cache(maxsize=1)
def d1_problem() -> dict[str, sp.Expr]:
    """Exact optima at d = 1, K = 2, every parameter a symbol (Sigma_x = lx^2, Sigma_beta_k = lb_k^2)."""
    loss, s = derive_task_loss(1)
    n, sigma = s["n"], s["sigma"]
    w, p, mu, lx, lb = s["W"][0, 0], s["p"][0, 0], s["mu"][0, 0], s["Lx"][0, 0], s["Lb"][0, 0]
    pi = sp.Symbol("pi_1", positive=True)
    m1, m2 = sp.symbols("mu_1 mu_2", real=True)
    b1, b2 = sp.symbols("lb_1 lb_2", positive=True)
    p1, p2 = sp.symbols("p_1 p_2", real=True)
    sx = lx**2  # Sigma_x = lx^2 keeps every expression polynomial (no square roots)

    def task(mk: sp.Symbol | int, bk: sp.Symbol, pk: sp.Expr | int) -> sp.Expr:
        return loss.subs({mu: mk, lb: bk, p: pk})

    weights = (pi, 1 - pi)
    L1, L2 = task(m1, b1, p1), task(m2, b2, p2)
    total = sp.expand(weights[0] * L1 + weights[1] * L2)
    # plain training
    L_pt = total.subs({p1: 0, p2: 0})
    w_pt = sp.solve(sp.diff(L_pt, w), w)[0]
    loss_pt = sp.cancel(L_pt.subs(w, w_pt))
    # prompts for a given w (linear stationarity in each p_k)
    p1_w = sp.solve(sp.diff(total, p1), p1)[0]
    p2_w = sp.solve(sp.diff(total, p2), p2)[0]
    profile = sp.cancel(total.subs({p1: p1_w, p2: p2_w}))
    loss_ft = sp.cancel(profile.subs(w, w_pt))
    w_jt = sp.solve(sp.numer(sp.together(sp.diff(profile, w))), w)
    w_jt = [r for r in w_jt if r != 0][0]
    loss_jt = sp.cancel(profile.subs(w, w_jt))
    # debiased PGD: the zero-mean problem
    L_pgd = L_pt.subs({m1: 0, m2: 0})
    w_pgd = sp.solve(sp.diff(L_pgd, w), w)[0]
    loss_pgd = sp.cancel(L_pgd.subs(w, w_pgd))
    # per-task optimum of the debiased problem (attainable with task-specific heads at d = 1)
    per_task = 0
    for weight, bk in zip(weights, (b1, b2), strict=True):
        Lk = task(0, bk, 0)
        wk = sp.solve(sp.diff(Lk, w), w)[0]
        per_task += weight * Lk.subs(w, wk)
    st = sx * (pi * (b1**2 + m1**2) + (1 - pi) * (b2**2 + m2**2))
    sb = sx * (pi * b1**2 + (1 - pi) * b2**2)
    return {
        "n": n, "sigma": sigma, "sx": sx, "lx": lx, "b1": b1, "b2": b2, "pi": pi, "m1": m1, "m2": m2,
        "st": st, "sb": sb, "delta": st - sb,
        "wbar_pt": sx * w_pt, "loss_pt": loss_pt, "P_ft": sp.Matrix([p1_w.subs(w, w_pt), p2_w.subs(w, w_pt)]),
        "loss_ft": loss_ft, "wbar_jt": sx * w_jt, "P_jt": sp.Matrix([p1_w.subs(w, w_jt), p2_w.subs(w, w_jt)]),
        "loss_jt": loss_jt, "wbar_pgd": sx * w_pgd, "loss_pgd": loss_pgd, "per_task_pgd": sp.cancel(per_task),
    }


def decide_d1(claimed: Callable[[dict[str, sp.Expr]], sp.Expr], derived_key: str, noiseless: bool) -> SymbolicResult:
    """Claimed minus derived at d = 1, K = 2, every parameter a symbol: ``claimed(pr)`` against ``pr[derived_key]``
    of :func:`d1_problem` (sigma = 0 when ``noiseless``, the main text's setting)."""
    pr = d1_problem()
    diff = sp.Matrix([claimed(pr) - pr[derived_key]]) if not isinstance(pr[derived_key], sp.MatrixBase) \
        else claimed(pr) - pr[derived_key]
    if noiseless:
        diff = diff.subs(pr["sigma"], 0)
    holds, text = _is_zero_matrix(sp.Matrix(diff))
    setting = "d = 1, K = 2, all parameters symbolic" + (", sigma = 0" if noiseless else "")
    return SymbolicResult(setting, holds, text)


def d1_wbar(sig: sp.Expr, tr: sp.Expr, n: sp.Expr, extra: sp.Expr = 0) -> sp.Expr:
    """The d = 1 shape of Theorems 1, 3, 4: sig / ((n+1) sig + tr + extra)."""
    return sig / ((n + 1) * sig + tr + extra)


def d1_prompts(pr: dict[str, sp.Expr], wbar: sp.Expr, form: str) -> sp.Matrix:
    """The d = 1 prompt formulas of Theorems 2-3: ``main`` M_mu (1/wbar - n) sx, ``appendix`` M_mu (1/wbar - n sx)."""
    n, sx = pr["n"], pr["sx"]
    factor = (1 / wbar - n) * sx if form == "main" else 1 / wbar - n * sx
    return sp.Matrix([pr["m1"] * factor, pr["m2"] * factor])



def d1_noise(pr: dict[str, sp.Expr]) -> sp.Expr:
    """sigma^2 in :func:`d1_problem` (its symbol is sigma)."""
    return pr["sigma"] ** 2

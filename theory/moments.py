"""Gaussian moment identities, derived (Appendix A, Lemmas 1-3).

Everything here is derived, not copied: expectations of polynomials in
Gaussian vectors are computed exactly by writing every Gaussian as a linear
map of independent standard normals ``z`` (``x = L z`` with a symbolic
lower-triangular ``L``, so ``Sigma = L L^T`` stays polynomial) and using
``E[z^k] = (k-1)!!`` for even ``k``, 0 for odd ``k`` (Isserlis/Wick).

From that engine the module derives, for explicit small ``d`` and a symbolic
context length ``n``:

* :func:`derive_wishart_fourth_moment` - E[X^T X A X^T X] (Lemma 1's left side);
* :func:`derive_noise_moment` - E[X^T xi xi^T X] (Lemma 2's left side);
* :func:`derive_trace_quadratic_gradient` - d/dW tr(W A W^T B) (Lemma 3), by
  sympy's matrix calculus;

and the closed forms the rest of the toolkit uses
(:func:`wishart_fourth_moment`), which are tested equal to the derivations.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sympy as sp


def _standard_normal_moment(k: int) -> int:
    """E[z^k] for z ~ N(0, 1): (k-1)!! for even k, 0 for odd k."""
    if k % 2:
        return 0
    return int(sp.factorial2(k - 1)) if k > 0 else 1


def gaussian_expectation(expr: sp.Expr, normals: Sequence[sp.Symbol]) -> sp.Expr:
    """E[expr] over independent standard normals ``normals`` (other symbols are constants).

    ``expr`` must be a polynomial in ``normals``.  Exact: expands into
    monomials and replaces each by the product of its normal moments.

    >>> z = sp.Symbol("z"); a = sp.Symbol("a")
    >>> gaussian_expectation((a + z) ** 4, [z])
    a**4 + 6*a**2 + 3
    """
    if not normals:
        return sp.expand(expr)
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        factor = 1
        for power in monom:
            factor *= _standard_normal_moment(power)
            if factor == 0:
                break
        if factor:
            total += factor * coeff
    return sp.expand(total)


def symbolic_lower_triangular(name: str, d: int) -> sp.Matrix:
    """A d x d lower-triangular matrix of symbols, the Cholesky factor of a generic SPD matrix."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True) if j <= i else 0)


def standard_normals(name: str, d: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{i}", real=True) for i in range(d)]


def derive_wishart_fourth_moment(A: sp.Matrix, L: sp.Matrix, n: sp.Expr) -> sp.Matrix:
    """E[X^T X A X^T X] for X with n i.i.d. rows x_i ~ N(0, L L^T), n symbolic.

    X^T X A X^T X = sum_{i,j} x_i x_i^T A x_j x_j^T.  The n diagonal terms
    (i = j) are one single-row expectation, computed by Wick's theorem; the
    n(n-1) off-diagonal terms factor by independence into Sigma A Sigma.
    """
    d = L.shape[0]
    z = standard_normals("zw", d)
    x = L * sp.Matrix(z)
    sigma = L * L.T
    single = (x * x.T * A * x * x.T).applyfunc(lambda e: gaussian_expectation(e, z))
    return (n * single + n * (n - 1) * sigma * A * sigma).applyfunc(sp.expand)


def derive_noise_moment(L: sp.Matrix, sigma: sp.Symbol, n: sp.Expr) -> sp.Matrix:
    """E[X^T xi xi^T X] with xi ~ N(0, sigma^2 I_n) independent of X (Lemma 2's left side).

    sum_{i,j} xi_i xi_j x_i x_j^T: the off-diagonal terms vanish (E[xi_i] = 0
    and independence); the n diagonal terms are one Wick expectation.
    """
    d = L.shape[0]
    z = standard_normals("zn", d)
    e = sp.Symbol("e_noise", real=True)
    x = L * sp.Matrix(z)
    single = (sigma**2 * e**2 * x * x.T).applyfunc(lambda t: gaussian_expectation(t, [*z, e]))
    return (n * single).applyfunc(sp.expand)


def derive_trace_quadratic_gradient() -> sp.Expr:
    """d/dW tr(W A W^T B) for d x d matrices, by sympy's matrix calculus (Lemma 3's left side)."""
    d = sp.Symbol("d", integer=True, positive=True)
    W, A, B = (sp.MatrixSymbol(s, d, d) for s in "WAB")
    return sp.Trace(W * A * W.T * B).diff(W)


@cache
def _generic_symbols(d: int) -> tuple[sp.Matrix, sp.Matrix, sp.Symbol]:
    A = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"a_{i}{j}", real=True))
    L = symbolic_lower_triangular("l", d)
    n = sp.Symbol("n", positive=True, integer=True)
    return A, L, n


def generic_lemma_inputs(d: int) -> tuple[sp.Matrix, sp.Matrix, sp.Symbol]:
    """A generic (non-symmetric) symbolic A, a symbolic Cholesky factor L and symbolic n, at dimension d."""
    return _generic_symbols(d)


def wishart_fourth_moment(sigma: Any, A: Any, n: Any) -> Any:
    """E[X^T X A X^T X] = n tr(Sigma A) Sigma + n^2 Sigma A Sigma + n Sigma A^T Sigma.

    The general form for any square A, obtained from :func:`derive_wishart_fourth_moment`
    (Wick: E[x x^T A x x^T] = tr(A Sigma) Sigma + Sigma A Sigma + Sigma A^T Sigma).
    For symmetric A it reduces to Lemma 1's n tr(Sigma A) Sigma + n(n+1) Sigma A Sigma.
    Works on numpy arrays and sympy matrices alike.
    """
    return n * (sigma @ A).trace() * sigma + n * n * (sigma @ A @ sigma) + n * (sigma @ A.T @ sigma)

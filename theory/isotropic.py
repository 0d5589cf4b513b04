"""The isotropic, rank-one-mean specialisation with the dimension d a symbol.

Setting: ``Sigma_x = xi I``, task covariances ``Sigma_beta_k = s_k I`` and
collinear means ``mu_k = m_k u`` (|u| = 1), any K, weights ``pi_k``, noise
``sigma^2``; d and n are symbols too.  The loss (9) is linear in each task's
moments, and the prompt term of the joint profile removes
``sum_k pi_k m_k^T Sigma_x m_k`` (quadratic in the means), so every optimal
*loss* and W depends on the tasks only through ``s = sum_k pi_k s_k`` and
``a = sum_k pi_k m_k^2``; the optimal prompt of task k is ``m_k`` times a
function of those.  The derivation therefore uses one task with covariance
``s I`` and mean ``sqrt(a) u`` (exact, not an approximation; the tests check
it against K = 2 mixtures and against :func:`theory.symbolic.d1_problem`).  The problem is invariant under rotations fixing u, so the (unique)
optima commute with them: W = a P_u + b P_perp and every prompt is a multiple
of u, where P_u = u u^T and P_perp = I - P_u has rank d - 1.  Such matrices
form a commutative algebra, represented here by :class:`CommutingBlocks`; the
trace is ``a + (d - 1) b``.

:func:`isotropic_problem` feeds these objects to the *same*
:func:`theory.loss.task_loss_formula` that the numeric code evaluates (itself
proved equal to a Wick expansion of the predictor's loss), then solves the
stationarity conditions with sympy - independently of :mod:`theory.optima`.
Its closed forms are what :mod:`theory.asymptotics` expands in 1/n.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy as sp

from theory.loss import task_loss_formula


@dataclass(frozen=True)
class CommutingBlocks:
    """The matrix ``a u u^T + b (I - u u^T)`` in R^{d x d}, d symbolic.

    A vector ``q u`` is represented as ``CommutingBlocks(q, 0, d)``: then
    ``v^T A w`` is the ``[0, 0]`` entry (the u-component) of ``v.T @ A @ w``.
    """

    a: Any
    b: Any
    d: Any

    def __matmul__(self, other: CommutingBlocks) -> CommutingBlocks:
        return CommutingBlocks(self.a * other.a, self.b * other.b, self.d)

    def __add__(self, other: CommutingBlocks) -> CommutingBlocks:
        return CommutingBlocks(self.a + other.a, self.b + other.b, self.d)

    def __sub__(self, other: CommutingBlocks) -> CommutingBlocks:
        return CommutingBlocks(self.a - other.a, self.b - other.b, self.d)

    def __mul__(self, scalar: Any) -> CommutingBlocks:
        return CommutingBlocks(scalar * self.a, scalar * self.b, self.d)

    __rmul__ = __mul__

    def __neg__(self) -> CommutingBlocks:
        return CommutingBlocks(-self.a, -self.b, self.d)

    @property
    def T(self) -> CommutingBlocks:  # noqa: N802 (numpy/sympy spelling)
        return self

    def trace(self) -> Any:
        return self.a + (self.d - 1) * self.b

    def __getitem__(self, index: tuple[int, int]) -> Any:
        if index != (0, 0):
            raise IndexError("CommutingBlocks: only the u-component [0, 0] is defined")
        return self.a


def _quadratic_minimum(objective: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """For objective = A x^2 + B x + C (A > 0): the minimiser -B / 2A and the minimum C - B^2 / 4A."""
    poly = sp.Poly(objective, x)
    if poly.degree() != 2:
        raise ArithmeticError(f"objective is not quadratic in {x}")
    A, B, C = (poly.coeff_monomial(x**k) for k in (2, 1, 0))
    return -B / (2 * A), C - sp.cancel(B**2 / (4 * A))


@lru_cache(maxsize=1)
def isotropic_problem() -> dict[str, Any]:
    """Exact optimal losses, W_bar and prompts of PT, FT, JT and PGD, d and n symbolic.

    Keys: the symbols (``n, d, xi, s, a, sigma``), ``loss_pt``, ``loss_ft``,
    ``loss_jt``, ``loss_pgd`` (sympy expressions), ``wbar_pt``, ``wbar_jt``
    (the pair (u-component, perp-component) of Sigma_x W) and ``prompt_ft``,
    ``prompt_jt`` (the u-component of p_k divided by m_k).
    """
    n = sp.Symbol("n", positive=True)
    d = sp.Symbol("d", positive=True)
    xi, s, a = sp.symbols("xi s a", positive=True)
    sigma = sp.Symbol("sigma", nonnegative=True)
    wa, wb, q = sp.symbols("w_a w_b q", real=True)
    m = sp.sqrt(a)

    def blocks(x: Any, y: Any) -> CommutingBlocks:
        return CommutingBlocks(x, y, d)

    sx, W = blocks(xi, xi), blocks(wa, wb)
    total = sp.expand(task_loss_formula(sx, blocks(s + a, s), blocks(m, 0), sigma**2, W, blocks(q, 0), n))

    def minimise_w(objective: sp.Expr) -> tuple[dict[sp.Symbol, sp.Expr], sp.Expr]:
        """The objective separates: f(w_a) + (d - 1) g(w_b); minimise each block on its own."""
        poly = sp.Poly(objective, wa, wb)
        if poly.coeff_monomial(wa * wb) != 0:
            raise ArithmeticError("the blocks of W are coupled; the commuting-block reduction does not apply")
        part_a = sp.Add(*(c * wa**i for (i, j), c in poly.terms() if j == 0 and i > 0))
        part_b = sp.expand(objective - part_a)
        wa_star, min_a = _quadratic_minimum(part_a, wa)
        wb_star, min_b = _quadratic_minimum(part_b, wb)
        return {wa: sp.cancel(wa_star), wb: sp.cancel(wb_star)}, min_a + min_b

    plain = total.subs(q, 0)
    w_pt, loss_pt = minimise_w(plain)
    q_of_w, profile = _quadratic_minimum(total, q)  # the prompt for a given W
    profile = sp.expand(sp.cancel(profile))  # quadratic in (w_a, w_b): the prompt term cancels W's inverse
    w_jt, loss_jt = minimise_w(profile)
    w_pgd, loss_pgd = minimise_w(plain.subs(a, 0))
    return {
        "n": n, "d": d, "xi": xi, "s": s, "a": a, "sigma": sigma,
        "loss_pt": loss_pt, "loss_ft": sp.cancel(profile.subs(w_pt)), "loss_jt": loss_jt, "loss_pgd": loss_pgd,
        "wbar_pt": tuple(xi * w_pt[w] for w in (wa, wb)),
        "wbar_jt": tuple(xi * w_jt[w] for w in (wa, wb)),
        "prompt_ft": sp.cancel(q_of_w.subs(w_pt) / m),
        "prompt_jt": sp.cancel(q_of_w.subs(w_jt) / m),
    }

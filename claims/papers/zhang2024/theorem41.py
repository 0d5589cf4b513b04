"""Theorem 4.1 of Zhang, Frei and Bartlett (2024): where gradient flow on the one-layer LSA ends.

Transcribed statement (Theorem 4.1, with Assumption 3.3): started from the balanced initialisation
``W^{PV}(0) = s [[0, 0], [0, 1]]``, ``W^{KQ}(0) = s [[Theta Theta^T, 0], [0, 0]]`` with a small scale s, gradient
flow on ``L = 1/2 E[(y_hat - <w, x_query>)^2]`` converges to a global minimum of L, at

    W^{PV}_* = [[0, 0], [0, tr(Gamma^{-2})^{1/4}]],   W^{KQ}_* = [[tr(Gamma^{-2})^{-1/4} Gamma^{-1}, 0], [0, 0]],
    Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I_d,

so ``W^{PV}_22 W^{KQ}_11 -> Gamma^{-1}`` and the trained transformer predicts ``x^T Gamma^{-1} (1/N) X^T y``.

Three claims:

* ``ZFB.T4.1.W``: the product (the global minimiser, as a predictor) against the toolkit's plain-training optimum
  (:func:`theory.optima.plain_training_optimum`, ``W*_PT = N^{-1} Gamma^{-1}`` if the claim holds);
* ``ZFB.T4.1.weights``: the two limiting matrices.  Which factorisation gradient flow picks is not a property of
  the minimum but of the start: for a loss of the product ``A = u U`` (u = W^{PV}_22, U = W^{KQ}_11), gradient
  flow conserves ``||U||_F^2 - u^2`` (derived here and decided by sympy), which Assumption 3.3 starts at 0; the
  derived limit is therefore the balanced factorisation ``u = ||A*||_F^{1/2}``, ``U = A* / u`` of the derived
  product A* = N W*_PT (the gradient flow itself is integrated in the tests);
* ``ZFB.T4.1.loss``: the value of the minimum, ``E(y_hat - y)^2`` at ``M = N`` on the training distribution by
  their Theorem 4.2 (the paper's L is half of it), against ``L*_PT``.

What the checks cover: the global minimiser and the minimum over the reduced predictors (and, in the tests, over
every entry of the LSA's two matrices that the prediction reads); the convergence of gradient flow from
Assumption 3.3 is evidenced by integrating the flow in the tests, not proved here.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from claims.papers.zhang2024.model import DOCS, KEY, MODEL_TEXT, SOURCE, claimed_product, claimed_test_error, claimed_weights, in_model, reduced_W
from claims.record import Claim, Comparison, StatedParameters, SymbolicResult, compare, scoped
from theory.isotropic import CommutingBlocks
from theory.loss import derive_task_loss, task_loss_formula
from theory.mixture import TaskMixture
from theory.optima import plain_training_optimum
from theory.strategy import Strategy

_OUTSIDE = "outside the paper's training model (" + MODEL_TEXT + ")"


def stated_parameters(m: TaskMixture, n: int) -> StatedParameters:
    """The stated optimum as reduced parameters: W = Gamma^{-1} / N (N = n), no prompts."""
    return StatedParameters("reduced", reduced_W(claimed_product(m.sigma_x, n), n), np.zeros((m.K, m.d)))


def _check_product(m: TaskMixture, n: int) -> Comparison:
    """Gamma^{-1}/N against W*_PT (Theorem 4.1 with the mapping W = W^{PV}_22 W^{KQ}_11 / N)."""
    opt = plain_training_optimum(m, n)
    claimed = reduced_W(claimed_product(m.sigma_x, n), n)
    return compare("W*_PT = W^PV_22 W^KQ_11 / N", claimed, opt.W,
                   note=f"N W*_PT vs Gamma^-1 in the paper's units; loss at the claim {opt.loss:.10g}")


def _corrected_product(m: TaskMixture, n: int) -> Comparison:
    """The toolkit's own statement: W*_PT = ((N + 1) Lambda + tr(Lambda) I)^{-1}, against the derived optimum."""
    claimed = np.linalg.inv((n + 1) * m.sigma_x + np.trace(m.sigma_x) * np.eye(m.d))
    return compare("W*_PT = ((N + 1) Lambda + tr(Lambda) I)^{-1}", claimed, plain_training_optimum(m, n).W)


def _corrected_loss(m: TaskMixture, n: int) -> Comparison:
    """The toolkit's own statement: L*_PT = tr(Lambda) - N tr(W_bar*_PT Lambda), W_bar*_PT = Lambda W*_PT."""
    opt = plain_training_optimum(m, n)
    claimed = float(np.trace(m.sigma_x) - n * np.trace(m.sigma_x @ opt.W @ m.sigma_x))
    return compare("L*_PT = tr(Lambda) - N tr(W_bar*_PT Lambda)", claimed, opt.loss)


def derived_weights(m: TaskMixture, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The balanced factorisation of the derived product A* = N W*_PT: (W^PV, W^KQ), (d+1) x (d+1) each."""
    d = m.d
    A = n * plain_training_optimum(m, n).W
    u = float(np.linalg.norm(A)) ** 0.5
    W_pv = np.zeros((d + 1, d + 1))
    W_pv[d, d] = u
    W_kq = np.zeros((d + 1, d + 1))
    W_kq[:d, :d] = A / u
    return W_pv, W_kq


def _check_weights(m: TaskMixture, n: int) -> Comparison:
    """(W^PV_*, W^KQ_*) of Theorem 4.1 against the balanced factorisation of the derived product."""
    claimed = np.stack(claimed_weights(m.sigma_x, n))
    derived = np.stack(derived_weights(m, n))
    return compare("(W^PV_*, W^KQ_*)", claimed, derived,
                   note="derived: the factorisation with ||W^KQ_11||_F = W^PV_22 (conserved from Assumption 3.3's start)")


def _check_loss(m: TaskMixture, n: int) -> Comparison:
    """Theorem 4.2 at M = N on the training tasks (B = I, no noise) against L*_PT (the toolkit's E(f - y)^2 = 2 L)."""
    claimed = claimed_test_error(m.sigma_x, n, n, np.eye(m.d), 0.0)
    return compare("L*_PT = E(y_hat - y)^2 at the minimum", claimed, plain_training_optimum(m, n).loss,
                   note="the paper's objective L = 1/2 E(...)^2 is half of both numbers")


# ----- symbolic decisions -------------------------------------------------------------------------
def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(sp.cancel(sp.together(expr))) == 0


def _d1_optimum() -> tuple[sp.Expr, sp.Expr, dict[str, sp.Expr]]:
    """(w*, L*) at d = 1 from the brute-force Wick expansion of E[(x w X^T y - y)^2] (theory.loss.derive_task_loss)."""
    loss, s = derive_task_loss(1)
    lam = sp.Symbol("lambda", positive=True)
    w = s["W"][0, 0]
    plain = loss.subs({s["p"][0, 0]: 0, s["mu"][0, 0]: 0, s["Lb"][0, 0]: 1, s["sigma"]: 0, s["Lx"][0, 0]: sp.sqrt(lam)})
    w_star = sp.solve(sp.diff(plain, w), w)[0]
    return sp.simplify(w_star), sp.simplify(plain.subs(w, w_star)), {"n": s["n"], "lambda": lam}


def _isotropic_optimum() -> tuple[sp.Expr, sp.Expr, dict[str, sp.Expr]]:
    """(w*, L*) for Lambda = lambda I_d, d symbolic, W = w I (the optimum commutes with rotations): the toolkit's
    loss formula evaluated on commuting blocks (theory.isotropic), minimised by sympy."""
    n, d, lam, w = sp.symbols("n d lambda w", positive=True)

    def blocks(x: sp.Expr) -> CommutingBlocks:
        return CommutingBlocks(x, x, d)

    zero = CommutingBlocks(0, 0, d)
    loss = sp.expand(task_loss_formula(blocks(lam), blocks(1), zero, 0, blocks(w), zero, n))
    w_star = sp.solve(sp.diff(loss, w), w)[0]
    return sp.simplify(w_star), sp.simplify(loss.subs(w, w_star)), {"n": n, "d": d, "lambda": lam}


def _d2_optimum() -> tuple[sp.Matrix, sp.Matrix, sp.Symbol]:
    """(W*, Lambda) at d = 2 with Lambda = L L^T generic and W generic (4 unknowns), symbolic n."""
    n = sp.Symbol("n", positive=True)
    l11, l22 = sp.symbols("l11 l22", positive=True)
    l21 = sp.Symbol("l21", real=True)
    L = sp.Matrix([[l11, 0], [l21, l22]])
    lam = L * L.T
    W = sp.Matrix(2, 2, sp.symbols("w0:4", real=True))
    zero = sp.zeros(2, 1)
    loss = sp.expand(task_loss_formula(lam, sp.eye(2), zero, 0, W, zero, n))
    sol = sp.solve([sp.diff(loss, v) for v in W], list(W), dict=True)[0]
    return W.subs(sol), lam, n


def decide_product() -> SymbolicResult:
    """Gamma^{-1}/N against the optimum solved by sympy: d = 1 (brute-force Wick), Lambda = lambda I_d (d symbolic),
    and d = 2 with a generic Lambda = L L^T and generic W."""
    w1, _, s1 = _d1_optimum()
    n, lam = s1["n"], s1["lambda"]
    claimed1 = 1 / (n * ((1 + 1 / n) * lam + lam / n))
    wi, _, si = _isotropic_optimum()
    claimedi = 1 / (si["n"] * ((1 + 1 / si["n"]) * si["lambda"] + si["d"] * si["lambda"] / si["n"]))
    W2, lam2, n2 = _d2_optimum()
    gamma2 = (1 + 1 / n2) * lam2 + lam2.trace() / n2 * sp.eye(2)
    diff2 = (gamma2.inv() / n2 - W2).applyfunc(lambda e: sp.cancel(sp.together(e)))
    parts = [_zero(claimed1 - w1), _zero(claimedi - wi), all(e == 0 for e in diff2)]
    return SymbolicResult("d = 1 (Wick), Lambda = lambda I with d symbolic, d = 2 generic Lambda = L L^T; N symbolic",
                          all(parts), f"d=1: {sp.simplify(claimed1 - w1)}; isotropic: {sp.simplify(claimedi - wi)}; "
                                      f"d=2: {list(diff2)}")


def decide_weights() -> SymbolicResult:
    """Gradient flow on any loss of A = u U conserves ||U||_F^2 - u^2 (d = 2, U and dL/dA generic symbols); with the
    balanced start and u U = Gamma^{-1} (Lambda = lambda I, d symbolic) the limit is the stated pair."""
    u = sp.Symbol("u", real=True)
    U = sp.Matrix(2, 2, sp.symbols("U0:4", real=True))
    G = sp.Matrix(2, 2, sp.symbols("G0:4", real=True))  # dL/dA at A = u U
    dU, du = -u * G, -sum(U[i] * G[i] for i in range(4))  # -dL/dU, -dL/du by the chain rule
    rate = sp.expand(2 * sum(U[i] * dU[i] for i in range(4)) - 2 * u * du)
    n, d, lam = sp.symbols("n d lambda", positive=True)
    g = 1 / ((1 + 1 / n) * lam + d * lam / n)  # Gamma^{-1} = g I
    uu = sp.Symbol("uu", positive=True)
    balanced = sp.solve(sp.Eq(d * (g / uu) ** 2, uu**2), uu)  # ||Gamma^{-1}/u||_F^2 = u^2
    stated = (d * g**2) ** sp.Rational(1, 4)  # tr(Gamma^{-2})^{1/4}
    matches = len(balanced) == 1 and _zero(balanced[0] ** 4 - stated**4)  # both positive: compare 4th powers
    return SymbolicResult("conservation at d = 2 (generic U, u, dL/dA); the balanced factorisation with Lambda = "
                          "lambda I, d and N symbolic", rate == 0 and matches,
                          f"d/dt(||U||^2 - u^2) = {rate}; balanced u = {balanced}, stated {stated}")


def decide_loss() -> SymbolicResult:
    """Theorem 4.2 at M = N on the training tasks against the minimum solved by sympy (d = 1 and Lambda = lambda I)."""
    _, l1, s1 = _d1_optimum()
    n, lam = s1["n"], s1["lambda"]
    g = 1 / ((1 + 1 / n) * lam + lam / n)
    claimed1 = (g**2 * lam**3 + lam * g**2 * lam**2) / n + (g**2 * lam**3 + 2 * lam * g**2 * lam**2 + lam**2 * g**2 * lam) / n**2
    _, li, si = _isotropic_optimum()
    n, d, lam = si["n"], si["d"], si["lambda"]
    g = 1 / ((1 + 1 / n) * lam + d * lam / n)
    tr = d * lam
    claimedi = (d * g**2 * lam**3 + tr * d * g**2 * lam**2) / n + (d * g**2 * lam**3 + 2 * tr * d * g**2 * lam**2
                                                                    + tr**2 * d * g**2 * lam) / n**2
    diffs = [sp.simplify(claimed1 - l1), sp.simplify(claimedi - li)]
    return SymbolicResult("d = 1 (Wick) and Lambda = lambda I with d symbolic; N symbolic, w ~ N(0, I), sigma = 0",
                          all(_zero(e) for e in diffs), f"d=1: {diffs[0]}; isotropic: {diffs[1]}")


# ----- the claims ---------------------------------------------------------------------------------
_SCOPE_TEXT = MODEL_TEXT + " (their Section 3)"

PRODUCT = Claim(
    id="ZFB.T4.1.W", paper=KEY, source=f"Theorem 4.1 ({SOURCE})", results=("Theorem 4.1",),
    statement="At the global minimum reached by gradient flow, W^PV_22 W^KQ_11 = Gamma^{-1} with "
              "Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I_d: the LSA predicts x^T Gamma^{-1} (1/N) X^T y "
              "(toolkit: W*_PT = Gamma^{-1} / N at n = N)",
    check=scoped("W*_PT", in_model, _OUTSIDE, _check_product), scope=in_model, scope_text=_SCOPE_TEXT,
    optimum=Strategy.PT, stated=stated_parameters, symbolic=decide_product,
    correction="W*_PT = ((N + 1) Lambda + tr(Lambda) I)^{-1} (derived)", docs=DOCS + "#theorem-41",
    corrected=scoped("W*_PT", in_model, _OUTSIDE, _corrected_product),
    tex={"statement": r"w^{PV}_{22} W^{KQ}_{11} \to \Gamma^{-1},\ \Gamma = (1+\tfrac1N)\Lambda + \tfrac{\operatorname{tr}\Lambda}{N} I_d"},
)

WEIGHTS = Claim(
    id="ZFB.T4.1.weights", paper=KEY, source=f"Theorem 4.1 ({SOURCE})", results=("Theorem 4.1",),
    statement="From Assumption 3.3's balanced start, gradient flow converges to W^PV_* = tr(Gamma^{-2})^{1/4} e e^T "
              "and W^KQ_* = tr(Gamma^{-2})^{-1/4} [[Gamma^{-1}, 0], [0, 0]]",
    check=scoped("(W^PV_*, W^KQ_*)", in_model, _OUTSIDE, _check_weights), scope=in_model, scope_text=_SCOPE_TEXT,
    optimum=Strategy.PT, training=False, stated=stated_parameters, symbolic=decide_weights,
    correction="the balanced factorisation of N W*_PT (derived)", docs=DOCS + "#theorem-41",
)

LOSS = Claim(
    id="ZFB.T4.1.loss", paper=KEY, source=f"Theorems 4.1-4.2 ({SOURCE}), M = N on the training distribution",
    results=("Theorem 4.1", "Theorem 4.2"),
    statement="The minimum of E(y_hat - y)^2 is (1/N)[tr(Gamma^{-2} Lambda^3) + tr(Lambda) tr(Gamma^{-2} Lambda^2)] + "
              "(1/N^2)[tr(Gamma^{-2} Lambda^3) + 2 tr(Lambda) tr(Gamma^{-2} Lambda^2) + tr(Lambda)^2 tr(Gamma^{-2} Lambda)] "
              "(Theorem 4.2's error of the minimiser at M = N, averaged over w ~ N(0, I_d); twice the paper's L)",
    check=scoped("L*_PT", in_model, _OUTSIDE, _check_loss), scope=in_model, scope_text=_SCOPE_TEXT,
    optimum=Strategy.PT, loss=True, stated=stated_parameters, symbolic=decide_loss,
    correction="L*_PT = tr(Lambda) - N tr(W_bar*_PT Lambda) (derived)", docs=DOCS + "#theorem-41",
    corrected=scoped("L*_PT", in_model, _OUTSIDE, _corrected_loss),
)

CLAIMS = (PRODUCT, WEIGHTS, LOSS)

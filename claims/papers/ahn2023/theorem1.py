"""Theorem 1 and eq. (7) of Ahn, Cheng, Daneshmand and Sra (2023): the global minimum of one linear attention layer.

Transcribed statements.

* Theorem 1 (non-isotropic data): for ``x^(i) ~ N(0, Sigma)`` with ``Sigma = U diag(lambda_1, ..., lambda_d) U^T`` and
  ``w* ~ N(0, I_d)``, the parameters ``P_0 = [[0_{dxd}, 0], [0, 1]]`` and
  ``Q_0 = -[[U diag(1 / ((n+1)/n lambda_i + (1/n) sum_k lambda_k)) U^T, 0], [0, 0]]`` are a global minimum of the
  single-layer in-context loss: the layer performs one step of gradient descent preconditioned by
  ``((n+1)/n Sigma + tr(Sigma)/n I)^{-1}``.
* Eq. (7) (the isotropic case ``Sigma = I_d``): ``Q_0 = -((n-1)/n + (d+2)/n)^{-1} [[I_d, 0], [0, 0]]``.

Claims ``ACDS.T1`` and ``ACDS.eq7``: the stated parameters mapped to the reduced predictor
(``W = -P_{d+1,d+1} Q_11^T / n``, :func:`model.reduced_W`) against the toolkit's plain-training optimum
(:func:`theory.optima.plain_training_optimum`).  'Global minimum' is over every entry of P and Q: only P's last row
and Q's first d columns reach the output, and the tests minimise the exact loss over all of those (and compare with
:func:`theory.unconstrained.unconstrained_optimum`, whose eq. (6) is this layer when there are no prompts).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from claims.papers.ahn2023.model import DOCS, KEY, MODEL_TEXT, SOURCE, claimed_isotropic, claimed_theorem1, in_model, isotropic, reduced_W
from claims.record import Claim, Comparison, StatedParameters, SymbolicResult, compare, scoped
from theory.isotropic import CommutingBlocks
from theory.loss import derive_task_loss, task_loss_formula
from theory.mixture import TaskMixture
from theory.optima import plain_training_optimum
from theory.strategy import Strategy


def stated_theorem1(m: TaskMixture, n: int) -> StatedParameters:
    """Theorem 1's (P_0, Q_0) as reduced parameters (no prompts)."""
    return StatedParameters("reduced", reduced_W(*claimed_theorem1(m.sigma_x, n), n), np.zeros((m.K, m.d)))


def stated_isotropic(m: TaskMixture, n: int) -> StatedParameters:
    """Eq. (7)'s (P_0, Q_0) as reduced parameters (no prompts)."""
    return StatedParameters("reduced", reduced_W(*claimed_isotropic(m.d, n), n), np.zeros((m.K, m.d)))


def _check_theorem1(m: TaskMixture, n: int) -> Comparison:
    """Theorem 1's preconditioner, mapped to W, against W*_PT."""
    opt = plain_training_optimum(m, n)
    return compare("W*_PT = -P_0[d+1,d+1] Q_0[:d,:d]^T / n", stated_theorem1(m, n).W, opt.W,
                   note=f"L*_PT = {opt.loss:.10g}")


def _check_isotropic(m: TaskMixture, n: int) -> Comparison:
    """Eq. (7), mapped to W, against W*_PT on Sigma = I."""
    return compare("W*_PT (Sigma = I)", stated_isotropic(m, n).W, plain_training_optimum(m, n).W)


def _corrected_theorem1(m: TaskMixture, n: int) -> Comparison:
    """The toolkit's own statement: W*_PT = ((n+1) Sigma + tr(Sigma) I)^{-1}, against the derived optimum."""
    claimed = np.linalg.inv((n + 1) * m.sigma_x + np.trace(m.sigma_x) * np.eye(m.d))
    return compare("W*_PT = ((n+1) Sigma + tr(Sigma) I)^{-1}", claimed, plain_training_optimum(m, n).W)


def _corrected_isotropic(m: TaskMixture, n: int) -> Comparison:
    """The toolkit's own statement at Sigma = I_d: W*_PT = I_d / (n + d + 1), against the derived optimum."""
    return compare("W*_PT = I_d / (n + d + 1)", np.eye(m.d) / (n + m.d + 1), plain_training_optimum(m, n).W)


# ----- symbolic decisions -------------------------------------------------------------------------
def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(sp.cancel(sp.together(expr))) == 0


def _d1_w(lam: sp.Expr) -> tuple[sp.Expr, sp.Symbol]:
    """The minimiser at d = 1 from the brute-force Wick expansion of the reduced predictor's loss."""
    loss, s = derive_task_loss(1)
    w = s["W"][0, 0]
    plain = loss.subs({s["p"][0, 0]: 0, s["mu"][0, 0]: 0, s["Lb"][0, 0]: 1, s["sigma"]: 0, s["Lx"][0, 0]: sp.sqrt(lam)})
    return sp.solve(sp.diff(plain, w), w)[0], s["n"]


def decide_theorem1() -> SymbolicResult:
    """d = 1 (Wick) and d = 2 with Sigma = U diag(lambda_1, lambda_2) U^T, U a rational rotation, n symbolic: the stated
    Q_0 (literal, through its eigen-decomposition) against the optimum solved by sympy."""
    lam = sp.Symbol("lambda", positive=True)
    w1, n1 = _d1_w(lam)
    claimed1 = 1 / ((n1 + 1) / n1 * lam + lam / n1) / n1  # -P Q / n with d = 1, U = 1
    n = sp.Symbol("n", positive=True)
    l1, l2 = sp.symbols("lambda_1 lambda_2", positive=True)
    t = sp.Symbol("t", real=True)
    U = sp.Matrix([[1 - t**2, -2 * t], [2 * t, 1 - t**2]]) / (1 + t**2)  # orthogonal for every t
    Sigma = U * sp.diag(l1, l2) * U.T
    Q11 = -U * sp.diag(*[1 / ((n + 1) / n * li + (l1 + l2) / n) for li in (l1, l2)]) * U.T
    W = sp.Matrix(2, 2, sp.symbols("w0:4", real=True))
    zero = sp.zeros(2, 1)
    loss = task_loss_formula(Sigma, sp.eye(2), zero, 0, W, zero, n)  # strictly convex in W: a zero gradient decides it
    at_claim = dict(zip(list(W), list(-Q11.T / n), strict=True))
    gradient = [sp.cancel(sp.together(sp.diff(loss, v).subs(at_claim))) for v in W]
    holds = _zero(claimed1 - w1) and all(e == 0 for e in gradient)
    return SymbolicResult("d = 1 (Wick: claimed minus the solved minimiser) and d = 2 with Sigma = U diag(lambda_1, "
                          "lambda_2) U^T (U a rotation with rational entries in t; the gradient of the strictly convex "
                          "loss at the claimed W), n symbolic", holds,
                          f"d=1: {sp.simplify(claimed1 - w1)}; d=2 gradient at the claim: {gradient}")


def decide_isotropic() -> SymbolicResult:
    """Eq. (7) against the optimum for Sigma = I_d with d and n symbolic (the toolkit's loss on commuting blocks), and
    at d = 1 from the Wick expansion."""
    w1, n1 = _d1_w(sp.Integer(1))
    claimed1 = 1 / ((n1 - 1) / n1 + 3 / n1) / n1
    n, d, w = sp.symbols("n d w", positive=True)

    def blocks(x: sp.Expr) -> CommutingBlocks:
        return CommutingBlocks(x, x, d)

    zero = CommutingBlocks(0, 0, d)
    loss = sp.expand(task_loss_formula(blocks(1), blocks(1), zero, 0, blocks(w), zero, n))
    w_star = sp.solve(sp.diff(loss, w), w)[0]
    claimed = 1 / ((n - 1) / n + (d + 2) / n) / n
    diffs = [sp.simplify(claimed1 - w1), sp.simplify(claimed - w_star)]
    return SymbolicResult("Sigma = I_d with d and n symbolic (commuting blocks), and d = 1 (Wick)",
                          all(_zero(e) for e in diffs), f"d=1: {diffs[0]}; symbolic d: {diffs[1]}")


# ----- the claims ---------------------------------------------------------------------------------
THEOREM1 = Claim(
    id="ACDS.T1", paper=KEY, source=f"Theorem 1 ({SOURCE})", results=("Theorem 1",),
    statement="For x ~ N(0, Sigma), Sigma = U diag(lambda) U^T, w* ~ N(0, I_d): P_0 = [[0, 0], [0, 1]], "
              "Q_0 = -[[U diag(1/((n+1)/n lambda_i + (1/n) sum_k lambda_k)) U^T, 0], [0, 0]] is a global minimum of the "
              "one-layer in-context loss (toolkit: W*_PT = ((n+1) Sigma + tr(Sigma) I)^{-1})",
    check=scoped("W*_PT", in_model, "outside the theorem's model (" + MODEL_TEXT + ")", _check_theorem1),
    scope=in_model, scope_text=MODEL_TEXT + " (their Theorem 1)", optimum=Strategy.PT, stated=stated_theorem1,
    symbolic=decide_theorem1, correction="W*_PT = ((n + 1) Sigma + tr(Sigma) I)^{-1} (derived)", docs=DOCS + "#theorem-1",
    corrected=scoped("W*_PT", in_model, "outside the theorem's model (" + MODEL_TEXT + ")", _corrected_theorem1),
    tex={"statement": r"Q_0 = -\begin{bmatrix} U \operatorname{diag}\big(\tfrac{1}{\frac{n+1}{n}\lambda_i + \frac1n"
                      r"\sum_k \lambda_k}\big) U^\top & 0 \\ 0 & 0 \end{bmatrix}"},
)

ISOTROPIC = Claim(
    id="ACDS.eq7", paper=KEY, source=f"Eq. (7), Section 3 ({SOURCE})", results=("Theorem 1",),
    statement="For Sigma = I_d: Q_0 = -((n-1)/n + (d+2)/n)^{-1} [[I_d, 0], [0, 0]], P_0 = [[0, 0], [0, 1]] "
              "(toolkit: W*_PT = I_d / (n + d + 1))",
    check=scoped("W*_PT", isotropic, "outside eq. (7)'s hypothesis Sigma = I_d (" + MODEL_TEXT + ")", _check_isotropic),
    scope=isotropic, scope_text=MODEL_TEXT + " with Sigma = I_d", optimum=Strategy.PT, stated=stated_isotropic,
    symbolic=decide_isotropic, correction="W*_PT = I_d / (n + d + 1) (derived)", docs=DOCS + "#eq-7",
    corrected=scoped("W*_PT", isotropic, "outside eq. (7)'s hypothesis Sigma = I_d (" + MODEL_TEXT + ")", _corrected_isotropic),
)

CLAIMS = (THEOREM1, ISOTROPIC)

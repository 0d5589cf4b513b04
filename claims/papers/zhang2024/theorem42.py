"""Theorem 4.2 and Corollary 4.3 of Zhang, Frei and Bartlett (2024): the test error of the trained transformer.

Transcribed statements.

* Theorem 4.2: for a test prompt of M examples and a query drawn i.i.d. from a distribution D of (x, y) with
  ``x ~ N(0, Lambda)`` (the training covariance), the transformer of Theorem 4.1 (trained at prompt length N) has

      E(y_hat - y)^2 = min_w E(<w, x> - y)^2 + (1/M) tr(Sigma Gamma^{-2} Lambda)
                       + (1/N^2) [ ||a||^2_{Gamma^{-2} Lambda^3} + 2 tr(Lambda) ||a||^2_{Gamma^{-2} Lambda^2}
                                   + tr(Lambda)^2 ||a||^2_{Gamma^{-2} Lambda} ],
      a = Lambda^{-1} E[x y],   Sigma = E[(x y - E[x y]) (x y - E[x y])^T].

* Corollary 4.3: for the noiseless tasks of training (``y = <w, x>``, ``w ~ N(0, I_d)``) this is at most
  ``(d + 1) tr(Lambda) / M + (1 + 2d + d^2 kappa) tr(Lambda) / N^2``, kappa the condition number of Lambda.

Claims.

* ``ZFB.T4.2``: the right side (evaluated for linear-Gaussian test tasks, :func:`model.claimed_test_error`)
  against the exact error of the derived minimiser ``N W*_PT`` used with ``1/M`` normalisation on M examples
  (:func:`theory.loss.population_loss`), at ``M in (1, 2, N, 3N + 1)`` and for three test distributions: the
  mixture's own tasks, the training tasks with label noise, and shifted tasks ``w ~ N(mu, I/4)`` with noise.
  Any mixture qualifies: its Sigma_x is the training Lambda (training on w ~ N(0, I), noiseless, at N = n) and its
  tasks are one of the test distributions.
* ``ZFB.C4.3``: the bound against the same exact error, on the training distribution.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from claims.papers.zhang2024.model import (
    DOCS,
    KEY,
    MODEL_TEXT,
    SOURCE,
    claimed_corollary_bound,
    claimed_test_error,
    in_model,
    task_moments,
    zhang_mixture,
)
from claims.record import Claim, Comparison, Outcome, SymbolicResult, compare, rel_error, scoped
from theory.isotropic import CommutingBlocks
from theory.loss import derive_task_loss, population_loss, task_loss_formula
from theory.mixture import Array, TaskMixture
from theory.optima import plain_training_optimum

NOISE = 0.5  # label noise of the 'noisy' test distribution (their 'task shift')
SHIFT_NOISE = 0.3
SHIFT_COV = 0.25


def test_lengths(n: int) -> tuple[int, ...]:
    """The test prompt lengths M checked for training length N = n: shorter, equal and longer prompts."""
    return tuple(sorted({1, 2, n, 3 * n + 1}))


def trained_product(Lambda: Array, n: int) -> Array:
    """The derived minimiser as the paper's product W^PV_22 W^KQ_11: N W*_PT on their training model (N = n)."""
    return n * plain_training_optimum(zhang_mixture(Lambda), n).W


def test_distributions(m: TaskMixture) -> list[tuple[str, TaskMixture]]:
    """The mixture's own tasks, the training tasks with label noise, and shifted noisy tasks; all with x ~ N(0, Lambda)."""
    d, lam = m.d, m.sigma_x
    mu = np.array([(-1.0) ** i for i in range(d)]) / np.sqrt(d)
    return [
        ("own tasks", m),
        ("noisy", TaskMixture(lam, np.ones(1), np.zeros((1, d)), np.eye(d)[None], NOISE)),
        ("shifted", TaskMixture(lam, np.ones(1), mu[None], SHIFT_COV * np.eye(d)[None], SHIFT_NOISE)),
    ]


def derived_test_error(A: Array, test: TaskMixture, M: int) -> float:
    """Exact E(y_hat - y)^2 of x^T A (1/M) X^T y on M examples of ``test`` (theory.loss)."""
    return float(population_loss(test, A / M, None, M))


def _check_test_error(m: TaskMixture, n: int) -> Comparison:
    """Theorem 4.2's right side against the exact error, over test lengths and test distributions."""
    A = trained_product(m.sigma_x, n)
    claimed, derived, labels = [], [], []
    for label, test in test_distributions(m):
        B, s2 = task_moments(test)
        for M in test_lengths(n):
            claimed.append(claimed_test_error(m.sigma_x, n, M, B, s2))
            derived.append(derived_test_error(A, test, M))
            labels.append(f"{label} M={M}")
    worst = int(np.argmax([rel_error(c, d) for c, d in zip(claimed, derived, strict=True)]))
    return compare("E(y_hat - y)^2 at test length M", np.array(claimed), np.array(derived),
                   note=f"N = {n}; {len(labels)} (distribution, M) pairs; largest relative gap at {labels[worst]}")


def _check_corollary(m: TaskMixture, n: int) -> Comparison:
    """Corollary 4.3's bound against the exact error on the training tasks (decided: every M within the bound)."""
    A = trained_product(m.sigma_x, n)
    bounds = np.array([claimed_corollary_bound(m.sigma_x, n, M) for M in test_lengths(n)])
    errors = np.array([derived_test_error(A, m, M) for M in test_lengths(n)])
    excess = float(np.max((errors - bounds) / bounds))
    holds = excess <= 1e-12
    return Comparison("upper bound on E(y_hat - y)^2", bounds, errors, max(excess, 0.0), holds,
                      note=f"M = {test_lengths(n)}; smallest slack bound/error = {float(np.min(bounds / errors)):.4g}",
                      decided=Outcome.HOLDS if holds else Outcome.FAILS)


# ----- symbolic decisions -------------------------------------------------------------------------
def _cancel(expr: sp.Expr) -> sp.Expr:
    return sp.factor(sp.cancel(sp.together(expr)))


def _d1_difference() -> sp.Expr:
    """d = 1: Theorem 4.2's right side minus the brute-force Wick error of the derived minimiser on M examples of a
    test task w ~ N(mu, lb^2) with noise sigma^2 (N, M, lambda, mu, lb, sigma symbolic)."""
    loss, s = derive_task_loss(1)
    N, M, lam = sp.symbols("N M lambda", positive=True)
    w, n = s["W"][0, 0], s["n"]
    base = {s["p"][0, 0]: 0, s["Lx"][0, 0]: sp.sqrt(lam)}
    train = loss.subs({**base, s["mu"][0, 0]: 0, s["Lb"][0, 0]: 1, s["sigma"]: 0, n: N})
    w_star = sp.solve(sp.diff(train, w), w)[0]  # the derived minimiser at N (a number times 1/N)
    test = loss.subs({**base, n: M, w: N * w_star / M})
    mu, lb, sigma = s["mu"][0, 0], s["Lb"][0, 0], s["sigma"]
    B, g = lb**2 + mu**2, 1 / ((1 + 1 / N) * lam + lam / N)
    Sig = lam * B * lam + B * lam * lam + sigma**2 * lam
    claimed = sigma**2 + Sig * g**2 * lam / M + B * g**2 * (lam**3 + 2 * lam * lam**2 + lam**2 * lam) / N**2
    return _cancel(claimed - test)


def _isotropic_difference() -> sp.Expr:
    """Lambda = lambda I_d (d symbolic), test tasks w ~ N(m u, s I) with noise sigma^2: claimed minus exact."""
    N, M, d, lam, s, a = sp.symbols("N M d lambda s a", positive=True)
    sigma = sp.Symbol("sigma", nonnegative=True)

    def blocks(x: sp.Expr, y: sp.Expr) -> CommutingBlocks:
        return CommutingBlocks(x, y, d)

    zero = blocks(0, 0)
    wv = sp.Symbol("w", positive=True)
    train = sp.expand(task_loss_formula(blocks(lam, lam), blocks(1, 1), zero, 0, blocks(wv, wv), zero, N))
    w_star = sp.solve(sp.diff(train, wv), wv)[0]
    A = blocks(N * w_star / M, N * w_star / M)
    B = blocks(s + a, s)  # E[w w^T] with mean sqrt(a) u
    exact = task_loss_formula(blocks(lam, lam), B, blocks(sp.sqrt(a), 0), sigma**2, A, zero, M)
    Lam = blocks(lam, lam)
    g = 1 / ((1 + 1 / N) * lam + d * lam / N)
    G2 = blocks(g**2, g**2)
    tr_lam = d * lam
    Sig = Lam @ B @ Lam + Lam * (B @ Lam).trace() + Lam * sigma**2
    claimed = (sigma**2 + (Sig @ G2 @ Lam).trace() / M
               + ((G2 @ Lam @ Lam @ Lam @ B).trace() + 2 * tr_lam * (G2 @ Lam @ Lam @ B).trace()
                  + tr_lam**2 * (G2 @ Lam @ B).trace()) / N**2)
    return _cancel(claimed - exact)


def decide_test_error() -> SymbolicResult:
    """Theorem 4.2 for linear-Gaussian test tasks: d = 1 (brute-force Wick) and Lambda = lambda I with d symbolic."""
    diffs = [_d1_difference(), _isotropic_difference()]
    return SymbolicResult("d = 1 (Wick) and Lambda = lambda I_d (d symbolic); N, M, lambda, test mean, test covariance "
                          "and noise symbolic", all(e == 0 for e in diffs), f"d=1: {diffs[0]}; isotropic: {diffs[1]}")


def _nonnegative(expr: sp.Expr, symbols: list[sp.Symbol]) -> bool:
    """A sufficient test that a rational function of positive symbols is >= 0: numerator and denominator are
    polynomials whose coefficients all have one sign."""
    num, den = sp.fraction(sp.cancel(sp.together(expr)))
    signs = [{bool(c > 0) for c in sp.Poly(sp.expand(p), *symbols).coeffs()} for p in (num, den)]
    return all(len(s) == 1 for s in signs) and signs[0] == signs[1]


def decide_corollary() -> SymbolicResult:
    """Corollary 4.3's bound minus the exact error is >= 0 for Lambda = lambda I_d (kappa = 1), d, N, M symbolic."""
    N, M, d, lam, wv = sp.symbols("N M d lambda w", positive=True)

    def blocks(x: sp.Expr) -> CommutingBlocks:
        return CommutingBlocks(x, x, d)

    zero = CommutingBlocks(0, 0, d)
    train = sp.expand(task_loss_formula(blocks(lam), blocks(1), zero, 0, blocks(wv), zero, N))
    w_star = sp.solve(sp.diff(train, wv), wv)[0]
    exact = task_loss_formula(blocks(lam), blocks(1), zero, 0, blocks(N * w_star / M), zero, M)
    bound = (d + 1) * d * lam / M + (1 + 2 * d + d**2) * d * lam / N**2
    slack = _cancel(bound - exact)
    return SymbolicResult("Lambda = lambda I_d (kappa = 1), d, N, M, lambda symbolic (sign of the slack's coefficients)",
                          _nonnegative(slack, [N, M, d, lam]), f"bound - error = {slack}")


# ----- the claims ---------------------------------------------------------------------------------
TEST_ERROR = Claim(
    id="ZFB.T4.2", paper=KEY, source=f"Theorem 4.2 ({SOURCE})", results=("Theorem 4.2",),
    statement="On a test prompt of M examples from D with x ~ N(0, Lambda): E(y_hat - y)^2 = min_w E(<w,x> - y)^2 + "
              "(1/M) tr(Sigma Gamma^{-2} Lambda) + (1/N^2)[||a||^2_{Gamma^{-2}Lambda^3} + 2 tr(Lambda) "
              "||a||^2_{Gamma^{-2}Lambda^2} + tr(Lambda)^2 ||a||^2_{Gamma^{-2}Lambda}], a = Lambda^{-1} E[xy], "
              "Sigma = Cov(xy)",
    check=_check_test_error,
    scope_text="every mixture: its Sigma_x is the training Lambda (" + MODEL_TEXT + ", N = n) and its tasks are one "
               "of the test distributions (with label noise and shifted tasks added by the check)",
    training=False, symbolic=decide_test_error,
    correction="E(y_hat - y)^2 = population loss of x^T (N W*_PT)(1/M) X^T y on the test tasks (derived)",
    docs=DOCS + "#theorem-42",
)

COROLLARY = Claim(
    id="ZFB.C4.3", paper=KEY, source=f"Corollary 4.3 ({SOURCE})", results=("Corollary 4.3",),
    statement="For y = <w, x>, w ~ N(0, I_d): E(y_hat - y)^2 <= (d + 1) tr(Lambda)/M + (1 + 2d + d^2 kappa) tr(Lambda)/N^2",
    check=scoped("upper bound on E(y_hat - y)^2", in_model, "outside the corollary's setting (" + MODEL_TEXT + ")",
                 _check_corollary),
    scope=in_model, scope_text=MODEL_TEXT, training=False, symbolic=decide_corollary,
    docs=DOCS + "#corollary-43",
)

CLAIMS = (TEST_ERROR, COROLLARY)

"""Section 4.2 of Zhang, Frei and Bartlett (2024), covariate shift: the trained transformer is not least squares.

Transcribed statement (Section 4.2, 'Covariate shifts'): if the test prompt's covariates are scaled by c
(``x_i, x_query ~ N(0, c^2 Lambda)`` while training used ``N(0, Lambda)``), then
``(1/M) sum_i x_i x_i^T ~ c^2 Lambda`` and the transformer of Theorem 4.1 predicts
``y_hat ~ c^2 <w, x_query>`` for large M and N, instead of ``<w, x_query>`` (least squares would be unaffected).

Claim ``ZFB.S4.2.covariate-shift``: ``E(y_hat - c^2 <w, x_query>)^2 / E(c^2 <w, x_query>)^2 -> 0`` as
``M = N -> infinity``, for c in (1/2, 2).  The derived side is exact at every finite M = N (the derived minimiser
``N W*_PT`` applied with 1/M normalisation to the scaled prompt, :func:`theory.loss.population_loss` after the
rescaling ``beta' = c^2 w``, ``W' = W / c^2``, which leaves the prediction unchanged and makes the target
``c^2 <w, x_query>``); the check decides that the relative error falls like 1/M (by at least a factor 5 per decade
over the last two of ``M = N = n, 10 n, ..., 10^4 n``).  The note reports the error against ``<w, x_query>``, which
tends to ``(c^2 - 1)^2`` instead.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from claims.papers.zhang2024.model import DOCS, KEY, MODEL_TEXT, SOURCE, in_model
from claims.papers.zhang2024.theorem42 import trained_product
from claims.record import Claim, Comparison, Outcome, SymbolicResult, scoped
from theory.isotropic import CommutingBlocks
from theory.loss import derive_task_loss, population_loss, task_loss_formula
from theory.mixture import Array, TaskMixture

SCALES = (0.5, 2.0)
DECADES = 5  # M = N = n * 10^j, j = 0..4
MIN_DROP = 5.0  # the relative error must fall at least this much per decade over the last two (1/M gives 10)


def relative_error(Lambda: Array, c: float, N: int, M: int, target_scale: float) -> float:
    """E(y_hat - t <w, x_q>)^2 / E(t <w, x_q>)^2 for covariates x ~ N(0, c^2 Lambda), w ~ N(0, I), the product
    trained at N applied with 1/M on M examples, target coefficient ``t = target_scale`` (c^2 or 1)."""
    d = Lambda.shape[0]
    A = trained_product(Lambda, N)
    t = target_scale
    shifted = TaskMixture(c * c * Lambda, np.ones(1), np.zeros((1, d)), (t * t) * np.eye(d)[None], 0.0)  # beta' = t w
    # labels y_i = <w, x_i> = <beta', x_i> / t: the same prediction is x^T (A / (M t)) X^T y'
    return float(population_loss(shifted, A / (M * t), None, M)) / shifted.label_second_moment()


def _check(m: TaskMixture, n: int) -> Comparison:
    """Relative error of the claimed limit c^2 <w, x_q> at M = N = n 10^j: falls to 0 like 1/M (decided)."""
    ratios, against_truth, drops = [], [], []
    for c in SCALES:
        seq = [relative_error(m.sigma_x, c, n * 10**j, n * 10**j, c * c) for j in range(DECADES)]
        ratios.append(seq)
        against_truth.append(relative_error(m.sigma_x, c, n * 10 ** (DECADES - 1), n * 10 ** (DECADES - 1), 1.0))
        drops.append(min(seq[-3] / seq[-2], seq[-2] / seq[-1]))
    holds = min(drops) >= MIN_DROP
    last = max(r[-1] for r in ratios)
    return Comparison("E(y_hat - c^2 <w,x_q>)^2 / E(c^2 <w,x_q>)^2 as M = N grow", np.zeros(len(SCALES)),
                      np.array([r[-1] for r in ratios]), last, holds,
                      note=f"c = {SCALES}: relative error at M = N = n..n 10^{DECADES - 1}: "
                           f"{[[f'{v:.3g}' for v in r] for r in ratios]}; drop per decade >= {min(drops):.3g}; "
                           f"error against <w, x_q> at the largest M = N: {[f'{v:.4g}' for v in against_truth]} "
                           f"(vs (c^2 - 1)^2 = {[f'{(c * c - 1) ** 2:.4g}' for c in SCALES]})",
                      decided=Outcome.HOLDS if holds else Outcome.FAILS)


# ----- symbolic decision --------------------------------------------------------------------------
def _limits(ratio: sp.Expr, M: sp.Symbol, N: sp.Symbol) -> sp.Expr:
    """lim_{N -> oo} lim_{M -> oo} and lim along M = N (both must vanish)."""
    return sp.simplify(sp.limit(sp.limit(ratio, M, sp.oo), N, sp.oo)), sp.simplify(sp.limit(ratio.subs(M, N), N, sp.oo))


def decide() -> SymbolicResult:
    """d = 1 (brute-force Wick) and Lambda = lambda I_d (d symbolic): the relative error of c^2 <w, x_q> tends to 0,
    that of <w, x_q> to (c^2 - 1)^2 (c, lambda, N, M symbolic)."""
    c, lam, N, M, d, wv = sp.symbols("c lambda N M d w", positive=True)
    loss, s = derive_task_loss(1)
    w, n = s["W"][0, 0], s["n"]
    base = {s["p"][0, 0]: 0, s["mu"][0, 0]: 0, s["sigma"]: 0}
    train = loss.subs({**base, s["Lb"][0, 0]: 1, s["Lx"][0, 0]: sp.sqrt(lam), n: N})
    w_star = sp.solve(sp.diff(train, w), w)[0]
    results = {}
    for name, t in (("c^2 <w,x>", c**2), ("<w,x>", sp.Integer(1))):
        err = loss.subs({**base, s["Lb"][0, 0]: t, s["Lx"][0, 0]: c * sp.sqrt(lam), n: M, w: N * w_star / (M * t)})
        results[f"d=1 {name}"] = _limits(sp.cancel(err / (t**2 * c**2 * lam)), M, N)

    def blocks(x: sp.Expr) -> CommutingBlocks:
        return CommutingBlocks(x, x, d)

    zero = CommutingBlocks(0, 0, d)
    train_i = sp.expand(task_loss_formula(blocks(lam), blocks(1), zero, 0, blocks(wv), zero, N))
    wi = sp.solve(sp.diff(train_i, wv), wv)[0]
    for name, t in (("c^2 <w,x>", c**2), ("<w,x>", sp.Integer(1))):
        err = task_loss_formula(blocks(c**2 * lam), blocks(t**2), zero, 0, blocks(N * wi / (M * t)), zero, M)
        results[f"isotropic {name}"] = _limits(sp.cancel(err / (t**2 * c**2 * lam * d)), M, N)
    holds = all(v == 0 for k, pair in results.items() if "c^2" in k for v in pair) and all(
        sp.simplify(v - (c**2 - 1) ** 2) == 0 for k, pair in results.items() if "c^2" not in k for v in pair)
    return SymbolicResult("d = 1 (Wick) and Lambda = lambda I_d (d symbolic); c, lambda symbolic; limits M -> oo then "
                          "N -> oo, and M = N -> oo", holds, str(results))


COVARIATE_SHIFT = Claim(
    id="ZFB.S4.2.covariate-shift", paper=KEY, source=f"Section 4.2, covariate shifts ({SOURCE})", results=("Section 4.2",),
    statement="With test covariates scaled by c (x ~ N(0, c^2 Lambda)), the trained transformer predicts "
              "y_hat ~ c^2 <w, x_query> for large M and N (not <w, x_query>)",
    check=scoped("E(y_hat - c^2 <w,x_q>)^2 / E(c^2 <w,x_q>)^2", in_model,
                 "outside the paper's training model (" + MODEL_TEXT + ")", _check),
    scope=in_model, scope_text=MODEL_TEXT + "; test covariates scaled by c = 1/2 and 2", training=False, symbolic=decide,
    docs=DOCS + "#covariate-shift",
)

CLAIMS = (COVARIATE_SHIFT,)

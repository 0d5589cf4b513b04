"""Lemmas 1-4 (Appendix A and eq. 7): the moment identities and the reduced form."""

from __future__ import annotations

import json

import numpy as np

from claims.papers.chang2025.common import all_of, asymmetry, derived, iff, sample_sequences, vanishes
from claims.papers.chang2025.readings import LEMMA1_SYMMETRIC
from claims.record import Claim, Comparison, Severity, cancellation, compare, rel_error
from theory.attention import attention_predict, reduced_form_parameters, reduced_predict
from theory.mixture import Array, TaskMixture
from theory.moments import wishart_fourth_moment
from theory.strategy import Strategy
from theory.symbolic import decide_lemma1, decide_lemma2, decide_lemma3, noise_moment_numeric

PAPER = "chang2025"


def _l1_wishart(m: TaskMixture, n: int) -> Comparison:
    """Lemma 1's closed form against the derived general E[X^T X A X^T X], for A = E[beta_1 beta_1^T] + J.

    J is the strictly upper-triangular all-ones matrix, so A is not symmetric once d >= 2
    (Lemma 1 is stated 'for a constant matrix A').
    """
    A = m.second_moments[0] + np.triu(np.ones((m.d, m.d)), 1)
    s = m.sigma_x
    claimed = n * np.trace(s @ A) * s + n * (n + 1) * s @ A @ s
    # A is part of the case (it is what makes the closed form fail): the report shows it with the counterexample.
    note = f"A = E[beta_1 beta_1^T] + J = {json.dumps(np.round(A, 12).tolist())} (J: ones above the diagonal)"
    return compare("E[X^T X A X^T X]", claimed, wishart_fourth_moment(s, A, n), note)


def isserlis_fourth_moment(s: Array, A: Array, n: int) -> Array:
    """E[X^T X A X^T X] from first principles, independently of theory.moments' closed form: X^T X = sum_i x_i x_i^T
    with independent rows, so the n(n-1) cross terms give Sigma A Sigma each, and each of the n diagonal terms is
    E[x x^T A x x^T], whose (a, e) entry is Isserlis' theorem E[x_a x_b x_c x_e] = S_ab S_ce + S_ac S_be + S_ae S_bc
    contracted with A_bc."""
    four = (np.einsum("ab,ce->abce", s, s) + np.einsum("ac,be->abce", s, s) + np.einsum("ae,bc->abce", s, s))
    return np.asarray(n * (n - 1) * (s @ A @ s) + n * np.einsum("abce,bc->ae", four, A), dtype=np.float64)


def _l1_test_matrices(m: TaskMixture) -> list[tuple[str, Array]]:
    """The constant matrices A the corrected Lemma 1 is checked on: each task's second moment E[beta_k beta_k^T]
    (symmetric), that plus the strictly upper-triangular all-ones J, and a fixed random A (not symmetric from d = 2).
    A purely antisymmetric A is left out: the moment n(n-1) Sigma_x A Sigma_x is exactly zero at n = 1, where a
    relative error only measures rounding."""
    J = np.triu(np.ones((m.d, m.d)), 1)
    rng = np.random.default_rng(m.d)
    out = [(f"E[beta_{k} beta_{k}^T]", m.second_moments[k]) for k in range(m.K)]
    return out + [("E[beta_0 beta_0^T] + J", m.second_moments[0] + J), ("random A", rng.standard_normal((m.d, m.d)))]


def l1_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected Lemma 1: E[X^T X A X^T X] = n tr(Sigma_x A) Sigma_x + n^2 Sigma_x A Sigma_x + n Sigma_x A^T
    Sigma_x for every A (against Isserlis' theorem); Lemma 1's form holds iff Sigma_x (A - A^T) Sigma_x = 0, i.e. iff
    A is symmetric (both sides of each 'iff' judged on symmetric and non-symmetric A); the task second moments are
    symmetric."""
    s = m.sigma_x
    parts = [vanishes(f"E[beta_{k} beta_{k}^T] symmetric", 0.0, asymmetry(m.second_moments[k]),
                      asymmetry(m.second_moments[k])) for k in range(m.K)]
    for name, A in _l1_test_matrices(m):
        truth = isserlis_fourth_moment(s, A, n)
        corrected = n * np.trace(s @ A) * s + n * n * (s @ A @ s) + n * (s @ A.T @ s)
        lemma = n * np.trace(s @ A) * s + n * (n + 1) * (s @ A @ s)
        parts.append(compare(f"E[X^T X A X^T X], A = {name}", corrected, truth))
        skew = s @ (A - A.T) @ s
        skew_size = float(np.linalg.norm(skew)) / max(float(np.linalg.norm(s @ A @ s)), 1e-300)
        parts.append(iff(f"Lemma 1's form holds iff Sigma_x (A - A^T) Sigma_x = 0, A = {name}",
                         ("Lemma 1's relative error", rel_error(lemma, truth)), ("|Sigma_x (A - A^T) Sigma_x|", skew_size)))
        parts.append(iff(f"Sigma_x (A - A^T) Sigma_x = 0 iff A is symmetric, A = {name}",
                         ("|Sigma_x (A - A^T) Sigma_x|", skew_size), ("asymmetry of A", asymmetry(A))))
    return all_of("corrected Lemma 1", parts)


def _l2_noise(m: TaskMixture, n: int) -> Comparison:
    """E[X^T xi xi^T X] = n sigma^2 Sigma_x: derived side is the Wick derivation evaluated at d <= 3 (see symbolic)."""
    return compare("E[X^T xi xi^T X]", n * m.sigma2 * m.sigma_x, noise_moment_numeric(m.sigma_x, m.sigma2, n))


def _l3_matrix_calculus(m: TaskMixture, n: int) -> Comparison:
    """Lemma 3 is decided symbolically (sympy matrix calculus); the numeric search has nothing to evaluate."""
    return Comparison("d/dW tr(W A W^T B)", "B^T W A^T + B W A", "sympy matrix calculus", 0.0, True, "decided symbolically")


def _l4_reduced_form(m: TaskMixture, n: int) -> Comparison:
    """Under Assumption 1 the attention output is x^T W (X^T y + p_k) whatever the '*' entries (Lemma 4, eq. 7).

    The two sides sum the bilinear form x^T W u in different orders, so they differ by EPS times its cancellation,
    sum |x_i| |W_ij| |u_j| against |x^T W u| (large where the prompts are large and W is ill-conditioned)."""
    jt = derived(Strategy.JT, m, n)
    task, X, y, x = sample_sequences(m, n, 64, seed=n + 1)
    params = reduced_form_parameters(jt.W, jt.P, np.random.default_rng(n))
    reduced = reduced_predict(jt.W, jt.P, task, X, y, x)
    u = np.einsum("bti,bt->bi", X, y) + jt.P[task]
    summed = np.einsum("bi,ij,bj->b", np.abs(x), np.abs(jt.W), np.abs(u))
    return compare("attention output", attention_predict(params, task, X, y, x), reduced,
                   condition=cancellation(reduced, summed))


CLAIMS = (
    Claim("L1", PAPER, "Lemma 1 (Appendix A)", ("Lemma 1",),
          "For X with i.i.d. N(0, Sigma_x) rows and a constant matrix A: "
          "E[X^T X A X^T X] = n tr(Sigma_x A) Sigma_x + n(n+1) Sigma_x A Sigma_x.",
          _l1_wishart,
          correction="E[X^T X A X^T X] = n tr(Sigma_x A) Sigma_x + n^2 Sigma_x A Sigma_x + n Sigma_x A^T Sigma_x; "
                     "Lemma 1's form holds iff Sigma_x (A - A^T) Sigma_x = 0, i.e. iff A is symmetric, as the task "
                     "second moments A = E[beta_k beta_k^T] are.",
          corrected=l1_corrected,
          symbolic=decide_lemma1, finding=LEMMA1_SYMMETRIC, severity=Severity.HARMLESS, docs="docs/lemmas.md",
          tex={"statement": r"\mathbb{E}[X^{\top} X A X^{\top} X] = n\,\operatorname{tr}(\Sigma_x A)\,\Sigma_x + n(n+1)\,\Sigma_x A \Sigma_x\quad "
                            r"\text{for rows } x_i \sim \mathcal{N}(0, \Sigma_x) \text{ i.i.d. and a constant } A",
               "claimed": r"\mathbb{E}[X^{\top} X A X^{\top} X] = n\,\operatorname{tr}(\Sigma_x A)\,\Sigma_x + n(n+1)\,\Sigma_x A \Sigma_x",
               "derived": r"\mathbb{E}[X^{\top} X A X^{\top} X] = n\,\operatorname{tr}(\Sigma_x A)\,\Sigma_x + n^2\,\Sigma_x A \Sigma_x + "
                          r"n\,\Sigma_x A^{\top} \Sigma_x",
               "derived_setting": r"general $d$: the Wick derivation of theory.moments, decided symbolically at $d = 2$ (generic $A$, symbolic $n$)",
               "corrected": r"\mathbb{E}[X^{\top} X A X^{\top} X] = n\,\operatorname{tr}(\Sigma_x A)\,\Sigma_x + n^2\,\Sigma_x A \Sigma_x + "
                            r"n\,\Sigma_x A^{\top} \Sigma_x",
               "why": r"holds only for symmetric $A$: the term $n(n+1)\,\Sigma_x A \Sigma_x$ is $n^2\,\Sigma_x A \Sigma_x + n\,\Sigma_x A^{\top} "
                      r"\Sigma_x$ (the task second moments $\mathbb{E}[\beta_k \beta_k^{\top}]$ are symmetric)"}),
    Claim("L2", PAPER, "Lemma 2 (Appendix A)", ("Lemma 2",),
          "E[X^T xi xi^T X] = n sigma^2 Sigma_x for xi ~ N(0, sigma^2 I_n) independent of X.",
          _l2_noise, symbolic=decide_lemma2, docs="docs/lemmas.md",
          tex={"statement": r"\mathbb{E}[X^{\top} \xi \xi^{\top} X] = n \sigma^2 \Sigma_x \quad \text{for } \xi \sim \mathcal{N}(0, \sigma^2 I_n) "
                            r"\text{ independent of } X",
               "claimed": r"\mathbb{E}[X^{\top} \xi \xi^{\top} X] = n \sigma^2 \Sigma_x"}),
    Claim("L3", PAPER, "Lemma 3 (Appendix A)", ("Lemma 3",), "d/dW tr(W A W^T B) = B^T W A^T + B W A.",
          _l3_matrix_calculus, symbolic=decide_lemma3, docs="docs/lemmas.md",
          tex={"statement": r"\frac{\partial}{\partial W} \operatorname{tr}(W A W^{\top} B) = B^{\top} W A^{\top} + B W A",
               "claimed": r"\frac{\partial}{\partial W} \operatorname{tr}(W A W^{\top} B) = B^{\top} W A^{\top} + B W A",
               "derivation": r"lemma3"}),
    Claim("L4", PAPER, "Lemma 4 / eq. (7) (reduced form)", ("Lemma 4",),
          "Under Assumption 1 the attention prediction is x^T W (X^T y + p_k), whatever the '*' entries.",
          _l4_reduced_form, docs="docs/lemmas.md",
          tex={"statement": r"f_{\mathrm{Attn}}(Z^{(k)}) = x^{\top} W (X^{\top} y + p_k) \quad \text{under Assumption 1, whatever the } {*} \text{ "
                            r"entries}",
               "claimed": r"f_{\mathrm{Attn}}(Z^{(k)}) = x^{\top} W (X^{\top} y + p_k)"}),
)

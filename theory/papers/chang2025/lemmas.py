"""Lemmas 1-4 (Appendix A and eq. 7): the moment identities and the reduced form."""

from __future__ import annotations

import json

import numpy as np

from theory.attention import attention_predict, reduced_form_parameters, reduced_predict
from theory.mixture import TaskMixture
from theory.moments import wishart_fourth_moment
from theory.papers.chang2025.common import derived, sample_sequences
from theory.papers.chang2025.readings import LEMMA1_SYMMETRIC
from theory.record import Claim, Comparison, Severity, compare
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


def _l2_noise(m: TaskMixture, n: int) -> Comparison:
    """E[X^T xi xi^T X] = n sigma^2 Sigma_x: derived side is the Wick derivation evaluated at d <= 3 (see symbolic)."""
    return compare("E[X^T xi xi^T X]", n * m.sigma2 * m.sigma_x, noise_moment_numeric(m.sigma_x, m.sigma2, n))


def _l3_matrix_calculus(m: TaskMixture, n: int) -> Comparison:
    """Lemma 3 is decided symbolically (sympy matrix calculus); the numeric search has nothing to evaluate."""
    return Comparison("d/dW tr(W A W^T B)", "B^T W A^T + B W A", "sympy matrix calculus", 0.0, True, "decided symbolically")


def _l4_reduced_form(m: TaskMixture, n: int) -> Comparison:
    """Under Assumption 1 the attention output is x^T W (X^T y + p_k) whatever the '*' entries (Lemma 4, eq. 7)."""
    jt = derived(Strategy.JT, m, n)
    task, X, y, x = sample_sequences(m, n, 64, seed=n + 1)
    params = reduced_form_parameters(jt.W, jt.P, np.random.default_rng(n))
    return compare("attention output", attention_predict(params, task, X, y, x), reduced_predict(jt.W, jt.P, task, X, y, x))


CLAIMS = (
    Claim("L1", PAPER, "Lemma 1 (Appendix A)", ("Lemma 1",),
          "For X with i.i.d. N(0, Sigma_x) rows and a constant matrix A: "
          "E[X^T X A X^T X] = n tr(Sigma_x A) Sigma_x + n(n+1) Sigma_x A Sigma_x.",
          _l1_wishart,
          correction="E[X^T X A X^T X] = n tr(Sigma_x A) Sigma_x + n^2 Sigma_x A Sigma_x + n Sigma_x A^T Sigma_x; "
                     "Lemma 1's form holds iff Sigma_x (A - A^T) Sigma_x = 0, i.e. for symmetric A "
                     "(every use in the paper has A = E[beta beta^T], symmetric, so Theorems 1-3 are unaffected).",
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
                      r"\Sigma_x$ (every use in the paper has a symmetric $A$, so Theorems 1-3 are unaffected)"}),
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

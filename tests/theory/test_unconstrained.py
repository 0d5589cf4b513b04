"""The unconstrained attention channel: exact loss three ways, solver optimality, Assumption 1's cost."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from mixture_strategies import matrices, task_mixtures
from scipy.stats import norm

from montecarlo import estimate_loss
from theory.attention import AttentionParameters, reduced_form_parameters
from theory.loss import population_loss
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.unconstrained import (
    UnconstrainedParameters,
    assumption1_cost,
    attention_task_loss,
    derive_attention_task_loss,
    formula_for_symbols,
    task_blocks,
    unconstrained_loss,
    unconstrained_optimum,
)
from theory.unconstrained import _Problem as Problem

K_SIGMA = float(norm.isf(1e-6 / 2))  # two-sided 1e-6 false-alarm rate per Monte Carlo comparison


@pytest.mark.slow
def test_exact_loss_equals_the_brute_force_expectation_of_the_literal_forward_d1() -> None:
    """Symbolic, d = 1: the closed form is the Wick expansion of E[(z^T A (p p^T + sum z_i z_i^T) a - y)^2]
    with A's last row, a, p, mu, Sigma_x, Sigma_beta, sigma and n all symbolic."""
    loss, sym = derive_attention_task_loss(1)
    assert sp.expand(loss - formula_for_symbols(1, sym)) == 0


@pytest.mark.slow
def test_exact_loss_equals_the_brute_force_expectation_of_the_literal_forward_d2() -> None:
    """d = 2 (about two minutes of sympy): A (3 x 3, last row included), a, p and n symbolic; non-diagonal Sigma_x,
    Sigma_beta, a non-zero mean and noise fixed to exact rationals (fully symbolic d = 2 did not finish in 15 min)."""
    R = sp.Rational
    fixed = {"Lx": sp.Matrix([[R(3, 2), 0], [R(1, 3), 1]]), "Lb": sp.Matrix([[1, 0], [R(-1, 2), R(2, 3)]]),
             "mu": sp.Matrix([R(1, 2), -1]), "sigma": R(1, 2)}
    loss, sym = derive_attention_task_loss(2, fixed)
    assert sp.expand(loss - formula_for_symbols(2, sym)) == 0


def _literal(mixture: TaskMixture, A: np.ndarray, heads: np.ndarray, prompts: np.ndarray) -> AttentionParameters:
    return AttentionParameters(A=A, Wv=np.eye(mixture.d + 1), prompts=prompts, heads=heads)


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 12), data=st.data())
def test_exact_loss_matches_sampling_of_the_literal_token_matrix(mixture: TaskMixture, n: int, data: st.DataObject) -> None:
    """The montecarlo package's direct estimator (prompt row, mask, A, W_v h) at arbitrary parameters, k-sigma."""
    p = mixture.d + 1
    A = data.draw(matrices(p, p, 1.0)) / (n + p)
    heads = data.draw(matrices(mixture.K, p, 1.0))
    prompts = data.draw(matrices(mixture.K, p, 1.5))
    exact = unconstrained_loss(mixture, UnconstrainedParameters(A, heads, prompts), n)
    est = estimate_loss(mixture, n, _literal(mixture, A, heads, prompts), method="direct", target_rel_se=0,
                        max_samples=40_000, min_samples=40_000, seed=n, device="cpu")
    assert abs(est.mean - exact) <= K_SIGMA * est.stderr


@settings(max_examples=15)
@given(mixture=task_mixtures(max_d=4, max_K=3), n=st.integers(1, 50), data=st.data())
def test_exact_loss_is_the_reduced_loss_under_assumption_1(mixture: TaskMixture, n: int, data: st.DataObject) -> None:
    """A = [[W, 0], [*, *]], a = e, prompts [p_k; 1]: exactly eq. (9) whatever the '*' entries (Lemma 4)."""
    W = data.draw(matrices(mixture.d, mixture.d, 2.0)) / (n + mixture.d)
    P = data.draw(matrices(mixture.K, mixture.d, 2.0))
    params = reduced_form_parameters(W, P, np.random.default_rng(n))
    literal = UnconstrainedParameters(params.A, params.heads, params.prompts)
    assert unconstrained_loss(mixture, literal, n) == pytest.approx(float(population_loss(mixture, W, P, n)), rel=1e-10)


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 30), data=st.data())
def test_head_gradient_is_the_derivative_of_the_exact_loss(mixture: TaskMixture, n: int, data: st.DataObject) -> None:
    """The loss is quadratic in each head for fixed (B, u), so a central difference with a unit step is exact."""
    problem = Problem(mixture, n)
    B = data.draw(matrices(mixture.d, mixture.d + 1, 1.0)) / (n + 1)
    U = data.draw(matrices(mixture.K, mixture.d, 2.0))
    heads = data.draw(matrices(mixture.K, mixture.d + 1, 1.0))
    grad = problem.head_gradient(B, U, heads)
    for idx in np.ndindex(*heads.shape):
        plus, minus = heads.copy(), heads.copy()
        plus[idx] += 1.0
        minus[idx] -= 1.0
        central = (problem.loss(B, U, plus) - problem.loss(B, U, minus)) / 2
        assert grad[idx] == pytest.approx(central, rel=1e-7, abs=1e-9 * (1 + problem.loss(B, U, heads)))


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 40))
def test_unconstrained_optimum_is_never_above_the_reduced_one(mixture: TaskMixture, n: int) -> None:
    """PT and JT (shared head) at most L*_PT, L*_JT; task heads at most L~*_PGD; a stationary point each."""
    for mode in ("PT", "JT"):
        opt = unconstrained_optimum(mixture, n, mode, starts=3)
        reduced = optimum(mode, mixture, n).loss
        assert opt.loss <= reduced * (1 + 1e-10)
        assert opt.gradient_norm <= 1e-6 * max(1.0, reduced)
        assert opt.realised_loss == pytest.approx(opt.loss, rel=1e-9)
    heads = unconstrained_optimum(mixture, n, "JT", shared_head=False, starts=3)
    assert heads.loss <= optimum("PGD", mixture, n).loss * (1 + 1e-10)


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 40), shift=matrices(1, 3, 2.0))
def test_joint_optimum_depends_on_the_means_only_through_their_differences(mixture: TaskMixture, n: int,
                                                                           shift: np.ndarray) -> None:
    """A shared head [-c; 1] and the prompts re-centre the labels exactly, so L*_unc,JT(mu - c) = L*_unc,JT(mu)."""
    c = shift[0, :mixture.d]
    moved = TaskMixture(mixture.sigma_x, mixture.weights, mixture.means - c, mixture.covs, mixture.sigma2)
    a, b = unconstrained_optimum(mixture, n, "JT", starts=3), unconstrained_optimum(moved, n, "JT", starts=3)
    assert a.loss == pytest.approx(b.loss, rel=1e-8)


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=2), n=st.integers(1, 40))
def test_no_gain_over_assumption_1_when_the_task_distribution_is_symmetric(mixture: TaskMixture, n: int) -> None:
    """Tasks in +-mu pairs with equal weights and covariances: beta -> -beta is a symmetry that fixes Assumption 1's
    subspace, and the exact optimum equals the reduced one for PT, FT and JT."""
    m = TaskMixture(mixture.sigma_x, np.array([0.5, 0.5]), np.stack([mixture.means[0], -mixture.means[0]]),
                    np.stack([mixture.covs[0]] * 2), mixture.sigma2)
    for mode in ("PT", "FT", "JT"):
        assert unconstrained_optimum(m, n, mode, starts=4).loss == pytest.approx(optimum(mode, m, n).loss, rel=1e-9)


def test_assumption_1_costs_something_on_the_papers_fig2_mixtures() -> None:
    """Exact: fig2c has zero mean task, yet the unconstrained joint optimum is 0.27% below L*_JT at n = 10 (the free
    column A[:d, d] carries it); fig2a gains 1.5%, more than the re-centring head's 1.25%."""
    gains = {}
    for name in ("fig2a", "fig2c"):
        m = preset(name)
        jt = optimum("JT", m, 10).loss
        gains[name] = (jt - unconstrained_optimum(m, 10, "JT").loss) / jt
    assert gains["fig2c"] == pytest.approx(2.6898e-3, rel=1e-3)
    assert gains["fig2a"] == pytest.approx(1.5139e-2, rel=1e-3)
    column_only = unconstrained_optimum(preset("fig2c"), 10, "JT", free_head=False).loss
    head_only = unconstrained_optimum(preset("fig2c"), 10, "JT", free_column=False).loss
    jt = optimum("JT", preset("fig2c"), 10).loss
    assert head_only == pytest.approx(jt, rel=1e-12) and (jt - column_only) / jt == pytest.approx(2.609e-3, rel=1e-3)


def test_optimum_parameters_re_simulate() -> None:
    """The reported literal parameters (A, a, prompts) give the reported loss under the literal forward (k-sigma)."""
    m = preset("fig2c")
    opt = unconstrained_optimum(m, 10, "JT")
    params = opt.params
    est = estimate_loss(m, 10, _literal(m, params.A, params.heads, params.prompts), method="direct", target_rel_se=0,
                        max_samples=100_000, min_samples=100_000, seed=3, device="cpu")
    assert abs(est.mean - opt.loss) <= K_SIGMA * est.stderr
    d = opt.to_dict()
    assert len(d["A"]) == 11 and len(d["a"]) == 11 and len(d["prompts"]) == 2 and d["loss"] == opt.loss


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 40))
def test_solver_with_assumption_1_blocks_fixed_is_the_reduced_optimum(mixture: TaskMixture, n: int) -> None:
    """Column A[:d, d] = 0 and head e: the solver's closed-form profile is L*_PT, L*_FT, L*_JT of theory.optima
    (two independent derivations of the same optimum); freeing either block never raises the loss."""
    for mode in ("PT", "FT", "JT"):
        cost = assumption1_cost(mixture, n, mode, starts=2)
        assert cost.reduced == pytest.approx(optimum(mode, mixture, n).loss, rel=1e-9)
        if mode != "FT":  # FT's pretrained model changes with the blocks, so no ordering is implied
            assert max(cost.column_only, cost.head_only) <= cost.reduced * (1 + 1e-10)
            assert cost.unconstrained <= min(cost.column_only, cost.head_only) * (1 + 1e-9)


@settings(max_examples=8)
@given(mixture=task_mixtures(max_d=3, max_K=1), n=st.integers(1, 40))
def test_one_task_joint_optimum_is_the_zero_mean_reduced_optimum(mixture: TaskMixture, n: int) -> None:
    """K = 1, a closed form: the shared head re-centres the single task at mean zero, where Assumption 1 costs
    nothing, so min over eq. (6) with a prompt = L*_JT of the zero-mean task (theory.optima)."""
    exact = unconstrained_optimum(mixture, n, "JT", starts=3).loss
    assert exact == pytest.approx(optimum("JT", mixture.with_zero_means(), n).loss, rel=1e-9)


def test_first_order_gain_over_assumption_1_in_closed_form_d1() -> None:
    """d = 1, K = 2, Sigma_x = 1, Sigma_beta_k = s, noise sigma, all symbolic.  At the reduced joint optimum the
    gradients of the exact loss in the blocks Assumption 1 fixes are, with c = sum pi_k mu_k (mean task),
    v and k3 the variance and third central moment of the task means, and D = 2 E[mu^2] + (n + 2) s + sigma^2:

        dL/da_x = 4 n s^2 c / D^2,      dL/dA[0, 1] = 4 n s (k3 + c (v + s - c^2)) / D.

    So the reduced optimum is stationary only when c = 0 and k3 = 0: the mean task must vanish (else re-centring
    gains) and the task means must not be skewed (else the column gains), e.g. fig2c (pi = 0.3) gains."""
    n, s, pi = sp.symbols("n s pi", positive=True)
    m1, m2, W, b, ax, u1, u2 = sp.symbols("m1 m2 W b a_x u1 u2", real=True)
    sigma = sp.Symbol("sigma", nonnegative=True)
    B, a = sp.Matrix([[W, b]]), sp.Matrix([ax, 1])
    loss = sum(w * attention_task_loss(task_blocks(sp.eye(1), sp.Matrix([mu]), sp.Matrix([[s]]), sigma**2), B,
                                       sp.Matrix([u]), a, n)
               for w, mu, u in ((pi, m1, u1), (1 - pi, m2, u2)))
    reduced = sp.expand(loss.subs({b: 0, ax: 0}))
    (opt,) = sp.solve([sp.diff(reduced, v) for v in (W, u1, u2)], [W, u1, u2], dict=True)
    at = {b: 0, ax: 0}
    c = pi * m1 + (1 - pi) * m2
    v = pi * (1 - pi) * (m1 - m2) ** 2
    k3 = pi * (1 - pi) * (1 - 2 * pi) * (m1 - m2) ** 3
    D = 2 * (pi * m1**2 + (1 - pi) * m2**2) + (n + 2) * s + sigma**2
    assert sp.simplify(sp.diff(loss, ax).subs(at).subs(opt) - 4 * n * s**2 * c / D**2) == 0
    assert sp.simplify(sp.diff(loss, b).subs(at).subs(opt) - 4 * n * s * (k3 + c * (v + s - c**2)) / D) == 0

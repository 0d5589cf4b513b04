"""The Zhang-Frei-Bartlett pack (claims.papers.zhang2024) against independent references.

(a) the exact population loss of their LSA, written from its definition (``lsa_reference.ExactLoss``, every entry of
    the layer that reaches the output free), minimised by scipy; (b) Monte Carlo on prompts sampled literally and run
    through ``f_LSA(E) = E + W^PV E (E^T W^KQ E)/rho``; (c) gradient flow from Assumption 3.3's start and a short torch
    training run of the same layer.  Plus: every claim on every case of the pack, the symbolic decisions, negative
    controls (a perturbed formula must fail), and hypothesis properties over random instances.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from lsa_reference import ExactLoss, Problem, effective_W, mean_and_tolerance, sample_prompts
from mixture_strategies import spd_matrices
from scipy.integrate import solve_ivp
from scipy.optimize import minimize
from scipy.stats import norm

from claims.papers.zhang2024 import PAPER, PRESETS, covariate_shift, model, theorem41, theorem42
from claims.papers.zhang2024.model import (
    claimed_corollary_bound,
    claimed_gamma,
    claimed_product,
    claimed_test_error,
    claimed_weights,
    zhang_mixture,
)
from claims.record import Claim, Outcome, StatedParameters


@pytest.fixture(autouse=True)
def _one_torch_thread():  # type: ignore[no-untyped-def]
    """Small tensors: one intra-op thread is faster, and steady on a shared machine (see verify.run.cpu_threads)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


K_SIGMA = float(norm.isf(1e-6 / 2))  # two-sided 1e-6 per comparison (as training.evidence): 4.9 standard errors
CLAIMS = {c.id: c for c in PAPER.claims}


# ----- the record ---------------------------------------------------------------------------------
def test_pack_is_well_formed() -> None:
    assert PAPER.key == "zhang2024" and PAPER.default_mixture in PAPER.presets and PAPER.mapping
    assert len(CLAIMS) == len(PAPER.claims) == 6
    for name, build in PRESETS.items():
        m = build()
        assert model.in_model(m), name
    for claim in PAPER.claims:
        assert isinstance(claim, Claim) and claim.paper == PAPER.key and claim.docs.startswith("docs/papers/zhang2024.md")
        assert "Zhang, Frei, Bartlett 2024" in claim.source and claim.results
        assert claim.symbolic is not None and claim.symbolic.__qualname__ == claim.symbolic.__name__  # module level
    m = PRESETS["correlated"]()
    for claim in PAPER.claims:
        if claim.stated is not None:
            stated = claim.stated(m, 7)
            assert isinstance(stated, StatedParameters) and stated.predictor == "reduced"
            assert stated.W.shape == (m.d, m.d) and stated.P.shape == (1, m.d) and not stated.P.any()
    assert CLAIMS["ZFB.T4.1.loss"].loss and CLAIMS["ZFB.T4.1.loss"].optimum == "PT"
    a, b = PAPER.cases((1, 4), 3), PAPER.cases((1, 4), 3)
    assert [c.label for c in a] == [c.label for c in b]
    assert all(np.array_equal(x.mixture.sigma_x, y.mixture.sigma_x) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_every_claim_holds_on_every_case(claim_id: str) -> None:
    claim = CLAIMS[claim_id]
    for case in PAPER.cases((1, 4, 20), 0):
        assert claim.scope(case.mixture), case.label  # every case is the paper's own model
        comp = claim.check(case.mixture, case.n)
        assert comp.outcome is Outcome.HOLDS, (case.label, case.n, comp.rel_error, comp.note)


def test_outside_the_model_is_not_applicable() -> None:
    from theory.mixture import preset
    noisy = preset("fig2c")  # two tasks with means: not their training model
    for claim in PAPER.claims:
        comp = claim.check(noisy, 5)
        if claim.id == "ZFB.T4.2":  # any mixture is a test distribution for Theorem 4.2
            assert comp.outcome is Outcome.HOLDS
        else:
            assert not claim.scope(noisy) and comp.outcome is Outcome.NOT_APPLICABLE


def test_the_verdict_machinery_verifies_every_claim() -> None:
    """claims.verdicts.judge over the pack's own search family (as `verify --paper KEY` runs it), symbolic apart."""
    from claims.verdicts import Verdict, judge
    cases = PAPER.cases((1, 4, 20), 0)
    for claim in PAPER.claims:
        verdict = judge(claim, cases, symbolic=False)
        assert verdict.verdict is Verdict.VERIFIED and verdict.failed == 0, (claim.id, verdict.reason)
        assert verdict.checked == sum(claim.scope(c.mixture) for c in cases)


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_symbolic_decision_holds(claim_id: str) -> None:
    symbolic = CLAIMS[claim_id].symbolic
    assert symbolic is not None
    result = symbolic()
    assert result.holds, result.difference


# ----- negative controls: the checks can fail ---------------------------------------------------------
def test_a_wrong_gamma_is_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gamma without the 1/N on Lambda (the infinite-N preconditioner) must fail the product and loss checks."""
    def wrong(Lambda: np.ndarray, N: int) -> np.ndarray:
        return np.linalg.inv(Lambda + np.trace(Lambda) / N * np.eye(Lambda.shape[0]))
    monkeypatch.setattr(theorem41, "claimed_product", wrong)
    m = PRESETS["correlated"]()
    assert CLAIMS["ZFB.T4.1.W"].check(m, 4).outcome is Outcome.FAILS


def test_a_fixed_normalisation_breaks_theorem42() -> None:
    """If the layer kept 1/N (training length) on a test prompt of M != N examples, Theorem 4.2's bias term would
    depend on M: the formula only holds with the 1/M normalisation of the mapping."""
    Lam, N, M = PRESETS["correlated"]().sigma_x, 6, 18
    A = theorem42.trained_product(Lam, N)
    test = zhang_mixture(Lam)
    fixed = theorem42.derived_test_error(A * M / N, test, M)  # x^T A (1/N) X^T y on M examples
    claimed = claimed_test_error(Lam, N, M, np.eye(Lam.shape[0]), 0.0)
    assert abs(fixed - claimed) > 1e-3 * claimed
    assert abs(theorem42.derived_test_error(A, test, M) - claimed) <= 1e-10 * claimed


# ----- (a) numerical minimiser of the exact loss of the full layer ------------------------------------
def _minimise(loss: ExactLoss, d: int, seed: int, starts: int = 3) -> tuple[float, np.ndarray, np.ndarray]:
    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(x, requires_grad=True)
        value = loss(t[:d + 1], t[d + 1:].reshape(d + 1, d))
        value.backward()
        assert t.grad is not None
        return float(value.detach()), t.grad.numpy().copy()

    rng = np.random.default_rng(seed)
    block = np.zeros(d + 1 + (d + 1) * d)
    block[d] = 1.0  # value reads the label only
    block[d + 1:d + 1 + d * d] = rng.standard_normal(d * d)  # key-query block W^KQ_11 random, its label row 0
    x0s = [0.5 * rng.standard_normal(block.size) for _ in range(starts)]  # fully random: may end in a local minimum
    x0s += [block + 0.3 * rng.standard_normal(block.size) for _ in range(2)]  # near Assumption 3.3's block form
    best = None
    for x0 in x0s:
        res = minimize(fg, x0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return float(best.fun), best.x[:d + 1], best.x[d + 1:].reshape(d + 1, d)


_ROTATED_3 = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.4]])


@pytest.mark.parametrize(("Lam", "N"), [(np.array([[2.0]]), 1), (np.array([[1.0, 0.8], [0.8, 1.0]]), 4), (_ROTATED_3, 20)],
                         ids=["d=1 N=1", "d=2 correlated N=4", "d=3 rotated N=20"])
def test_full_layer_minimum_is_theorem41(Lam: np.ndarray, N: int) -> None:
    """Every entry of W^PV's last row and of W^KQ's first d columns free (the unmasked layer, query in E E^T): the
    minimum equals Theorem 4.2's error at M = N and its label-linear part is Gamma^{-1}/N (d <= 3 keeps the exact
    cubature small: 3^d x 4^d nodes)."""
    d = Lam.shape[0]
    value, b, C = _minimise(ExactLoss(Problem(Lam, N), unmasked=True), d, seed=N)
    claimed = claimed_test_error(Lam, N, N, np.eye(d), 0.0)
    assert abs(value - claimed) <= 1e-9 * claimed
    W = effective_W(b, C, N)
    target = claimed_product(Lam, N) / N
    assert np.linalg.norm(W - target) <= 1e-6 * np.linalg.norm(target)


def test_the_full_layer_has_a_non_global_local_minimum() -> None:
    """Not a claim of the paper, an observation behind its hypothesis: from a fully random start BFGS can stop at a
    local minimum of the full layer (the value reads x as well as y) well above the global one; the Hessian there is
    positive semi-definite with only the gauge direction (b, C) -> (g b, C / g) flat.  Theorem 4.1's convergence needs
    a start like Assumption 3.3's, which keeps the value row on the label and the key-query block on x."""
    Lam, N, d = _ROTATED_3, 20, 3
    loss = ExactLoss(Problem(Lam, N), unmasked=True)

    def f(t: torch.Tensor) -> torch.Tensor:
        return loss(t[:d + 1], t[d + 1:].reshape(d + 1, d))

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(x, requires_grad=True)
        value = f(t)
        value.backward()
        assert t.grad is not None
        return float(value.detach()), t.grad.numpy().copy()

    res = minimize(fg, 0.5 * np.random.default_rng(20).standard_normal(d + 1 + (d + 1) * d), jac=True, method="BFGS",
                   options={"gtol": 1e-12, "maxiter": 5000})
    global_min = claimed_test_error(Lam, N, N, np.eye(d), 0.0)
    assert res.fun > 2 * global_min and np.linalg.norm(res.jac) < 1e-6
    eig = np.linalg.eigvalsh(torch.autograd.functional.hessian(f, torch.tensor(res.x)).numpy())
    assert abs(eig[0]) < 1e-8 and eig[1] > 1e-3  # one flat (gauge) direction, curvature up in all others


@given(st.integers(1, 3).flatmap(lambda d: spd_matrices(d)), st.integers(1, 30), st.integers(1, 30),
       st.floats(0.0, 1.5), st.floats(-1.0, 1.0), st.floats(0.2, 2.0))
def test_theorem42_against_the_reference(Lam: np.ndarray, N: int, M: int, s2: float, shift: float, scale: float) -> None:
    """Theorem 4.2's right side = the reference's exact error of x^T Gamma^{-1} (1/M) X^T y, for test tasks
    w ~ N(mu, scale I) with noise s2 (task shift) and any M."""
    d = Lam.shape[0]
    mu = shift * np.ones(d)
    exact = ExactLoss(Problem(Lam, M, mu, scale * np.eye(d), s2), unmasked=True)
    b = torch.zeros(d + 1, dtype=torch.float64)
    b[d] = 1.0
    C = torch.zeros(d + 1, d, dtype=torch.float64)
    C[:d] = torch.as_tensor(claimed_product(Lam, N))
    value = float(exact(b, C))
    claimed = claimed_test_error(Lam, N, M, scale * np.eye(d) + np.outer(mu, mu), s2)
    assert abs(value - claimed) <= 1e-9 * value


@given(st.integers(1, 4).flatmap(lambda d: spd_matrices(d)), st.integers(1, 50), st.integers(1, 50))
def test_corollary43_bounds_the_exact_error(Lam: np.ndarray, N: int, M: int) -> None:
    d = Lam.shape[0]
    exact = ExactLoss(Problem(Lam, M), unmasked=False)
    b = torch.zeros(d + 1, dtype=torch.float64)
    b[d] = 1.0
    C = torch.zeros(d + 1, d, dtype=torch.float64)
    C[:d] = torch.as_tensor(claimed_product(Lam, N))
    assert float(exact(b, C)) <= claimed_corollary_bound(Lam, N, M) * (1 + 1e-12)


@given(st.integers(1, 4).flatmap(lambda d: spd_matrices(d)), st.integers(1, 40))
def test_claims_hold_on_random_instances(Lam: np.ndarray, N: int) -> None:
    m = zhang_mixture(Lam)
    for claim in (CLAIMS["ZFB.T4.1.W"], CLAIMS["ZFB.T4.1.weights"], CLAIMS["ZFB.T4.1.loss"], CLAIMS["ZFB.T4.2"],
                  CLAIMS["ZFB.C4.3"]):
        comp = claim.check(m, N)
        assert comp.outcome is Outcome.HOLDS, (claim.id, comp.rel_error)


# ----- (b) Monte Carlo on literal prompts -------------------------------------------------------------
def _lsa_prediction(X: np.ndarray, y: np.ndarray, xq: np.ndarray, W_pv: np.ndarray, W_kq: np.ndarray) -> np.ndarray:
    """Bottom-right entry of f_LSA(E) = E + W^PV E (E^T W^KQ E) / rho, rho the prompt length (their eq. 3.4 and the
    test-time normalisation); only E's last column of the output is formed (associativity, no approximation)."""
    S, M, d = X.shape
    E = np.zeros((S, d + 1, M + 1))
    E[:, :d, :M] = X.transpose(0, 2, 1)
    E[:, d, :M] = y
    E[:, :d, M] = xq
    last = np.einsum("ij,sjk->sik", W_kq, E)[:, :, M]  # W^KQ E e_{M+1}
    attention = np.einsum("sjk,sj->sk", E, last)  # E^T W^KQ E e_{M+1}
    out_last = E[:, :, M] + np.einsum("ij,sjk,sk->si", W_pv, E, attention) / M
    return np.asarray(out_last[:, d])


@pytest.mark.parametrize(("scenario", "N", "M", "s2", "shift", "c"), [
    ("training, M = N", 5, 5, 0.0, 0.0, 1.0),
    ("longer noisy test prompt", 5, 12, 0.5, 0.0, 1.0),
    ("short prompt, shifted noisy tasks", 8, 2, 0.3, 0.8, 1.0),
    ("covariates scaled by 2", 6, 6, 0.0, 0.0, 2.0),
])
def test_monte_carlo_literal_prompts(scenario: str, N: int, M: int, s2: float, shift: float, c: float) -> None:
    """The stated weights of Theorem 4.1 run on sampled prompts: the mean squared error matches Theorem 4.2 (task shifts)
    and, under covariate scaling, the exact error behind the Section 4.2 claim (within k standard errors)."""
    Lam = PRESETS["correlated"]().sigma_x[:3, :3]
    d = Lam.shape[0]
    rng = np.random.default_rng(20240049 + M)
    mu = shift * np.array([1.0, -1.0, 1.0]) / np.sqrt(3)
    W_pv, W_kq = claimed_weights(Lam, N)
    total: list[np.ndarray] = []
    for _ in range(4):  # 4 x 50 000 prompts, memory-bounded
        X, y, xq, yq = sample_prompts(rng, c * c * Lam, M, 50_000, mu=mu, Cw=0.5 * np.eye(d) if shift else None, s2=s2)
        total.append((_lsa_prediction(X, y, xq, W_pv, W_kq) - yq) ** 2)
    errors = np.concatenate(total)
    mean, tol = mean_and_tolerance(errors, K_SIGMA)
    if c == 1.0:
        B = (0.5 * np.eye(d) if shift else np.eye(d)) + np.outer(mu, mu)
        expected = claimed_test_error(Lam, N, M, B, s2)
    else:  # E(y_hat - <w, x_q>)^2 at finite M = N: relative error against <w, x_q> times E<w, x_q>^2
        expected = covariate_shift.relative_error(Lam, c, N, M, 1.0) * c * c * np.trace(Lam)
    assert abs(mean - expected) <= tol, (scenario, mean, expected, tol)


# ----- (c) gradient flow from Assumption 3.3, and training ----------------------------------------------
def _reduced_loss_and_gradient(A: np.ndarray, Lam: np.ndarray, N: int) -> tuple[float, np.ndarray]:
    """E(y_hat - y)^2 of x^T A^T (1/N)... written for the product A = W^PV_22 W^KQ_11 (y_hat = w^T S_hat A x_q with
    S_hat = X^T X / N, w ~ N(0, I)): by Isserlis, (1 + 1/N) tr(Lam A Lam A^T Lam) + tr(A Lam A^T Lam) tr(Lam)/N
    - 2 tr(A Lam^2) + tr(Lam), with gradient 2 (1 + 1/N) Lam^2 A Lam + 2 tr(Lam) Lam A Lam / N - 2 Lam^2."""
    tr = float(np.trace(Lam))
    value = ((1 + 1 / N) * np.trace(Lam @ A @ Lam @ A.T @ Lam) + np.trace(A @ Lam @ A.T @ Lam) * tr / N
             - 2 * np.trace(A @ Lam @ Lam) + tr)
    grad = 2 * (1 + 1 / N) * Lam @ Lam @ A @ Lam + 2 * tr * Lam @ A @ Lam / N - 2 * Lam @ Lam
    return float(value), grad


def test_reduced_formula_matches_the_reference() -> None:
    Lam, N = PRESETS["correlated"]().sigma_x, 3
    d = Lam.shape[0]
    A = np.random.default_rng(1).standard_normal((d, d))
    b = torch.zeros(d + 1, dtype=torch.float64)
    b[d] = 1.0
    C = torch.zeros(d + 1, d, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        C[:d] = torch.as_tensor(A)
    value = ExactLoss(Problem(Lam, N), unmasked=True)(b, C)
    value.backward()
    assert C.grad is not None
    mine, grad = _reduced_loss_and_gradient(A, Lam, N)
    assert abs(float(value.detach()) - mine) <= 1e-10 * mine
    assert np.allclose(C.grad.numpy()[:d], grad, rtol=1e-10, atol=1e-10)


def test_gradient_flow_from_assumption_33_reaches_the_stated_weights() -> None:
    """Integrate the flow of L = 1/2 E(...)^2 in (u, U) = (W^PV_22, W^KQ_11) from u = s, U = s Theta Theta^T with
    ||Theta Theta^T||_F = 1 (the other entries get no gradient and stay 0): it ends at Theorem 4.1's pair."""
    Lam, N = PRESETS["correlated"]().sigma_x[:2, :2], 4
    d, s = 2, 0.3
    rng = np.random.default_rng(33)
    theta = rng.standard_normal((d, d))
    start = theta @ theta.T / np.linalg.norm(theta @ theta.T)
    assert s * s * np.linalg.norm(claimed_gamma(Lam, N), 2) * np.sqrt(d) < 2  # a small start, as the theorem asks

    def rhs(_: float, z: np.ndarray) -> np.ndarray:
        u, U = z[0], z[1:].reshape(d, d)
        _, G = _reduced_loss_and_gradient(u * U, Lam, N)
        return np.concatenate([[-0.5 * np.sum(U * G)], (-0.5 * u * G).ravel()])

    sol = solve_ivp(rhs, (0.0, 400.0), np.concatenate([[s], s * start.ravel()]), method="LSODA", rtol=1e-11, atol=1e-13)
    assert sol.success
    u, U = sol.y[0, -1], sol.y[1:, -1].reshape(d, d)
    W_pv, W_kq = claimed_weights(Lam, N)
    assert abs(u - W_pv[d, d]) <= 1e-7 * W_pv[d, d]
    assert np.linalg.norm(U - W_kq[:d, :d]) <= 1e-7 * np.linalg.norm(W_kq[:d, :d])


def test_training_the_full_layer_lands_on_gamma_inverse() -> None:
    """Adam on fresh prompts, every entry of W^PV and W^KQ trainable, Assumption 3.3's start. Tolerance from the run
    itself: the exact excess loss e of the trained layer (reference) must be under 1% of the claimed minimum (the
    budget), and then the label-linear part must lie within sqrt(e / lambda_min(H)) of Gamma^{-1}/N (H the Hessian of
    the exact loss in W: the even part of the prediction only adds loss, so e bounds the W-part's excess)."""
    torch.manual_seed(0)
    d, N, steps, batch = 2, 8, 600, 512
    Lam = np.array([[1.5, 0.3], [0.3, 0.75]])
    chol = torch.as_tensor(np.linalg.cholesky(Lam))
    gen = torch.Generator().manual_seed(8)
    theta = torch.randn(d, d, generator=gen, dtype=torch.float64)
    start = theta @ theta.T / torch.linalg.norm(theta @ theta.T)
    W_pv = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    W_pv[d, d] = 0.3
    W_kq = torch.zeros(d + 1, d + 1, dtype=torch.float64)
    W_kq[:d, :d] = 0.3 * start
    W_pv.requires_grad_()
    W_kq.requires_grad_()
    opt = torch.optim.Adam([W_pv, W_kq], lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.02 ** (k / steps))
    for _ in range(steps):
        w = torch.randn(batch, d, generator=gen, dtype=torch.float64)
        X = torch.randn(batch, N, d, generator=gen, dtype=torch.float64) @ chol.T
        xq = torch.randn(batch, d, generator=gen, dtype=torch.float64) @ chol.T
        y, yq = (X @ w[:, :, None])[..., 0], (xq * w).sum(-1)
        Z = torch.cat([X, y[..., None]], -1)
        q = torch.cat([xq, torch.zeros(batch, 1, dtype=torch.float64)], -1)
        EEt = (Z.transpose(1, 2) @ Z + q[:, :, None] * q[:, None, :]) / N  # E E^T / N, query included
        pred = torch.einsum("i,bij,jk,bk->b", W_pv[d], EEt, W_kq[:, :d], xq)
        loss = 0.5 * ((pred - yq) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    b, C = W_pv.detach()[d].numpy(), W_kq.detach()[:, :d].numpy()
    exact = ExactLoss(Problem(Lam, N), unmasked=True)
    claimed = claimed_test_error(Lam, N, N, np.eye(d), 0.0)
    excess = float(exact(torch.as_tensor(b), torch.as_tensor(C))) - claimed
    assert -1e-12 <= excess <= 0.01 * claimed
    hessian = 2 * np.kron((1 + 1 / N) * Lam @ Lam, Lam) + 2 * np.trace(Lam) / N * np.kron(Lam, Lam)  # of A -> L(A)
    lam_min = float(np.linalg.eigvalsh((hessian + hessian.T) / 2)[0]) / 2  # L - L* = vec(dA)^T (H/2) vec(dA)
    dW = effective_W(b, C, N) - claimed_product(Lam, N) / N
    assert np.linalg.norm(dW * N) <= np.sqrt(excess / lam_min) * (1 + 1e-9)

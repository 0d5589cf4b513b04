"""Expansions in 1/n: the exact symbolic route against float64 optima and fits, and the asymptotic claims."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from mixture_strategies import task_mixtures

from claims.registry import claims
from theory.asymptotics import (
    laurent_at_infinity,
    numeric_leading_term,
    numeric_value,
    setting_values,
    symbolic_expansion,
)
from theory.errors import VerifyError
from theory.isotropic import isotropic_problem
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.symbolic import d1_problem

ISOTROPIC_PRESETS = ("fig2a", "fig2c", "fig2d", "figA1a", "figA1b")
LEADING_RTOL = 1e-6  # symbolic leading coefficients vs numeric fits on the isotropic presets


@st.composite
def isotropic_mixtures(draw: st.DrawFn) -> TaskMixture:
    """Sigma_x = xi I, Sigma_beta_k = s_k I, collinear means m_k u (the symbolic setting), any K."""
    d, K = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    unit = st.floats(0.3, 3.0)
    u = np.array(draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d))) + 0.1
    u /= np.linalg.norm(u)
    coords = np.array(draw(st.lists(st.floats(-2, 2), min_size=K, max_size=K)))
    coords[0] = draw(st.floats(0.5, 2))  # a non-zero mean: the gaps are then non-zero
    raw = np.array(draw(st.lists(st.floats(0.2, 1.0), min_size=K, max_size=K)))
    s = np.array(draw(st.lists(unit, min_size=K, max_size=K)))
    return TaskMixture(draw(unit) * np.eye(d), raw / raw.sum(), np.outer(coords, u),
                       s[:, None, None] * np.eye(d), draw(st.one_of(st.just(0.0), st.floats(0.05, 2.0))))


def _lambdified(key: str):
    pr = isotropic_problem()
    args = [pr[k] for k in ("n", "d", "xi", "s", "a", "sigma")]
    return sp.lambdify(args, pr[key], "numpy")


def _args(m: TaskMixture, n: int) -> list[float]:
    v = setting_values("isotropic", m)
    pr = isotropic_problem()
    return [n] + [float(v[pr[k]]) for k in ("d", "xi", "s", "a", "sigma")]


@settings(max_examples=15)
@given(mixture=isotropic_mixtures(), n=st.integers(1, 200))
def test_isotropic_closed_forms_equal_the_numeric_optima(mixture: TaskMixture, n: int) -> None:
    """The symbolic-d derivation (commuting blocks, aggregated tasks) against theory.optima's solves."""
    args = _args(mixture, n)
    for strategy in ("PT", "FT", "JT", "PGD"):
        assert _lambdified(f"loss_{strategy.lower()}")(*args) == pytest.approx(optimum(strategy, mixture, n).loss, rel=1e-9)
    u = mixture.means[0] / np.linalg.norm(mixture.means[0])
    for strategy in ("PT", "JT"):
        wbar = optimum(strategy, mixture, n).W_bar
        along, across = _lambdified(f"wbar_{strategy.lower()}")(*args)
        assert u @ wbar @ u == pytest.approx(along, rel=1e-9)
        assert np.trace(wbar) == pytest.approx(along + (mixture.d - 1) * across, rel=1e-9)
    for strategy in ("FT", "JT"):
        per_unit_mean = _lambdified(f"prompt_{strategy.lower()}")(*args)
        np.testing.assert_allclose(optimum(strategy, mixture, n).P, per_unit_mean * mixture.means, rtol=1e-8, atol=1e-9)


def test_isotropic_derivation_at_d1_equals_the_wick_derived_two_task_problem() -> None:
    """The aggregation over tasks (s, a) against d1_problem (K = 2, each task's parameters separate, from Wick)."""
    iso, d1 = isotropic_problem(), d1_problem()
    point = {d1["lx"]: sp.Rational(3, 2), d1["pi"]: sp.Rational(1, 3), d1["m1"]: 2, d1["m2"]: sp.Rational(-1, 2),
             d1["b1"]: sp.Rational(1, 2), d1["b2"]: 2, d1["sigma"]: sp.Rational(7, 10), d1["n"]: 5}
    pi, m1, m2 = point[d1["pi"]], point[d1["m1"]], point[d1["m2"]]
    agg = {iso["d"]: 1, iso["xi"]: point[d1["lx"]] ** 2, iso["sigma"]: point[d1["sigma"]], iso["n"]: 5,
           iso["s"]: pi * point[d1["b1"]] ** 2 + (1 - pi) * point[d1["b2"]] ** 2, iso["a"]: pi * m1**2 + (1 - pi) * m2**2}
    for key in ("loss_pt", "loss_ft", "loss_jt", "loss_pgd"):
        assert sp.simplify(iso[key].subs(agg) - d1[key].subs(point)) == 0
    assert sp.simplify(iso["prompt_jt"].subs(agg) * m1 - d1["P_jt"][0].subs(point)) == 0


def test_laurent_expansion_of_a_known_rational_function() -> None:
    n, x = sp.symbols("n x", positive=True)
    series = laurent_at_infinity(x / (n + 1) + n**2 / (n**2 + x), n, -3)
    assert series == {0: 1, -1: x, -2: -2 * x, -3: x}


@pytest.mark.parametrize("name", ISOTROPIC_PRESETS)
@pytest.mark.parametrize("quantity", ["PT-FT", "FT-JT", "ratio", "JT-PGD", "JT"])
def test_symbolic_leading_coefficient_matches_the_float64_fit(name: str, quantity: str) -> None:
    mixture = preset(name)
    (expansion,) = symbolic_expansion(quantity, "isotropic", 0 if quantity == "ratio" else 2)
    exponent, coefficient = next((e, c) for e, c in expansion.evaluate(setting_values("isotropic", mixture)) if c != 0)
    fit = numeric_leading_term(quantity, mixture)
    assert fit.stable and fit.exponent == exponent
    assert fit.coefficient == pytest.approx(coefficient, rel=LEADING_RTOL)


@settings(max_examples=10)
@given(mixture=isotropic_mixtures(), gap=st.sampled_from(["PT-FT", "FT-JT"]))
def test_exact_gap_approaches_the_derived_leading_term(mixture: TaskMixture, gap: str) -> None:
    """gap(n) / (c n^p) -> 1, with c, p from the exact expansion, monotonically over n = 10^2..10^5, and the
    remaining relative error is the next term's: at most 2 |c_next / c| / n at n = 10^5."""
    (expansion,) = symbolic_expansion(gap, "isotropic", 3)
    (p, c), (_, c_next) = expansion.evaluate(setting_values("isotropic", mixture))[:2]
    errors = [abs(numeric_value(gap, mixture, n) / (c * float(n) ** p) - 1) for n in (10**2, 10**3, 10**4, 10**5)]
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)) or errors[-1] < 1e-9
    assert errors[-1] <= 2 * abs(c_next / c) / 1e5 + 1e-9


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3))
def test_both_gaps_are_order_n_minus_2_on_general_mixtures(mixture: TaskMixture) -> None:
    """Corollary 1 claims n^-2 and n^-1; the float64 fit on arbitrary mixtures gives n^-2 for both (or zero)."""
    for gap in ("PT-FT", "FT-JT"):
        fit = numeric_leading_term(gap, mixture)
        if fit.exponent is None:  # zero means (stable), or float64 underflow of a tiny gap (flagged unstable)
            assert fit.stable == (not np.any(mixture.means))
        else:
            assert fit.exponent == -2 and fit.stable


@settings(max_examples=10)
@given(mixture=task_mixtures(max_d=3, max_K=3), n=st.integers(1, 50))
def test_optimal_prompts_do_not_depend_on_n_and_have_the_stated_closed_form(mixture: TaskMixture, n: int) -> None:
    """The correction of S4.prompts.large-n: p_FT = (I + c Sigma_tilde^{-1}) Sigma_x mu_k, p_JT with c I + Delta."""
    c = np.trace(mixture.sigma_beta_tilde) + mixture.sigma2
    sx_mu = mixture.means @ mixture.sigma_x.T  # rows Sigma_x mu_k
    ft = sx_mu + c * np.linalg.solve(mixture.sigma_beta_tilde, sx_mu.T).T
    jt = sx_mu + ((c * np.eye(mixture.d) + mixture.delta) @ np.linalg.solve(mixture.sigma_beta_bar, sx_mu.T)).T
    scale = 1 + np.abs(ft).max() + np.abs(jt).max()
    np.testing.assert_allclose(optimum("FT", mixture, n).P, ft, atol=1e-8 * scale)
    np.testing.assert_allclose(optimum("JT", mixture, n).P, jt, atol=1e-8 * scale)


def test_asymptotic_claims_on_the_default_preset() -> None:
    m = preset("fig2c")
    checks = {cid: c.check(m, 4) for cid, c in claims().items() if cid.startswith(("C1.rate", "C1.mean", "S4.limit", "S4.prompts"))}
    assert checks["C1.rate.PT-FT"].holds and checks["C1.rate.PT-FT"].derived == -2
    assert not checks["C1.rate.FT-JT"].holds and checks["C1.rate.FT-JT"].derived == -2
    assert not checks["C1.rate.ratio"].holds and checks["C1.rate.ratio"].derived == 0
    assert checks["C1.mean.PT-FT"].holds and checks["C1.mean.FT-JT"].derived == pytest.approx(4, abs=1e-2)
    assert checks["S4.limit.W"].holds and checks["S4.limit.loss"].holds
    assert not checks["S4.prompts.large-n"].holds


def test_setting_values_reject_mixtures_outside_the_setting() -> None:
    assert setting_values("isotropic", preset("figA1d")) is None  # non-isotropic covariances
    skew = TaskMixture(np.eye(2), np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.stack([np.eye(2)] * 2), 0.0)
    assert setting_values("isotropic", skew) is None  # means not collinear
    assert setting_values("d=1", preset("fig2c")) is None
    with pytest.raises(VerifyError, match="quantity"):
        numeric_leading_term("PT-XX", preset("fig2c"))
    with pytest.raises(VerifyError, match="order"):
        symbolic_expansion("PT", "isotropic", 99)

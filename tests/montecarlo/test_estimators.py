"""Both estimators agree with the exact float64 loss within k standard errors (tests/montecarlo/conftest.py).

Hypothesis chooses mixtures and parameters (not only optima); the sampler's
seed is fixed, and every check uses a fixed sample budget (target_rel_se=0).
"""

from __future__ import annotations

import inspect
import math
import resource
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mc_checks import SAMPLER_SEED
from mixture_strategies import attention_parameters, head_scales, matrices, reduced_parameters, task_mixtures

from montecarlo import Estimate, PGDPredictor, ReducedPredictor, estimate_loss
from montecarlo.estimators import batch_size_for
from theory.attention import proposition1_construction, reduced_form_parameters
from theory.errors import VerifyError
from theory.loss import pgd_loss, population_loss
from theory.mixture import TaskMixture, preset
from theory.optima import optimum

SAMPLES = {"direct": 40_000, "fast": 40_000}  # fixed budgets: relative SE ~ 1e-2 (direct) and ~ 3e-3 (fast)
SHAPES = st.tuples(task_mixtures(), st.integers(1, 12))
EXAMPLES = 20  # hypothesis examples per property below (each makes 1-2 k-sigma checks)


def _estimate(mixture: TaskMixture, n: int, spec: object, method: str, *, samples: int | None = None,
              **options: Any) -> Estimate:
    return estimate_loss(mixture, n, spec, method=method, target_rel_se=0.0,  # type: ignore[arg-type]
                         max_samples=samples or SAMPLES[method], seed=SAMPLER_SEED, device="cpu", **options)


# ----- against the exact loss at random mixtures and random parameters --------------------------------------------
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_reduced_predictor_matches_population_loss(data: st.DataObject, shape: tuple[TaskMixture, int], mc) -> None:  # type: ignore[no-untyped-def]
    mixture, n = shape
    W, P = data.draw(reduced_parameters(mixture, n))
    exact = float(population_loss(mixture, W, P, n))
    for method in ("direct", "fast"):
        mc.against(_estimate(mixture, n, ReducedPredictor(W, P), method), exact, f"reduced, {method}, n={n}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_pgd_predictor_matches_pgd_loss(data: st.DataObject, shape: tuple[TaskMixture, int], mc) -> None:  # type: ignore[no-untyped-def]
    mixture, n = shape
    W, _ = data.draw(reduced_parameters(mixture, n))
    scales = data.draw(st.one_of(st.none(), head_scales(mixture.K)))
    exact = float(pgd_loss(mixture, W, n, scales=scales))
    for method in ("direct", "fast"):
        mc.against(_estimate(mixture, n, PGDPredictor(W, scales), method), exact, f"PGD, {method}, n={n}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_attention_in_reduced_form_matches_population_loss(data: st.DataObject, shape: tuple[TaskMixture, int],  # type: ignore[no-untyped-def]
                                                           mc) -> None:
    """The full attention model under Assumption 1 ('*' entries random) has the reduced model's loss."""
    mixture, n = shape
    W, P = data.draw(reduced_parameters(mixture, n))
    params = reduced_form_parameters(W, P, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    exact = float(population_loss(mixture, W, P, n))
    for method in ("direct", "fast"):
        mc.against(_estimate(mixture, n, params, method), exact, f"attention (Assumption 1), {method}, n={n}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_proposition1_attention_matches_pgd_loss(data: st.DataObject, shape: tuple[TaskMixture, int], mc) -> None:  # type: ignore[no-untyped-def]
    mixture, n = shape
    d = mixture.d
    W = (np.eye(d) + 0.3 * data.draw(matrices(d, d, 2.0)) / d) / (n + d)  # invertible, condition number <= 4
    scales = data.draw(head_scales(mixture.K))
    exact = float(pgd_loss(mixture, W, n, scales=scales))
    params = proposition1_construction(mixture, W, scales)
    for method in ("direct", "fast"):
        mc.against(_estimate(mixture, n, params, method), exact, f"attention (Proposition 1), {method}, n={n}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_general_attention_direct_and_fast_agree(data: st.DataObject, shape: tuple[TaskMixture, int], mc) -> None:  # type: ignore[no-untyped-def]
    """No exact formula for arbitrary (A, W_v, prompts, heads): the two estimators must agree with each other."""
    mixture, n = shape
    params = data.draw(attention_parameters(mixture, n))
    mc.between(_estimate(mixture, n, params, "direct"), _estimate(mixture, n, params, "fast"),
               f"general attention, n={n}")


# ----- the paper's presets at the optima ---------------------------------------------------------------------------
PRESET_CASES = [
    pytest.param("fig2c", "JT", 1, id="fig2c-JT-n1"),
    pytest.param("fig2c", "JT", 10, id="fig2c-JT-n10"),
    pytest.param("fig2c", "FT", 40, id="fig2c-FT-n40"),
    pytest.param("figA1b", "PT", 10, id="figA1b-noisy-PT-n10"),
    pytest.param("fig2d", "PGD", 10, id="fig2d-PGD-n10"),
    pytest.param("figA1d", "PGD", 5, id="figA1d-noniso-PGD-n5"),
]


@pytest.mark.parametrize(("name", "strategy", "n"), PRESET_CASES)
def test_presets_at_optima(name: str, strategy: str, n: int, mc) -> None:  # type: ignore[no-untyped-def]
    mixture = preset(name)
    opt = optimum(strategy, mixture, n)
    spec = PGDPredictor(opt.W) if strategy == "PGD" else ReducedPredictor(opt.W, opt.P)
    for method in ("direct", "fast"):
        mc.against(_estimate(mixture, n, spec, method, samples=20_000), opt.loss, f"{name} {strategy} n={n} {method}")


def test_float32_sampling_agrees(mc) -> None:  # type: ignore[no-untyped-def]
    mixture = preset("fig2c")
    opt = optimum("JT", mixture, 10)
    est = _estimate(mixture, 10, ReducedPredictor(opt.W, opt.P), "fast", dtype=torch.float32)
    mc.against(est, opt.loss, "fig2c JT n=10 fast float32")


# ----- the streaming loop --------------------------------------------------------------------------------------------
def _fig2c_jt(n: int) -> tuple[TaskMixture, ReducedPredictor]:
    mixture = preset("fig2c")
    opt = optimum("JT", mixture, n)
    return mixture, ReducedPredictor(opt.W, opt.P)


@pytest.mark.parametrize("method", ["fast", "direct"])
def test_stops_at_target_precision_not_at_a_huge_budget(method: str) -> None:
    """A 1e9-sample budget is never materialised: the run stops once the target relative SE is met."""
    mixture, spec = _fig2c_jt(10)
    est = estimate_loss(mixture, 10, spec, method=method, target_rel_se=0.02, max_samples=10**9, device="cpu")
    assert est.rel_stderr <= 0.02 and 1_000 <= est.samples < 10**6
    assert est.method == method and est.seed == 0 and est.seconds > 0
    for n in (10, 10**4, 10**6):
        size = batch_size_for(method, n, mixture.d, device=torch.device("cpu"), dtype=torch.float64)
        per_sample = (n if method == "direct" else mixture.d + 1) * (mixture.d + 1) * 8
        assert 1 <= size <= 2**20 and (size == 1 or size * per_sample <= 32 << 20)  # one batch stays within 32 MiB


def test_sample_budget_is_exact_and_there_is_no_time_budget() -> None:
    """Budgets are samples only: no wall-clock option exists, so a result cannot depend on the machine."""
    mixture, spec = _fig2c_jt(5)
    est = estimate_loss(mixture, 5, spec, target_rel_se=0.0, max_samples=12_345, device="cpu", memory_bytes=1 << 20)
    assert est.samples == 12_345
    assert math.isclose(est.variance, est.stderr**2 * est.samples)
    assert not any("second" in name for name in inspect.signature(estimate_loss).parameters)
    with pytest.raises(TypeError, match="max_seconds"):
        estimate_loss(mixture, 5, spec, max_seconds=1.0)  # type: ignore[call-arg]


@pytest.mark.parametrize("method", ["fast", "direct"])
def test_huge_budget_streams_in_bounded_memory(method: str) -> None:
    """A budget of 40 batches after a warm-up of 10 must not raise peak memory by a batch."""
    mixture, spec = _fig2c_jt(100)
    budget = 8 << 20  # bytes per batch
    batch = batch_size_for(method, 100, mixture.d, device=torch.device("cpu"), dtype=torch.float64, memory_bytes=budget)
    options = {"method": method, "target_rel_se": 0.0, "device": "cpu", "memory_bytes": budget}
    estimate_loss(mixture, 100, spec, max_samples=10 * batch, **options)  # warm-up: allocator pools, caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    est = estimate_loss(mixture, 100, spec, max_samples=40 * batch, **options)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert est.samples == 40 * batch and after - before < budget


def test_same_seed_reproduces_other_seed_differs() -> None:
    mixture, spec = _fig2c_jt(10)
    runs = [estimate_loss(mixture, 10, spec, method=m, target_rel_se=0.0, max_samples=5_000, seed=s, device="cpu")
            for m in ("fast", "direct") for s in (7, 7, 8)]
    for a, b, c in (runs[:3], runs[3:]):
        assert a.mean == b.mean and a.stderr == b.stderr
        assert a.mean != c.mean


def test_progress_bar_runs() -> None:
    mixture, spec = _fig2c_jt(3)
    est = estimate_loss(mixture, 3, spec, target_rel_se=0.0, max_samples=3_000, device="cpu", progress=True)
    assert est.samples == 3_000


BAD_OPTIONS = [
    pytest.param({"method": "exact"}, "method", id="method"),
    pytest.param({"target_rel_se": -1.0}, "target_rel_se", id="negative-target"),
    pytest.param({"target_rel_se": float("nan")}, "target_rel_se", id="nan-target"),
    pytest.param({"max_samples": 1}, "max_samples", id="max-samples"),
    pytest.param({"max_samples": 1.5e6}, "max_samples", id="float-max-samples"),
    pytest.param({"min_samples": 0}, "min_samples", id="min-samples"),
    pytest.param({"seed": -3}, "seed", id="seed"),
    pytest.param({"device": "quantum"}, "device", id="device"),
    pytest.param({"memory_bytes": 0}, "memory_bytes", id="memory"),
]


@pytest.mark.parametrize(("options", "field"), BAD_OPTIONS)
def test_bad_options_are_rejected(options: dict[str, object], field: str) -> None:
    mixture, spec = _fig2c_jt(3)
    with pytest.raises(VerifyError, match=field):
        estimate_loss(mixture, 3, spec, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["fast", "direct"])
def test_overflowing_parameters_are_reported(method: str) -> None:
    mixture = preset("fig2c")
    with pytest.raises(VerifyError, match="not finite"):
        estimate_loss(mixture, 3, ReducedPredictor(1e200 * np.eye(10)), method=method, device="cpu")


@pytest.mark.parametrize("n", [0, -2, 2.5, True])
def test_bad_context_length_is_rejected(n: object) -> None:
    mixture, spec = _fig2c_jt(3)
    with pytest.raises(VerifyError, match="n"):
        estimate_loss(mixture, n, spec)  # type: ignore[arg-type]


def test_streaming_moments_match_numpy_over_uneven_batches() -> None:
    """Mean, standard error and skewness merged batch by batch equal the one-pass float64 values."""
    from montecarlo.estimators import _Moments

    rng = np.random.default_rng(0)
    values = 1e6 + rng.gamma(0.5, size=50_003) ** 2  # a large offset and a heavy right tail
    moments = _Moments()
    for chunk in np.split(values, [1, 3, 5_000, 5_007, 45_000]):
        moments.add(torch.as_tensor(chunk))
    centred = values - values.mean()
    assert moments.count == values.size
    assert math.isclose(moments.mean, values.mean(), rel_tol=1e-14)
    assert math.isclose(moments.stderr, values.std(ddof=1) / math.sqrt(values.size), rel_tol=1e-9)
    assert math.isclose(moments.skewness, (centred**3).mean() / centred.std() ** 3, rel_tol=1e-9)


def test_fixed_order_sum_is_exact_enough_and_thread_count_independent() -> None:
    """Issue 11: Tensor.sum() over > 32768 values splits between threads; fixed_order_sum does not."""
    from montecarlo.estimators import fixed_order_sum
    values = torch.randn(300_007, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 1e3 + 1.0
    reference = math.fsum(values.tolist())
    previous = torch.get_num_threads()
    try:
        sums = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            sums.append(float(fixed_order_sum(values)))
    finally:
        torch.set_num_threads(previous)
    assert sums[0] == sums[1]
    assert abs(sums[0] - reference) <= 1e-12 * float(values.abs().sum())
    assert float(fixed_order_sum(values[:5])) == pytest.approx(math.fsum(values[:5].tolist()), rel=1e-15)


# ----- the one-product ("column") Gram sampler of the GPU path ------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_column_sampler_matches_the_exact_losses(data: st.DataObject, shape: tuple[TaskMixture, int], mc) -> None:  # type: ignore[no-untyped-def]
    """The fast estimator with one product G a drawn per sample (montecarlo.sample_gram_columns) agrees with the exact
    loss for the reduced, PGD and general one-layer attention predictors (the last against theory.unconstrained)."""
    from theory.unconstrained import UnconstrainedParameters, unconstrained_loss

    mixture, n = shape
    W, P = data.draw(reduced_parameters(mixture, n))
    mc.against(_estimate(mixture, n, ReducedPredictor(W, P), "fast", sampler="column"),
               float(population_loss(mixture, W, P, n)), f"reduced, column, n={n}")
    scales = data.draw(st.one_of(st.none(), head_scales(mixture.K)))
    mc.against(_estimate(mixture, n, PGDPredictor(W, scales), "fast", sampler="column"),
               float(pgd_loss(mixture, W, n, scales=scales)), f"PGD, column, n={n}")
    params = data.draw(attention_parameters(mixture, n))
    exact = unconstrained_loss(mixture, UnconstrainedParameters(params.A, params.heads @ params.Wv.T, params.prompts), n)
    mc.against(_estimate(mixture, n, params, "fast", sampler="column"), exact, f"attention, column, n={n}")


def test_cpu_default_sampler_is_the_full_factor_and_column_refuses_the_stack() -> None:
    """On a CPU "auto" is the full Wishart factor (the numbers of earlier versions); the stack needs G itself."""
    from montecarlo import MultiLayerParameters

    m = preset("fig2c")
    opt = optimum("JT", m, 5)
    spec = ReducedPredictor(opt.W, opt.P)
    auto = _estimate(m, 5, spec, "fast", samples=5_000)
    wishart = _estimate(m, 5, spec, "fast", samples=5_000, sampler="wishart")
    assert (auto.mean, auto.stderr, auto.skewness) == (wishart.mean, wishart.stderr, wishart.skewness)
    assert auto.mean != _estimate(m, 5, spec, "fast", samples=5_000, sampler="column").mean  # another stream
    stack = MultiLayerParameters(np.zeros((2, 11, 11)), np.zeros((2, 11, 11)), np.zeros((2, 11)), np.ones((2, 11)))
    with pytest.raises(VerifyError, match="sampler"):
        _estimate(m, 5, stack, "fast", samples=5_000, sampler="column")
    with pytest.raises(VerifyError, match="sampler"):
        _estimate(m, 5, spec, "fast", samples=5_000, sampler="bartlett")

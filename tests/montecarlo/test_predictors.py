"""The torch predictors equal the paper's formulas sample by sample (no randomness in the comparison)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mc_checks import FLOAT_RTOL, SAMPLER_SEED
from mixture_strategies import attention_parameters, head_scales, matrices, reduced_parameters, task_mixtures

from montecarlo import Batch, PGDPredictor, ReducedPredictor, make_generator, predict, sample_batch
from theory.attention import (
    AttentionParameters,
    attention_predict,
    pgd_predict,
    proposition1_construction,
    reduced_form_parameters,
    reduced_predict,
)
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset

SHAPES = st.tuples(task_mixtures(), st.integers(1, 12))


def _close(actual: torch.Tensor, expected: np.ndarray | torch.Tensor) -> None:
    expected = torch.as_tensor(expected, dtype=torch.float64)
    scale = max(1.0, float(expected.abs().max()))
    assert torch.allclose(actual, expected, rtol=FLOAT_RTOL, atol=FLOAT_RTOL * scale)


def _numpy(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return batch.task.numpy(), batch.X.numpy(), batch.y.numpy(), batch.x.numpy()


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_reduced_and_pgd_match_the_numpy_formulas(data: st.DataObject, shape: tuple[TaskMixture, int]) -> None:
    """eq. (7) and the PGD predictor of Section 5, against theory.attention's numpy versions."""
    mixture, n = shape
    W, P = data.draw(reduced_parameters(mixture, n))
    scales = data.draw(head_scales(mixture.K))
    batch = sample_batch(mixture, n, 64, generator=make_generator(SAMPLER_SEED))
    _close(predict(mixture, ReducedPredictor(W, P), batch), reduced_predict(W, P, *_numpy(batch)))
    _close(predict(mixture, PGDPredictor(W, scales), batch), pgd_predict(W, mixture, *_numpy(batch), scales=scales))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_attention_forward_matches_numpy_attention(data: st.DataObject, shape: tuple[TaskMixture, int]) -> None:
    """The token-level forward of eq. (6)/(17) with mask M equals theory.attention.attention_predict."""
    mixture, n = shape
    params = data.draw(attention_parameters(mixture, n))
    batch = sample_batch(mixture, n, 64, generator=make_generator(SAMPLER_SEED))
    _close(predict(mixture, params, batch), attention_predict(params, *_numpy(batch)))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_proposition1_attention_is_the_pgd_predictor(data: st.DataObject, shape: tuple[TaskMixture, int]) -> None:
    """Proposition 1's construction (with per-task head scales) makes attention equal PGD on every sample."""
    mixture, n = shape
    d = mixture.d
    # W = (I + 0.3 U / d) / (n + d), |U_ij| <= 2: condition number <= 4 (the prompts contain W^{-1} mu_k).
    W = (np.eye(d) + 0.3 * data.draw(matrices(d, d, 2.0)) / d) / (n + d)
    scales = data.draw(head_scales(mixture.K))
    batch = sample_batch(mixture, n, 64, generator=make_generator(SAMPLER_SEED))
    for c in (None, scales):
        attention = predict(mixture, proposition1_construction(mixture, W, c), batch)
        _close(attention, predict(mixture, PGDPredictor(W, c), batch))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_assumption1_attention_is_the_reduced_predictor(data: st.DataObject, shape: tuple[TaskMixture, int]) -> None:
    """Assumption 1's parameters (free '*' entries random) make attention equal eq. (7) on every sample."""
    mixture, n = shape
    W, P = data.draw(reduced_parameters(mixture, n))
    params = reduced_form_parameters(W, P, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    batch = sample_batch(mixture, n, 64, generator=make_generator(SAMPLER_SEED))
    _close(predict(mixture, params, batch), predict(mixture, ReducedPredictor(W, P), batch))


BAD_SPECS = [
    pytest.param(ReducedPredictor(np.eye(3)), "W", id="W-shape"),
    pytest.param(ReducedPredictor(np.eye(10), np.zeros((3, 10))), "P", id="P-shape"),
    pytest.param(ReducedPredictor(np.full((10, 10), np.nan)), "NaN", id="W-nan"),
    pytest.param(PGDPredictor(np.eye(10), [1.0]), "scales", id="scales-shape"),
    pytest.param(PGDPredictor(np.eye(2)), "W", id="pgd-W-shape"),
    pytest.param(AttentionParameters(np.eye(10), np.eye(11), np.ones((2, 11)), np.ones((2, 11))), "A", id="A-shape"),
    pytest.param(AttentionParameters(np.eye(11), np.eye(11), np.ones((3, 11)), np.ones((2, 11))), "prompts",
                 id="prompts-shape"),
    pytest.param(AttentionParameters(np.eye(11), np.eye(11), np.ones((2, 11)), np.full((2, 11), np.inf)), "heads",
                 id="heads-inf"),
    pytest.param("W", "predictor", id="not-a-spec"),
]


@pytest.mark.parametrize(("spec", "field"), BAD_SPECS)
def test_bad_predictors_are_rejected(spec: object, field: str) -> None:
    mixture = preset("fig2c")
    batch = sample_batch(mixture, 3, 2, generator=make_generator(0))
    with pytest.raises(VerifyError, match=field):
        predict(mixture, spec, batch)  # type: ignore[arg-type]

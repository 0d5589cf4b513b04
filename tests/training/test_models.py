"""The torch models equal theory's float64 predictors, and batched restarts equal single runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mixture_strategies import attention_parameters, reduced_parameters, task_mixtures

from montecarlo import make_generator, mixture_tensors, sample_batch
from theory.attention import AttentionParameters, attention_predict, reduced_predict
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset
from theory.strategy import Strategy
from training import AttentionModel, MultiLayerAttention, ReducedModel, make_config, train, train_panel, training_evidence

FLOAT_RTOL = 1e-10  # the same float64 predictor evaluated two ways: sums of < 1e3 products round at ~1e-13
SEED = 20250101


def _numpy_batch(mixture: TaskMixture, n: int, size: int = 64):  # type: ignore[no-untyped-def]
    batch = sample_batch(mixture, n, size, generator=make_generator(SEED))
    return batch, tuple(t.numpy() for t in (batch.task, batch.X, batch.y, batch.x))


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=FLOAT_RTOL * scale)


def _set_attention(model: MultiLayerAttention, r: int, layer: int, params: AttentionParameters) -> None:
    """Make restart r's layer realise A exactly: W_q = A / scale_A, W_k = I."""
    with torch.no_grad():
        model.Wq[r, layer] = torch.from_numpy(np.array(params.A)) / model.scale_A
        model.Wk[r, layer] = torch.eye(model.d + 1, dtype=torch.float64)
        model.Wv[r, layer] = torch.from_numpy(np.array(params.Wv))
        model.prompts[r] = torch.from_numpy(np.array(params.prompts))
        heads = np.array(params.heads)
        model.heads[r] = torch.from_numpy(heads if model.task_heads else heads[:1])


@settings(max_examples=10)
@given(st.data(), task_mixtures(max_d=3, max_K=3), st.integers(1, 6))
def test_reduced_model_is_eq7(data: st.DataObject, mixture: TaskMixture, n: int) -> None:
    """Each restart's prediction is theory.attention.reduced_predict of its own (W, P)."""
    params = [data.draw(reduced_parameters(mixture, n)) for _ in range(3)]
    model = ReducedModel(mixture.d, mixture.K, restarts=3)
    with torch.no_grad():
        model.W.copy_(torch.from_numpy(np.stack([W for W, _ in params])))
        model.P.copy_(torch.from_numpy(np.stack([P for _, P in params])))
    batch, (task, X, y, x) = _numpy_batch(mixture, n)
    out = model(batch).detach().numpy()  # (R, B)
    for r, (W, P) in enumerate(params):
        _close(out[r], reduced_predict(W, P, task, X, y, x))


@settings(max_examples=10)
@given(st.data(), task_mixtures(max_d=3, max_K=3), st.integers(1, 6), st.booleans())
def test_attention_model_is_eq6_and_eq17(data: st.DataObject, mixture: TaskMixture, n: int, task_heads: bool) -> None:
    """One-layer attention (shared head, eq. 6; task heads, eq. 17) and the L=1 stack equal attention_predict."""
    params = [data.draw(attention_parameters(mixture, n)) for _ in range(2)]
    if not task_heads:  # one head for every task
        params = [AttentionParameters(p.A, p.Wv, p.prompts, np.repeat(p.heads[:1], mixture.K, 0)) for p in params]
    one = AttentionModel(mixture.d, mixture.K, n, restarts=2, task_heads=task_heads)
    stack = MultiLayerAttention(mixture.d, mixture.K, n, layers=1, restarts=2, task_heads=task_heads)
    for r, p in enumerate(params):
        _set_attention(one, r, 0, p)
        _set_attention(stack, r, 0, p)
    batch, (task, X, y, x) = _numpy_batch(mixture, n)
    out_one, out_stack = one(batch).detach().numpy(), stack(batch).detach().numpy()
    for r, p in enumerate(params):
        expected = attention_predict(p, task, X, y, x)
        _close(out_one[r], expected)
        _close(out_stack[r], expected)
        back = one.attention_parameters()[r]
        _close(back.A, np.asarray(p.A))


def _stack_reference(layers: list[AttentionParameters], head: np.ndarray, task: np.ndarray, X: np.ndarray,
                     y: np.ndarray, x: np.ndarray, prompts: np.ndarray) -> np.ndarray:
    """Appendix E.1 written out in numpy, sample by sample: Z_1 = Attn(Z), Z_{l+1} = Z_l + Attn(Z_l)."""
    out = []
    for b in range(X.shape[0]):
        Z = np.vstack([prompts[task[b]], np.column_stack([X[b], y[b]]), np.append(x[b], 0.0)])
        M = np.eye(Z.shape[0])
        M[-1, -1] = 0.0
        for i, p in enumerate(layers):
            attn = (Z @ p.A @ Z.T) @ M @ Z @ p.Wv
            Z = attn if i == 0 else Z + attn
        out.append(Z[-1] @ head[task[b]])
    return np.array(out)


@pytest.mark.parametrize("layers", [2, 3])
def test_multilayer_stack_is_appendix_e(layers: int) -> None:
    """The L-layer stack equals a sample-by-sample numpy transcription of Appendix E.1."""
    mixture = TaskMixture(np.array([[1.0, 0.2], [0.2, 0.6]]), [0.4, 0.6], [[1.0, -0.5], [0.3, 0.8]],
                          [np.eye(2), 2 * np.eye(2)], 0.3)
    n, rng = 4, np.random.default_rng(SEED)
    model = MultiLayerAttention(2, 2, n, layers=layers, restarts=2, task_heads=True)
    per_restart = []
    for r in range(2):
        prompts, heads = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
        ps = [AttentionParameters(rng.standard_normal((3, 3)) / 8, rng.standard_normal((3, 3)) / 2, prompts, heads)
              for _ in range(layers)]
        for layer, p in enumerate(ps):
            _set_attention(model, r, layer, p)
        per_restart.append((ps, heads, prompts))
    batch, (task, X, y, x) = _numpy_batch(mixture, n, size=16)
    out = model(batch).detach().numpy()
    for r, (ps, heads, prompts) in enumerate(per_restart):
        _close(out[r], _stack_reference(ps, heads, task, X, y, x, prompts))


CASES = [  # (strategy, model, options)
    ("JT", "reduced", {"query": "sampled", "data": "sequences"}),
    ("FT", "reduced", {"query": "integrated", "data": "statistics", "ft_steps": 5}),
    ("PGD", "attention", {"query": "integrated", "data": "sequences"}),
    ("JT", "multilayer", {"query": "sampled", "data": "sequences"}),
]


@pytest.mark.parametrize(("strategy", "model", "options"), CASES, ids=[f"{s}-{m}" for s, m, _ in CASES])
def test_batched_restarts_equal_single_runs(strategy: str, model: str, options: dict) -> None:
    """Restart r of an R=3 model follows the same trajectory as the R=1 run with first_restart=r (same seeds)."""
    mixture = preset("fig2c")
    layers = 2 if model == "multilayer" else 1
    common = {"steps": 8, "batch_size": 64, **options}
    batched = train_panel(model, mixture, [5], [strategy], layers=layers, seed=3,
                          config=make_config(restarts=3, **common)).model
    for r in range(3):
        alone = train_panel(model, mixture, [5], [strategy], layers=layers, seed=3,
                            config=make_config(restarts=1, first_restart=r, **common)).model
        for (name, p_batched), (_, p_alone) in zip(batched.named_parameters(), alone.named_parameters(), strict=True):
            expected = p_alone[0].detach().numpy()
            scale = max(1.0, float(np.abs(expected).max()))
            np.testing.assert_allclose(p_batched[r].detach().numpy(), expected, rtol=0, atol=1e-9 * scale,
                                       err_msg=f"{name}, restart {r}")
    first = next(p for p in batched.parameters() if p.requires_grad)
    assert not torch.equal(first[0], first[1]), "restarts must start from different initialisations"


BAD = [  # (call, the field the message must name)
    (lambda m: train("XT", m, 5, steps=1), "strategy"),
    (lambda m: train("JT", m, 5, model="transformer", steps=1), "model"),
    (lambda m: train("PGD", m, 5, model="reduced", steps=1), "strategy"),
    (lambda m: train("JT", m, 0, steps=1), "n"),
    (lambda m: train("JT", m, 5, restarts=0), "restarts"),
    (lambda m: train("JT", m, 5, steps=0), "steps"),
    (lambda m: train("JT", m, 5, learning_rate=0.1), "training option"),
    (lambda m: train("JT", m, 5, lr=-1.0), "lr"),
    (lambda m: train("JT", m, 5, layers=2), "layers"),
    (lambda m: train("JT", m, 5, data="statistics", query="sampled", steps=1), "query"),
    (lambda m: train("JT", m, 5, query="exact"), "query"),
    (lambda m: train("JT", m, 5, data="moments"), "data"),
    (lambda m: ReducedModel(2, 1, restarts=0), "restarts"),
    (lambda m: AttentionModel(2, 1, 0), "n"),
    (lambda m: MultiLayerAttention(2, 1, 3, layers=0), "layers"),
    (lambda m: training_evidence("JT-heads", m, 5), "strategy"),
    (lambda m: training_evidence("PGD", m, 5, model="reduced"), "model"),
    (lambda m: training_evidence("JT", m, -1), "n"),
]


@pytest.mark.parametrize(("call", "field"), BAD, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD)])
def test_bad_input_raises_verify_error_naming_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    mixture = TaskMixture(np.eye(2), [1.0], [[0.5, -0.5]], [np.eye(2)], 0.0)
    with pytest.raises(VerifyError, match=field) as info:
        call(mixture)
    assert "\n" not in str(info.value)


def test_multilayer_training_result_is_json() -> None:
    """A short multi-layer run (sampled sequences) summarises to plain JSON with its fast estimate (the stack is
    linear in the query, so montecarlo's sufficient-statistics estimator applies)."""
    res = train(Strategy.PGD, preset("fig2d"), 4, model="multilayer", layers=2, steps=3, batch_size=32, restarts=2,
                eval_max_samples=2_000)
    data = json.loads(json.dumps(res.to_json()))
    assert res.strategy is Strategy.PGD and data["strategy"] == "PGD"
    assert data["model"] == "multilayer" and data["layers"] == 2 and data["trained_method"] == "fast"
    assert data["trained_samples"] == 2_000 and len(data["restart_losses"]) == 2
    assert data["comparison"]["derived_loss"] > 0


@settings(max_examples=10)
@given(st.data(), task_mixtures(max_d=3, max_K=3), st.integers(1, 6))
def test_reduced_integrated_loss_moment_form(data: st.DataObject, mixture: TaskMixture, n: int) -> None:
    """The batch-moment form of the query-integrated loss equals the per-sample average (v - beta)^T S (v - beta)."""
    params = [data.draw(reduced_parameters(mixture, n)) for _ in range(2)]
    model = ReducedModel(mixture.d, mixture.K, restarts=2)
    with torch.no_grad():
        model.W.copy_(torch.from_numpy(np.stack([W for W, _ in params])))
        model.P.copy_(torch.from_numpy(np.stack([P for _, P in params])))
    batch, (task, X, y, _) = _numpy_batch(mixture, n)
    got = model.integrated_losses(batch, mixture_tensors(mixture, torch.device("cpu"), torch.float64)).detach().numpy()
    beta = batch.beta.numpy()
    for r, (W, P) in enumerate(params):
        v = (np.einsum("bti,bt->bi", X, y) + P[task]) @ W.T - beta
        _close(np.array([got[r]]), np.array([np.einsum("bi,ij,bj->b", v, mixture.sigma_x, v).mean() + mixture.sigma2]))

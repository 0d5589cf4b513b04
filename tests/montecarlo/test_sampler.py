"""The sampler draws exactly Definitions 1-3: layout, moments, devices, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mc_checks import SAMPLER_SEED

from montecarlo import make_generator, resolve_device, sample_batch, token_sequences
from montecarlo.sampler import mixture_tensors
from montecarlo.sufficient import _chi2, sample_context_statistics, standard_wishart_factor
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset

CPU = torch.device("cpu")


def _noisy_three_task() -> TaskMixture:
    """Non-isotropic Sigma_x, distinct task covariances, noise, one zero-weight task."""
    sigma_x = np.array([[1.0, 0.3, 0.0], [0.3, 0.5, -0.1], [0.0, -0.1, 2.0]])
    covs = np.array([np.eye(3), np.diag([2.0, 0.5, 1.0]), [[1.0, 0.4, 0.1], [0.4, 1.0, 0.0], [0.1, 0.0, 0.7]]])
    means = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -0.3], [5, 5, 5]])
    return TaskMixture(sigma_x=sigma_x, weights=np.array([0.25, 0.75, 0.0]), means=means, covs=covs, sigma2=0.6)


def _clean_two_task() -> TaskMixture:
    covs = np.array([np.eye(2), [[1.5, 0.5], [0.5, 1.0]]])
    return TaskMixture(sigma_x=np.array([[0.7, -0.2], [-0.2, 1.3]]), weights=np.array([0.4, 0.6]),
                       means=np.array([[2.0, 0.0], [-1.0, 1.0]]), covs=covs, sigma2=0.0)


MOMENT_CASES = [
    pytest.param(_noisy_three_task, id="noisy-3task-d3"),
    pytest.param(_clean_two_task, id="clean-2task-d2"),
]


# ----- devices and generators ---------------------------------------------------------------------------------------
def test_resolve_device_cpu_and_auto() -> None:
    assert resolve_device("cpu") == CPU
    assert resolve_device(torch.device("cpu")) == CPU
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("name", ["tpu", "gpu", "", "cuda:x", "cpu cpu", 3.5])
def test_resolve_device_rejects_unknown_names(name: object) -> None:
    with pytest.raises(VerifyError, match="device"):
        resolve_device(name)  # type: ignore[arg-type]


def test_resolve_device_rejects_missing_cuda() -> None:
    name = "cuda:999" if torch.cuda.is_available() else "cuda"
    with pytest.raises(VerifyError, match="CUDA"):
        resolve_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to mismatch with")
def test_generator_on_another_device_is_rejected() -> None:
    with pytest.raises(VerifyError, match="generator"):
        sample_batch(preset("fig2c"), 3, 2, generator=make_generator(0, "cpu"), device="cuda")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "0"])
def test_make_generator_rejects_bad_seeds(bad: object) -> None:
    with pytest.raises(VerifyError, match="seed"):
        make_generator(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "batch_size"), [(0, 2), (3, 0), (2.0, 2), (3, -1)])
def test_sample_batch_rejects_bad_sizes(n: object, batch_size: object) -> None:
    with pytest.raises(VerifyError):
        sample_batch(preset("fig2c"), n, batch_size, generator=make_generator(0))  # type: ignore[arg-type]


# ----- layout ------------------------------------------------------------------------------------------------------
def test_batch_shapes_and_token_layout() -> None:
    mixture = _noisy_three_task()
    n, B, d = 4, 7, mixture.d
    batch = sample_batch(mixture, n, B, generator=make_generator(SAMPLER_SEED))
    assert batch.task.shape == (B,) and batch.task.dtype == torch.int64
    assert batch.beta.shape == (B, d) and batch.X.shape == (B, n, d) and batch.y.shape == (B, n)
    assert batch.x.shape == (B, d) and batch.y_query.shape == (B,) and batch.X.dtype == torch.float64
    prompts = torch.arange(mixture.K * (d + 1), dtype=torch.float64).view(mixture.K, d + 1)
    Z = token_sequences(batch, prompts)
    assert Z.shape == (B, n + 2, d + 1)  # eq. (5): [p_k, z_1..z_n, z]
    assert torch.equal(Z[:, 0], prompts[batch.task])
    assert torch.equal(Z[:, 1:n + 1, :d], batch.X) and torch.equal(Z[:, 1:n + 1, d], batch.y)
    assert torch.equal(Z[:, -1, :d], batch.x) and torch.all(Z[:, -1, d] == 0)
    frozen = prompts.numpy().copy()
    frozen.setflags(write=False)  # theory's arrays are read-only; converting them must not warn
    assert torch.equal(token_sequences(batch, frozen), Z)
    with pytest.raises(VerifyError, match="prompts"):
        token_sequences(batch, torch.zeros(mixture.K, d))


def test_float32_batches() -> None:
    batch = sample_batch(preset("fig2c"), 3, 5, generator=make_generator(0), dtype=torch.float32)
    assert batch.X.dtype == batch.y.dtype == batch.x.dtype == torch.float32


# ----- reproducibility ---------------------------------------------------------------------------------------------
def test_same_seed_same_stream_other_seed_other_stream() -> None:
    mixture = _noisy_three_task()

    def draw(seed: int) -> torch.Tensor:
        b = sample_batch(mixture, 5, 64, generator=make_generator(seed))
        return torch.cat([b.task.double()[:, None], b.beta, b.X.flatten(1), b.y, b.x, b.y_query[:, None]], dim=1)

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))
    stats = [sample_context_statistics(mixture_tensors(mixture, CPU, torch.float64), 5, 64, make_generator(3))
             for _ in range(2)]
    assert torch.equal(stats[0].gram(), stats[1].gram())


# ----- moments of Definitions 1-2 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", MOMENT_CASES)
def test_sampler_moments(make, mc) -> None:  # type: ignore[no-untyped-def]
    """Task frequencies, E[x] = 0, E[x x^T] = Sigma_x, beta | k ~ (mu_k, Sigma_beta_k), noise (0, sigma^2)."""
    mixture = make()
    n, B, d = 3, 100_000, mixture.d
    b = sample_batch(mixture, n, B, generator=make_generator(SAMPLER_SEED))
    for k in range(mixture.K):
        hits = (b.task == k).double()
        if mixture.weights[k] == 0:
            assert hits.sum() == 0, f"task {k} has weight 0 but was drawn"
            continue
        mc.mean_is(hits, mixture.weights[k], f"frequency of task {k}")
        beta_k = b.beta[b.task == k]
        for i in range(d):
            mc.mean_is(beta_k[:, i], mixture.means[k, i], f"E[beta_{i} | k={k}]")
            for j in range(i + 1):
                centred = (beta_k[:, i] - mixture.means[k, i]) * (beta_k[:, j] - mixture.means[k, j])
                mc.mean_is(centred, mixture.covs[k, i, j], f"Cov[beta | k={k}]_{i}{j}")
    feats = torch.cat([b.X, b.x[:, None]], dim=1)  # (B, n+1, d): n+1 i.i.d. features per sequence
    for i in range(d):
        mc.mean_is(feats[:, :, i].mean(1), 0.0, f"E[x_{i}]")
        for j in range(i + 1):
            mc.mean_is((feats[:, :, i] * feats[:, :, j]).mean(1), mixture.sigma_x[i, j], f"E[x x^T]_{i}{j}")
    labels = torch.cat([b.y, b.y_query[:, None]], dim=1)
    noise = labels - torch.einsum("btd,bd->bt", feats, b.beta)  # (B, n+1): xi_i
    if mixture.sigma2 == 0:
        assert torch.allclose(noise, torch.zeros_like(noise), atol=1e-12)
    else:
        mc.mean_is(noise.mean(1), 0.0, "E[xi]")
        mc.mean_is(noise.pow(2).mean(1), mixture.sigma2, "E[xi^2]")
        mc.mean_is((noise * feats[:, :, 0]).mean(1), 0.0, "E[xi x_0]")


# ----- sufficient statistics ---------------------------------------------------------------------------------------
def test_chi2_moments(mc) -> None:  # type: ignore[no-untyped-def]
    draws = _chi2(torch.full((100_000,), 7.0, dtype=torch.float64), make_generator(SAMPLER_SEED))
    mc.mean_is(draws, 7.0, "E[chi2_7]")
    mc.mean_is((draws - 7.0) ** 2, 14.0, "Var[chi2_7]")


@pytest.mark.parametrize("n", [2, 3, 9], ids=lambda n: f"n={n}")
def test_standard_wishart_moments(n: int, mc) -> None:  # type: ignore[no-untyped-def]
    """T T^T ~ Wishart(I_3, n): E[S] = n I, Var[S_ii] = 2n, Var[S_ij] = n (both the Bartlett and the n < p path)."""
    p, B = 3, 100_000
    T = standard_wishart_factor(n, p, B, generator=make_generator(SAMPLER_SEED), device=CPU, dtype=torch.float64)
    S = T @ T.transpose(1, 2)
    for i in range(p):
        mc.mean_is(S[:, i, i], float(n), f"E[S_{i}{i}]")
        mc.mean_is((S[:, i, i] - n) ** 2, 2.0 * n, f"Var[S_{i}{i}]")
        for j in range(i):
            mc.mean_is(S[:, i, j], 0.0, f"E[S_{i}{j}]")
            mc.mean_is(S[:, i, j] ** 2, float(n), f"Var[S_{i}{j}]")


def test_gram_times_is_the_gram_matrix_product() -> None:
    mixture = _noisy_three_task()
    t = mixture_tensors(mixture, CPU, torch.float64)
    for n in (2, 10):
        stats = sample_context_statistics(t, n, 50, make_generator(SAMPLER_SEED))
        a = torch.randn(50, mixture.d + 1, dtype=torch.float64, generator=make_generator(1))
        expected = torch.einsum("bij,bj->bi", stats.gram(), a)
        assert torch.allclose(stats.gram_times(a), expected, rtol=1e-9, atol=1e-9 * float(expected.abs().max()))


def test_context_gram_mean(mc) -> None:  # type: ignore[no-untyped-def]
    """E[G] = n E[Sigma_z(beta)]: E[X^T X] = n Sigma_x, E[X^T y] = n Sigma_x E[beta],
    E[y^T y] = n (E[beta^T Sigma_x beta] + sigma^2)."""
    mixture = _noisy_three_task()
    n, B, d = 6, 100_000, mixture.d
    tensors = mixture_tensors(mixture, CPU, torch.float64)
    G = sample_context_statistics(tensors, n, B, make_generator(SAMPLER_SEED)).gram()
    sx, w = mixture.sigma_x, mixture.weights
    mean_beta = w @ mixture.means
    quad = sum(w[k] * np.trace(sx @ mixture.second_moments[k]) for k in range(mixture.K))
    for i in range(d):
        mc.mean_is(G[:, i, i], n * sx[i, i], f"E[X^T X]_{i}{i}")
        mc.mean_is(G[:, i, d], n * float(sx[i] @ mean_beta), f"E[X^T y]_{i}")
    mc.mean_is(G[:, d, d], n * (quad + mixture.sigma2), "E[y^T y]")


def _fake_gpu(monkeypatch, count: int = 1) -> None:
    """Pretend CUDA has ``count`` devices, and make any call that would touch a device fail like a driver."""
    def touch() -> int:
        raise RuntimeError("CUDA error: invalid device ordinal")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", touch)


@pytest.mark.parametrize("name", ["cuda:999", "cuda:1", "CUDA:7"])
def test_resolve_device_checks_the_index_before_torch_on_a_gpu_machine(monkeypatch, name: str) -> None:
    _fake_gpu(monkeypatch)
    with pytest.raises(VerifyError, match=r"only 1 CUDA device\(s\) exist"):
        resolve_device(name)


def test_resolve_device_turns_driver_errors_into_verify_errors(monkeypatch) -> None:
    _fake_gpu(monkeypatch)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(VerifyError, match="cannot be used"):
        resolve_device("auto")


@pytest.mark.parametrize("name", ["cuda:-1", "cuda:", "cuda:\u0661", "cuda:1:2", "cpu:0", "auto:1", None, True])
def test_resolve_device_rejects_malformed_names(name: object) -> None:
    with pytest.raises(VerifyError, match="device"):
        resolve_device(name)  # type: ignore[arg-type]

"""The panel engine (training.panel): every n x strategy x restart of a figure panel as the members of one model.

* The panel losses are the per-sample losses: the reduced model's moment form equals the average of the sampled
  squared errors, the one-layer attention's task-block form equals the generic stack form, both in float64.
* A one-cell panel (what :func:`training.train` runs) follows a plain reference loop step for step (same seeds,
  same data: ``torch.optim.Adam`` on the per-sample losses of the model's forward pass), for both protocols, FT's two
  phases, task heads and a two-layer stack: the member-wise Adam is torch's Adam and the panel losses are the
  per-sample ones.
* Cells are independent: a cell's trajectory does not depend on the other strategies in the panel nor on when
  they stop.
* The literal and the variance-reduced protocols reach the same optimum (the same population objective), each
  within its estimator's own standard error of the other and of the derived optimum.
* Appendix E: a two-layer stack trained briefly ends at or below the exact one-layer optimum, within k
  standard errors of its own estimate.

Tolerances: float identities at ``FLOAT_RTOL``; Monte Carlo comparisons at ``K_SIGMA`` standard errors
(Bonferroni over the ``CHECKS`` comparisons of this file at a 1e-6 false-alarm budget), widened by the
Cornish-Fisher skewness term as in tests/training/test_strategies.py; optimisation at the early stop's own
tolerance (every restart within ``STOP_TOL`` of the optimum by the exact loss).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from montecarlo import make_generator, mixture_tensors, multilayer_query_vector, sample_batch, sample_context_statistics
from theory.errors import VerifyError
from theory.mixture import TaskMixture, preset
from theory.optima import optimum
from theory.strategy import Strategy
from training import KINDS, PROTOCOLS, MultiLayerAttention, ReducedModel, make_config, multilayer_point, panel_results, train_panel
from training.config import warmup_factor
from training.models import AttentionModel, TrainableModel, stack_label_scale
from training.panel import MemberAdam, restart_generator
from training.panel_data import PanelLayout, PanelSampler

FLOAT_RTOL = 1e-10
CHECKS = 6
K_SIGMA = float(norm.isf(1e-6 / CHECKS / 2))  # 5.4
STOP_TOL = 0.005
SMALL = TaskMixture(np.array([[1.0, 0.3], [0.3, 0.7]]), [0.4, 0.6], [[1.5, -1.0], [-0.5, 1.2]],
                    [np.eye(2), 2 * np.eye(2)], 0.5)
CPU = torch.device("cpu")


def _k(estimate) -> float:  # type: ignore[no-untyped-def]
    return K_SIGMA + abs(estimate.skewness) * (2 * K_SIGMA**2 + 1) / (6 * np.sqrt(estimate.samples))


def _stats(mixture: TaskMixture, layout: PanelLayout, protocol: str, gram: bool, size: int = 200):  # type: ignore[no-untyped-def]
    sampler = PanelSampler(mixture, layout, data=PROTOCOLS[protocol][1], batch_size=size, seed=5, device=CPU, gram=gram)
    return sampler.draw(torch.arange(layout.N))


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    actual, expected = actual.detach(), expected.detach()
    scale = max(1.0, float(expected.abs().max()))
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), rtol=0, atol=FLOAT_RTOL * scale)


@pytest.mark.parametrize("protocol", ["literal", "variance-reduced"])
def test_reduced_moment_form_is_the_mean_of_per_sample_losses(protocol: str) -> None:
    mixture = preset("figA1c")  # non-isotropic, noisy
    layout = PanelLayout((2, 7), (Strategy.PT, Strategy.JT), 3)
    net = ReducedModel(mixture.d, mixture.K, restarts=layout.members)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        net.W.copy_(torch.randn(net.W.shape, generator=gen, dtype=torch.float64) / 10)
        net.P.copy_(torch.randn(net.P.shape, generator=gen, dtype=torch.float64))
    stats = _stats(mixture, layout, protocol, gram=False)
    tensors = mixture_tensors(mixture, CPU, torch.float64)
    query = "sampled" if protocol == "literal" else "integrated"
    got = net.panel_losses(stats, tensors, layout, query)
    W = net.W.detach().view(layout.N, layout.S * layout.R, mixture.d, mixture.d)
    P = net.P.detach().view(layout.N, layout.S * layout.R, mixture.K, mixture.d)
    for g in range(layout.N):
        v = (stats.xty[g] + P[g][:, stats.task]) @ W[g].transpose(-1, -2)  # (C, B, d): W (X^T y + p_k)
        if query == "sampled":
            expected = ((v * stats.x).sum(-1) - stats.y).pow(2).mean(-1)
        else:
            e = v - stats.beta
            expected = torch.einsum("cbi,ij,cbj->cb", e, tensors.sigma_x, e).mean(-1) + mixture.sigma2
        _close(got[g].reshape(-1), expected)


@pytest.mark.parametrize("query", ["sampled", "integrated"])
@pytest.mark.parametrize("task_heads", [False, True])
def test_one_layer_block_form_is_the_stack_form(query: str, task_heads: bool) -> None:
    mixture = preset("figA1d")
    layout = PanelLayout((1, 4, 9), (Strategy.PGD,) if task_heads else (Strategy.JT,), 4)
    net = AttentionModel(mixture.d, mixture.K, [int(n) for n in layout.member_ns()], restarts=layout.members,
                         task_heads=task_heads)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / 3)
    stats = _stats(mixture, layout, "literal", gram=True)
    tensors = mixture_tensors(mixture, CPU, torch.float64)
    got = net.panel_losses(stats, tensors, layout, query).reshape(layout.N, -1)
    C = layout.S * layout.R
    for g in range(layout.N):
        members = slice(g * C, (g + 1) * C)
        heads = net.head_vectors()[members]
        head = heads[:, stats.task] if task_heads else heads.expand(-1, stats.size, -1)
        v = multilayer_query_vector(net.A()[members], net.values()[members], net.prompt_tokens()[members][:, stats.task],
                                    head, stats.gram[g])
        if query == "sampled":
            expected = ((v * stats.x).sum(-1) - stats.y).pow(2).mean(-1)
        else:
            e = v - stats.beta
            expected = torch.einsum("cbi,ij,cbj->cb", e, tensors.sigma_x, e).mean(-1) + mixture.sigma2
        _close(got[g], expected)


CASES = [  # (model, strategy, protocol, layers)
    ("reduced", "JT", "literal", 1),
    ("reduced", "JT", "variance-reduced", 1),
    ("reduced", "FT", "literal", 1),
    ("attention", "PGD", "literal", 1),
    ("attention", "JT", "variance-reduced", 1),
    ("multilayer", "JT", "literal", 2),
    ("multilayer", "PGD", "variance-reduced", 2),
]


def _reference_run(model: str, strategy: Strategy, mixture: TaskMixture, n: int, *, layers: int, seed: int,
                   steps: int, ft_steps: int, batch_size: int, restarts: int, query: str, data: str, warmup_steps: int,
                   lr: float = 0.05, lr_final_ratio: float = 0.01, init_scale: float = 0.5) -> TrainableModel:
    """The training protocol written plainly: per-sample losses of the model's forward pass (or its query-integrated
    loss), one ``torch.optim.Adam`` per phase with a step per parameter group, the same seeds and data stream."""
    net = KINDS[model].build(mixture, [n] * restarts, layers=layers, prompts=strategy.has_prompts,
                             task_heads=strategy.has_task_heads, device=CPU)
    scales = net.natural_scales(mixture, n)
    with torch.no_grad():
        for r in range(restarts):
            net.initialise_restart(r, restart_generator(seed, r), scales, init_scale)
    prompts = net.prompt_parameter
    initial = prompts.detach().clone()
    generator, tensors = make_generator(seed), mixture_tensors(mixture, CPU, torch.float64)
    for phase, names in enumerate(net.trainable_phases(strategy)):
        with torch.no_grad():  # FT: plain training without prompts, then the prompts from their initialisation
            if strategy is Strategy.FT:
                prompts.copy_(initial if phase == 1 else torch.zeros_like(initial))
        groups = []
        for name, scale in scales.items():
            net.get_parameter(name).requires_grad_(name in names)
            if name in names:
                groups.append({"params": [net.get_parameter(name)], "lr": lr * scale, "base_lr": lr * scale})
        optimiser = torch.optim.Adam(groups)
        budget = steps if phase == 0 else ft_steps
        decay = lr_final_ratio ** (1.0 / max(budget - 1, 1))
        for t in range(budget):
            for group in optimiser.param_groups:
                group["lr"] = group["base_lr"] * decay**t * warmup_factor(t, warmup_steps)
            if data == "statistics":
                losses = net.integrated_losses(sample_context_statistics(tensors, n, batch_size, generator), tensors)
            else:
                batch = sample_batch(mixture, n, batch_size, generator=generator)
                losses = ((net(batch) - batch.y_query).pow(2).mean(-1) if query == "sampled"
                          else net.integrated_losses(batch, tensors))
            optimiser.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimiser.step()
    return net


@pytest.mark.parametrize(("model", "strategy", "protocol", "layers"), CASES,
                         ids=[f"{m}-{s}-{p}-L{L}" for m, s, p, L in CASES])
def test_one_cell_panel_follows_a_plain_adam_loop(model: str, strategy: str, protocol: str, layers: int) -> None:
    """Same seeds, same data stream, the same steps: the panel's member-wise Adam is torch's Adam."""
    mixture = preset("fig2c")
    query, data = PROTOCOLS[protocol]
    run = train_panel(model, mixture, [5], [strategy], layers=layers, seed=3,
                      config=make_config(steps=8, batch_size=64, restarts=3, protocol=protocol, tolerance=None,
                                         ft_steps=5, warmup_steps=3))
    old = _reference_run(model, Strategy(strategy), mixture, 5, layers=layers, seed=3, steps=8, ft_steps=5,
                         batch_size=64, restarts=3, query=query, data=data, warmup_steps=3)
    assert run.cells[0].steps == (13 if strategy == "FT" else 8)
    new = run.model
    if isinstance(new, MultiLayerAttention):
        assert isinstance(old, MultiLayerAttention)
        pairs = [(new.A(), old.A()), (new.values(), old.values()), (new.prompt_tokens(), old.prompt_tokens()),
                 (new.head_vectors(), old.head_vectors())]
    else:
        pairs = [(p, q) for p, q in zip(new.parameters(), old.parameters(), strict=True)]
    for a, b in pairs:
        _close(a, b)


def test_cells_do_not_depend_on_the_other_cells() -> None:
    """JT's members are the same with or without PT in the panel, and whether PT stops early or not."""
    mixture = preset("fig2c")
    common = {"steps": 60, "batch_size": 256, "restarts": 2, "check_every": 10}
    alone = train_panel("reduced", mixture, [2, 6], ["JT"], config=make_config(tolerance=None, **common), seed=1)
    both = train_panel("reduced", mixture, [2, 6], ["PT", "JT"], config=make_config(tolerance=0.05, **common), seed=1)
    pt = [c for c in both.cells if c.strategy is Strategy.PT]
    assert any(c.reached == [True] and c.steps < 60 for c in pt), [(c.n, c.steps, c.reached) for c in pt]
    assert all(c.steps == 60 for c in both.cells if c.strategy is Strategy.JT)  # 5% is out of JT's reach in 60 steps
    for g in range(2):
        jt_alone, jt_both = alone.layout.cell(g, 0), both.layout.cell(g, 1)
        for name in ("W", "P"):
            _close(both.model.get_parameter(name)[jt_both], alone.model.get_parameter(name)[jt_alone])


def test_member_adam_is_torch_adam_and_masks_freeze() -> None:
    gen = torch.Generator().manual_seed(2)
    start = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    ours, ref = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    adam = MemberAdam({"x": ours}, 3)
    torch_adam = torch.optim.Adam([ref], lr=0.01)
    mask = torch.tensor([True, False, True])
    for _ in range(5):
        grad = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
        ours.grad, ref.grad = grad.clone(), grad.clone()
        adam.step({"x": torch.full((3,), 0.01, dtype=torch.float64)}, {"x": mask})
        torch_adam.step()
    _close(ours[mask], ref[mask])
    assert torch.equal(ours[1], start[1])


def test_both_protocols_reach_the_same_optimum() -> None:
    """Literal and variance-reduced protocols, trained until every restart is within STOP_TOL of L*_JT by the exact
    loss: both best restarts' Monte Carlo estimates agree with L*_JT and with each other within their own SE."""
    n = 4
    derived = optimum(Strategy.JT, SMALL, n).loss
    estimates = {}
    for protocol in ("literal", "variance-reduced"):
        config = make_config(steps=4000, batch_size=2048, restarts=2, protocol=protocol, tolerance=STOP_TOL,
                                   check_every=25, lr=0.05)
        run = train_panel("reduced", SMALL, [n], ["JT"], config=config, seed=4)
        cell = run.cells[0]
        assert cell.reached == [True], (protocol, cell.steps, cell.last_exact, derived)
        assert max(cell.last_exact or [np.inf]) <= derived * (1 + STOP_TOL)
        res = panel_results(run, eval_rel_se=0.0, eval_max_samples=400_000)[(Strategy.JT, n)]
        est = res.trained
        assert abs(est.mean - derived) <= _k(est) * est.stderr + STOP_TOL * derived, (protocol, est, derived)
        estimates[protocol] = est
    a, b = estimates["literal"], estimates["variance-reduced"]
    k = max(_k(a), _k(b))
    assert abs(a.mean - b.mean) <= k * float(np.hypot(a.stderr, b.stderr)) + STOP_TOL * derived, (a, b)


def test_two_layers_end_at_or_below_the_one_layer_optimum() -> None:
    """Appendix E, small problem (d = 2, noisy): the two-layer stack after 300 steps is at or below the exact optimum
    of the one-layer attention (which it contains), within k standard errors of its own estimate."""
    point = multilayer_point(SMALL, 6, 2, steps=300, batch_size=512, restarts=3, seed=0)
    assert point.layers == 2 and point.one_layer <= point.one_layer_reduced * (1 + 1e-9)
    k = K_SIGMA + abs(point.skewness) * (2 * K_SIGMA**2 + 1) / (6 * np.sqrt(point.samples))
    assert point.loss <= point.one_layer + k * point.stderr, point


def test_three_layers_continue_from_two_and_end_at_or_below_them() -> None:
    """The deepening schedule: three layers are the trained two-layer stack plus a third of the steps at 0.1x the
    learning rate; the 3-layer point ends at or below the 2-layer one (same seed), within k joint standard errors."""
    two = multilayer_point(SMALL, 6, 2, steps=300, batch_size=512, restarts=3, seed=0)
    three = multilayer_point(SMALL, 6, 3, steps=300, batch_size=512, restarts=3, seed=0)
    assert three.steps == 300 + 100 and three.options["deepen"] == {"steps": 100, "lr": pytest.approx(0.005),
                                                                    "warmup_steps": 100}
    k = K_SIGMA + max(abs(two.skewness), abs(three.skewness)) * (2 * K_SIGMA**2 + 1) / (6 * np.sqrt(min(two.samples, three.samples)))
    assert three.loss <= two.loss + k * float(np.hypot(two.stderr, three.stderr)), (two, three)


def test_a_deeper_point_reuses_the_stack_below_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3-layer point after the 2-layer point of the same mixture, n, strategy, seed and options trains only its
    deepening stage, and gives the same numbers, bit for bit, as one computed from nothing."""
    from collections import OrderedDict

    import training.multilayer as multilayer

    calls: list[int] = []
    real = multilayer.train_panel

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["layers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(multilayer, "train_panel", counting)
    options = {"steps": 30, "batch_size": 128, "restarts": 2, "seed": 5}
    monkeypatch.setattr(multilayer, "_STAGES", OrderedDict())
    alone = multilayer_point(SMALL, 4, 3, **options)
    assert calls == [2, 3]
    monkeypatch.setattr(multilayer, "_STAGES", OrderedDict())
    calls.clear()
    two = multilayer_point(SMALL, 4, 2, **options)
    three = multilayer_point(SMALL, 4, 3, **options)
    assert calls == [2, 3] and two.layers == 2
    assert (three.loss, three.stderr, three.restart_losses, three.steps) == (alone.loss, alone.stderr,
                                                                             alone.restart_losses, alone.steps)
    multilayer_point(SMALL, 4, 3, **{**options, "seed": 6})  # another seed: trained afresh
    assert calls == [2, 3, 2, 3]


@pytest.mark.parametrize("layers", [2, 3])
def test_stack_with_token_rescaling_is_appendix_e(layers: int) -> None:
    """With the deeper stacks' token rescaling the Gram form still equals the token-by-token evaluation."""
    from montecarlo import make_generator, sample_batch

    mixture = preset("figA2-noisy")
    net = MultiLayerAttention(mixture.d, mixture.K, 6, layers=layers, restarts=2, task_heads=True, label_scale=7.3)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / 4)
    batch = sample_batch(mixture, 6, 32, generator=make_generator(1))
    _close(net(batch), net.forward_tokens(batch))


@pytest.mark.parametrize(("shallow", "deep", "task_heads"), [(1, 2, False), (2, 3, True), (1, 3, True)])
def test_a_deeper_stack_continues_from_a_shallower_one(shallow: int, deep: int, task_heads: bool) -> None:
    """Warm start (progressive depth): the deeper stack starts with the shallower stack's predictions exactly, across
    the change of token rescaling between one and more layers, and its extra layers start as zero updates."""
    mixture = preset("figA2-noisy")
    ns = [4, 9]

    def stack(layers: int) -> MultiLayerAttention:
        return MultiLayerAttention(mixture.d, mixture.K, ns, layers=layers, restarts=2, task_heads=task_heads,
                                   label_scale=stack_label_scale(mixture, layers))

    old, new = stack(shallow), stack(deep)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for net in (old, new):
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / 4)
    new.continue_from(old)
    assert torch.all(new.values()[:, shallow:] == 0)
    batch = sample_batch(mixture, 9, 32, generator=make_generator(2))
    _close(new(batch), old(batch))
    with pytest.raises(VerifyError, match="warm start"):
        old.continue_from(new)


def test_a_warm_started_panel_starts_where_the_shallower_run_ended() -> None:
    """train_panel(warm_start=run): each 2-layer member starts as the 1-layer run's member ended. One step at a
    learning rate below any float64 ulp of the parameters leaves that start in place, so the panel's predictions
    are the shallower run's; a run of other n is refused."""
    config = make_config(steps=20, batch_size=128, restarts=2, protocol="variance-reduced", tolerance=None)
    one = train_panel("multilayer", SMALL, [3, 5], ["JT"], layers=1, config=config, seed=1)
    still = make_config(steps=1, batch_size=128, restarts=2, protocol="variance-reduced", tolerance=None,
                              lr=1e-300)
    two = train_panel("multilayer", SMALL, [3, 5], ["JT"], layers=2, config=still, seed=1, warm_start=one)
    batch = sample_batch(SMALL, 5, 64, generator=make_generator(0))
    _close(two.model(batch), one.model(batch))
    cold = train_panel("multilayer", SMALL, [3, 5], ["JT"], layers=2, config=still, seed=1)
    assert not torch.allclose(cold.model(batch), one.model(batch), rtol=1e-3)  # the comparison can fail
    with pytest.raises(VerifyError, match="warm start"):
        train_panel("multilayer", SMALL, [3], ["JT"], layers=2, config=config, seed=1, warm_start=one)


@pytest.mark.parametrize(("options", "field"), [
    ({"protocol": "exact"}, "protocol"),
    ({"steps": 0}, "steps"),
    ({"tolerance": -1.0}, "tolerance"),
    ({"warmup_steps": -2}, "warmup_steps"),
    ({"learning_rate": 1.0}, "training option"),
    ({"protocol": "literal", "query": "integrated"}, "protocol"),
])
def test_bad_panel_options_name_the_field(options: dict, field: str) -> None:
    with pytest.raises(VerifyError, match=field):
        make_config(**options)


def test_bad_panels_name_the_field() -> None:
    m, config = preset("fig2c"), make_config(steps=1, batch_size=8, restarts=1)
    with pytest.raises(VerifyError, match="strategies"):
        train_panel("attention", m, [3], ["JT", "PGD"], config=config)
    with pytest.raises(VerifyError, match="ns"):
        train_panel("reduced", m, [3, 3], ["JT"], config=config)
    with pytest.raises(VerifyError, match="strategy"):
        train_panel("reduced", m, [3], ["PGD"], config=config)
    with pytest.raises(VerifyError, match="model"):
        train_panel("transformer", m, [3], ["JT"], config=config)

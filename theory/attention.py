"""The one-layer linear attention of eqs. (6) and (17), and Proposition 1's construction.

:func:`attention_predict` evaluates the full model on token sequences
``Z^(k) = [p_k, z_1, ..., z_n, z]`` (eq. 5):
``f = (z^T A Z^T) M Z W_v h_k`` with ``A = W_q W_k^T`` and the mask
``M = diag(I_{n+1}, 0)`` that drops the query's own value.

:func:`proposition1_construction` builds the parameters of Appendix C.1
(``A = [[W, 0], [0, 0]]``, ``W_v = I``, ``p_k = [W^{-1} mu_k; mu_k^T W^{-T} mu_k + 1]``,
``h_k = [-mu_k; 1]``), generalised by per-task scales ``c_k``: heads
``c_k [-mu_k; 1]`` and prompts ``[W^{-1} mu_k / c_k; 1 + mu_k^T W^{-T} mu_k / c_k]``
make the model equal to ``x^T mu_k + c_k x^T W X^T (y - X mu_k)``.  With all
``c_k = 1`` this is the paper's construction; other ``c_k`` show that a
task-specific head also rescales the preconditioner per task, which the
debiased PGD objective (19) with one shared W cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.loss import check_context_length, pgd_loss
from theory.mixture import Array, TaskMixture
from theory.optima import _plain_quadratic, _quadratic_minimiser, joint_training_optimum, pgd_optimum


@dataclass(frozen=True)
class AttentionParameters:
    """Full-model parameters: A = W_q W_k^T and W_v ((d+1) x (d+1)), prompts and heads ((K, d+1))."""

    A: Array
    Wv: Array
    prompts: Array
    heads: Array


def attention_predict(params: AttentionParameters, task: Array, X: Array, y: Array, x: Array) -> Array:
    """Batched eq. (17): task (B,) ints, X (B, n, d), y (B, n), x (B, d) -> predictions (B,)."""
    B, n, d = X.shape
    tokens = np.concatenate([X, y[..., None]], axis=-1)  # (B, n, d+1) context tokens z_i
    prompts = params.prompts[task]  # (B, d+1)
    query = np.concatenate([x, np.zeros((B, 1))], axis=-1)  # (B, d+1), z = [x; 0]
    # Z^T M Z keeps the prompt and the n context tokens, not the query.
    gram = np.einsum("bi,bj->bij", prompts, prompts) + np.einsum("bti,btj->bij", tokens, tokens)
    value = params.Wv @ params.heads[task].T  # (d+1, B): W_v h_k
    return np.einsum("bi,ij,bjk,kb->b", query, params.A, gram, value)


def reduced_predict(W: Array, P: Array, task: Array, X: Array, y: Array, x: Array) -> Array:
    """Eq. (7): x^T W (X^T y + p_k), batched as in :func:`attention_predict`."""
    return np.einsum("bi,ij,bj->b", x, W, np.einsum("bti,bt->bi", X, y) + P[task])


def pgd_predict(W: Array, mixture: TaskMixture, task: Array, X: Array, y: Array, x: Array,
                scales: Array | None = None) -> Array:
    """Debiased PGD predictor x^T mu_k + c_k x^T W X^T (y - X mu_k) (Section 5)."""
    mu = mixture.means[task]  # (B, d)
    c = np.ones(mixture.K) if scales is None else np.asarray(scales)
    resid = y - np.einsum("bti,bi->bt", X, mu)
    return np.einsum("bi,bi->b", x, mu) + c[task] * np.einsum("bi,ij,bj->b", x, W, np.einsum("bti,bt->bi", X, resid))


def proposition1_construction(mixture: TaskMixture, W: Array, scales: Array | None = None) -> AttentionParameters:
    """Prompts and heads that make the attention model the (per-task scaled) debiased PGD predictor."""
    d, K = mixture.d, mixture.K
    c = np.ones(K) if scales is None else np.asarray(scales, dtype=float)
    A = np.zeros((d + 1, d + 1))
    A[:d, :d] = W
    prompts = np.zeros((K, d + 1))
    heads = np.zeros((K, d + 1))
    for k in range(K):
        mu = mixture.means[k]
        w_inv_mu = np.linalg.solve(W, mu)
        prompts[k, :d] = w_inv_mu / c[k]
        prompts[k, d] = 1.0 + float(mu @ np.linalg.solve(W.T, mu)) / c[k]
        heads[k, :d] = -c[k] * mu
        heads[k, d] = c[k]
    return AttentionParameters(A=A, Wv=np.eye(d + 1), prompts=prompts, heads=heads)


def shared_head_construction(W: Array, P: Array, centre: Array) -> AttentionParameters:
    """A shared head that centres the labels: the output is x^T W X^T (y - X c) + x^T (W p_k + c).

    ``A = [[W, 0], [0, 0]]``, ``W_v = I``, one head ``h = [-c; 1]`` for every task, and prompts
    ``[q_k; 1 + q_k^T c]`` with ``q_k = p_k + W^{-1} c``.  On the mixture with every mean shifted to
    ``mu_k - c`` this is exactly the reduced predictor (7) with prompts ``p_k``, so its loss is that
    reduced loss: a *shared* head lets the unconstrained model of eq. (6) (Section 6, "Validation of
    the preconditioning") reach ``L*_JT`` of the re-centred mixture, below the ``L*_JT`` of Assumption 1.
    """
    d, K = W.shape[0], P.shape[0]
    c = np.asarray(centre, dtype=float)
    A = np.zeros((d + 1, d + 1))
    A[:d, :d] = W
    q = P + np.linalg.solve(W, c)[None, :]
    prompts = np.concatenate([q, (1.0 + q @ c)[:, None]], axis=1)
    head = np.concatenate([-c, [1.0]])
    return AttentionParameters(A=A, Wv=np.eye(d + 1), prompts=prompts, heads=np.tile(head, (K, 1)))


def recentred(mixture: TaskMixture, centre: Array) -> TaskMixture:
    """The mixture with every task mean shifted by -centre (labels y - X c, targets y - x^T c)."""
    return TaskMixture(mixture.sigma_x, mixture.weights, mixture.means - np.asarray(centre)[None, :], mixture.covs,
                       mixture.sigma2)


@dataclass(frozen=True)
class SharedHeadOptimum:
    """Joint training of the reduced model on the mixture re-centred at ``centre`` (= sum_k pi_k mu_k),
    realised by one-layer attention with a shared head (:func:`shared_head_construction`)."""

    centre: Array
    loss: float
    params: AttentionParameters


def shared_head_joint_optimum(mixture: TaskMixture, n: int) -> SharedHeadOptimum:
    """An attention loss reachable with prompts and one shared head: L*_JT of the mixture centred at its mean task."""
    centre = mixture.weights @ mixture.means
    jt = joint_training_optimum(recentred(mixture, centre), n)
    return SharedHeadOptimum(centre, jt.loss, shared_head_construction(jt.W, jt.P, centre))


def reduced_form_parameters(W: Array, P: Array, rng: np.random.Generator) -> AttentionParameters:
    """Assumption 1's parameters, with the entries the paper marks '*' filled at random (Lemma 4)."""
    d = W.shape[0]
    A = rng.standard_normal((d + 1, d + 1))
    A[:d, :d] = W
    A[:d, d] = 0.0
    prompts = np.concatenate([P, np.ones((P.shape[0], 1))], axis=1)
    heads = np.zeros((P.shape[0], d + 1))
    heads[:, d] = 1.0
    Wv = np.eye(d + 1)
    return AttentionParameters(A=A, Wv=Wv, prompts=prompts, heads=heads)


@dataclass(frozen=True)
class HeadScaledOptimum:
    """Best shared W with per-task head scales c_k, and its exact loss (an achievable attention loss)."""

    W: Array
    scales: Array
    loss: float


def head_scaled_pgd_optimum(mixture: TaskMixture, n: int, *, iterations: int = 200) -> HeadScaledOptimum:
    """min over W and c of sum_k pi_k L_k^PGD(c_k W), by alternating exact minimisation.

    Starts at W*_PGD with c = 1 and never increases the loss, so the result is
    an upper bound on the attention-with-heads optimum (18) that is at most
    L~*_PGD.  For fixed W each c_k minimises a 1-D quadratic; for fixed c the
    problem in W is the quadratic of :mod:`theory.optima` with
    G = sum_k pi_k c_k^2 G_k and H = sum_k pi_k c_k H_k.
    """
    n = check_context_length(n)
    start = pgd_optimum(mixture, n)
    W, c = start.W, np.ones(mixture.K)
    per_task = [single_task(mixture, k) for k in range(mixture.K)]
    quads = [_plain_quadratic(t, n) for t in per_task]
    best = float(pgd_loss(mixture, W, n, scales=c))
    for _ in range(iterations):
        for k, (Gk, Hk) in enumerate(quads):
            curvature = np.trace(W @ Gk @ W.T @ mixture.sigma_x)
            c[k] = np.trace(W @ Hk) / curvature
        G = sum(mixture.weights[k] * c[k] ** 2 * quads[k][0] for k in range(mixture.K))
        H = sum(mixture.weights[k] * c[k] * quads[k][1] for k in range(mixture.K))
        W = _quadratic_minimiser(mixture.sigma_x, G, H)
        value = float(pgd_loss(mixture, W, n, scales=c))
        if best - value <= 1e-15 * max(1.0, abs(best)):
            best = min(best, value)
            break
        best = value
    return HeadScaledOptimum(W=W, scales=c.copy(), loss=best)


def per_task_pgd_bound(mixture: TaskMixture, n: int) -> float:
    """sum_k pi_k min_{W_k} L_k^PGD(W_k): the lower bound Appendix C.1's argument actually gives."""
    n = check_context_length(n)
    return float(sum(mixture.weights[k] * pgd_optimum(single_task(mixture, k), n).loss for k in range(mixture.K)))


def single_task(mixture: TaskMixture, k: int) -> TaskMixture:
    return TaskMixture(mixture.sigma_x, np.array([1.0]), np.zeros((1, mixture.d)), mixture.covs[k:k + 1], mixture.sigma2)


@dataclass(frozen=True)
class Assumption1Stationarity:
    """How far the reduced optimum (Assumption 1: head ``e``, ``A[:d, d] = 0``) is from a stationary point of the exact
    loss of eq. (6) with one shared head, relative to that loss.

    ``column_gain``: the exact relative decrease from freeing the column ``A[:d, d]`` at the head ``e`` (the loss is
    quadratic in ``A``'s rows, so this is a closed-form solve: zero iff the column's gradient vanishes);
    ``head_gradient``: the norm of the gradient in the head's direction (orthogonal to ``e``; its scale is absorbed by
    ``A``), divided by the loss.
    """

    column_gain: float
    head_gradient: float

    STATIONARY = 1e-7  # both below: stationary up to float64 rounding of the solves
    MOVING = 1e-5  # either above: not stationary (a descent direction exists, so eq. (6) goes strictly lower)

    @property
    def stationary(self) -> bool:
        return self.column_gain <= self.STATIONARY**2 and self.head_gradient <= self.STATIONARY

    @property
    def moving(self) -> bool:
        return self.column_gain > self.MOVING**2 or self.head_gradient > self.MOVING


def assumption1_stationarity(mixture: TaskMixture, n: int, mode: str) -> Assumption1Stationarity:
    """Is the reduced optimum of ``mode`` (``"PT"`` or ``"JT"``) a stationary point of eq. (6)'s exact loss?

    Eq. (6) contains the reduced model (7), so its optimum is at most ``L*_mode``; it is strictly lower wherever the
    reduced optimum is not stationary for it.  The first-order conditions at ``d = 1`` (docs/assumption1.md) make the
    head gradient proportional to the mean task and the column's to a third moment of the task distribution.
    """
    from theory.unconstrained import _Problem  # the exact profile and head gradient of eq. (6)

    n = check_context_length(n)
    d, K = mixture.d, mixture.K
    heads = np.zeros((K, d + 1))
    heads[:, d] = 1.0
    reduced = _Problem(mixture, n, free_column=False)
    prof = reduced.profile(heads, mode)
    free = _Problem(mixture, n, free_column=True).profile(heads, mode)
    scale = max(abs(prof.loss), np.finfo(float).tiny)
    grad = reduced.head_gradient(prof.B, prof.U, heads).sum(axis=0)
    grad[d] = 0.0  # the direction of e itself only rescales the head
    return Assumption1Stationarity(max(0.0, (prof.loss - free.loss) / scale), float(np.linalg.norm(grad)) / scale)

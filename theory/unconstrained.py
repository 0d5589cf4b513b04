"""The unconstrained one-layer attention of eq. (6), solved exactly (no Assumption 1).

Model (eqs. 5, 6, 17).  Task k's sequence is ``Z = [p_k, z_1, ..., z_n, z]`` with tokens
``z_i = [x_i; y_i]``, query ``z = [x; 0]``, and the prediction is
``f = z^T A (p_k p_k^T + sum_i z_i z_i^T) a_k`` with ``A = W_q W_k^T`` ((d+1) x (d+1)) and
``a_k = W_v h_k`` (one shared ``a`` in eq. 6, task-specific heads in eq. 17).  The query's last
entry is 0, so only the top d rows ``B = A[:d, :]`` matter, and

    f = x^T c,   c = u_k + B S a_k,   u_k = B p_k (p_k^T a_k),   S = sum_i z_i z_i^T.

Assumption 1 is ``B = [W, 0]``, ``a = e`` (the last basis vector), which gives eq. (7) with
``u_k = W p_k`` (prompt ``[p_k; 1]``).

Exact loss (derived here, Gaussian moments; checked symbolically in
:func:`derive_attention_task_loss`).  Given beta the tokens are i.i.d. N(0, Sigma_z(beta)) with
``Sigma_z = J^T Sigma_x J + sigma^2 e e^T``, ``J = [I, beta]``.  With ``g = Sigma_z a`` and
``q = a^T Sigma_z a``, Isserlis gives ``E[z z^T a a^T z z^T] = 2 g g^T + q Sigma_z``, so
``E[c | beta] = u + n B g`` and ``Cov[c | beta] = n B (g g^T + q Sigma_z) B^T``; the query x is
independent of c, hence

    L_k = sigma^2 + E[(c - beta)^T Sigma_x (c - beta)]
        = sigma^2 + tr(Sigma_x E[beta beta^T]) + u^T Sigma_x u - 2 u^T Sigma_x mu_k + 2 n u^T Sigma_x B m
          - 2 n tr(Sigma_x B H) + tr(Sigma_x B G B^T),

with ``m = E[g]``, ``H = E[g beta^T]``, ``G = (n^2 + n) E[g g^T] + n E[q Sigma_z]``.  Writing
``beta = mu + w``, ``w ~ N(0, C)``: ``Sigma_z = Z0 + s e^T + e s^T + (w^T Sigma_x w) e e^T`` with
``Z0 = Sigma_z(mu)``, ``s = T w``, ``T = [Sigma_x; mu^T Sigma_x]``.  Odd moments of w vanish and
``E[(w^T Sigma_x w)^2] = tau^2 + 2 kappa`` (``tau = tr(Sigma_x C)``, ``kappa = tr((Sigma_x C)^2)``), so
with ``R = a_y T + e a^T T`` and ``S_T = T C T^T``:

    m = Z0 a + tau a_y e
    H = m mu^T + R C
    E[g g^T] = Z0 a a^T Z0 + R C R^T + tau a_y (Z0 a e^T + e a^T Z0) + a_y^2 (tau^2 + 2 kappa) e e^T
    E[q Sigma_z] = q0 (Z0 + tau e e^T) + 2 a_y (S_T a e^T + e a^T S_T) + a_y^2 (tau Z0 + (tau^2 + 2 kappa) e e^T)

(``q0 = a^T Z0 a``).  :func:`attention_task_loss` is that one expression over operations numpy
and sympy share, so the same code is proved equal to the brute-force expectation of the literal
forward and evaluated in float64.

Structure used by the solver.  For fixed heads the loss is a quadratic in ``(B, u_1..u_K)``:
stationarity gives ``u_k = mu_k - n B m_k`` (prompts free) and
``B sum_k pi_k G_k' = n sum_k pi_k (H_k^T - u_k m_k^T)``, a (d+1)-dimensional linear solve.  For
fixed ``(B, u)`` it is a quadratic in each head, so the gradient of the profile
``f(a) = min_{B,u} L`` (envelope theorem) is an exact central difference.  The profile is invariant
under ``a -> s a`` (``B -> B / s``), so the heads live on a sphere: ``d`` (shared head) or
``K (d+1) - 1`` (task heads) dimensions, searched by BFGS from many starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import minimize

from theory.attention_bound import attention_lower_bound
from theory.errors import VerifyError
from theory.loss import _scalar, _trace, _transpose, check_context_length
from theory.mixture import Array, TaskMixture
from theory.moments import gaussian_expectation, standard_normals

MODES = ("PT", "FT", "JT")


# ----- the exact loss, over numpy and sympy alike ----------------------------------------------
def _block(rows: list[list[Any]]) -> Any:
    if all(isinstance(b, np.ndarray) for r in rows for b in r):
        return np.block(rows)
    return sp.Matrix(sp.BlockMatrix([[sp.Matrix(b) for b in r] for r in rows]))


def _unit(d: int, like: Any) -> Any:
    """e = the last basis vector of R^{d+1}, a column."""
    if isinstance(like, np.ndarray):
        e = np.zeros((d + 1, 1))
        e[d, 0] = 1.0
        return e
    return sp.Matrix([0] * d + [1])


@dataclass(frozen=True)
class TaskBlocks:
    """The head-independent Gaussian moments of one task (see the module docstring)."""

    sigma_x: Any
    mean: Any  # (d, 1)
    cov: Any
    sigma2: Any
    Z0: Any  # Sigma_z(mu), (d+1) x (d+1)
    T: Any  # [Sigma_x; mu^T Sigma_x], (d+1) x d
    ST: Any  # T C T^T
    tau: Any
    kappa: Any
    e: Any


def task_blocks(sigma_x: Any, mean: Any, cov: Any, sigma2: Any) -> TaskBlocks:
    """Z0, T, T C T^T, tau, kappa for one task (mean a (d, 1) column)."""
    d = sigma_x.shape[0]
    sm = sigma_x @ mean
    Z0 = _block([[sigma_x, sm], [_transpose(sm), _transpose(mean) @ sm + sigma2 * _ones(like=sm)]])
    T = _block([[sigma_x], [_transpose(sm)]])
    sc = sigma_x @ cov
    return TaskBlocks(sigma_x, mean, cov, sigma2, Z0, T, T @ cov @ _transpose(T), _trace(sc), _trace(sc @ sc),
                      _unit(d, sigma_x))


def _ones(like: Any) -> Any:
    return np.ones((1, 1)) if isinstance(like, np.ndarray) else sp.Matrix([[1]])


def head_moments(tb: TaskBlocks, a: Any) -> tuple[Any, Any, Any, Any]:
    """m = E[g], H = E[g beta^T], E[g g^T], E[q Sigma_z] for a head column ``a`` (g = Sigma_z a)."""
    e, Z0, T = tb.e, tb.Z0, tb.T
    ay = _scalar(_transpose(e) @ a)
    Z0a = Z0 @ a
    m = Z0a + tb.tau * ay * e
    R = ay * T + e @ (_transpose(a) @ T)
    H = m @ _transpose(tb.mean) + R @ tb.cov
    fourth = tb.tau ** 2 + 2 * tb.kappa
    Egg = (Z0a @ _transpose(Z0a) + R @ tb.cov @ _transpose(R)
           + tb.tau * ay * (Z0a @ _transpose(e) + e @ _transpose(Z0a)) + ay ** 2 * fourth * (e @ _transpose(e)))
    q0 = _scalar(_transpose(a) @ Z0a)
    Sa = tb.ST @ a
    EqZ = (q0 * (Z0 + tb.tau * (e @ _transpose(e))) + 2 * ay * (Sa @ _transpose(e) + e @ _transpose(Sa))
           + ay ** 2 * (tb.tau * Z0 + fourth * (e @ _transpose(e))))
    return m, H, Egg, EqZ


def attention_task_loss(tb: TaskBlocks, B: Any, u: Any, a: Any, n: Any) -> Any:
    """L_k(B, u, a) for one task: B = A[:d, :] (d x (d+1)), u = B p (p^T a) (d, 1), a (d+1, 1)."""
    m, H, Egg, EqZ = head_moments(tb, a)
    sx, mu = tb.sigma_x, tb.mean
    G = (n * n + n) * Egg + n * EqZ
    Bt = _transpose(B)
    return (tb.sigma2 + _trace(sx @ (tb.cov + mu @ _transpose(mu)))
            + _scalar(_transpose(u) @ sx @ u) - 2 * _scalar(_transpose(u) @ sx @ mu) + 2 * n * _scalar(_transpose(u) @ sx @ B @ m)
            - 2 * n * _trace(sx @ B @ H) + _trace(sx @ B @ G @ Bt))


# ----- float64: the loss of literal parameters (A, heads, prompts) ----------------------------
@dataclass(frozen=True)
class UnconstrainedParameters:
    """Eq. (6)/(17) parameters: ``A = W_q W_k^T`` ((d+1) x (d+1)), heads ``a_k = W_v h_k`` (K, d+1), prompts (K, d+1).

    With one shared head every row of ``heads`` is the same.  ``prompts`` may be None for plain training.
    """

    A: Array
    heads: Array
    prompts: Array | None


def _mixture_blocks(mixture: TaskMixture) -> list[TaskBlocks]:
    return [task_blocks(mixture.sigma_x, mixture.means[k][:, None], mixture.covs[k], mixture.sigma2) for k in range(mixture.K)]


def unconstrained_loss(mixture: TaskMixture, params: UnconstrainedParameters, n: int) -> float:
    """Exact population loss sum_k pi_k E[(f - y)^2] of eq. (6)/(17) at literal parameters, float64."""
    n = check_context_length(n)
    d, K = mixture.d, mixture.K
    A = np.asarray(params.A, dtype=float)
    heads = np.asarray(params.heads, dtype=float)
    if A.shape != (d + 1, d + 1):
        raise VerifyError(f"A: expected shape ({d + 1}, {d + 1}), got {A.shape}")
    if heads.shape != (K, d + 1):
        raise VerifyError(f"heads: expected shape ({K}, {d + 1}), got {heads.shape}")
    B = A[:d, :]
    total = 0.0
    for k, tb in enumerate(_mixture_blocks(mixture)):
        a = heads[k][:, None]
        if params.prompts is None:
            u = np.zeros((d, 1))
        else:
            p = np.asarray(params.prompts, dtype=float)[k][:, None]
            u = B @ p * float(p[:, 0] @ a[:, 0])
        total += mixture.weights[k] * float(attention_task_loss(tb, B, u, a, n))
    return total


# ----- the solver ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Profile:
    """Minimiser over (B, u) for fixed heads, with its loss."""

    B: Array
    U: Array  # (K, d): u_k, zeros without prompts
    loss: float


def _solve(B_system: Array, rhs: Array) -> Array:
    """B with B @ B_system = rhs (B_system symmetric PSD); least squares when singular."""
    try:
        return np.asarray(np.linalg.solve(B_system, rhs.T).T, dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(B_system, rhs.T, rcond=None)[0].T, dtype=np.float64)


class _Problem:
    """One mixture and n in float64, batched over tasks: the loss, its profile over (B, u), its head gradient.

    The same expressions as :func:`head_moments` / :func:`attention_task_loss`, with a leading task axis
    (tested equal to them); ``e`` is the last basis vector.
    """

    def __init__(self, mixture: TaskMixture, n: int, free_column: bool = True) -> None:
        self.m, self.n, self.free_column = mixture, n, free_column
        self.d, self.K = mixture.d, mixture.K
        d, sx, mu, C = mixture.d, mixture.sigma_x, mixture.means, mixture.covs
        sm = mu @ sx  # (K, d) rows (Sigma_x mu_k)^T
        self.Z0 = np.zeros((self.K, d + 1, d + 1))
        self.Z0[:, :d, :d] = sx
        self.Z0[:, :d, d] = sm
        self.Z0[:, d, :d] = sm
        self.Z0[:, d, d] = np.einsum("ki,ki->k", mu, sm) + mixture.sigma2
        self.T = np.concatenate([np.broadcast_to(sx, (self.K, d, d)), sm[:, None, :]], axis=1)  # (K, d+1, d)
        self.ST = self.T @ C @ np.swapaxes(self.T, 1, 2)
        sc = sx @ C
        self.tau = np.trace(sc, axis1=1, axis2=2)
        self.F = self.tau ** 2 + 2 * np.einsum("kij,kji->k", sc, sc)
        self.Zt = self.Z0.copy()
        self.Zt[:, d, d] += self.tau
        self.const = mixture.sigma2 + np.einsum("ij,kji->k", sx, C + mu[:, :, None] * mu[:, None, :])

    def statistics(self, heads: Array) -> tuple[Array, Array, Array]:
        """m_k = E[g] (K, d+1), H_k = E[g beta^T] (K, d+1, d), G_k = (n^2+n) E[g g^T] + n E[q Sigma_z] (K, d+1, d+1)."""
        n, d = self.n, self.d
        ay = heads[:, d]
        Z0a = np.einsum("kij,kj->ki", self.Z0, heads)
        m = Z0a.copy()
        m[:, d] += self.tau * ay
        R = ay[:, None, None] * self.T
        R[:, d, :] += np.einsum("ki,kij->kj", heads, self.T)
        C = self.m.covs
        H = m[:, :, None] * self.m.means[:, None, :] + R @ C
        Egg = Z0a[:, :, None] * Z0a[:, None, :] + R @ C @ np.swapaxes(R, 1, 2)
        Egg[:, :, d] += (self.tau * ay)[:, None] * Z0a
        Egg[:, d, :] += (self.tau * ay)[:, None] * Z0a
        Egg[:, d, d] += ay ** 2 * self.F
        q0 = np.einsum("ki,ki->k", heads, Z0a)
        Sa = np.einsum("kij,kj->ki", self.ST, heads)
        EqZ = q0[:, None, None] * self.Zt + (ay ** 2 * self.tau)[:, None, None] * self.Z0
        EqZ[:, :, d] += 2 * ay[:, None] * Sa
        EqZ[:, d, :] += 2 * ay[:, None] * Sa
        EqZ[:, d, d] += ay ** 2 * self.F
        return m, H, (n * n + n) * Egg + n * EqZ

    def loss(self, B: Array, U: Array, heads: Array, stats: tuple[Array, Array, Array] | None = None) -> float:
        n, sx = self.n, self.m.sigma_x
        m, H, G = self.statistics(heads) if stats is None else stats
        SxB = sx @ B
        Usx = U @ sx
        per_task = (self.const + np.einsum("ki,ki->k", Usx, U) - 2 * np.einsum("ki,ki->k", Usx, self.m.means)
                    + 2 * n * np.einsum("ki,ki->k", U @ SxB, m) - 2 * n * np.einsum("ij,kji->k", SxB, H)
                    + np.einsum("kil,il->k", SxB @ G, B))
        return float(self.m.weights @ per_task)

    def profile(self, heads: Array, mode: str, frozen_B: Array | None = None) -> _Profile:
        """min over B and prompts (JT), over B (PT), or over prompts with B frozen (FT)."""
        n, w, d = self.n, self.m.weights, self.d
        stats = self.statistics(heads)
        m, H, G = stats
        if mode == "FT":
            assert frozen_B is not None
            B = frozen_B
        else:
            if mode == "JT":
                system = np.einsum("k,kij->ij", w, G - n * n * m[:, :, None] * m[:, None, :])
                rhs = n * np.einsum("k,kji->ij", w, H - m[:, :, None] * self.m.means[:, None, :])
            else:
                system = np.einsum("k,kij->ij", w, G)
                rhs = n * np.einsum("k,kji->ij", w, H)
            if self.free_column:
                B = _solve(system, rhs)
            else:  # Assumption 1's zero column: B = [B_x, 0], stationary in B_x only
                B = np.zeros((d, d + 1))
                B[:, :d] = _solve(system[:d, :d], rhs[:, :d])
        U = np.zeros((self.K, d)) if mode == "PT" else self.m.means - n * m @ B.T
        return _Profile(B, U, self.loss(B, U, heads, stats))

    def head_gradient(self, B: Array, U: Array, heads: Array) -> Array:
        """dL/d(heads) at fixed (B, u), row k for head k, differentiated term by term from :meth:`statistics`.

        With ``N = B^T Sigma_x B``, ``Zt = Z0 + tau e e^T``, ``F = tau^2 + 2 kappa``: the linear terms give
        ``2 n Zt B^T Sigma_x (u - mu) - 2 n (e tr(C Sigma_x B T) + T C Sigma_x B e)``; ``tr(N E[g g^T])`` and
        ``tr(N E[q Sigma_z])`` are quadratic forms in a whose gradients are written out below.  (Tested against
        central differences, which are exact for a quadratic.)
        """
        n, d, sx = self.n, self.d, self.m.sigma_x
        ay = heads[:, d]
        SxB = sx @ B
        N = B.T @ SxB
        Ne, Nee = N[:, d], N[d, d]
        Z0a = np.einsum("kij,kj->ki", self.Z0, heads)
        STa = np.einsum("kij,kj->ki", self.ST, heads)
        STNe = self.ST @ Ne
        Z0Ne = self.Z0 @ Ne
        eNSTa = STa @ Ne
        eNZ0a = Z0a @ Ne
        C = self.m.covs
        linear = 2 * n * np.einsum("kij,kj->ki", self.Zt, (U - self.m.means) @ SxB)
        linear[:, d] -= 2 * n * np.einsum("kij,kji->k", C @ SxB, self.T)
        linear -= 2 * n * np.einsum("kij,kj->ki", self.T, C @ SxB[:, d])
        gg = 2 * np.einsum("kij,kj->ki", self.Z0 @ N, Z0a) + 2 * ay[:, None] * STNe + 2 * Nee * STa
        gg += 2 * self.tau[:, None] * ay[:, None] * Z0Ne
        gg[:, d] += 2 * ay * np.einsum("ij,kji->k", N, self.ST) + 2 * eNSTa + 2 * self.tau * eNZ0a + 2 * ay * self.F * Nee
        qz = 2 * np.einsum("ij,kji->k", N, self.Zt)[:, None] * Z0a + 4 * ay[:, None] * STNe
        qz[:, d] += 4 * eNSTa + 2 * ay * (self.tau * np.einsum("ij,kji->k", N, self.Z0) + self.F * Nee)
        return self.m.weights[:, None] * (linear + (n * n + n) * gg + n * qz)


@dataclass(frozen=True)
class UnconstrainedOptimum:
    """The best optimum found of the unconstrained model for one training mode, with the solver's diagnostics.

    ``params`` are literal eq. (6)/(17) parameters (``A`` with a zero last row, the '*' entries, heads
    with unit norm, realised prompts); ``loss`` is the exact loss there, the lowest the starts reached (an upper
    bound of the optimum).  ``lower_bound`` is a certified lower bound of the optimum
    (:func:`theory.attention_bound.attention_lower_bound`; for fine-tuning the joint one) or None;
    ``certified`` says the value is the optimum (within ``CERTIFY_RTOL``), ``certificate`` how (a convex problem,
    the bound meeting the value, or fine-tuning from a certified plain-training optimum).  ``gradient_norm`` is the
    norm of the gradient of the exact loss in (B, u, heads) at the optimum; ``local_optima`` the distinct losses
    the starts ended at (relative 1e-9), best first; ``starts`` how many starts were run.
    """

    mode: str
    shared_head: bool
    n: int
    loss: float
    B: Array
    U: Array
    heads: Array
    params: UnconstrainedParameters
    realised_loss: float
    gradient_norm: float
    local_optima: list[float] = field(default_factory=list)
    starts: int = 0
    lower_bound: float | None = None
    certified: bool = False
    certificate: str = ""

    def bracket(self) -> dict[str, Any]:
        """``{"loss", "lower_bound", "certified"}``: the value found, a certified lower bound of the optimum (None where
        none is known) and whether the value is certified to be the optimum (``certificate`` says how)."""
        return {"loss": self.loss, "lower_bound": self.lower_bound, "certified": self.certified}

    def to_dict(self) -> dict[str, Any]:
        """JSON form in eq. (6)'s convention: A as rows, a (shared) or heads, prompts as K rows of d+1; the bracket
        (:meth:`bracket`) and how it is certified."""
        p = self.params
        out: dict[str, Any] = {**self.bracket(), "certificate": self.certificate, "mode": self.mode, "n": self.n,
                               "A": p.A.tolist()}
        if self.shared_head:
            out["a"] = p.heads[0].tolist()
        else:
            out["heads"] = p.heads.tolist()
        out["prompts"] = None if p.prompts is None else p.prompts.tolist()
        out.update(gradient_norm=self.gradient_norm, local_optima=self.local_optima, starts=self.starts,
                   realised_loss=self.realised_loss)
        return out


def realise_prompts(B: Array, U: Array, heads: Array) -> Array:
    """Prompts p_k with B p_k (p_k^T a_k) = u_k (the minimum-norm such p_k with p_k^T a_k = 1 when B's null
    vector is not orthogonal to a_k; otherwise the least-squares choice, and the realised loss says so)."""
    K, d1 = heads.shape
    pinv = np.linalg.pinv(B)
    null = np.linalg.svd(B)[2][-1]
    prompts = np.zeros((K, d1))
    for k in range(K):
        base = pinv @ U[k]
        along = float(null @ heads[k])
        if abs(along) > 1e-12 * max(1.0, float(np.linalg.norm(heads[k]))):
            prompts[k] = base + (1.0 - float(base @ heads[k])) / along * null
        else:  # p = base / gamma with gamma^2 = u^T B^{+T} a, when that is positive
            g2 = float(base @ heads[k])
            prompts[k] = base / np.sqrt(g2) if g2 > 0 else base
    return prompts


def _normalise(heads: Array) -> Array:
    flat = heads.ravel()
    norm = np.linalg.norm(flat)
    i = int(np.argmax(np.abs(flat)))
    return heads / norm * np.sign(flat[i])


SCREEN_PER_DIMENSION = 16  # random head directions screened per dimension of the head space, for the random starts
PLAIN_MIN_STARTS = 3  # plain training: Assumption 1's head, the best label head and the best feature-only head
PLAIN_ALL_STRUCTURED_MAX_D = 1  # plain training at d = 1 runs every structured start (a BFGS run costs ~5 ms there)


def _distinct_directions(vectors: list[Array]) -> list[Array]:
    """The vectors up to scale (the profile is invariant under a -> s a, s != 0), first occurrence kept."""
    out: list[Array] = []
    for v in vectors:
        norm = float(np.linalg.norm(v))
        if norm == 0:
            continue
        u = v / norm
        if all(abs(float(u @ w)) < 1 - 1e-9 for w in out):
            out.append(u)
    return out


def _plain_training_starts(problem: _Problem) -> list[Array]:
    """Shared-head starts for plain training, in the order they are run.

    The profile has two families of basins: label heads (``a_y`` dominant: e, the re-centring head [-c; 1],
    [-mu_k; 1]) and feature-only heads ``[v; 0]``, where the value reads ``x_i^T v`` and the label enters through
    A's last column ``A[:d, d]`` (for v: the mean task c, the task means, the eigenvectors of Sigma_x).  Order:
    Assumption 1's head e first (so the result is at most L*_PT), then the label head and the feature-only head
    with the lowest profile (one (d+1)-dimensional solve each), then the others by profile.  Measured against 20-40
    random starts on 400 generated mixtures (d <= 4, K <= 3, n <= 30): e and [-c; 1] alone missed the best basin on
    up to 5% of them (d = 2, n = 1, by up to 0.6%); these three first missed none.
    """
    mixture = problem.m
    d, K = mixture.d, mixture.K
    e = np.zeros(d + 1)
    e[d] = 1.0
    centre = mixture.weights @ mixture.means
    labels = _distinct_directions([np.concatenate([-v, [1.0]]) for v in (centre, *mixture.means)])
    features = _distinct_directions([np.concatenate([v, [0.0]]) for v in
                                     (centre, *mixture.means, *np.linalg.eigh(mixture.sigma_x)[1].T[::-1])])

    score = {id(v): problem.profile(np.tile(v, (K, 1)), "PT").loss for v in labels + features}
    labels.sort(key=lambda v: score[id(v)])
    features.sort(key=lambda v: score[id(v)])
    rest = sorted(labels[1:] + features[1:], key=lambda v: score[id(v)])
    return _distinct_directions([e, labels[0], features[0], *rest])


def _starts(problem: _Problem, mode: str, shared: bool, count: int, seed: int,
            plain: list[Array] | None = None) -> list[Array]:
    """``count`` starting heads, structured ones first, then the best of a screen of random directions.

    Shared head, plain training: :func:`_plain_training_starts` (or ``plain``, computed already).  Shared head with prompts: Assumption 1's head e
    first (so the result is at most the reduced optimum), then the re-centring head [-c; 1] (c the mean task), the
    feature-only head [c; 0], then [-mu_k; 1] and [mu_k; 0].  Task heads: Proposition 1's [-mu_k; 1] first (at most
    L~*_PGD), then e, [-c; 1], [c; 0].  Further starts are the random directions (seeded) with the lowest profile
    loss among ``SCREEN_PER_DIMENSION`` per dimension (one profile evaluation is a (d+1)-dimensional solve, about a
    hundredth of a BFGS run).
    """
    mixture = problem.m
    d, K = mixture.d, mixture.K
    e = np.zeros(d + 1)
    e[d] = 1.0
    centre = mixture.weights @ mixture.means
    recentre = np.concatenate([-centre, [1.0]])
    features = [np.concatenate([v, [0.0]]) for v in (centre, *mixture.means) if np.linalg.norm(v) > 0]  # a_y = 0
    if shared and mode == "PT":
        candidates = [np.tile(v, (K, 1)) for v in (_plain_training_starts(problem) if plain is None else plain)]
    elif shared:
        vectors = [e, recentre, *features[:1], *(np.concatenate([-mu, [1.0]]) for mu in mixture.means), *features[1:]]
        candidates = [np.tile(v, (K, 1)) for v in vectors]
    else:  # Proposition 1's heads [-mu_k; 1] first: their profile is at most L~*_PGD (Appendix C.1's construction)
        candidates = [np.concatenate([-mixture.means, np.ones((K, 1))], axis=1), np.tile(e, (K, 1)),
                      np.tile(recentre, (K, 1)), *(np.tile(v, (K, 1)) for v in features[:1])]
    starts = candidates[:max(1, count)]
    structured = len(starts)
    if count > structured:
        rng = np.random.default_rng(seed)
        dims = (d + 1) * (1 if shared else K)
        screen = [np.tile(rng.standard_normal(d + 1), (K, 1)) if shared else rng.standard_normal((K, d + 1))
                  for _ in range(SCREEN_PER_DIMENSION * dims)]
        scored = sorted(screen, key=lambda h: problem.profile(_normalise(h), mode).loss)
        starts += scored[:count - structured]
    return starts


def plain_training_starts(d: int, starts: int, structured: int) -> int:
    """The number of BFGS runs for shared-head plain training: at least :data:`PLAIN_MIN_STARTS`, and every one of
    the ``structured`` starts where ``d <= PLAIN_ALL_STRUCTURED_MAX_D`` (more starts where they are cheap)."""
    count = max(starts, PLAIN_MIN_STARTS)
    return max(count, structured) if d <= PLAIN_ALL_STRUCTURED_MAX_D else count


_VectorMap = Callable[[np.ndarray], np.ndarray]


def _tie(shared: bool, K: int, d1: int) -> tuple[_VectorMap, _VectorMap, _VectorMap]:
    """Map the optimiser's vector to (K, d+1) heads and back."""
    if shared:
        return (lambda v: np.tile(v, (K, 1))), (lambda h: h[0].copy()), (lambda g: g.sum(axis=0))
    return (lambda v: v.reshape(K, d1)), (lambda h: h.ravel().copy()), (lambda g: g.ravel())


def unconstrained_optimum(mixture: TaskMixture, n: int, mode: str = "JT", *, shared_head: bool = True,
                          free_column: bool = True, free_head: bool = True, starts: int = 6, seed: int = 0,
                          gtol: float = 1e-8, max_iterations: int = 500, certify: bool = True) -> UnconstrainedOptimum:
    """The best optimum found of the unconstrained one-layer attention, eq. (6) (shared head) or (17) (task heads),
    with a certified lower bound.

    ``mode``: ``"PT"`` (no prompts), ``"JT"`` (prompts, heads and A jointly), ``"FT"`` (prompts tuned
    with the PT optimum's A and head frozen).  Variable projection: for fixed heads the loss is an
    exact quadratic in (B, u), solved in closed form; the heads (up to scale) are searched by BFGS with
    the exact envelope gradient from ``starts`` starts (see :func:`_starts`: the first start makes the
    result at most the reduced optimum, or L~*_PGD with task heads), deterministic for a given ``seed``.
    Shared-head plain training runs at least :func:`plain_training_starts` starts (its profile has more basins).

    ``free_column=False`` keeps Assumption 1's zero block ``A[:d, d] = 0``; ``free_head=False`` keeps its
    head ``a = e`` (value channel reads the label only).  Both False is the reduced model (7).

    ``certify``: attach :func:`theory.attention_bound.attention_lower_bound` and certify the value where it meets
    the bound (:func:`certification`); with a fixed head the problem is a convex quadratic and the value is
    certified without a bound.
    """
    n = check_context_length(n)
    if mode not in MODES:
        raise VerifyError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(starts, int) or starts < 1:
        raise VerifyError(f"starts: expected an integer >= 1, got {starts!r}")
    options = dict(shared_head=shared_head, free_column=free_column, free_head=free_head)
    problem = _Problem(mixture, n, free_column)
    if mode == "FT":
        pt = unconstrained_optimum(mixture, n, "PT", starts=starts, seed=seed, gtol=gtol, max_iterations=max_iterations,
                                   certify=certify, **options)
        return fine_tuned(mixture, pt, certify=certify)
    K, d1 = mixture.K, mixture.d + 1
    if not free_head:
        heads = np.zeros((K, d1))
        heads[:, -1] = 1.0
        prof = problem.profile(heads, mode)
        return _certified(mixture, _finish(problem, mode, options, prof, heads, [prof.loss], 1), free_column, certify,
                          free_head=False)
    expand, pack, reduce_grad = _tie(shared_head, K, d1)

    def objective(v: Array) -> tuple[float, Array]:
        norm = float(np.linalg.norm(v))
        heads = expand(v / norm)
        prof = problem.profile(heads, mode)
        g = reduce_grad(problem.head_gradient(prof.B, prof.U, heads))
        unit = v / norm
        return prof.loss, (g - unit * float(unit @ g)) / norm

    plain = _plain_training_starts(problem) if shared_head and mode == "PT" else None
    count = starts if plain is None else plain_training_starts(mixture.d, starts, len(plain))
    ends: list[tuple[float, Array]] = []
    for h0 in _starts(problem, mode, shared_head, count, seed, plain):
        res = minimize(objective, pack(_normalise(h0)), jac=True, method="BFGS",
                       options={"gtol": gtol, "maxiter": max_iterations})
        ends.append((float(res.fun), expand(res.x / np.linalg.norm(res.x))))
    ends.sort(key=lambda t: t[0])
    distinct: list[float] = []
    for value, _ in ends:
        if not distinct or abs(value - distinct[-1]) > 1e-9 * max(1.0, abs(value)):
            distinct.append(value)
    best = _normalise(ends[0][1])
    found = _finish(problem, mode, options, problem.profile(best, mode), best, distinct, len(ends))
    return _certified(mixture, found, free_column, certify)


CERTIFY_RTOL = 1e-6  # value - lower bound within this (relative): far above float64 and BFGS's gtol, far below any gap


def certification(value: float, bound: float) -> bool:
    """The value found is certified optimal when the certified lower bound meets it: value - bound <= 1e-6 |value|."""
    return value - bound <= CERTIFY_RTOL * abs(value)


def _certified(mixture: TaskMixture, opt: UnconstrainedOptimum, free_column: bool, certify: bool,
               free_head: bool = True) -> UnconstrainedOptimum:
    """``opt`` with its lower bound and certificate (PT or JT; fine-tuning is :func:`fine_tuned`'s)."""
    if not free_head:  # the profile over (B, prompts) is the whole problem
        return replace(opt, lower_bound=opt.loss, certified=True,
                       certificate="convex: with the head fixed the loss is a quadratic in (A, prompts), minimised in "
                                   "closed form")
    if not certify:
        return replace(opt, certificate="not certified: no lower bound computed")
    bound = attention_lower_bound(mixture, opt.n, opt.mode, shared_head=opt.shared_head, free_column=free_column).value
    ok = certification(opt.loss, bound)
    gap = (opt.loss - bound) / abs(opt.loss)
    text = (f"lower bound (every linear map of S) meets it: relative gap {gap:.1e}" if ok else
            f"best found over {opt.starts} starts; lower bound (every linear map of S) {gap:.2e} below")
    return replace(opt, lower_bound=bound, certified=ok, certificate=text)


def fine_tuned(mixture: TaskMixture, pt: UnconstrainedOptimum, *, certify: bool = True) -> UnconstrainedOptimum:
    """Fine-tuning (eq. 11's reading for eq. 6): prompts optimised with the plain-trained A and head(s) frozen.

    For a frozen model the prompts' problem is a convex quadratic, solved in closed form, so the value is certified
    exactly when ``pt`` is (it is the fine-tuning of a certified global plain-training optimum).  Fine-tuning is no
    minimum over a superset of anything, so the only lower bound is the joint one: a fine-tuned model is one point of
    the joint problem, hence its loss is at least the joint optimum and its bound.
    """
    if pt.mode != "PT":
        raise VerifyError(f"fine_tuned: expects a plain-training optimum, got mode {pt.mode!r}")
    options = dict(shared_head=pt.shared_head, free_column=True, free_head=True)
    problem = _Problem(mixture, pt.n)
    prof = problem.profile(pt.heads, "FT", frozen_B=pt.B)
    ft = _finish(problem, "FT", options, prof, pt.heads, [prof.loss], 1)
    if not certify:
        return replace(ft, certificate="not certified: no lower bound computed")
    bound = attention_lower_bound(mixture, pt.n, "JT", shared_head=pt.shared_head).value
    text = ("fine-tuned from a certified plain-training optimum (the prompts' problem is convex); lower bound: the "
            "joint one" if pt.certified else
            "fine-tuned from the best plain-training optimum found (not certified); lower bound: the joint one")
    return replace(ft, lower_bound=bound, certified=pt.certified, certificate=text)


def _finish(problem: _Problem, mode: str, options: dict[str, bool], prof: _Profile, heads: Array, distinct: list[float],
            starts: int) -> UnconstrainedOptimum:
    """Literal parameters, realised prompts and the gradient norm of the exact loss in the free parameters."""
    d = problem.d
    m, H, G = problem.statistics(heads)
    n, w, sx = problem.n, problem.m.weights, problem.m.sigma_x
    parts = []
    if mode != "FT":  # d L / d B = sum_k pi_k 2 Sigma_x (n u_k m_k^T - n H_k^T + B G_k)
        gB = 2 * sx @ np.einsum("k,kij->ij", w, n * prof.U[:, :, None] * m[:, None, :] - n * np.swapaxes(H, 1, 2)
                                + np.einsum("ij,kjl->kil", prof.B, G))
        parts.append(np.ravel(gB if options["free_column"] else gB[:, :d]))
    if mode != "PT":  # d L / d u_k = pi_k 2 Sigma_x (u_k - mu_k + n B m_k)
        parts.append(np.ravel(2 * w[:, None] * (prof.U - problem.m.means + n * m @ prof.B.T) @ sx))
    if mode != "FT" and options["free_head"]:
        gh = problem.head_gradient(prof.B, prof.U, heads)
        parts.append((gh.sum(axis=0) if options["shared_head"] else gh).ravel())
    A = np.zeros((d + 1, d + 1))
    A[:d, :] = prof.B
    prompts = None if mode == "PT" else realise_prompts(prof.B, prof.U, heads)
    params = UnconstrainedParameters(A=A, heads=heads, prompts=prompts)
    realised = unconstrained_loss(problem.m, params, n)
    return UnconstrainedOptimum(mode=mode, shared_head=options["shared_head"], n=n, loss=prof.loss, B=prof.B, U=prof.U,
                                heads=heads, params=params, realised_loss=realised,
                                gradient_norm=float(np.linalg.norm(np.concatenate(parts))), local_optima=distinct, starts=starts)


@dataclass(frozen=True)
class Assumption1Cost:
    """What each block that Assumption 1 fixes is worth, for one mixture, n and mode.

    ``reduced``: both fixed (``A[:d, d] = 0``, ``a = e``), which is the reduced model (7); ``column_only``: the column
    ``A[:d, d]`` free; ``head_only``: the head's feature part ``a_x`` free; ``unconstrained``: both free.  Each is the
    best value found; ``brackets`` holds each one's ``{"loss", "lower_bound", "certified"}``
    (:meth:`UnconstrainedOptimum.bracket`; with the head fixed the problem is convex, so the first two are certified).
    """

    mode: str
    n: int
    reduced: float
    column_only: float
    head_only: float
    unconstrained: float
    brackets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rel = {k: (self.reduced - v) / self.reduced for k, v in
               (("column_only", self.column_only), ("head_only", self.head_only), ("unconstrained", self.unconstrained))}
        return {"mode": self.mode, "n": self.n, "reduced": self.reduced, "column_only": self.column_only,
                "head_only": self.head_only, "unconstrained": self.unconstrained, "relative_gain": rel,
                "brackets": self.brackets}


def assumption1_cost(mixture: TaskMixture, n: int, mode: str = "JT", *, starts: int = 4, seed: int = 0) -> Assumption1Cost:
    """The shared-head optimum with neither, one or both of Assumption 1's blocks freed (:class:`Assumption1Cost`)."""
    blocks = {"reduced": (False, False), "column_only": (True, False), "head_only": (False, True),
              "unconstrained": (True, True)}
    found = {name: unconstrained_optimum(mixture, n, mode, free_column=column, free_head=head, starts=starts, seed=seed)
             for name, (column, head) in blocks.items()}
    return Assumption1Cost(mode, n, found["reduced"].loss, found["column_only"].loss, found["head_only"].loss,
                           found["unconstrained"].loss, {name: opt.bracket() for name, opt in found.items()})


# ----- symbolic: brute force from the literal forward ------------------------------------------
def derive_attention_task_loss(d: int, fixed: dict[str, Any] | None = None) -> tuple[sp.Expr, dict[str, Any]]:
    """E[(z^T A (p p^T + sum_i z_i z_i^T) a - y)^2] for one task by Wick expansion of the literal forward.

    Explicit ``d`` (1, or 2 with patience), symbolic n, the whole (d+1) x (d+1) A (its last row
    included, to show it drops out), head a, prompt p, mean, Cholesky factors of Sigma_x and
    Sigma_beta, and noise sigma.  Conditioned on (beta, x, query noise) the n context terms
    ``g_i = z^T A z_i z_i^T a`` are i.i.d., so
    ``E[(S + h)^2] = n E[g^2] + n (n-1) E[g]^2 + 2 n E[g] h + h^2`` with ``h = z^T A p p^T a - y``.
    ``fixed`` replaces some of the symbols by exact values (keys ``mu``, ``Lx``, ``Lb``, ``sigma``; sympy
    matrices of rationals), which keeps d = 2 within reach with A, a, p and n still symbolic.
    Returns the loss and the symbols (keys: n, A, a, p, mu, Lx, Lb, sigma).
    """
    n = sp.Symbol("n", positive=True, integer=True)
    A = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"A_{i}{j}", real=True))
    a = sp.Matrix(d + 1, 1, lambda i, _: sp.Symbol(f"a_{i}", real=True))
    p = sp.Matrix(d + 1, 1, lambda i, _: sp.Symbol(f"p_{i}", real=True))
    mu = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"mu_{i}", real=True))
    Lx = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"lx_{i}{j}", real=True) if j <= i else 0)
    Lb = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"lb_{i}{j}", real=True) if j <= i else 0)
    sigma = sp.Symbol("sigma", nonnegative=True)
    given = fixed or {}
    mu, Lx, Lb, sigma = (given.get(k, v) for k, v in (("mu", mu), ("Lx", Lx), ("Lb", Lb), ("sigma", sigma)))
    u, b, q = standard_normals("u", d), standard_normals("b", d), standard_normals("q", d)
    e, eq = sp.Symbol("e", real=True), sp.Symbol("eq", real=True)
    beta = mu + Lb * sp.Matrix(b)
    x_i = Lx * sp.Matrix(u)
    x = Lx * sp.Matrix(q)
    z_i = x_i.col_join(sp.Matrix([(x_i.T * beta)[0, 0] + sigma * e]))
    z = x.col_join(sp.Matrix([0]))
    y = (x.T * beta)[0, 0] + sigma * eq
    g = (z.T * A * z_i * z_i.T * a)[0, 0]
    h = (z.T * A * p * p.T * a)[0, 0] - y
    Eg = gaussian_expectation(g, [*u, e])
    Eg2 = gaussian_expectation(g**2, [*u, e])
    inner = n * Eg2 + n * (n - 1) * Eg**2 + 2 * n * Eg * h + h**2
    loss = gaussian_expectation(inner, [*b, *q, eq])
    return loss, {"n": n, "A": A, "a": a, "p": p, "mu": mu, "Lx": Lx, "Lb": Lb, "sigma": sigma}


def formula_for_symbols(d: int, sym: dict[str, Any]) -> sp.Expr:
    """:func:`attention_task_loss` on the symbols of :func:`derive_attention_task_loss`."""
    Lx, Lb = sym["Lx"], sym["Lb"]
    tb = task_blocks(Lx * Lx.T, sym["mu"], Lb * Lb.T, sym["sigma"] ** 2)
    B = sym["A"][:d, :]
    p, a = sym["p"], sym["a"]
    u = B * p * (p.T * a)[0, 0]
    return attention_task_loss(tb, B, u, a, sym["n"])

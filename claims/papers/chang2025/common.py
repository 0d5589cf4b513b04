"""What the claims of Chang et al. (2025) share: derived optima (cached by content), comparisons, the paper's formula shapes.

A claim's *claimed* side transcribes the paper's formula (the thing under test); the *derived* side
comes from :mod:`theory.optima`, :mod:`theory.loss`, :mod:`theory.moments`, :mod:`theory.attention` and
:mod:`theory.unconstrained`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from claims.record import AGREE_RTOL, REFUTE_RTOL, Comparison, Outcome, agrees, cancellation, condition_number, not_applicable, scaled_cancellation
from theory.mixture import Array, TaskMixture
from theory.optima import Optimum, optimum
from theory.strategy import Strategy
from theory.unconstrained import UnconstrainedOptimum, fine_tuned, unconstrained_optimum

_T = TypeVar("_T")
_CACHE_SIZE = 4096  # entries; a `verify --all` run needs about 2000 (318 cases x a few optima)
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


def mixture_key(m: TaskMixture) -> tuple[Any, ...]:
    """The mixture's content, as a hashable key (two equal mixtures share their derived optima)."""
    return (m.sigma_x.tobytes(), m.weights.tobytes(), m.means.tobytes(), m.covs.tobytes(), m.means.shape, m.sigma2)


def cached(m: TaskMixture, n: int, key: str, make: Callable[[], _T]) -> _T:
    """``make()``, computed once per (mixture content, n, key): derived optima are shared by every claim and
    every caller (search, figures, reports).  A bounded LRU store keyed by content, so nothing needs clearing
    and a mixture equal to another gets the same values."""
    k = (mixture_key(m), n, key)
    if k in _cache:
        _cache.move_to_end(k)
        return _cache[k]
    value = make()
    _cache[k] = value
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return value


def derived(strategy: Strategy | str, m: TaskMixture, n: int) -> Optimum:
    """The derived optimum of the reduced model (theory.optima), cached."""
    return cached(m, n, str(strategy), lambda: optimum(strategy, m, n))


# Starts of the exact unconstrained solver in the search (theory.unconstrained): shared head from Assumption 1's
# head and the re-centring head; task heads from Proposition 1's heads.  The first start already bounds the result by
# the reduced optimum (L~*_PGD with heads), so a refutation never depends on the count.  Measured on all 318 search
# cases against 10-16 starts: joint training (shared or task heads) identical to 1e-14; plain training can end in a
# higher basin (up to 5.8% above, on generated mixtures), so PT values in the search are upper bounds of the optimum.
# `verify` reports the selected mixture's optimum from more starts (verify.unconstrained_evidence).
SEARCH_STARTS = {True: 2, False: 1}


def unconstrained(m: TaskMixture, n: int, mode: Strategy | str, shared_head: bool = True) -> UnconstrainedOptimum:
    """The exact optimum of the unconstrained attention (theory.unconstrained), cached; FT reuses PT's."""
    key = f"unconstrained-{mode}-{'shared' if shared_head else 'heads'}"
    if mode == Strategy.FT:
        return cached(m, n, key, lambda: fine_tuned(m, unconstrained(m, n, Strategy.PT, shared_head)))
    return cached(m, n, key, lambda: unconstrained_optimum(m, n, str(mode), shared_head=shared_head,
                                                           starts=SEARCH_STARTS[shared_head]))


def not_beaten(quantity: str, claimed_optimum: float, attained: float, note: str, *, condition: float = 1.0) -> Comparison:
    """A claimed optimal loss against a loss a construction attains: the claim fails if the construction goes lower
    (by more than round-off at ``condition`` explains, claims.record.refute_rtol)."""
    err = (claimed_optimum - attained) / max(abs(claimed_optimum), 1e-300)
    return Comparison(quantity, claimed_optimum, attained, abs(err), err <= 0.0 or agrees(err, condition), note,
                      condition=float(condition))


# ----- conditioning: how far float64 round-off can move each side (claims.record's thresholds scale with it) -----
def _quadratic(m: TaskMixture, n: int, strategy: str, entrywise: bool) -> tuple[Array, Array, float]:
    """The system Sigma_x W G = H that theory.optima solves for ``strategy``, and the cancellation in forming it
    (joint training subtracts n^2 Sigma_x M Sigma_x from G and n Sigma_x M Sigma_x from H); ``entrywise``: measured
    after scaling every diagonal entry to 1 (claims.record.scaled_cancellation), so small entries count too."""
    sx = m.sigma_x
    moments = m.cov_average if strategy == "PGD" else m.cov_average + m.mean_outer
    quad = sx @ moments @ sx
    G = n * (np.trace(sx @ moments) + m.sigma2) * sx + n * (n + 1) * quad
    H = n * quad
    if strategy != "JT":
        return G, H, 1.0
    smms = sx @ m.mean_outer @ sx
    Gj, Hj = G - n * n * smms, H - n * smms
    measure = scaled_cancellation if entrywise else cancellation
    return Gj, Hj, max(measure(Gj, G, n * n * smms), measure(Hj, H, n * smms))


def derived_condition(strategy: Strategy | str, m: TaskMixture, n: int, *, entrywise: bool = False) -> float:
    """Round-off amplification of the derived W* and W_bar* = Sigma_x W* (theory.optima) at (m, n), cached.

    W* solves Sigma_x W G = H: the equilibrated condition numbers of Sigma_x and G (claims.record.condition_number),
    G's condition multiplied by the cancellation in forming G and H, and the cancellation in W_bar = Sigma_x W.
    Fine-tuning's W is plain training's.  ``entrywise``: for a use that resolves W_bar's small entries too (a solve
    with W_bar), the cancellations are measured after diagonal scaling (claims.record.scaled_cancellation).
    """
    key = "PT" if str(strategy) == "FT" else str(strategy)

    def make() -> float:
        G, _, formed = _quadratic(m, n, key, entrywise)
        W = derived(key, m, n).W
        measure = scaled_cancellation if entrywise else cancellation
        product = measure(m.sigma_x @ W, np.abs(m.sigma_x) @ np.abs(W))
        # Sigma_x's raw 2-norm condition as well: the optima mix its scales (Sigma_tilde = Sigma_x E[beta beta^T] and the
        # trace term), which equilibration does not undo; hypothesis found diag(1e-6, 1e4) with means (1, 1) off by 2e-6
        raw = float(np.linalg.cond(m.sigma_x))
        return condition_number(m.sigma_x) + raw + formed * condition_number(G) + product
    return cached(m, n, f"condition {key} {'entrywise' if entrywise else 'normwise'}", make)


def solve_condition(sigma: Array, inner: Array) -> float:
    """Round-off amplification of ``sigma inner^{-1}`` (a claimed W_bar): the solve with ``inner`` and the cancellation
    in the product (``sigma`` is multiplied, never solved with)."""
    product = right_solve(sigma, inner)
    return condition_number(inner) + cancellation(product, np.abs(sigma) @ np.abs(np.linalg.inv(inner)))


def asymptotic_onset(m: TaskMixture) -> float:
    """The context length from which the expansions in 1/n of the optima converge (theory.asymptotics).

    W_bar* = Sigma ((n+1) Sigma + tau I + E)^{-1} = n^{-1} (I + (Sigma + tau I + E) Sigma^{-1} / n)^{-1}: the series in
    1/n converges for n > ||(Sigma + tau I + E) Sigma^{-1}||_2, with Sigma = Sigma_tilde (PT, FT), Sigma_bar (JT, PGD),
    tau = tr(Sigma_tilde) + sigma^2 and E = Delta (JT).  A direction with eigenvalue lambda of Sigma stays pre-asymptotic
    until n >> tau / lambda: 1e24 for a task covariance diag(1e12, 1e-12).
    """
    def onset() -> float:
        st, sb = m.sigma_beta_tilde, m.sigma_beta_bar
        tau = float(np.trace(st)) + m.sigma2
        eye = np.eye(m.d)
        try:
            return max(float(np.linalg.norm(right_solve(sigma + tau * eye + extra, sigma), 2))
                       for sigma, extra in ((st, 0 * eye), (sb, m.delta), (sb, 0 * eye)))
        except np.linalg.LinAlgError:
            return float("inf")
    return cached(m, 0, "asymptotic onset", onset)


def prompts_condition(m: TaskMixture, W: Array, n: int) -> float:
    """Round-off amplification of the prompts p_k = (W^{-1} - n Sigma_x) mu_k from an (accurate) W: the solve with W
    and the cancellation between W^{-1} mu_k and n Sigma_x mu_k (large where the prompts are small)."""
    inv_mu = np.linalg.solve(W, m.means.T).T
    sx_mu = n * m.means @ m.sigma_x.T
    return computed_solve_condition(W) * cancellation(inv_mu - sx_mu, inv_mu, sx_mu)


def computed_solve_condition(A: Array) -> float:
    """Round-off amplification of a solve with a computed ``A``: its raw 2-norm condition as well as the equilibrated
    one (claims.record.condition_number).  A derived optimum is accurate normwise, to EPS ||A||, so an entry or column
    far below the norm (a task covariance with a tiny eigenvalue) carries no relative accuracy that equilibration
    could rely on."""
    return max(condition_number(A), float(np.linalg.cond(A)))


def loss_condition(m: TaskMixture, loss: float) -> float:
    """Cancellation in an optimal loss: its terms are of the size of E[y^2] = tr(Sigma_tilde) + sigma^2 (Section 6's
    normalisation), and they cancel down to L* (about E[y^2] d / n at large n)."""
    return cancellation(loss, m.label_second_moment())


def all_of(quantity: str, parts: list[Comparison]) -> Comparison:
    """One verdict on a sentence that states several things (a corrected statement): the first part that fails,
    else the first that cannot decide, else (every part holding) the part with the largest relative error, its note
    listing every part checked.  Parts outside their own hypothesis (not applicable) are left out; when all are,
    the sentence is not applicable here."""
    applicable = [p for p in parts if p.outcome is not Outcome.NOT_APPLICABLE]
    if not applicable:
        return not_applicable(quantity, "; ".join(p.note for p in parts))
    for kind in (Outcome.FAILS, Outcome.INCONCLUSIVE):
        bad = [p for p in applicable if p.outcome is kind]
        if bad:
            return bad[0]
    worst = max(applicable, key=lambda p: p.rel_error)
    listed = "; ".join(f"{p.quantity}: holds" for p in applicable)
    return Comparison(worst.quantity, worst.claimed, worst.derived, worst.rel_error, True,
                      f"{worst.note}; parts checked: {listed}" if worst.note else f"parts checked: {listed}")


def vanishes(quantity: str, claimed: Any, derived_value: Any, deviation: float, note: str = "") -> Comparison:
    """A statement that something vanishes (an identity, a symmetry, a commutator) judged by the size of what should
    vanish, relative to its scale: holds up to ``AGREE_RTOL``, fails above ``REFUTE_RTOL``, in between undecided."""
    if deviation <= AGREE_RTOL:
        return Comparison(quantity, claimed, derived_value, deviation, True, note)
    return Comparison(quantity, claimed, derived_value, deviation, False, note,
                      decided=Outcome.FAILS if deviation > REFUTE_RTOL else Outcome.INCONCLUSIVE)


def asymmetry(M: Array) -> float:
    """||M - M^T||_F / ||M||_F (0 for the zero matrix)."""
    scale = float(np.linalg.norm(M))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(M - M.T)) / scale


def commutator(A: Array, B: Array) -> float:
    """||AB - BA||_F / (||A||_F ||B||_F): zero iff A and B commute (0 when either is zero)."""
    scale = float(np.linalg.norm(A)) * float(np.linalg.norm(B))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(A @ B - B @ A)) / scale


def iff(quantity: str, left: tuple[str, float], right: tuple[str, float], note: str = "") -> Comparison:
    """'left holds iff right holds', each side a quantity that vanishes exactly when the side holds (relative sizes):
    both at most ``AGREE_RTOL`` or both above ``REFUTE_RTOL`` holds; one clearly zero and the other clearly not fails;
    anything in between cannot decide."""
    (ln, lv), (rn, rv) = left, right
    text = f"{ln} = {lv:.3g}, {rn} = {rv:.3g}" + (f"; {note}" if note else "")
    zero = (lv <= AGREE_RTOL, rv <= AGREE_RTOL)
    apart = (lv > REFUTE_RTOL, rv > REFUTE_RTOL)
    if (zero[0] and zero[1]) or (apart[0] and apart[1]):
        return Comparison(quantity, "both vanish or neither", [lv, rv], 0.0, True, text)
    if (zero[0] and apart[1]) or (apart[0] and zero[1]):
        return Comparison(quantity, "both vanish or neither", [lv, rv], 1.0, False, text, decided=Outcome.FAILS)
    return Comparison(quantity, "both vanish or neither", [lv, rv], float("nan"), False, text, decided=Outcome.INCONCLUSIVE)


def right_solve(A: Array, B: Array) -> Array:
    """A B^{-1} without forming the inverse."""
    return np.asarray(np.linalg.solve(B.T, A.T).T, dtype=np.float64)


def noiseless(m: TaskMixture) -> bool:
    """The main text's setting (Section 4.1): sigma^2 = 0."""
    return m.sigma2 == 0.0


NOISELESS = "sigma^2 = 0 (the main text's setting, Section 4.1)"


def everywhere(m: TaskMixture) -> bool:
    """Every mixture: the scope of a corrected statement that holds with noise too (it carries sigma^2) although the
    claim it corrects is stated for sigma^2 = 0."""
    return True


# ----- the paper's formula shapes (claims under test) --------------------------------------
def _w_bar_inner(sigma: Array, trace_term: float, n: int, extra: Array | None = None) -> Array:
    inner = (n + 1) * sigma + trace_term * np.eye(sigma.shape[0])
    return inner if extra is None else inner + extra


def claimed_w_bar(sigma: Array, trace_term: float, n: int, extra: Array | None = None) -> Array:
    """Sigma ((n+1) Sigma + trace_term I + extra)^{-1}: the shape of Theorems 1, 3 and 4."""
    return right_solve(sigma, _w_bar_inner(sigma, trace_term, n, extra))


def w_bar_condition(strategy: Strategy | str, m: TaskMixture, n: int, sigma: Array, trace_term: float,
                    extra: Array | None = None) -> float:
    """Round-off amplification of a comparison between the claimed :func:`claimed_w_bar` and the derived W_bar*
    of ``strategy``: the two sides' conditions add (claims.record's thresholds scale with the sum)."""
    return derived_condition(strategy, m, n) + solve_condition(sigma, _w_bar_inner(sigma, trace_term, n, extra))


def loss_comparison_condition(m: TaskMixture, loss: float, w_condition: float) -> float:
    """A loss formula tr(Sigma) + sigma^2 - n tr(W_bar Sigma) evaluated at a W_bar with round-off amplification
    ``w_condition``: the cancellation down to L* multiplies what W_bar carries (:func:`loss_condition`)."""
    return loss_condition(m, loss) * (1.0 + w_condition)


def claimed_loss(sigma: Array, w_bar: Array, n: int, noise: float) -> float:
    """tr(Sigma) + noise - n tr(W_bar Sigma)."""
    return float(np.trace(sigma) + noise - n * np.trace(w_bar @ sigma))


def claimed_prompts_main(m: TaskMixture, w_bar: Array, n: int) -> Array:
    """M_mu (W_bar^{-1} - n I) Sigma_x (Theorems 2 and 3)."""
    return (np.linalg.solve(w_bar.T, m.means.T).T - n * m.means) @ m.sigma_x


def claimed_prompts_appendix(m: TaskMixture, w_bar: Array, n: int) -> Array:
    """M_mu (W_bar^{-1} - n Sigma_x) (the boxed result of Appendix B.2)."""
    return np.linalg.solve(w_bar.T, m.means.T).T - n * m.means @ m.sigma_x


def w_from_bar(m: TaskMixture, w_bar: Array) -> Array:
    """W = Sigma_x^{-1} W_bar (a solve)."""
    return np.asarray(np.linalg.solve(m.sigma_x, w_bar), dtype=np.float64)


def sample_sequences(m: TaskMixture, n: int, batch: int, seed: int) -> tuple[np.ndarray, Array, Array, Array]:
    """Plain numpy draws of Definition 2's sequences, only for deterministic forward identities."""
    rng = np.random.default_rng(seed)
    task = rng.choice(m.K, size=batch, p=m.weights)
    lx = np.linalg.cholesky(m.sigma_x)
    beta = m.means[task] + np.einsum("bij,bj->bi", np.linalg.cholesky(m.covs)[task], rng.standard_normal((batch, m.d)))
    X = rng.standard_normal((batch, n, m.d)) @ lx.T
    y = np.einsum("bti,bi->bt", X, beta) + np.sqrt(m.sigma2) * rng.standard_normal((batch, n))
    x = rng.standard_normal((batch, m.d)) @ lx.T
    return task, np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)

"""The claim record: everything about one atomic statement of a paper, in one place.

A :class:`Claim` holds the statement and where the paper makes it, the quantity and the optimum it is
about, the parameters the paper states as optimal, its numeric check (claimed against derived for one
mixture and context length), its symbolic decision, the exact optima that decide it, its docs page and
its typeset forms.  Claims are grouped in packs, one :class:`Paper` each (``claims.papers``); the
evidence channels of ``verify`` read the record and nothing else.

>>> from claims.registry import claim
>>> c = claim("T1.loss.appendix")
>>> (c.paper, c.optimum, c.loss, c.results)
('chang2025', <Strategy.PT: 'PT'>, True, ('Theorem 1',))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np

from claims.kinds import _DEFAULT_READINGS, Kind, Severity
from theory.mixture import Array, TaskMixture
from theory.strategy import Strategy
from theory.symbolic_result import SymbolicResult

# How a comparison decides (docs/claims.md, "Round-off and conditioning").  Claimed and derived are both computed in
# float64; each side's relative round-off is at most about EPS times the comparison's *condition*: the factor by which
# the computation can amplify a relative perturbation of its data (the condition numbers of the matrices it solves,
# the ratio between terms that cancel).  A check reports that factor (``Comparison.condition``; 1 when nothing
# amplifies); the thresholds scale with it and never fall below the fixed floors.
EPS = float(np.finfo(np.float64).eps)  # 2.2e-16, float64's unit round-off (times 2)
AGREE_RTOL = 1e-8  # floor: agreement to 1e-8 (float64 reaches ~1e-14 on the search's well-conditioned cases)
REFUTE_RTOL = 1e-6  # floor: a disagreement above this cannot be rounding; between the two is 'inconclusive'
AGREE_MARGIN = 1e2  # agreement allows 100 EPS * condition: the constants of the error bounds (sums of d <= 16 terms,
# a few chained solves) that a condition number leaves out
REFUTE_MARGIN = 1e4  # a refutation needs 1e4 EPS * condition: the same factor 100 above agreement as the floors
# Where agreement cannot be resolved below REFUTE_RTOL (condition above ~4.5e7), float64 cannot say that the two sides
# agree: such a comparison holds nowhere and refutes only beyond refute_rtol(condition), else it is inconclusive.


def agree_rtol(condition: float = 1.0) -> float:
    """The largest relative error that counts as agreement at this condition: ``max(AGREE_RTOL, AGREE_MARGIN EPS kappa)``.

    >>> agree_rtol(1.0) == AGREE_RTOL, f"{agree_rtol(1e9):.2g}"
    (True, '2.2e-05')
    """
    return max(AGREE_RTOL, AGREE_MARGIN * EPS * float(condition))


def refute_rtol(condition: float = 1.0) -> float:
    """The relative error beyond which round-off cannot explain a disagreement: ``max(REFUTE_RTOL, REFUTE_MARGIN EPS kappa)``.

    A NaN or infinite condition (a singular matrix) refutes nothing.

    >>> refute_rtol(1.0) == REFUTE_RTOL, refute_rtol(float("inf"))
    (True, inf)
    """
    kappa = float(condition)
    return float("inf") if not math.isfinite(kappa) else max(REFUTE_RTOL, REFUTE_MARGIN * EPS * kappa)


def agrees(rel_err: float, condition: float = 1.0) -> bool:
    """Agreement that float64 can resolve: the error is within :func:`agree_rtol` and that threshold is at most
    ``REFUTE_RTOL`` (beyond it, 'agree' would accept real disagreements; the comparison is then inconclusive)."""
    tol = agree_rtol(condition)
    return bool(tol <= REFUTE_RTOL and rel_err <= tol)


def condition_number(A: Any) -> float:
    """2-norm condition number of ``A`` after equilibrating its rows, then its columns, by their largest entries.

    Round-off in a solve with ``A`` follows the condition of the equilibrated matrix, not of ``A``: a diagonal
    Sigma_x = diag(1e12, 1e-12) is solved exactly although cond(Sigma_x) = 1e24 (rescaling the coordinates changes
    no rounding error).  Singular or non-finite: ``inf``.

    >>> condition_number(np.diag([1e12, 1e-12])), round(condition_number([[1.0, 1.0], [1.0, 1.0 + 1e-8]]) / 4e8, 2)
    (1.0, 1.0)
    """
    M = np.abs(np.asarray(A, dtype=np.float64))
    if M.ndim == 0:
        M = M.reshape(1, 1)
    if not np.all(np.isfinite(M)):
        return float("inf")
    rows = M.max(axis=1, keepdims=True)
    if np.any(rows == 0.0):
        return float("inf")
    scaled = np.asarray(A, dtype=np.float64).reshape(M.shape) / rows
    cols = np.abs(scaled).max(axis=0, keepdims=True)
    if np.any(cols == 0.0):
        return float("inf")
    s = np.linalg.svd(scaled / cols, compute_uv=False)
    return float("inf") if s[-1] == 0.0 else float(s[0] / s[-1])


def scaled_cancellation(result: Any, *terms: Any) -> float:
    """:func:`cancellation` of square matrices after the symmetric diagonal scaling that makes ``result``'s diagonal
    +-1: what a later solve with ``result`` (or with what it determines) sees, since such a solve resolves its small
    diagonal entries as well as its large ones.  A zero on ``result``'s diagonal: ``inf``.

    >>> scaled_cancellation(np.diag([1e12, 1e-12]), np.diag([1e12, 1.0]), np.diag([0.0, -1.0]))
    1414213562373.095
    """
    r = np.asarray(result, dtype=np.float64)
    diag = np.abs(np.diagonal(r))
    if np.any(diag == 0.0):
        return float("inf")
    scale = 1.0 / np.sqrt(diag)
    return cancellation(r * scale[:, None] * scale, *(np.asarray(t, dtype=np.float64) * scale[:, None] * scale for t in terms))


def cancellation(result: Any, *terms: Any) -> float:
    """How much of the terms' size cancels in their sum: ``sum ||term|| / ||result||`` (Frobenius), at least 1.

    A sum that cancels to ``result`` carries the round-off of its terms, ``EPS sum ||term||``, so its relative
    round-off is ``EPS`` times this ratio.  An exact zero result after non-zero terms: ``inf``.

    >>> cancellation(1.0, 1e8 + 1.0, -1e8)
    200000001.0
    """
    size = sum(float(np.linalg.norm(np.asarray(t, dtype=np.float64))) for t in terms)
    r = float(np.linalg.norm(np.asarray(result, dtype=np.float64)))
    if r == 0.0:
        return 1.0 if size == 0.0 else float("inf")
    return max(1.0, size / r)


class Outcome(StrEnum):
    """What one comparison, or the claim on one mixture, says."""

    HOLDS = "holds"
    FAILS = "fails"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"
    MEASURED = "measured"  # an assumption or qualitative claim on one mixture: a value, never a pass or fail


@dataclass(frozen=True)
class Comparison:
    """Claimed vs derived for one (mixture, n): the relative error and whether the claim holds there.

    The outcome follows from ``holds``, ``rel_error`` and ``condition`` by the thresholds of :attr:`outcome`,
    unless the check decides it itself (``decided``): a qualitative claim that fails (an 'iff', an order) or a
    fit that cannot decide (inconclusive) says so here, not through a sentinel error value.  ``condition`` is
    the factor by which the computation of the two sides can amplify float64 round-off (1: none).
    """

    quantity: str
    claimed: Any
    derived: Any
    rel_error: float
    holds: bool
    note: str = ""
    decided: Outcome | None = None
    measured: float | None = None  # what an assumption or qualitative claim measures here (e.g. a relative gap)
    condition: float = 1.0

    @property
    def outcome(self) -> Outcome:
        """Holds; fails when the error exceeds :func:`refute_rtol` at the comparison's condition (round-off cannot
        explain it); else inconclusive.

        >>> Comparison("x", 1.0, 1.0 + 1e-7, 1e-7, False).outcome
        <Outcome.INCONCLUSIVE: 'inconclusive'>
        >>> Comparison("x", 1.0, 1.0 + 1e-5, 1e-5, False).outcome, Comparison("x", 1.0, 1.0 + 1e-5, 1e-5, False, condition=1e8).outcome
        (<Outcome.FAILS: 'fails'>, <Outcome.INCONCLUSIVE: 'inconclusive'>)
        """
        if self.decided is not None:
            return self.decided
        if self.holds:
            return Outcome.HOLDS
        return Outcome.FAILS if self.rel_error > refute_rtol(self.condition) else Outcome.INCONCLUSIVE


def rel_error(claimed: Any, derived: Any) -> float:
    """||claimed - derived|| / max(||claimed||, ||derived||), Frobenius; 0 when both are 0.

    >>> rel_error([1.0, 0.0], [1.0, 1.0])
    0.7071067811865475
    """
    c, d = np.asarray(claimed, dtype=float), np.asarray(derived, dtype=float)
    scale = max(float(np.linalg.norm(c)), float(np.linalg.norm(d)))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(c - d)) / scale


CheckFn = Callable[[TaskMixture, int], Comparison]


def compare(quantity: str, claimed: Any, derived: Any, note: str = "", *, condition: float = 1.0) -> Comparison:
    """Claimed against derived: holds when the Frobenius relative error (:func:`rel_error`) is within
    :func:`agree_rtol` at ``condition`` (see :func:`agrees`), fails beyond :func:`refute_rtol`."""
    err = rel_error(claimed, derived)
    return Comparison(quantity, claimed, derived, err, agrees(err, condition), note, condition=float(condition))


def not_applicable(quantity: str, why: str) -> Comparison:
    """The mixture is outside the claim's hypothesis: neither evidence for nor against it (not counted)."""
    return Comparison(quantity, None, None, float("nan"), False, note=why, decided=Outcome.NOT_APPLICABLE)


def scoped(quantity: str, scope: Callable[[TaskMixture], bool], why: str, check: CheckFn) -> CheckFn:
    """``check`` on the mixtures of the claim's hypothesis, :func:`not_applicable` elsewhere (for direct calls; the
    search skips out-of-scope mixtures by the record's ``scope``)."""
    def guarded(m: TaskMixture, n: int) -> Comparison:
        return check(m, n) if scope(m) else not_applicable(quantity, why)
    guarded.__doc__ = check.__doc__
    guarded.__name__ = getattr(check, "__name__", "check")
    return guarded


@dataclass(frozen=True)
class StatedParameters:
    """The parameters a paper states as optimal: ``x^T W (X^T y + p_k)`` (``"reduced"``, eq. 7) or the
    debiased predictor of eq. (19) (``"pgd"``), with the K prompts as the rows of ``P``."""

    predictor: Literal["reduced", "pgd"]
    W: Array
    P: Array


def _everywhere(mixture: TaskMixture) -> bool:
    return True


@dataclass(frozen=True)
class Reading:
    """Another reading of a claim's sentence (e.g. an order 'O(1/n)' read as an upper bound rather than the exact
    order), judged by its own ``check`` over the same search so that both verdicts are shown."""

    text: str
    check: CheckFn


@dataclass(frozen=True)
class Claim:
    """One atomic statement of a paper, and everything needed to check it.

    * ``paper``: the pack's key (:class:`Paper`); ``source``: where the paper states it, as printed;
      ``results``: the paper's numbered results it belongs to (``verify --theorem 3`` selects by these);
    * ``statement``: the claim in words and ASCII formulas; ``check``: claimed against derived at one
      (mixture, n); ``scope``: the claim's own hypothesis (``scope_text`` says it in words);
    * ``optimum``: the derived optimum the claim is about (the minimiser, training and Monte Carlo
      channels evaluate it); ``loss``: the claim states that optimum's loss (so sampling it is evidence);
      ``training``: whether a trained model's loss bears on it;
    * ``stated``: the parameters the paper states as optimal, sampled by Monte Carlo (``None``: none);
    * ``symbolic``: a module-level function returning the symbolic decision (run in a worker process);
    * ``unconstrained``: the exact optima of the unconstrained attention that decide it, as
      ``(strategy, shared head)`` pairs (theory.unconstrained);
    * ``correction``: what holds instead (reported when refuted), and ``corrected``: its check, run through the
      same search as the claim (a correction is a claim of the toolkit's, verified like the paper's);
      ``corrected_scope``: the correction's hypothesis where it differs from the claim's;
    * ``kind``: what kind of sentence it is (:class:`Kind`), ``reading``: how the toolkit reads it (empty: the
      kind's default), ``weaker``: a weaker reading judged beside it; ``severity``: what a refutation changes
      (:class:`Severity`); ``finding``: the root cause shared by claims refuted for one reason (empty: its own);
      ``measure_ns``: further n at which a measured claim is evaluated on its in-scope search mixtures (e.g. the
      paper's figure range);
    * ``docs``: the docs page (and anchor);
    * ``tex``: typeset forms (``statement``, ``claimed``, ``derived``, ``corrected``: LaTeX without ``$``).
    """

    id: str
    paper: str
    source: str
    results: tuple[str, ...]
    statement: str
    check: CheckFn
    scope: Callable[[TaskMixture], bool] = _everywhere
    scope_text: str = "every mixture of Definition 2"
    optimum: Strategy | None = None
    loss: bool = False
    training: bool = True
    stated: Callable[[TaskMixture, int], StatedParameters] | None = None
    symbolic: Callable[[], SymbolicResult] | None = None
    unconstrained: tuple[tuple[Strategy, bool], ...] = ()
    correction: str = ""
    corrected: CheckFn | None = None
    corrected_scope: Callable[[TaskMixture], bool] | None = None
    kind: Kind = Kind.RESULT
    reading: str = ""
    weaker: Reading | None = None
    severity: Severity | None = None
    finding: str = ""
    measure_ns: tuple[int, ...] = ()
    docs: str = ""
    tex: dict[str, str] = field(default_factory=dict)

    @property
    def stated_reading(self) -> str:
        """The reading the verdict is about: the record's own, or its kind's default."""
        return self.reading or _DEFAULT_READINGS[self.kind]

    @property
    def root_cause(self) -> str:
        """The finding this claim belongs to when refuted (claims with one root cause are counted once)."""
        return self.finding or self.id


@dataclass(frozen=True)
class Case:
    """One point of a claim's search: a labelled mixture at a context length."""

    label: str
    mixture: TaskMixture
    n: int


@dataclass(frozen=True)
class Paper:
    """A claim pack: one paper's claims, its reference, and the family of mixtures its search runs over.

    ``cases(ns, seed)`` returns the search cases (the paper's own data model: presets and a generated
    family); ``presets`` names the pack's own mixtures (``verify --paper KEY --mixture NAME``; the default
    pack uses theory.mixture's presets); ``mapping`` states how the paper's data model maps onto Definition 2's task mixtures.
    """

    key: str
    title: str
    citation: str
    claims: tuple[Claim, ...]
    cases: Callable[[tuple[int, ...], int], list[Case]]
    default_mixture: str
    mapping: str = ""
    docs: str = ""
    presets: dict[str, Callable[[], TaskMixture]] = field(default_factory=dict)  # the pack's own named mixtures

    def claim_ids(self) -> list[str]:
        return [c.id for c in self.claims]

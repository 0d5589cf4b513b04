"""Verdicts: run each claim over its paper's search family, shrink a failure, and decide - in one place.

The search family is the pack's (:attr:`claims.record.Paper.cases`): for Chang et al. (2025) the
figure presets and a generated family spanning what Definition 2 allows.  Nothing is narrowed to make
a claim pass; a claim's own stated hypothesis (e.g. the main text's sigma = 0) is its scope.

A failing case is shrunk greedily (smaller n, no noise, identity covariances, equal weights, fewer
tasks, smaller d, rounder means) while it still fails, so the counterexample reported is as small and
plain as found.

The verdict is decided here and nowhere else: :func:`judge` from the search and the symbolic
decision, then :func:`weigh_evidence` from the other channels' findings on the selected mixture,
by the one table :data:`DOWNGRADES`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Any

import numpy as np

from claims.kinds import MEASURED_KINDS
from claims.record import (
    AGREE_RTOL,
    REFUTE_RTOL,
    Case,
    Claim,
    Comparison,
    Kind,
    Outcome,
    SymbolicResult,
)
from theory.mixture import TaskMixture

SEARCH_NS = (1, 4, 20)


class Verdict(StrEnum):
    """The global verdict on a claim."""

    VERIFIED = "verified"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    MEASURED = "measured"  # an assumption's cost or a qualitative statement: a measurement, never a refutation


def outcome(comp: Comparison) -> Outcome:
    """The comparison's outcome (:attr:`claims.record.Comparison.outcome`): holds; fails when the relative error
    exceeds :func:`claims.record.refute_rtol` at the comparison's condition (``REFUTE_RTOL`` when well conditioned) or
    the check decided so (a qualitative claim, e.g. Corollary 1's 'iff'); otherwise a disagreement between the agree
    and refute thresholds could be round-off and is inconclusive."""
    return comp.outcome


# What a check may raise on a degenerate but valid mixture (e.g. a ratio of two gaps that both vanish when a task
# with a non-zero mean has weight 0): the case cannot be evaluated, which is reported, never a pass or a failure.
CHECK_ERRORS: tuple[type[BaseException], ...] = (ArithmeticError, np.linalg.LinAlgError)


def safe_check(claim: Claim, m: TaskMixture, n: int) -> Comparison | str:
    """``claim.check(m, n)``, or the error's one-line text when the check cannot be evaluated there."""
    try:
        return claim.check(m, n)
    except CHECK_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"


def _fails(claim: Claim, m: TaskMixture, n: int) -> Comparison | None:
    if not claim.scope(m):
        return None
    c = safe_check(claim, m, n)
    return c if isinstance(c, Comparison) and c.outcome is Outcome.FAILS else None


def finite_or_none(value: float) -> float | None:
    """A float for the JSON report, None for NaN/inf (strict JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


_ROUND_OFF = ("undecided in float64: within the round-off that the comparison's conditioning explains, or a gap float64 "
              "cannot tell from zero (docs/claims.md)")


def _raised(c: Comparison) -> bool:
    """An inconclusive comparison whose error is not simply between the floors AGREE_RTOL and REFUTE_RTOL: its
    thresholds were raised by its condition (claims.record.agree_rtol), or it is a gap below round-off."""
    err = c.rel_error
    return math.isfinite(err) and not AGREE_RTOL < err <= REFUTE_RTOL


@dataclass(frozen=True)
class LocalVerdict:
    """The verdict on the selected mixture alone: does the claim hold *here*, at these n?

    ``verdict``: "holds" | "fails" | "inconclusive" | "not applicable" | "measured"; ``measured``: the largest measured
    value where the verdict is "measured" (assumption and qualitative claims); ``note``: why it is inconclusive, or how
    it was decided.  The global :class:`ClaimVerdict` carries one.
    """

    verdict: Outcome
    max_rel_error: float | None
    n: tuple[int, ...]
    first_failing_n: int | None = None
    note: str = ""
    measured: float | None = None

    def with_note(self, note: str) -> LocalVerdict:
        return replace(self, note="; ".join(filter(None, (self.note, note))))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": str(self.verdict), "max_rel_error": self.max_rel_error, "n": list(self.n),
                               "first_failing_n": self.first_failing_n, "note": self.note}
        if self.verdict is Outcome.MEASURED:
            out["measured"] = self.measured
        return out


def local_verdict(in_scope: bool, ns: Iterable[int], comparisons: Iterable[Comparison | str]) -> LocalVerdict:
    """The verdict on the selected mixture at ``ns`` (:class:`LocalVerdict`).

    ``comparisons`` are the claim's checks at each n of ``ns`` (:func:`safe_check`; ignored when out of scope), judged
    with the thresholds of :func:`outcome`: "fails" when some n fails, else "inconclusive" when some n is in the grey
    zone, has a NaN error, or could not be evaluated (the note says which), else "holds"; "not applicable" when the
    claim's stated scope (e.g. the main text's sigma = 0) excludes the mixture.
    """
    ns = tuple(int(n) for n in ns)
    if not in_scope:
        return LocalVerdict(Outcome.NOT_APPLICABLE, None, ns, note="outside the claim's scope")
    failing: list[int] = []
    grey: list[int] = []
    conditioned: list[int] = []
    errors: list[str] = []
    errs: list[float] = []
    for n, c in zip(ns, comparisons, strict=True):
        if isinstance(c, str):
            errors.append(f"n={n}: {c}")
            continue
        kind = c.outcome
        if math.isfinite(c.rel_error):
            errs.append(float(c.rel_error))
        if kind is Outcome.FAILS:
            failing.append(n)
        elif kind is Outcome.INCONCLUSIVE:
            (conditioned if _raised(c) else grey).append(n)
    verdict = Outcome.FAILS if failing else (Outcome.INCONCLUSIVE if grey or conditioned or errors else Outcome.HOLDS)
    notes = ([f"between {AGREE_RTOL:g} and {REFUTE_RTOL:g} (or NaN) at n = {list(grey)}"] if grey else []) + (
        [f"{_ROUND_OFF} at n = {list(conditioned)}"] if conditioned else []) + (
        [f"could not be evaluated at {'; '.join(errors)}"] if errors else [])
    return LocalVerdict(verdict, max(errs) if errs else None, ns, min(failing) if failing else None, "; ".join(notes))


def _simplifications(m: TaskMixture) -> list[Callable[[], TaskMixture]]:
    d, K = m.d, m.K
    eq_w = np.full(K, 1.0 / K)
    eq_w[-1] = 1.0 - eq_w[:-1].sum()
    steps: list[Callable[[], TaskMixture]] = [
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, m.covs, 0.0),
        lambda: TaskMixture(np.eye(d), m.weights, m.means, m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, np.stack([np.eye(d)] * K), m.sigma2),
        lambda: TaskMixture(m.sigma_x, eq_w, m.means, m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, np.round(m.means), m.covs, m.sigma2),
        lambda: TaskMixture(np.round(m.sigma_x * 2) / 2, m.weights, m.means, m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, np.round(m.covs * 2) / 2, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, m.covs, float(np.ceil(m.sigma2))),
        lambda: TaskMixture(2.0 * np.eye(d), m.weights, m.means, m.covs, m.sigma2),
        lambda: TaskMixture(np.diag(np.arange(1.0, d + 1)), m.weights, m.means, m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, np.ones_like(m.means), m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, np.round(m.means) + 0.0, m.covs, m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, np.stack([np.diag(np.arange(1.0, d + 1))] * K), m.sigma2),
        lambda: TaskMixture(m.sigma_x, m.weights, m.means, m.covs, 1.0 if m.sigma2 > 0 else 0.0),
    ]
    if K > 1:
        for drop in range(K):
            keep = [k for k in range(K) if k != drop]
            if m.weights[keep].sum() <= 0:  # dropping the only task with weight (zero-weight tasks are allowed)
                continue
            w = m.weights[keep] / m.weights[keep].sum()
            w[-1] = 1.0 - w[:-1].sum()
            steps.append(partial(TaskMixture, m.sigma_x, w, m.means[keep], m.covs[keep], m.sigma2))
    if d > 1:
        for drop in range(d):
            keep = [i for i in range(d) if i != drop]
            steps.append(partial(TaskMixture, m.sigma_x[np.ix_(keep, keep)], m.weights, m.means[:, keep],
                                 m.covs[:, keep][:, :, keep], m.sigma2))
    return steps


def shrink(claim: Claim, m: TaskMixture, n: int, *, max_rounds: int = 20, shrink_n: bool = True) -> tuple[TaskMixture, int, Comparison]:
    """Greedily simplify a failing (mixture, n) while the claim still fails (n too, unless ``shrink_n`` is False:
    an asymptotic claim's check does not depend on n)."""
    current = _fails(claim, m, n)
    assert current is not None
    for _ in range(max_rounds):
        changed = False
        for smaller_n in sorted({1, 2, max(1, n // 2)}) if shrink_n else ():
            if smaller_n < n and (c := _fails(claim, m, smaller_n)):
                n, current, changed = smaller_n, c, True
                break
        for make in _simplifications(m):
            try:
                cand = make()
            except ValueError:
                continue
            if _complexity(cand) >= _complexity(m):
                continue
            if c := _fails(claim, cand, n):
                m, current, changed = cand, c, True
                break
        if not changed:
            break
    return m, n, current


def _complexity(m: TaskMixture) -> tuple[float, ...]:
    def messy(a: np.ndarray) -> float:
        return float(np.count_nonzero(np.abs(a - np.round(a * 2) / 2) > 1e-12))
    return (m.d, m.K, float(m.sigma2 > 0),
            messy(m.sigma_x) + float(np.count_nonzero(m.sigma_x - np.diag(np.diag(m.sigma_x)))),
            messy(m.covs) + messy(m.means) + messy(m.weights) + float(m.sigma2 != np.ceil(m.sigma2)),
            float(np.abs(m.sigma_x - np.eye(m.d)).sum() + np.abs(m.covs - np.eye(m.d)).sum()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


_TEXT_ENTRIES = 16  # arrays up to this many entries are written out in the text form; larger ones as shape and norm


def value_fields(name: str, value: Any, *, with_array: bool) -> dict[str, Any]:
    """One claimed/derived value as fields of fixed type (JSON schema, docs/json-schema.md).

    ``name``: str, always (a readable form: the number to 10 significant digits, the rounded array,
    or the claim's text); ``name_value``: float | null (scalars only); ``name_norm``: float | null
    (Frobenius norm of a numeric array); ``name_shape``: list[int] | null; and with ``with_array``
    ``name_array``: nested list | null (the full array, e.g. for a counterexample).
    """
    scalar: float | None = None
    norm: float | None = None
    shape: list[int] | None = None
    array: Any = None
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple)) and any(v is None or isinstance(v, (bool, np.bool_)) for v in value):
        array = _jsonable(value)  # e.g. a list of exponents with None for 'no fit'
        text = json.dumps(array)
    else:
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            scalar = float(arr)
            text = f"{scalar:.10g}"
        else:
            norm, shape, array = float(np.linalg.norm(arr)), list(arr.shape), arr.tolist()
            rounded = np.vectorize(lambda v: float(f"{v:.6g}"))(arr).tolist() if arr.size else arr.tolist()
            text = (json.dumps(rounded) if arr.size <= _TEXT_ENTRIES
                    else f"array {'x'.join(map(str, shape))}, Frobenius norm {norm:.10g}")
    out = {name: text, f"{name}_value": scalar, f"{name}_norm": norm, f"{name}_shape": shape}
    if with_array:
        out[f"{name}_array"] = array
    return out


@dataclass
class ClaimVerdict:
    """The verdict on one claim and the evidence behind it.

    ``verdict`` is global (the search over presets, generated mixtures and the selected mixture);
    ``on_selected_mixture`` is the :class:`LocalVerdict` (None when not evaluated).
    """

    claim: Claim
    verdict: Verdict
    checked: int
    failed: int
    max_rel_error: float
    counterexample: dict[str, Any] | None = None
    symbolic: SymbolicResult | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    on_selected_mixture: LocalVerdict | None = None
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per channel; never in to_json
    measurement: dict[str, Any] | None = None  # assumption and qualitative claims: what the search measured
    corrected: dict[str, Any] | None = None  # the corrected statement's own verdict (judge_correction)
    readings: list[dict[str, Any]] = field(default_factory=list)  # the weaker reading's verdict, when the record has one

    @property
    def reason(self) -> str:
        """One line for the global verdict: where it fails, why it is inconclusive, or how much it was checked on."""
        ce = self.counterexample
        if self.verdict is Verdict.REFUTED and ce is not None:
            m = ce["mixture"]
            at = f"d={m['d']} K={len(m['tasks'])} sigma2={m['sigma2']:g}" + (f" n={ce['n']}" if ce["n"] is not None else "")
            return (f"fails on {ce['found_in']} ({'shrunk to ' if ce.get('shrunk', True) else ''}{at}): "
                    f"{ce['quantity']} claimed {_short_text(ce['claimed'])} vs derived {_short_text(ce['derived'])} "
                    f"(rel. error {ce['rel_error']:.3g})")
        if self.verdict is Verdict.REFUTED:
            sym = self.symbolic
            return (f"refuted by the symbolic decision ({sym.setting})" if sym is not None and not sym.holds
                    else "; ".join(self.notes) or "refuted")
        if self.verdict is Verdict.INCONCLUSIVE:
            return "; ".join(self.notes) or "inconclusive"
        if self.verdict is Verdict.MEASURED and self.measurement is not None:
            return measurement_text(self.measurement)
        text = f"holds on all {self.checked} cases" if self.checked else "no numeric case in scope"
        if self.symbolic is not None and self.symbolic.holds:
            text += f"; symbolic: holds ({self.symbolic.setting})"
        return text

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id, "source": c.source, "statement": c.statement, "scope": c.scope_text,
            "kind": c.kind, "reading": c.stated_reading, "severity": c.severity, "finding": c.root_cause,
            "verdict": self.verdict,
            "reason": self.reason,
            "measurement": self.measurement,
            "readings": self.readings,
            "on_selected_mixture": None if self.on_selected_mixture is None else self.on_selected_mixture.to_json(),
            "evidence": {
                "theory": {"cases_checked": self.checked, "cases_failed": self.failed,
                           "max_rel_error": self.max_rel_error,
                           "tolerance": {"agree_rtol": AGREE_RTOL, "refute_rtol": REFUTE_RTOL}},
                **({"symbolic": {"setting": self.symbolic.setting, "holds": self.symbolic.holds,
                                 "difference": self.symbolic.difference}} if self.symbolic else {}),
                **{k: _jsonable(v) for k, v in self.evidence.items()},
            },
            "counterexample": self.counterexample,
            "correction": c.correction if self.verdict in (Verdict.REFUTED, Verdict.MEASURED) else "",
            "corrected": self.corrected if self.verdict in (Verdict.REFUTED, Verdict.MEASURED) else None,
            "notes": self.notes,
        }


def _short_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def symbolic_decision(claim: Claim) -> SymbolicResult | None:
    """The claim's symbolic decision (its record's ``symbolic``), or None where it has none."""
    return claim.symbolic() if claim.symbolic is not None else None


def judge(claim: Claim, cases: list[Case], *, symbolic: bool = True,
          decision: Callable[[Claim], SymbolicResult | None] = symbolic_decision) -> ClaimVerdict:
    """Run a claim over the cases, shrink the smallest failure, and decide symbolically where possible.

    ``decision`` gives a claim's :class:`SymbolicResult` (default :func:`symbolic_decision`; a caller may
    compute the decisions elsewhere, e.g. in a second process, with the same function)."""
    checked, failures, worst = 0, [], 0.0
    grey = conditioned = 0
    errors: list[str] = []
    measured: list[tuple[Case, Comparison]] = []
    if claim.measure_ns:
        cases = cases + _measure_cases(claim, cases)
    for case in cases:
        if not claim.scope(case.mixture):
            continue
        comp = safe_check(claim, case.mixture, case.n)
        if isinstance(comp, str):
            errors.append(f"{case.label} n={case.n}: {comp}")
            continue
        if comp.outcome is Outcome.NOT_APPLICABLE:  # the check itself found the case outside the claim's hypothesis
            continue
        checked += 1
        measured.append((case, comp))
        if math.isfinite(comp.rel_error):  # a NaN error (undefined quantity) is grey, see outcome()
            worst = max(worst, comp.rel_error)
        kind = comp.outcome
        if kind is Outcome.FAILS:
            failures.append(case)
        elif kind is Outcome.INCONCLUSIVE and _raised(comp):
            conditioned += 1
        elif kind is Outcome.INCONCLUSIVE:
            grey += 1
    sym = decision(claim) if symbolic else None
    verdict = Verdict.REFUTED if failures else (Verdict.INCONCLUSIVE if grey or conditioned or errors else Verdict.VERIFIED)
    result = ClaimVerdict(claim, verdict, checked, len(failures), worst, symbolic=sym)
    if errors:
        result.notes.append(f"{len(errors)} case(s) could not be evaluated (first: {errors[0]})")
    if sym is not None and not sym.holds and not failures:
        result.verdict = Verdict.REFUTED
        result.notes.append("refuted by the symbolic decision; the numeric search found no failure")
    if grey:
        result.notes.append(f"{grey} case(s) disagree by between {AGREE_RTOL:g} and {REFUTE_RTOL:g} (rounding?)")
    if conditioned:
        result.notes.append(f"{conditioned} case(s) undecided: {_ROUND_OFF}")
    if failures:
        first = min(failures, key=lambda c: (_complexity(c.mixture), c.n))
        m, n, comp = shrink(claim, first.mixture, first.n, shrink_n=claim.kind is not Kind.ASYMPTOTIC)
        result.counterexample = {
            "found_in": first.label, "shrunk": m.to_dict() != first.mixture.to_dict() or n != first.n,
            "mixture": m.to_dict(), "n": n if claim.kind is not Kind.ASYMPTOTIC else None,
            "quantity": comp.quantity,
            **value_fields("claimed", comp.claimed, with_array=True), **value_fields("derived", comp.derived, with_array=True),
            "rel_error": float(comp.rel_error), "note": comp.note,
        }
    if claim.kind in MEASURED_KINDS and result.verdict is not Verdict.INCONCLUSIVE:
        result.verdict = Verdict.MEASURED
        result.measurement = measure(measured, failed=len(failures))
    return result


def _measure_cases(claim: Claim, cases: list[Case]) -> list[Case]:
    """The claim's in-scope search mixtures (not the selected one) at its ``measure_ns`` not already searched."""
    seen: dict[str, Case] = {}
    for case in cases:
        if not case.label.startswith("selected:") and case.label not in seen and claim.scope(case.mixture):
            seen[case.label] = case
    have = {(c.label, c.n) for c in cases}
    return [Case(c.label, c.mixture, n) for c in seen.values() for n in claim.measure_ns if (c.label, n) not in have]


def measure(comparisons: list[tuple[Case, Comparison]], *, failed: int) -> dict[str, Any]:
    """What an assumption or qualitative claim's search measured: the largest measured value (``Comparison.measured``,
    else the relative error) over the cases, where it occurs, its largest value at each n over the search family (the
    selected mixture is left to the local verdict), and how many cases show none (within round-off: the claim's check
    does not fail there, theory.record.refute_rtol at the comparison's condition)."""
    values = [(case, comp, comp.measured if comp.measured is not None else comp.rel_error) for case, comp in comparisons]
    values = [(case, comp, v) for case, comp, v in values if math.isfinite(v)]
    if not values:
        return {"quantity": None, "largest": None, "at": None, "by_n": {}, "cases": 0, "zero_cases": 0}
    case, comp, largest = max(values, key=lambda t: abs(t[2]))
    by_n: dict[str, float] = {}
    for c, _, v in values:
        if c.label.startswith("selected:"):  # the selected mixture is reported by the local verdict
            continue
        key = str(c.n)
        by_n[key] = max(by_n.get(key, 0.0), abs(v))
    return {"quantity": comp.quantity, "largest": float(largest), "at": f"{case.label} n={case.n}",
            "by_n": dict(sorted(by_n.items(), key=lambda kv: int(kv[0]))), "cases": len(values),
            "zero_cases": len(values) - failed}


def measurement_text(m: dict[str, Any]) -> str:
    """One line for a measured claim: the largest value, where, and how it grows with n."""
    if m.get("largest") is None:
        return "nothing measured (no case in scope)"
    by_n = m.get("by_n") or {}
    trend = ", ".join(f"{100 * v:.3g}% at n={n}" for n, v in by_n.items())
    return (f"measured {m['quantity']}: largest {100 * abs(m['largest']):.3g}% ({m['at']}); largest by n: {trend}; "
            f"zero (within round-off: relative {REFUTE_RTOL:g}, more where ill-conditioned) on {m['zero_cases']} of "
            f"{m['cases']} cases")


def _as_statement(claim: Claim, check: Callable[[TaskMixture, int], Comparison],
                  scope: Callable[[TaskMixture], bool] | None) -> Claim:
    """The claim's record with another check (its correction's or a weaker reading's), judged as a result."""
    return replace(claim, check=check, scope=scope or claim.scope, symbolic=None, kind=Kind.RESULT, corrected=None,
                   corrected_scope=None, weaker=None)


def judge_correction(claim: Claim, cases: list[Case]) -> dict[str, Any]:
    """The corrected statement's verdict: its check run through the same search as the claim (the toolkit's own
    statements meet the standard it applies to the paper).  ``"unchecked"`` where the record has none."""
    if claim.corrected is None:
        return {"statement": claim.correction, "verdict": "unchecked", "cases": 0, "failed": 0, "counterexample": None}
    v = judge(_as_statement(claim, claim.corrected, claim.corrected_scope), cases, symbolic=False)
    return {"statement": claim.correction, "verdict": str(v.verdict), "cases": v.checked, "failed": v.failed,
            "counterexample": v.counterexample, "notes": v.notes}


def judge_readings(claim: Claim, cases: list[Case]) -> list[dict[str, Any]]:
    """The weaker reading's verdict beside the record's own (e.g. an order read as an upper bound)."""
    if claim.weaker is None:
        return []
    v = judge(_as_statement(claim, claim.weaker.check, None), cases, symbolic=False)
    return [{"reading": claim.weaker.text, "verdict": str(v.verdict), "cases": v.checked, "failed": v.failed}]


@dataclass(frozen=True)
class Finding:
    """What one evidence channel says about the claim on the selected mixture.

    ``contradicts``: the channel contradicts the derivation (a sampled or trained loss, or a numerical
    minimum, that the derived value cannot explain); otherwise ``note`` is context only (e.g. an
    under-trained model).  :func:`weigh_evidence` decides what it does to the verdict by :data:`DOWNGRADES`.
    """

    channel: str
    contradicts: bool
    note: str


@dataclass(frozen=True)
class Downgrade:
    """What a contradiction from one channel does: a verified (global) or holding (local) verdict becomes
    inconclusive (a refutation or a local failure always stands); ``note_when_standing``: the note is kept
    even when the verdict does not change."""

    note_when_standing: bool


# The one table of when evidence downgrades a verdict.  Channels that test the derivation itself (minimiser,
# training below a global optimum, Monte Carlo at the derived optimum) always leave their note; channels that
# sample a *different* point (the paper's stated parameters, the exact unconstrained optimum) only when they
# change the verdict.
DOWNGRADES: dict[str, Downgrade] = {
    "minimiser": Downgrade(note_when_standing=True),
    "training": Downgrade(note_when_standing=True),
    "montecarlo": Downgrade(note_when_standing=True),
    "montecarlo_at_claimed": Downgrade(note_when_standing=False),
    "unconstrained": Downgrade(note_when_standing=False),
}


def weigh_evidence(verdict: ClaimVerdict, findings: Iterable[Finding]) -> None:
    """Apply the channels' findings on the selected mixture to the verdict, in order (the one place besides
    :func:`judge` where a verdict changes)."""
    for finding in findings:
        if not finding.contradicts:
            verdict.notes.append(finding.note)
            continue
        local = verdict.on_selected_mixture
        changes = verdict.verdict is Verdict.VERIFIED or (local is not None and local.verdict is Outcome.HOLDS)
        if DOWNGRADES[finding.channel].note_when_standing or changes:
            verdict.notes.append(finding.note)
        if verdict.verdict is Verdict.VERIFIED:
            verdict.verdict = Verdict.INCONCLUSIVE
        if local is not None and local.verdict is Outcome.HOLDS:
            verdict.on_selected_mixture = replace(local, verdict=Outcome.INCONCLUSIVE).with_note(finding.note)

"""Run the checks for a selection of claims: the search and symbolic decision, then the evidence channels."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from claims.kinds import MEASURED_KINDS, Kind
from claims.record import Case, Claim, Comparison, Outcome, Paper, SymbolicResult
from claims.registry import paper as paper_of
from claims.verdicts import (
    SEARCH_NS,
    ClaimVerdict,
    Finding,
    LocalVerdict,
    Verdict,
    finite_or_none,
    judge,
    judge_correction,
    judge_readings,
    local_verdict,
    safe_check,
    symbolic_decision,
    value_fields,
    weigh_evidence,
)
from theory.asymptotics import leading_term_onset, numeric_leading_term
from theory.errors import VerifyError
from theory.mixture import TaskMixture
from verify.evidence.experiments import ExperimentsChannel, UnitExecutor
from verify.evidence.minimiser import MinimiserChannel
from verify.evidence.montecarlo import MonteCarloChannel, k_sigma
from verify.evidence.record import Evidence
from verify.evidence.training import TrainingChannel
from verify.evidence.unconstrained import UnconstrainedEvidence
from verify.workers import background_worker

_T = TypeVar("_T")


def _timed(timings: dict[str, float], key: str, make: Callable[[], _T]) -> _T:
    """Run ``make()`` and record its wall time under ``key`` (timings never feed a result)."""
    start = time.perf_counter()
    try:
        return make()
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch intra-op CPU threads (None: leave torch's setting), then restore it.

    The results do not depend on it (tests/verify/test_determinism.py compares 1 and 2 threads); the wall time
    does.  Measured on a 2-core machine shared with other jobs (load 3-4), quick JT training on fig2c at n = 10
    took 2.3 s with 1 thread and 22.5 s with 2 (17 s of CPU time: OpenMP threads spin at each of the thousands
    of small parallel regions while the other core is busy), the "48 s in one run, 3 s in the next" once seen.
    The first training call of a process also pays about 2 s of one-off warm-up (4.3 s vs 2.3 s).
    """
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def asymptotic_regime(claim: Claim, mixture: TaskMixture) -> dict[str, Any] | None:
    """For a rate claim (kind asymptotic, with an expansion of a quantity in 1/n): the leading term fitted on the
    selected mixture and the n from which it describes the quantity (theory.asymptotics.leading_term_onset), so a
    reader sees where the asymptotic statement starts to say anything.  None for other claims, out of scope, or
    where the quantity is undefined (all means zero)."""
    source = claim.tex.get("derivation", "")
    if claim.kind is not Kind.ASYMPTOTIC or not source.startswith("expansion:") or not claim.scope(mixture):
        return None
    quantity = source.split(":", 1)[1]
    try:
        leading = numeric_leading_term(quantity, mixture)
    except VerifyError:
        return None
    onset = leading_term_onset(quantity, mixture, leading)
    return {"quantity": quantity, "exponent": leading.exponent, "coefficient": finite_or_none(leading.coefficient),
            "stable": leading.stable, "dominates_from_n": onset,
            "criterion": "from this n on, the rest of the expansion is at most half the leading term"}


def _selected_rows(claim: Claim, mixture: TaskMixture, ns: list[int]) -> tuple[list[dict[str, Any]], LocalVerdict]:
    """Claimed vs derived on the selected mixture at each n, and the local verdict there.  An asymptotic claim's
    check does not depend on n (it is decided from the expansion): it is evaluated once, and its local verdict names
    no failing n."""
    if claim.kind is Kind.ASYMPTOTIC:
        ns = ns[:1]
    in_scope = claim.scope(mixture)
    comps = [safe_check(claim, mixture, n) for n in ns] if in_scope else []
    rows = []
    for i, n in enumerate(ns):
        c = comps[i] if in_scope else None
        if not isinstance(c, Comparison):
            rows.append({"n": n, "in_scope": in_scope, "quantity": None, "rel_error": None, "holds": None,
                         **value_fields("claimed", "", with_array=False), **value_fields("derived", "", with_array=False),
                         "note": c or ""})
            continue
        rows.append({"n": n, "in_scope": True, "quantity": c.quantity, "rel_error": finite_or_none(c.rel_error),
                     "holds": bool(c.holds), **value_fields("claimed", c.claimed, with_array=False),
                     **value_fields("derived", c.derived, with_array=False), "note": c.note})
    local = local_verdict(in_scope, ns, comps)
    if claim.kind in MEASURED_KINDS and in_scope:
        values = [abs(c.measured if c.measured is not None else c.rel_error) for c in comps if isinstance(c, Comparison)]
        local = replace(local, verdict=Outcome.MEASURED, first_failing_n=None,  # a measurement never fails
                        measured=finite_or_none(max(values)) if values else None)
    if claim.kind is Kind.ASYMPTOTIC:
        local = replace(local, first_failing_n=None).with_note("decided from the expansion in 1/n, not at one n")
    return rows, local


# The claim checkers' float64 tolerances are validated on the search's n (up to 1000 with --full).  Beyond that some
# checks lose their meaning, not the claims: at n >= 1e5 on fig2c the Theta(n^-2) gaps of C1.equality fall below
# AGREE_RTOL * L*_PT and its check reports a failure, and P1.construction's output identity drifts into the grey
# zone at n = 1e6.  Such n are judged on the selected mixture (its local verdict) but do not enter the global search.
SEARCH_MAX_N = 1000


def selected_cases(mixture: TaskMixture, name: str, ns: list[int], search_ns: tuple[int, ...], cases: list[Case]) -> list[Case]:
    """The selected mixture as search cases ``"selected: NAME"`` at every search n and every selected n <= SEARCH_MAX_N.

    Skipped where an identical mixture is already a case at that n (a preset given by name), so nothing is
    counted twice.  The global verdict is thereby never "verified" where the local one fails at such an n.
    """
    target = mixture.to_dict()
    present = {c.n for c in cases if c.mixture.to_dict() == target}
    wanted = set(search_ns) | {n for n in ns if n <= SEARCH_MAX_N}
    return [Case(f"selected: {name}", mixture, n) for n in sorted(wanted) if n not in present]


@contextmanager
def symbolic_decisions(claims: list[Claim], enabled: bool) -> Iterator[Callable[[Claim], SymbolicResult | None]]:
    """The claims' symbolic decisions (each record's ``symbolic``), computed in a second process while this one
    runs the numeric search: sympy is single-threaded, so on two cores the decisions (about 20 s of ``verify
    --all``) overlap the search instead of adding to it.  The results are the same functions', in the same order;
    one worker keeps sympy's caches (the d = 1 optima) shared between decisions.  With one decision or none, or
    ``enabled`` False, everything stays in this process."""
    deciding = [c for c in claims if c.symbolic is not None]
    if not enabled or len(deciding) < 2:
        yield symbolic_decision
        return
    with background_worker() as pool:
        futures = {c.id: pool.submit(c.symbolic) for c in deciding if c.symbolic is not None}
        yield lambda claim: futures[claim.id].result() if claim.id in futures else None


def run_checks(claims: list[Claim], mixture: TaskMixture, ns: list[int], *, seed: int = 0, full: bool = False,
               symbolic: bool = True, progress: bool = True, training: bool = True, mixture_name: str = "selected",
               device: str = "cpu", threads: int | None = 1, paper: str | None = None,
               executor: UnitExecutor | None = None) -> list[ClaimVerdict]:
    """Judge each claim on its paper's search family + the selected mixture, and attach evidence at the latter.

    The global verdict comes from the search (:func:`claims.verdicts.judge`); the selected mixture joins it as
    ``"selected: <mixture_name>"`` at every search n and every n of ``ns`` up to ``SEARCH_MAX_N``, so a
    failure there is found, shrunk and reported.  Each verdict also carries ``on_selected_mixture``, the local
    verdict at ``ns`` (:func:`claims.verdicts.local_verdict`).  The evidence channels (verify.evidence) then read
    each claim's record and report on the selected mixture at the first n; their findings are weighed by
    :func:`claims.verdicts.weigh_evidence`.

    Every budget is in samples or steps, never wall-clock time: the same seed gives the same verdicts and
    evidence on any machine and load (on one ``device``).  Wall times are kept per verdict in
    ``ClaimVerdict.timings`` (``"search"``, ``"symbolic"``, ``"minimiser"``, ``"training"``, ``"montecarlo"``,
    ``"montecarlo_at_claimed"``; a channel shared by claims is timed where it was computed) and never in
    ``to_json()``.  ``threads``: torch CPU threads for the Monte Carlo and training evidence (:func:`cpu_threads`;
    None keeps torch's setting); it changes the wall time, not the results.  ``paper``: the claims' pack (default:
    the first claim's).  ``executor``: where the independent trainings of the experiments' trained evidence run under
    ``full`` (:class:`verify.ray_executor.RayExecutor`, entered; None: in this process).
    """
    pack = paper_of(paper or (claims[0].paper if claims else "chang2025"))
    search_ns = SEARCH_NS + ((100, 1000) if full else ())
    cases = pack.cases(search_ns, seed)
    cases += selected_cases(mixture, mixture_name, ns, search_ns, cases)
    with cpu_threads(threads), symbolic_decisions(claims, symbolic) as decision:
        return _run(claims, cases, mixture, ns, pack, seed=seed, full=full, symbolic=symbolic, progress=progress,
                    training=training, device=device, decision=decision, executor=executor)


def _run(claims: list[Claim], cases: list[Case], mixture: TaskMixture, ns: list[int], pack: Paper, *, seed: int,
         full: bool, symbolic: bool, progress: bool, training: bool, device: str,
         decision: Callable[[Claim], SymbolicResult | None] = symbolic_decision,
         executor: UnitExecutor | None = None) -> list[ClaimVerdict]:
    k = k_sigma(pack)
    minimiser = MinimiserChannel(mixture, ns[0], seed)
    trainer = TrainingChannel(mixture, ns[0], seed, full, device) if training else None
    experiments = ExperimentsChannel(mixture, ns[0], seed, full, device, executor=executor) if training else None
    unconstrained = UnconstrainedEvidence(mixture, ns, seed=seed, device=device, k=k)
    sampler = MonteCarloChannel(mixture, ns[0], seed, device, k)
    verdicts = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("checking claims", total=len(claims))
        for claim in claims:
            bar.update(task, description=f"checking {claim.id}")
            timings: dict[str, float] = {}
            verdict = _timed(timings, "search", partial(judge, claim, cases, symbolic=symbolic, decision=decision))
            verdict.timings = timings
            if claim.correction and verdict.verdict in (Verdict.REFUTED, Verdict.MEASURED):
                verdict.corrected = _timed(timings, "corrected", partial(judge_correction, claim, cases))
            verdict.readings = _timed(timings, "readings", partial(judge_readings, claim, cases))
            rows, local = _timed(timings, "selected_mixture", partial(_selected_rows, claim, mixture, ns))
            verdict.evidence["selected_mixture"] = rows
            verdict.on_selected_mixture = local
            regime = _timed(timings, "regime", partial(asymptotic_regime, claim, mixture))
            if regime is not None:
                verdict.evidence["regime"] = regime
            claimed_loss = rows[0]["claimed_value"] if claim.loss else None
            if trainer is not None and trainer.needs_run(claim):
                bar.update(task, description=f"checking {claim.id} (training {claim.optimum})")
            channels: list[tuple[str, Callable[[], Evidence | None]]] = [  # the report's order
                ("minimiser", partial(minimiser.for_claim, claim)),
                *([("training", partial(trainer.for_claim, claim, claimed_loss))] if trainer is not None else []),
                *([("trained_experiment", partial(experiments.for_claim, claim))] if experiments is not None else []),
                ("unconstrained", partial(unconstrained.for_claim, claim)),
                ("montecarlo_at_claimed", partial(sampler.at_stated, claim, claimed_loss)),
                ("montecarlo", partial(sampler.at_derived, claim, claimed_loss)),
            ]
            findings: list[Finding] = []
            for name, collect in channels:
                evidence = _timed(timings, name, collect)
                if name == "training" and trainer is not None:
                    timings.update(trainer.timings)
                if evidence is None:
                    timings.pop(name, None)  # the channel does not apply to this claim
                    continue
                verdict.evidence[evidence.channel] = evidence.data
                findings.extend(evidence.findings)
            weigh_evidence(verdict, findings)
            verdicts.append(verdict)
            bar.advance(task)
    return verdicts

"""The minimiser channel: it may downgrade a verdict only when it converged, or found a loss below the optimum."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from minimiser_cases import early_stop_mixture

import verify.evidence.minimiser as channel_module
from claims.record import Outcome
from claims.registry import claim
from claims.verdicts import ClaimVerdict, LocalVerdict, Verdict, weigh_evidence
from theory.optima import optimum
from verify.evidence.minimiser import MinimiserChannel


def _verified(claim_id: str) -> ClaimVerdict:
    v = ClaimVerdict(claim(claim_id), Verdict.VERIFIED, 10, 0, 0.0)
    v.on_selected_mixture = LocalVerdict(Outcome.HOLDS, 0.0, (1,))
    return v


@pytest.mark.parametrize("sigma2", [0.0, 1.0])
def test_theorem3_stays_verified_where_bfgs_stopped_early(sigma2: float) -> None:
    """The d = 3, K = 3 mixture on which the minimiser used to stop 0.3% above L*_JT and turn T3 inconclusive."""
    ch = MinimiserChannel(early_stop_mixture(sigma2), 1, 0)
    for claim_id in ("T3.W.appendix", "T3.loss.appendix") + (("T3.loss",) if sigma2 == 0 else ()):
        ev = ch.for_claim(claim(claim_id))
        assert ev is not None
        assert ev.data["converged"] and ev.data["agrees"] and ev.data["outcome"] == "agrees"
        assert ev.data["loss_rel_diff"] <= 1e-10
        verdict = _verified(claim_id)
        weigh_evidence(verdict, ev.findings)
        assert verdict.verdict is Verdict.VERIFIED and verdict.on_selected_mixture is not None
        assert verdict.on_selected_mixture.verdict is Outcome.HOLDS


def test_a_minimiser_stopped_early_is_a_note_not_an_inconclusive_verdict() -> None:
    ch = MinimiserChannel(early_stop_mixture(0.0), 1, 0, max_iterations=1)
    ev = ch.for_claim(claim("T2.loss"))
    assert ev is not None
    assert not ev.data["converged"] and not ev.data["agrees"] and ev.data["outcome"] == "not converged"
    (finding,) = ev.findings
    assert not finding.contradicts
    assert f"did not converge: gradient norm {ev.data['gradient_norm']:.2g} after {ev.data['iterations']} iterations" \
        in finding.note
    verdict = _verified("T2.loss")
    weigh_evidence(verdict, ev.findings)
    assert verdict.verdict is Verdict.VERIFIED and finding.note in verdict.notes
    assert verdict.on_selected_mixture is not None and verdict.on_selected_mixture.verdict is Outcome.HOLDS


def _shifted(factor: float) -> Any:
    """theory.optima.optimum with the loss it reports multiplied by ``factor`` (a wrong formula for L*)."""
    def wrong(strategy: Any, mixture: Any, n: int) -> Any:
        opt = optimum(strategy, mixture, n)
        return dataclasses.replace(opt, loss=opt.loss * factor)
    return wrong


@pytest.mark.parametrize("factor, outcome", [(1.01, "below"), (0.99, "above")])
def test_a_converged_minimiser_that_disagrees_still_contradicts(monkeypatch: pytest.MonkeyPatch, factor: float,
                                                                 outcome: str) -> None:
    """A derived loss 1% too high: the minimiser finds a lower one; 1% too low: it converges above it, and the
    derived parameters do not attain it.  Either contradicts, and the verdict becomes inconclusive."""
    monkeypatch.setattr(channel_module, "optimum", _shifted(factor))
    ev = MinimiserChannel(early_stop_mixture(1.0), 1, 0).for_claim(claim("T3.loss.appendix"))
    assert ev is not None and ev.data["outcome"] == outcome and ev.data["converged"]
    assert [f.contradicts for f in ev.findings] == [True]
    verdict = _verified("T3.loss.appendix")
    weigh_evidence(verdict, ev.findings)
    assert verdict.verdict is Verdict.INCONCLUSIVE


def test_below_the_optimum_contradicts_even_when_not_converged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loss at any point is exact: a point below the derived optimum refutes it, finished search or not."""
    monkeypatch.setattr(channel_module, "optimum", _shifted(1.5))
    ev = MinimiserChannel(early_stop_mixture(0.0), 1, 0, max_iterations=1).for_claim(claim("T2.loss"))
    assert ev is not None and not ev.data["converged"] and ev.data["outcome"] == "below"
    assert [f.contradicts for f in ev.findings] == [True]

"""The training channel: torch training from random initialisation against the derived optimum.

Budgets are steps and samples only; wall times go to the verdict's ``timings``.  Only PT and JT are global
minima of what is trained: a trained loss *below* them contradicts the derivation.  FT tunes prompts on a
*trained* W, which can land below L*_FT (prompts on W*_PT), and training with task heads can go below
L~*_PGD (P1.equality): for those, and for any loss above the optimum (an under-trained model), the result
is reported, not weighed.

Whether training could tell the claim from the derivation (:mod:`verify.evidence.resolution`): the claimed value is
the claim's stated loss, or else the exact loss (eq. 9; eq. 19 for PGD) at the parameters the paper states as
optimal; when it differs from the derived optimum by less than the budget's resolution (the optimisation tolerance
plus ``k_sigma`` standard errors), the channel says it cannot distinguish them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from claims.record import Claim
from claims.verdicts import Finding
from theory.loss import pgd_loss, population_loss
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from verify.evidence.payload import ChannelPayload, ReportRow, optional
from verify.evidence.record import Evidence
from verify.evidence.resolution import distinguish_text, resolve
from verify.numbers import exact, uncertain

GLOBAL_MINIMA = (Strategy.PT, Strategy.JT)


@dataclass(frozen=True)
class TrainingPayload(ChannelPayload):
    """What :func:`training.evidence.training_evidence` returns (its ``result`` and ``timings`` left out), and what
    it says about the claim: ``claimed_loss`` (``claimed_name``: "claimed" for a stated loss, "the claimed parameters'
    loss" for the exact loss at the stated parameters), ``claimed_gap`` and whether the budget's ``resolution``
    (``k_sigma`` standard errors plus the optimisation ``tolerance``) ``distinguishes`` it."""

    channel = "training"
    title = "Training"
    summary_label = "training"
    table_heading = "training"

    strategy: str
    trained_strategy: str
    model: str
    n: int
    trained_loss: float
    trained_stderr: float
    exact_loss: float | None
    derived_loss: float
    rel_gap: float
    W_rel_distance: float | None
    P_rel_distance: float | None
    restarts: int
    steps: int
    agrees: bool
    tolerance: float
    direction: str
    resolution: float | None
    resolution_text: str | None
    summary: str | None
    k_sigma: float
    quick: bool | None
    seed: int | None
    seeds: int | None
    error_bar: str | None
    normalised_trained_loss: float | None
    normalised_derived_loss: float | None
    # the attention with task-specific heads (PGD) only
    head_scaled_loss: float | None = optional()
    rel_gap_head_scaled: float | None = optional()
    W_rel_distance_head_scaled: float | None = optional()
    head_offblock: float | None = optional()
    A_offblock: float | None = optional()
    claimed_loss: float | None = None
    claimed_name: str | None = None
    claimed_gap: float | None = None
    distinguishes: bool | None = None

    def findings(self) -> tuple[Finding, ...]:
        """Below a global minimum (PT, JT) contradicts the derivation; above it is an under-trained note."""
        if self.direction == "below" and Strategy(self.strategy) in GLOBAL_MINIMA:
            return (Finding(self.channel, True, f"training reached {self.trained_loss:.6g} +- {self.trained_stderr:.2g}, "
                                                f"below the derived optimum {self.derived_loss:.6g}"),)
        if self.direction == "above":
            return (Finding(self.channel, False, f"training ended {100 * self.rel_gap:.1f}% above the derived optimum "
                                                 f"in its budget, beyond the resolution {self.resolution_text} "
                                                 "(under-trained, not evidence against the claim)"),)
        return ()

    def terminal_rows(self) -> list[tuple[str, str]]:
        return [("training", f"{self.strategy} ({self.model}) n={self.n}: "
                             f"{uncertain(self.trained_loss, self.trained_stderr)} vs {exact(self.derived_loss)}: "
                             f"{self.direction if self.summary is None else self.summary}")]

    def table_cell(self) -> str:
        return (f"{self.strategy} ({self.model}) n={self.n}: {self.trained_loss:.6g} ± {self.trained_stderr:.2g} "
                f"vs {self.derived_loss:.6g} ({self.direction if self.summary is None else self.summary})")

    def report_rows(self) -> list[ReportRow]:
        k, se = self.k_sigma, self.trained_stderr
        # reports written before the channel stated its resolution have no summary
        summary = f"relative gap {self.rel_gap:+.2%}, {self.direction}" if self.summary is None else self.summary
        text = (f"{self.trained_strategy} ({self.model} model) at n = {self.n}: trained {self.trained_loss:.6g} ± "
                f"{se:.2g} vs derived {self.derived_loss:.6g} ({summary}; {self.restarts} restarts, {self.steps} steps"
                f"{', quick budget' if self.quick else ''})")
        return [ReportRow(
            self.title, text,
            f"below the optimum: ${k:.2f}\\,\\mathrm{{se}} = {k * se:.2g}$; above it: gaps within the optimisation "
            f"tolerance {self.tolerance:.0%} of the loss ({self.tolerance * self.derived_loss:.2g}) are not resolved")]


class TrainingChannel:
    """One training run per strategy at the first selected n, shared by the claims about that optimum."""

    channel = TrainingPayload.channel

    def __init__(self, mixture: TaskMixture, n: int, seed: int, full: bool, device: str) -> None:
        self.mixture, self.n, self.seed, self.full, self.device = mixture, n, seed, full, device
        self._done: dict[Strategy, TrainingPayload] = {}
        self.timings: dict[str, float] = {}

    def applies(self, claim: Claim) -> bool:
        return claim.optimum is not None and claim.training and claim.scope(self.mixture)

    def needs_run(self, claim: Claim) -> bool:
        """Whether :meth:`for_claim` will train (for the progress bar)."""
        return self.applies(claim) and claim.optimum not in self._done

    def claimed_value(self, claim: Claim, claimed_loss: float | None) -> tuple[float | None, str]:
        """(the claim's value to tell from the derived loss, its name in the text): the stated loss ("claimed"),
        else the exact loss at the stated parameters ("the claimed parameters' loss"), else (None, "")."""
        if claim.loss and claimed_loss is not None:
            return float(claimed_loss), "claimed"
        if claim.stated is not None:
            st = claim.stated(self.mixture, self.n)
            loss = (pgd_loss(self.mixture, st.W, self.n) if st.predictor == "pgd"
                    else population_loss(self.mixture, st.W, st.P, self.n))
            return float(loss), "the claimed parameters' loss"
        return None, ""

    def for_claim(self, claim: Claim, claimed_loss: float | None = None) -> Evidence | None:
        """The training evidence for ``claim`` (``claimed_loss``: the claim's stated loss on the selected mixture at
        the first n, where it states one)."""
        if not self.applies(claim):
            return None
        strategy = claim.optimum
        assert strategy is not None
        if strategy not in self._done:
            from training import training_evidence  # torch models; imported only when training evidence is wanted
            ev: dict[str, Any] = training_evidence(strategy, self.mixture, self.n, quick=not self.full,
                                                   seed=self.seed, device=self.device)
            ev.pop("result", None)  # the full result (learned matrices) stays out of the table's JSON
            self.timings = {f"training.{k}": v for k, v in ev.pop("timings", {}).items()}
            self._done[strategy] = TrainingPayload.from_json(ev)
        else:
            self.timings = {}
        base = self._done[strategy]
        assert base.resolution is not None and base.resolution_text is not None
        claimed, name = self.claimed_value(claim, claimed_loss)
        res = resolve(claimed, base.derived_loss, base.resolution, base.resolution_text)
        sentence = distinguish_text(res.claimed_gap, res.distinguishes, res.resolution_text, name)
        payload = dataclasses.replace(
            base, claimed_loss=claimed, claimed_name=name or None, resolution=res.resolution,
            claimed_gap=res.claimed_gap, distinguishes=res.distinguishes,
            summary="; ".join(filter(None, (sentence, base.summary))))
        return Evidence(payload, payload.findings())

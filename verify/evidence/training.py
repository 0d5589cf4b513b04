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

from typing import Any

from claims.record import Claim
from claims.verdicts import Finding
from theory.loss import pgd_loss, population_loss
from theory.mixture import TaskMixture
from theory.strategy import Strategy
from verify.evidence.record import Evidence
from verify.evidence.resolution import distinguish_text, resolution_fields

GLOBAL_MINIMA = (Strategy.PT, Strategy.JT)


class TrainingChannel:
    """One training run per strategy at the first selected n, shared by the claims about that optimum."""

    channel = "training"

    def __init__(self, mixture: TaskMixture, n: int, seed: int, full: bool, device: str) -> None:
        self.mixture, self.n, self.seed, self.full, self.device = mixture, n, seed, full, device
        self._done: dict[Strategy, dict[str, Any]] = {}
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
            ev = training_evidence(strategy, self.mixture, self.n, quick=not self.full, seed=self.seed, device=self.device)
            ev.pop("result", None)  # the full result (learned matrices) stays out of the table's JSON
            self.timings = {f"training.{k}": v for k, v in ev.pop("timings", {}).items()}
            self._done[strategy] = ev
        else:
            self.timings = {}
        tr = dict(self._done[strategy])
        claimed, name = self.claimed_value(claim, claimed_loss)
        fields = resolution_fields(claimed, tr["derived_loss"], tr["resolution"], tr["resolution_text"])
        tr.update(claimed_loss=claimed, claimed_name=name or None, **fields)
        sentence = distinguish_text(fields, name)
        tr["summary"] = "; ".join(filter(None, (sentence, self._done[strategy]["summary"])))
        findings: tuple[Finding, ...] = ()
        if tr["direction"] == "below" and strategy in GLOBAL_MINIMA:
            findings = (Finding(self.channel, True, f"training reached {tr['trained_loss']:.6g} +- "
                                f"{tr['trained_stderr']:.2g}, below the derived optimum {tr['derived_loss']:.6g}"),)
        elif tr["direction"] == "above":
            findings = (Finding(self.channel, False, f"training ended {100 * tr['rel_gap']:.1f}% above the derived "
                                f"optimum in its budget, beyond the resolution {tr['resolution_text']} (under-trained, "
                                "not evidence against the claim)"),)
        return Evidence(self.channel, tr, findings)

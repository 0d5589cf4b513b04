"""What kind of sentence a claim is, what its refutation changes, and how an optimum may be named (standard library
only: the command line reads these before importing the numeric stack)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["MEASURED_KINDS", "Kind", "Severity", "optimum_label"]


class Kind(StrEnum):
    """What kind of sentence a claim is, which decides how it is judged and counted.

    * ``result``: a theorem, lemma, proposition, formula or proof step: claimed against derived, refuted by a
      counterexample;
    * ``assumption``: the paper assumes it; the toolkit measures what it costs, never counts it as an error;
    * ``qualitative``: a sentence about size or direction ("aligns closely"): reported as a measurement over its
      scope, with no threshold the paper did not state;
    * ``asymptotic``: a rate or limit; judged from the expansion under the reading the record states.
    """

    RESULT = "result"
    ASSUMPTION = "assumption"
    QUALITATIVE = "qualitative"
    ASYMPTOTIC = "asymptotic"


MEASURED_KINDS = (Kind.ASSUMPTION, Kind.QUALITATIVE)


class Severity(StrEnum):
    """What a refutation changes in the paper (stated in the record, read by the summary): ``main``: a result or
    statement of the main text; ``slip``: an appendix or notation slip (the main text is right); ``harmless``: false as
    stated but harmless for the paper's use of it."""

    MAIN = "main"
    SLIP = "slip"
    HARMLESS = "harmless"

    @property
    def description(self) -> str:
        return {"main": "changes a main-text result", "slip": "appendix or notation slip",
                "harmless": "harmless for the paper's use"}[self.value]


_DEFAULT_READINGS = {
    Kind.RESULT: "as an exact identity: claimed against derived in float64, agreeing within max(1e-8, 100 eps kappa) and "
                 "refuted beyond max(1e-6, 1e4 eps kappa), kappa the conditioning of the computation; between: inconclusive",
    Kind.ASSUMPTION: "as an assumption: its cost (how far the model it restricts falls below) is measured, never "
                     "counted as an error of the paper",
    Kind.QUALITATIVE: "as a measurement over its scope: the paper states no threshold, so none is applied",
    Kind.ASYMPTOTIC: "as the exact order of the leading term in the expansion",
}


def optimum_label(optimum: dict[str, Any], fmt: Any = str) -> str:
    """How an optimum of the JSON may be named: "exact optimum X" only where certified, otherwise
    "best found X (lower bound Y)" (or "(no lower bound)"); ``fmt`` formats the numbers."""
    if optimum.get("certified"):
        return f"exact optimum {fmt(optimum['loss'])}"
    bound = optimum.get("lower_bound")
    return f"best found {fmt(optimum['loss'])} ({'no lower bound' if bound is None else f'lower bound {fmt(bound)}'})"

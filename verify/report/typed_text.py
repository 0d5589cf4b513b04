"""The plain-text pieces of :mod:`verify.report.text` for the typed report records (:mod:`verify.report.schema`).

:mod:`verify.report.text` reads a claim's JSON object; the Markdown and HTML renderers hold typed records.  This
module is the one place where they hand a record back as its JSON object (``to_json`` writes exactly the object the
report stores), so the renderers know no key; once :mod:`verify.report.text` reads the records itself, the renderers
import these names from it and this module goes.
"""

from __future__ import annotations

from typing import Any

from verify.report import text
from verify.report.schema import ClaimEntry, Counterexample, Report
from verify.report.text import EvidenceRow


def one_line(claim: ClaimEntry) -> str:
    """Why the verdict, in one line (:func:`verify.report.text.one_line`)."""
    return text.one_line(claim.to_json())


def reason_text(claim: ClaimEntry) -> str:
    """The verdict's reason, typeset (:func:`verify.report.text.reason_text`)."""
    return text.reason_text(claim.to_json())


def scope_text(claim: ClaimEntry) -> str:
    """The claim's scope (:func:`verify.report.text.scope_text`)."""
    return text.scope_text(claim.to_json())


def theory_text(claim: ClaimEntry) -> str:
    """The search's failed / checked cases (:func:`verify.report.text.theory_text`)."""
    return text.theory_text(claim.to_json())


def symbolic_text(claim: ClaimEntry) -> str:
    """The symbolic decision in a word and its setting (:func:`verify.report.text.symbolic_text`)."""
    return text.symbolic_text(claim.to_json())


def channel_cells(claim: ClaimEntry) -> list[str]:
    """The claim's cells in the channels' columns (:func:`verify.report.text.channel_cells`)."""
    return text.channel_cells(claim.to_json())


def evidence_rows(claim: ClaimEntry, report: Report) -> list[EvidenceRow]:
    """Every row of the claim's evidence table (:func:`verify.report.text.evidence_rows`), which reads of the report
    only the selected mixture's name."""
    return text.evidence_rows(claim.to_json(), {"mixture": {"name": report.mixture.name}})


def side_value(ce: Counterexample, side: str) -> Any:
    """The full claimed or derived value of a counterexample, as the JSON stores it: nested lists, a number or the
    readable text (:func:`verify.report.text.side_value`)."""
    return text.side_value(ce.to_json(), side)


def reproduce_command(claim_id: str, ce: Counterexample) -> str:
    """The command that reproduces the counterexample (:func:`verify.report.text.reproduce_command`)."""
    return text.reproduce_command(claim_id, ce.to_json())


def counterexample_mixture(ce: Counterexample) -> str:
    """The counterexample's mixture as compact JSON (:func:`verify.report.text.counterexample_mixture`)."""
    return text.counterexample_mixture(ce.to_json())

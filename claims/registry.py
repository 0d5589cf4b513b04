"""The claim registry: every pack's claims by id, and selection by the paper's numbered results.

>>> [c.id for c in claims_for("theorem 1")]
['T1.W', 'T1.W.appendix', 'T1.loss', 'T1.loss.appendix']
>>> claim("P1.equality").source
'Proposition 1'
"""

from __future__ import annotations

from claims.papers import DEFAULT_PAPER, PAPERS
from claims.record import Claim, Paper
from theory.errors import VerifyError

_KINDS = ("theorem", "lemma", "proposition", "corollary", "section", "assumption")


def paper(key: str = DEFAULT_PAPER) -> Paper:
    """The claim pack ``key`` (``verify --paper KEY``)."""
    if key not in PAPERS:
        raise VerifyError(f"paper: unknown {key!r}; expected one of {', '.join(PAPERS)}")
    return PAPERS[key]


def claims(key: str = DEFAULT_PAPER) -> dict[str, Claim]:
    """The pack's claims by id, in the paper's order."""
    return {c.id: c for c in paper(key).claims}


def claim(claim_id: str) -> Claim:
    """One claim of any pack, by id."""
    for p in PAPERS.values():
        for c in p.claims:
            if c.id == claim_id:
                return c
    raise VerifyError(f"claim: unknown id {claim_id!r}; run `verify --list` for the ids")


def claims_for(selector: str, key: str = DEFAULT_PAPER) -> list[Claim]:
    """Claims of one numbered result of pack ``key`` (``"theorem 3"``, ``"lemma 1"``, ``"corollary 1"``), or a claim id."""
    registry = claims(key)
    if selector in registry:
        return [registry[selector]]
    kind, _, number = selector.partition(" ")
    if kind not in _KINDS or not number.replace(".", "").isdigit():
        raise VerifyError(f"claim: unknown id {selector!r}; run `verify --list` for the ids")
    result = f"{kind.capitalize()} {number}"
    found = [c for c in registry.values() if result in c.results]
    if not found:
        raise VerifyError(f"{kind} {number}: the paper has no such result with registered claims")
    return found

"""The claim engine: claim records, their registry and packs, and the verdicts that judge them (above theory/).

A claim (:class:`Claim`) states a result of a paper and checks it against the mathematics of :mod:`theory`; packs of
claims are built in (``claims.papers``), installed (entry points) or loaded from a path (:mod:`claims.packs`), and
:func:`judge` searches them for counterexamples.  Every public name is imported on first use (:pep:`562`), so the
``verify`` command's start loads neither numpy nor sympy.
"""

from __future__ import annotations

from theory.lazy import lazy_exports

_HOME = {  # public name -> the module that defines it
    "Kind": "kinds", "Severity": "kinds",
    "DEFAULT_PAPER": "papers", "PAPERS": "papers",
    "AGREE_RTOL": "record", "REFUTE_RTOL": "record", "Case": "record", "Claim": "record", "Comparison": "record",
    "Outcome": "record", "Paper": "record", "Reading": "record", "StatedParameters": "record",
    "claim": "registry", "claims": "registry", "claims_for": "registry", "paper": "registry",
    "load_pack": "packs",
    "ClaimVerdict": "verdicts", "LocalVerdict": "verdicts", "Verdict": "verdicts", "judge": "verdicts",
}

__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())

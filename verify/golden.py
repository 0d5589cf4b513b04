"""Golden verdicts: every claim's verdict and counterexample, pinned by a committed file.

``tests/verify/test_golden_verdicts.py`` runs every registered claim's checks over the search cases
(:func:`claims.verdicts.search_cases` at ``SEARCH_NS``, seed 0: presets and generated mixtures; no training,
no Monte Carlo, no symbolic decision, about 15 s on one core) and compares the result with
``tests/golden/verdicts.json``.  A change that turns a refutation into a verification (say, replacing
Theorem 2's loss formula by the corrected one, or loosening ``REFUTE_RTOL``) then fails the suite with a
readable diff.

Updating the file is a deliberate step, and its reason goes in the commit message::

    python -m verify.golden --update      # rewrite tests/golden/verdicts.json (atomically)
    python -m verify.golden --check       # print the diff against it; exit 1 when they differ

Numbers are rounded to ``SIGNIFICANT`` significant digits, and array entries below ``TINY`` times the
array's largest entry are written as 0, so that BLAS rounding (1e-16-level) on another machine does not
change the file; a claim's ``max_rel_error`` is left out for the same reason.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from claims.papers import PAPERS
from claims.record import AGREE_RTOL, REFUTE_RTOL
from claims.verdicts import SEARCH_NS, judge, judge_correction, judge_readings
from theory.files import write_text_atomic

GOLDEN_PATH = Path(__file__).resolve().parent.parent / "tests" / "golden" / "verdicts.json"
SIGNIFICANT = 6
TINY = 1e-9
SEED = 0


def _round(value: Any) -> Any:
    """Round floats to SIGNIFICANT digits; entries of an array below TINY times its largest entry become 0."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        if any(v is None or isinstance(v, (str, dict)) for v in value):
            return [_round(v) for v in value]
        arr = np.asarray(value, dtype=float)
        scale = float(np.max(np.abs(arr))) if arr.size else 0.0
        arr = np.where(np.abs(arr) <= TINY * scale, 0.0, arr)
        return np.vectorize(lambda v: float(f"{v:.{SIGNIFICANT}g}"), otypes=[float])(arr).tolist() if arr.size else value
    return value


def _counterexample(ce: dict[str, Any] | None) -> dict[str, Any] | None:
    if ce is None:
        return None
    out = {"found_in": ce["found_in"], "n": ce["n"], "quantity": ce["quantity"], "mixture": _round(ce["mixture"])}
    for side in ("claimed", "derived"):
        value = ce[f"{side}_value"] if ce[f"{side}_value"] is not None else ce[f"{side}_array"]
        out[side] = _round(value) if value is not None else ce[side]
    out["rel_error"] = _round(ce["rel_error"])
    return out


def golden_verdicts(seed: int = SEED) -> dict[str, Any]:
    """Every claim's search verdict (no symbolic, training or Monte Carlo), rounded for a stable text form; each
    pack's claims on its own search family."""
    claims: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for pack in PAPERS.values():
        cases = pack.cases(SEARCH_NS, seed)
        counts[pack.key] = len(cases)
        for claim in pack.claims:
            v = judge(claim, cases, symbolic=False)
            entry = {"kind": claim.kind, "verdict": v.verdict, "cases_checked": v.checked, "cases_failed": v.failed,
                     "counterexample": _counterexample(v.to_json()["counterexample"])}
            if claim.correction:
                corrected = judge_correction(claim, cases)
                entry["corrected"] = {"verdict": corrected["verdict"], "cases_checked": corrected["cases"],
                                      "cases_failed": corrected["failed"],
                                      "counterexample": _counterexample(corrected["counterexample"])}
            if claim.weaker is not None:
                entry["readings"] = [{"reading": r["reading"], "verdict": r["verdict"], "cases_checked": r["cases"],
                                      "cases_failed": r["failed"]} for r in judge_readings(claim, cases)]
            claims[claim.id] = entry
    return {"what": "verify.golden: search verdicts of every claim (no symbolic, training or Monte Carlo)",
            "search": {"n": list(SEARCH_NS), "seed": seed, "cases": counts},
            "tolerance": {"agree_rtol": AGREE_RTOL, "refute_rtol": REFUTE_RTOL},
            "rounding": {"significant_digits": SIGNIFICANT, "array_zero_below": TINY},
            "claims": claims}


def _dump(value: Any, indent: int) -> str:
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(f"{inner}{_dump(v, indent + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value, allow_nan=False)  # numbers, strings and (nested) numeric arrays on one line


def dumps(data: dict[str, Any]) -> str:
    """The file's text: objects indented one key a line, numeric arrays on one line, one trailing newline."""
    return _dump(data, 0) + "\n"


def diff(expected: str, actual: str) -> str:
    """A unified diff from the golden file's text to the current one ('' when equal)."""
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        fromfile="tests/golden/verdicts.json (committed)", tofile="current verdicts", n=4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.golden", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN_PATH.name} (a deliberate step: say why in the commit)")
    mode.add_argument("--check", action="store_true", help="print the diff against the committed file; exit 1 when they differ")
    args = parser.parse_args(argv)
    actual = dumps(golden_verdicts())
    if args.update:
        GOLDEN_PATH.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(GOLDEN_PATH, actual)
        print(f"wrote {GOLDEN_PATH}")
        return 0
    expected = GOLDEN_PATH.read_text(encoding="utf-8") if GOLDEN_PATH.exists() else ""
    text = diff(expected, actual)
    sys.stdout.write(text or "golden verdicts unchanged\n")
    return 1 if text else 0


if __name__ == "__main__":
    sys.exit(main())

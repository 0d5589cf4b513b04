"""The one seed tree (theory.seeds): distinct streams, stable values, and no integer offsets in the source."""

from __future__ import annotations

import re
from pathlib import Path

from theory.seeds import child_seed, rng

ROOT = Path(__file__).resolve().parents[2]


def test_streams_of_different_seeds_and_labels_never_coincide() -> None:
    labels = [(), ("montecarlo",), ("montecarlo", "stated"), ("training", 0), ("training", 1), ("unconstrained", "paired")]
    values = {(s, lab): child_seed(s, *lab) for s in range(50) for lab in labels}
    assert len(set(values.values())) == len(values)


def test_a_labelled_stream_is_stable() -> None:
    assert child_seed(0, "montecarlo") == child_seed(0, "montecarlo")
    assert rng(7, "x").standard_normal(3).tolist() == rng(7, "x").standard_normal(3).tolist()
    assert rng(7).standard_normal(3).tolist() == __import__("numpy").random.default_rng(7).standard_normal(3).tolist()


def test_no_seed_is_derived_by_an_integer_offset() -> None:
    offset = re.compile(r"seed\s*\+\s*[0-9_A-Z]|default_rng\(\[")
    found = [f"{p.relative_to(ROOT)}:{i}" for pkg in ("theory", "montecarlo", "training", "verify")
             for p in (ROOT / pkg).rglob("*.py") for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if offset.search(line.split("#")[0])]
    assert not found, f"derive seeds with theory.seeds.child_seed, not offsets: {found}"

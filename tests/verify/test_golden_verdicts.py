"""Golden verdicts: a change that turns a refutation into a verification must fail the suite.

The test runs every registered claim's checks over the search cases (presets and generated mixtures at
n = 1, 4, 20, seed 0; no training, Monte Carlo or symbolic decision) and compares each claim's verdict,
cases checked/failed and shrunk counterexample (mixture, n, quantity, claimed and derived values to 6
significant digits) with ``tests/golden/verdicts.json``, failing with a unified diff.

Updating the golden file is a deliberate step: run ``python -m verify.golden --update`` and give the
reason (which verdict or counterexample changed, and why that is right) in the commit message.
"""

from __future__ import annotations

import pytest

from verify.golden import GOLDEN_PATH, diff, dumps, golden_verdicts


def test_verdicts_match_the_golden_file() -> None:
    assert GOLDEN_PATH.exists(), "tests/golden/verdicts.json is missing: run `python -m verify.golden --update`"
    expected = GOLDEN_PATH.read_text(encoding="utf-8")
    actual = dumps(golden_verdicts())
    changes = diff(expected, actual)
    if changes:
        pytest.fail("verdicts differ from tests/golden/verdicts.json. If the change is intended, run "
                    "`python -m verify.golden --update` and say why in the commit message.\n" + changes, pytrace=False)


def test_golden_rounding_ignores_last_bit_noise() -> None:
    """Entries at BLAS-rounding level relative to the array vanish; values keep 6 significant digits."""
    from verify.golden import _round
    assert _round([[1.0, 3e-17], [-2e-17, 0.1234567891]]) == [[1.0, 0.0], [0.0, 0.123457]]
    assert _round(2.0000000001) == 2.0 and _round([-1, None]) == [-1, None]

"""Numbers printed with the digits they have.

* :func:`exact` for values computed exactly or in float64 from closed forms: the shortest text that reads back
  as the same float (``repr``), so nothing is rounded away and no noise digits are invented.
* :func:`evaluated` for exact formulas evaluated at float64 parameters: 14 significant digits.
* :func:`uncertain` for fitted or sampled values: the value rounded to its uncertainty, which is shown with two
  significant digits in parentheses (``2148.112869(44)`` means 2148.112869 +- 0.000044).
"""

from __future__ import annotations

import math
from typing import Any


def exact(value: Any) -> str:
    """Shortest round-trip text of a float (``repr``); ints and other values as ``str``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


EVALUATED_DIGITS = 14


def evaluated(value: float) -> str:
    """An exact formula evaluated at float64 parameters: 14 significant digits.

    The parameters (e.g. ``a = sum_k pi_k |mu_k|^2``) carry a few float64 roundings (relative 1e-16 each) and the
    formulas are well conditioned rational functions of them, so the 15th and later digits are rounding noise
    (``207.90000000000003`` for 207.9) while the first 14 are correct.
    """
    return f"{value:.{EVALUATED_DIGITS}g}" if math.isfinite(value) else str(value)


def uncertain(value: float, err: float | None) -> str:
    """``value`` with uncertainty ``err`` in concise notation: ``317.8999995(19)``, ``1.2345(12)e-07``.

    The uncertainty keeps two significant digits and the value is rounded to the same decimal place. Without a
    usable uncertainty (None, zero, NaN) the value is printed exactly; an uncertainty larger than the value gives
    ``value +- err`` with two significant digits each.
    """
    if err is None or not math.isfinite(err) or err <= 0 or not math.isfinite(value):
        return exact(float(value))
    if err >= abs(value):
        return f"{value:.2g} +- {err:.2g}"
    exp = math.floor(math.log10(abs(value)))
    if -4 <= exp < 6:
        return _concise(value, err, "")
    scale = 10.0 ** exp
    return _concise(value / scale, err / scale, f"e{exp:+03d}")


def _concise(value: float, err: float, suffix: str) -> str:
    place = math.floor(math.log10(err)) - 1  # decimal place of the second significant digit of err
    digits = round(err / 10.0 ** place)
    if digits >= 100:  # rounding carried (e.g. 9.96 -> 100): one place up
        place += 1
        digits = round(err / 10.0 ** place)
    if place >= 0:  # the uncertainty reaches the integer digits: say it out
        return f"{round(value, -place):.0f} +- {digits * 10 ** place}{suffix and ' (' + suffix + ')'}"
    return f"{value:.{-place}f}({digits}){suffix}"

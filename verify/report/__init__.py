"""The reports of a ``verify`` run, by concern.

* :mod:`verify.report.build`: the JSON report (``verify --json``), the one source every page is rendered from;
* :mod:`verify.report.typeset`: mathematics (TeX to MathML, numbers and matrices as TeX, difference highlighting);
* :mod:`verify.report.derivation`: the derived formulas, printed by sympy from the toolkit's derivation
  (generated into ``derived_forms.json``);
* :mod:`verify.report.text`: plain-text pieces (evidence lines, each channel's resolution);
* :mod:`verify.report.markdown`: ``report.md`` and ``docs/findings.md`` (``python -m verify.report.findings``);
* :mod:`verify.report.html`: the HTML report (``verify --report DIR``);
* :mod:`verify.report.files`: writing a report directory.
"""

from verify.report.build import build_report

__all__ = ["build_report"]

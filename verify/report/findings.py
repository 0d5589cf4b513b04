"""Generate docs/findings.md from a JSON report, so the findings page cannot drift from the run it describes.

Usage::

    verify --all --json docs/report.json --no-progress
    python -m verify.report.findings docs/report.json > docs/findings.md
    python -m verify.report.findings --readme docs/report.json   # README's verdict section

The output depends only on the report (no clock, no live registry); a test
regenerates docs/findings.md from the committed docs/report.json byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from theory.errors import VerifyError
from verify.report.markdown import FINDINGS_COMMAND, readme_verdicts, render_findings
from verify.report.schema import Report

__all__ = ["load_report", "main", "render_findings"]


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a JSON report, VerifyError (one line) when it is missing, not a report, or not read back by this version's
    schema (:mod:`verify.report.schema`: a field it does not declare)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VerifyError(f"report: cannot read {str(p)!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise VerifyError(f"report: {str(p)!r} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or not {"claims", "summary", "mixture"} <= data.keys():
        raise VerifyError(f"report: {str(p)!r} is not a verify report (expected keys claims, summary, mixture)")
    try:
        Report.from_json(data)
    except (ValueError, TypeError) as exc:
        raise VerifyError(f"report: {str(p)!r} does not match this version's schema (docs/json-schema.md): {exc}") from None
    return data


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        readme = args[:1] == ["--readme"]
        args = args[1:] if readme else args
        if len(args) != 1:
            raise VerifyError(f"usage: {FINDINGS_COMMAND.replace('docs/report.json', 'REPORT.json')} (or --readme REPORT.json)")
        report = load_report(args[0])
        sys.stdout.write(readme_verdicts(report) + "\n" if readme else render_findings(report))
        return 0
    except VerifyError as exc:
        print(f"verify.report.findings: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

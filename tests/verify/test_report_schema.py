"""The JSON report reads back as typed records (verify.report.schema): the renderers' one JSON boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.report.schema import ClaimEntry, Report

REPORT = Path(__file__).resolve().parents[2] / "docs" / "report.json"


def test_the_shipped_report_round_trips() -> None:
    data = json.loads(REPORT.read_text())
    report = Report.from_json(data)
    assert json.loads(json.dumps(report.to_json())) == data
    assert len(report.claims) == len(data["claims"]) and report.claims[0].id == data["claims"][0]["id"]
    # the channels' payloads come back typed, one per channel that gave evidence
    for entry, raw in zip(report.claims, data["claims"], strict=True):
        assert [p.channel for p in entry.evidence.channels] == [
            k for k in ("minimiser", "montecarlo", "montecarlo_at_claimed", "unconstrained", "training",
                        "trained_experiment") if raw["evidence"].get(k)]


def test_an_undeclared_key_is_refused() -> None:
    claim = json.loads(REPORT.read_text())["claims"][0]
    with pytest.raises(ValueError, match="unknown keys"):
        ClaimEntry.from_json({**claim, "surprise": 1})


def test_the_findings_generator_refuses_a_report_the_schema_does_not_read(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from verify.report.findings import main
    data = json.loads(REPORT.read_text())
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({**data, "surprise": 1}))
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown keys ['surprise']" in err

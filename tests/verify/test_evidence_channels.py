"""The evidence channels' payloads are the one place that knows their keys: every payload round-trips through its
JSON (keys, order and values of the report), and no renderer spells a payload key."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from verify.evidence import CHANNELS, ChannelPayload, channel_payloads
from verify.evidence.experiments import ExperimentsPayload, SeedDifference
from verify.evidence.montecarlo import AtClaimedPayload, MonteCarloPayload
from verify.evidence.payload import Payload
from verify.evidence.training import TrainingPayload
from verify.evidence.unconstrained import OptimumFound, PairedDifference, SampledOptimum, UnconstrainedPayload

ROOT = Path(__file__).resolve().parents[2]
RENDERERS = ("verify/terminal.py", "verify/report/text.py", "verify/report/markdown.py", "verify/report/html.py")
# Keys the renderers read from the report's own records, which some payload also has: the report's "mixture", "n",
# "seed" and "summary" (counts), a counterexample's and a selected-mixture row's "claimed", "derived", "n",
# "mixture", the search's "tolerance", the typeset "difference".  Every other payload key is spelled only in its
# channel's module.
SHARED_WITH_REPORT_RECORDS = {"claimed", "derived", "difference", "mixture", "n", "seed", "summary", "tolerance"}


def _payload_classes() -> list[type[Payload]]:
    return [*CHANNELS, PairedDifference, SampledOptimum, OptimumFound]


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_renderer_spells_an_evidence_key() -> None:
    keys = {f.name for cls in _payload_classes() for f in dataclasses.fields(cls)} | {c.channel for c in CHANNELS}
    assert {"z_derived", "resolvable_difference", "numerical_loss", "trained_stderr"} <= keys  # the scan sees fields
    for renderer in RENDERERS:
        spelled = _string_literals(ROOT / renderer) & keys
        assert spelled <= SHARED_WITH_REPORT_RECORDS, f"{renderer} reads evidence keys {sorted(spelled - SHARED_WITH_REPORT_RECORDS)}"


def _stored_payloads() -> list[tuple[str, dict[str, Any]]]:
    report = json.loads((ROOT / "docs" / "report.json").read_text())
    return [(f"{c['id']}.{cls.channel}", c["evidence"][cls.channel]) for c in report["claims"] for cls in CHANNELS
            if c["evidence"].get(cls.channel)]


def test_the_stored_report_round_trips_through_every_channel_payload() -> None:
    """docs/report.json (every claim of the paper): each channel's JSON -> payload -> JSON is the same, key order
    included, so the JSON report written from payloads is the one written from dicts before."""
    stored = _stored_payloads()
    seen = set()
    for where, data in stored:
        channel = where.split(".")[-1]
        (payload,) = channel_payloads({channel: data})
        assert payload.to_json() == data, where
        assert list(payload.to_json()) == list(data), where
        assert json.dumps(payload.to_json()) == json.dumps(data), where
        assert type(payload).from_json(payload.to_json()) == payload, where
        seen.add(channel)
    assert {"minimiser", "montecarlo", "montecarlo_at_claimed", "unconstrained", "training"} <= seen


SECOND = SeedDifference("PT: (trained - theory) / theory", (0.01, 0.02, 0.015))


@pytest.mark.parametrize("payload", [
    MonteCarloPayload(strategy="JT", n=10, estimate=1.0, stderr=0.01, samples=1000, derived=1.01, z_derived=-1.0,
                      k_sigma=5.0, claimed=1.2, z_claimed=-20.0, resolution=0.05, resolution_text="0.05 = 5.00 se",
                      claimed_gap=0.19, distinguishes=True, summary="claimed - derived = +0.19"),
    MonteCarloPayload(strategy="PT", n=1, estimate=1.0, stderr=0.01, samples=1000, derived=1.01, z_derived=-1.0,
                      k_sigma=5.0),
    AtClaimedPayload(n=3, predictor="pgd", estimate=2.0, stderr=0.1, samples=10, derived_optimum=2.0,
                     z_vs_derived_optimum=0.0, claimed_loss=None, z_vs_claimed_loss=None, resolution=0.5,
                     resolution_text="0.5 = 5.00 se", claimed_gap=0.0, distinguishes=False, k_sigma=5.0, summary="s"),
    TrainingPayload(strategy="PGD", trained_strategy="PGD", model="attention", n=2, trained_loss=1.0, trained_stderr=0.1,
                    exact_loss=None, derived_loss=0.9, rel_gap=0.11, W_rel_distance=0.2, P_rel_distance=None, restarts=2,
                    steps=300, agrees=False, tolerance=0.05, direction="above", resolution=0.5, resolution_text="r",
                    summary="t", k_sigma=4.89, quick=True, seed=0, seeds=1, error_bar="e", normalised_trained_loss=0.5,
                    normalised_derived_loss=0.45, head_scaled_loss=0.88, rel_gap_head_scaled=0.13, head_offblock=0.0,
                    A_offblock=0.0),
    UnconstrainedPayload(starts=6, optima=(OptimumFound(False, 2.0, 0.0, {"mode": "JT", "n": 2, "loss": 2.0,
                                                                          "certified": True, "gradient_norm": 1e-9}),),
                         montecarlo=(SampledOptimum("JT", False, 2, "direct", PairedDifference(10, 0.0, 1e-3, 0.0, 0.0,
                                                                                               0.0, 5e-3),
                                                    2.0, 0.01, 100, 2.0, 0.0, 2.0, 0.0, 5.0, 0.025, 0.0),),
                         assumption1_cost=({"mode": "JT", "n": 2},)),
    ExperimentsPayload(run=False, budget="quick", command="verify --claim E.2c-predicts --full", mixture="fig2c", n=10),
    ExperimentsPayload(run=True, budget="full", mixture="fig2c", n=10, seeds=(0, 1, 2),
                       strategies={"PT": {"theory": 1.0, "trained": [1.0, 1.0, 1.0], **SECOND.to_json()}}),
], ids=lambda p: type(p).__name__)
def test_payload_round_trips_through_its_json(payload: ChannelPayload) -> None:
    data = payload.to_json()
    assert json.loads(json.dumps(data)) == data
    assert type(payload).from_json(data) == payload
    assert type(payload).from_json(data).to_json() == data
    assert payload.terminal_rows() == type(payload).from_json(data).terminal_rows()


def test_optional_keys_are_left_out_and_unknown_keys_refused() -> None:
    bare = MonteCarloPayload(strategy="PT", n=1, estimate=1.0, stderr=0.01, samples=1000, derived=1.01, z_derived=-1.0,
                             k_sigma=5.0).to_json()
    assert "claimed" not in bare and "z_claimed" not in bare and bare["claimed_gap"] is None
    with pytest.raises(ValueError, match="unknown keys"):
        MonteCarloPayload.from_json({**bare, "z_typo": 1.0})


def test_payloads_are_frozen() -> None:
    payload = ExperimentsPayload(run=False, budget="quick")
    with pytest.raises(dataclasses.FrozenInstanceError):
        payload.budget = "full"  # type: ignore[misc]


def test_every_channel_has_a_name_and_a_title() -> None:
    assert len({c.channel for c in CHANNELS}) == len(CHANNELS)
    assert all(c.channel and c.title for c in CHANNELS)

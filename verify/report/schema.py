"""The JSON report read back as typed records (docs/json-schema.md): what the renderers read instead of keys.

The JSON report is the interchange format: ``verify --json`` writes it (:mod:`verify.report.build`), and the terminal,
Markdown and HTML renderers read it back with :meth:`Report.from_json`, the one place that knows its keys.  Every
record is a frozen :class:`verify.evidence.payload.Payload`: ``from_json`` refuses a key the schema does not declare,
and ``to_json`` writes the same object back (a test round-trips docs/report.json).  The evidence channels' payloads
(:mod:`verify.evidence`) are rebuilt from each claim's ``evidence`` object by :attr:`Evidence.channels`.

Objects whose keys are data (``by_n``'s context lengths, the count tables, the timings) stay dicts.  Light: no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verify.evidence.payload import ChannelPayload, Payload, optional


@dataclass(frozen=True)
class Tool(Payload):
    name: str
    version: str
    git_commit: str | None


@dataclass(frozen=True)
class Task(Payload):
    """One task of a mixture (Definition 1): its probability pi_k, mean mu_k and covariance Sigma_beta_k."""

    weight: float
    mean: tuple[float, ...]
    cov: tuple[Any, ...]


@dataclass(frozen=True)
class Mixture(Payload):
    """A task mixture as the report stores it; ``name`` only for the selected mixture (not in a counterexample)."""

    name: str | None = optional()
    d: int = 0
    sigma_x: tuple[Any, ...] = ()
    sigma2: float = 0.0
    tasks: tuple[Task, ...] = ()


@dataclass(frozen=True)
class Summary(Payload):
    """Global verdict counts; ``findings``: refuted claims counted once per root cause."""

    verified: int
    refuted: int
    inconclusive: int
    measured: int
    findings: int
    findings_by_severity: dict[str, int]
    corrections: dict[str, int]

    def count(self, verdict: str) -> int:
        """How many claims have this global verdict (0 for a verdict an older report does not count)."""
        value = getattr(self, verdict, None)
        return int(value) if value is not None else 0


@dataclass(frozen=True)
class FindingGroup(Payload):
    """The refuted claims that share one root cause."""

    finding: str
    title: str
    claims: tuple[str, ...]
    severity: str | None


@dataclass(frozen=True)
class Measurement(Payload):
    """What the search measured for an assumption or qualitative claim."""

    quantity: str
    largest: float
    at: str
    by_n: dict[str, float]
    cases: int
    zero_cases: int


@dataclass(frozen=True)
class ReadingVerdict(Payload):
    """Another reading of the claim, judged beside the record's own."""

    reading: str
    verdict: str
    cases: int
    failed: int


@dataclass(frozen=True)
class SelectedVerdict(Payload):
    """The local verdict on the selected mixture (claims.verdicts.LocalVerdict as stored)."""

    verdict: str
    max_rel_error: float | None
    n: tuple[int, ...]
    first_failing_n: int | None
    note: str
    measured: float | None = optional()


@dataclass(frozen=True)
class Tolerance(Payload):
    agree_rtol: float
    refute_rtol: float


@dataclass(frozen=True)
class SearchEvidence(Payload):
    """The search over mixtures (``evidence.theory``)."""

    cases_checked: int
    cases_failed: int
    max_rel_error: float
    tolerance: Tolerance


@dataclass(frozen=True)
class SymbolicEvidence(Payload):
    setting: str
    holds: bool
    difference: str


@dataclass(frozen=True)
class SelectedRow(Payload):
    """Claimed against derived on the selected mixture at one n (value fields: docs/json-schema.md)."""

    n: int
    in_scope: bool
    quantity: str | None
    rel_error: float | None
    holds: bool | None
    claimed: str
    claimed_value: float | None
    claimed_norm: float | None
    claimed_shape: tuple[int, ...] | None
    derived: str
    derived_value: float | None
    derived_norm: float | None
    derived_shape: tuple[int, ...] | None
    note: str


@dataclass(frozen=True)
class Regime(Payload):
    """From which n the leading term describes an asymptotic quantity on the selected mixture."""

    quantity: str
    exponent: float | None
    coefficient: float | None
    stable: bool
    dominates_from_n: int | None
    criterion: str


@dataclass(frozen=True)
class Evidence(Payload):
    """A claim's ``evidence``: the search, the symbolic decision, the selected-mixture rows, the regime of an
    asymptotic claim, and the channels' payloads (kept as their JSON objects here; :attr:`channels` types them)."""

    theory: SearchEvidence
    symbolic: SymbolicEvidence | None = optional()
    selected_mixture: tuple[SelectedRow, ...] | None = optional()
    regime: Regime | None = optional()
    minimiser: dict[str, Any] | None = optional()
    training: dict[str, Any] | None = optional()
    montecarlo_at_claimed: dict[str, Any] | None = optional()
    montecarlo: dict[str, Any] | None = optional()
    unconstrained: dict[str, Any] | None = optional()
    trained_experiment: dict[str, Any] | None = optional()

    @property
    def channels(self) -> list[ChannelPayload]:
        """The channels that gave evidence, typed, in the order every renderer shows them."""
        from verify.evidence.channels import channel_payloads

        return channel_payloads(self.to_json())


@dataclass(frozen=True)
class Counterexample(Payload):
    """The shrunk counterexample of a refuted claim (``n`` None for an asymptotic claim)."""

    found_in: str
    shrunk: bool
    mixture: Mixture
    n: int | None
    quantity: str
    claimed: str
    claimed_value: float | None
    claimed_norm: float | None
    claimed_shape: tuple[int, ...] | None
    claimed_array: Any
    derived: str
    derived_value: float | None
    derived_norm: float | None
    derived_shape: tuple[int, ...] | None
    derived_array: Any
    rel_error: float
    note: str


@dataclass(frozen=True)
class CorrectedVerdict(Payload):
    """The corrected statement's own verdict, from the same search."""

    statement: str
    verdict: str
    cases: int
    failed: int
    counterexample: Counterexample | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Tex(Payload):
    """The claim's typeset forms (TeX without ``$`` except ``why`` and ``derived_setting``)."""

    statement: str
    claimed: str
    derived: str
    derived_setting: str
    derived_source: str
    derived_symbolic: bool
    difference: str | None
    mathml: dict[str, str | None]
    corrected: str
    why: str

    @property
    def derived_mathml(self) -> str | None:
        """sympy's MathML of the derived form (None where the derived form is typed TeX only)."""
        return (self.mathml or {}).get("derived")

    @property
    def difference_mathml(self) -> str | None:
        """sympy's MathML of claimed - derived (None where there is none)."""
        return (self.mathml or {}).get("difference")


@dataclass(frozen=True)
class ClaimEntry(Payload):
    """One checked claim: its record, its global and local verdicts, and the evidence behind them."""

    id: str
    source: str
    statement: str
    scope: str
    kind: str
    reading: str
    severity: str | None
    finding: str
    verdict: str
    reason: str
    measurement: Measurement | None
    readings: tuple[ReadingVerdict, ...]
    on_selected_mixture: SelectedVerdict | None
    evidence: Evidence
    counterexample: Counterexample | None
    correction: str
    corrected: CorrectedVerdict | None
    notes: tuple[str, ...]
    tex: Tex | None = optional()
    figures: tuple[str, ...] | None = optional()


@dataclass(frozen=True)
class AsymptoticRow(Payload):
    """One row of the Corollary 1 / Section 4 expansion table."""

    quantity: str
    mixture: str
    exponent: float | None
    coefficient: float | None
    coefficient_uncertainty: float | None
    stable: bool
    derived_leading: str
    derived_general: str | None
    claimed_leading: str
    claim: str | None
    verdict: str
    quantity_tex: str
    derived_general_tex: str | None
    claimed_leading_tex: str


@dataclass(frozen=True)
class Report(Payload):
    """The whole report of one ``verify`` run."""

    schema_version: int
    tool: Tool
    paper: str
    mixture: Mixture
    n: tuple[int, ...]
    seed: int
    device: str
    summary: Summary
    findings: tuple[FindingGroup, ...]
    summary_on_selected_mixture: dict[str, int]
    claims: tuple[ClaimEntry, ...]
    timings: dict[str, Any] | None = optional()
    asymptotics: tuple[AsymptoticRow, ...] | None = optional()

    @classmethod
    def of(cls, report: Report | dict[str, Any]) -> Report:
        """The typed report: ``report`` itself, or the JSON object read back (:meth:`from_json`)."""
        return report if isinstance(report, Report) else cls.from_json(report)

    @property
    def total_seconds(self) -> float | None:
        """The run's wall-clock seconds (``timings.total_seconds``), None when the report has no timings."""
        seconds = (self.timings or {}).get("total_seconds")
        return float(seconds) if isinstance(seconds, (int, float)) else None

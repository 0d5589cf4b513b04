"""What every evidence channel's payload is: a frozen dataclass whose fields are the channel's JSON keys.

A channel module (:mod:`verify.evidence.minimiser`, ...) declares its payload as a subclass of :class:`Payload`
and owns everything that knows its keys: the computation that fills it, the findings it gives
:func:`claims.verdicts.weigh_evidence`, and its rendering rows.  The renderers (terminal, Markdown, HTML) read a
stored JSON report, rebuild each channel's payload with :meth:`Payload.from_json` and print its rows; they know
no key.

JSON.  :meth:`Payload.to_json` writes the fields in declaration order (the order of the report, docs/json-schema.md);
a field declared with :func:`optional` is left out while it is None (keys that only some claims or strategies have),
every other field is written, None as null.  Nested payloads and tuples of them are written as objects and lists.
:meth:`Payload.from_json` is its inverse on any report this version writes, and reads an older report's payload
with the keys it lacks as None.

This module is light (no numpy, scipy or torch): the renderers import it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

_OMIT = "omit_if_none"
_P = TypeVar("_P", bound="Payload")


def optional(*, default: Any = None) -> Any:
    """A field that the JSON leaves out while it is None (a key that only some payloads of the channel carry)."""
    return dataclasses.field(default=default, metadata={_OMIT: True})


@dataclass(frozen=True)
class ReportRow:
    """One channel's row in the HTML and Markdown reports: what it found, and its resolution (the smallest effect it
    could see)."""

    channel: str
    result: str
    resolution: str


def _to_json(value: Any) -> Any:
    if isinstance(value, Payload):
        return value.to_json()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _nested(hint: Any) -> tuple[type[Payload] | None, bool]:
    """(the payload class a field holds, whether it holds a tuple of them) from its resolved type hint."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in args:
            found = _nested(arg)
            if found[0] is not None:
                return found
        return None, False
    if typing.get_origin(hint) is tuple and args and isinstance(args[0], type) and issubclass(args[0], Payload):
        return args[0], True
    if isinstance(hint, type) and issubclass(hint, Payload):
        return hint, False
    return None, False


@dataclass(frozen=True)
class Payload:
    """Base of the channels' payloads (and of their nested records)."""

    def to_json(self) -> dict[str, Any]:
        """The payload as the JSON report stores it under ``evidence[channel]``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get(_OMIT):
                continue
            out[f.name] = _to_json(value)
        return out

    @classmethod
    def from_json(cls: type[_P], data: dict[str, Any]) -> _P:
        """The payload of a stored report (keys it does not declare are an error; keys it lacks are None)."""
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for name in names:
            value = data.get(name)
            nested, many = _nested(hints[name])
            if nested is not None and value is not None:
                value = tuple(nested.from_json(v) for v in value) if many else nested.from_json(value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class ChannelPayload(Payload):
    """A channel's payload: its name (the report's key), its title in the reports, and its rows."""

    channel: ClassVar[str]
    title: ClassVar[str]
    summary_label: ClassVar[str | None] = None  # how the HTML summary names the channel (None: not named)
    table_heading: ClassVar[str | None] = None  # its column in the Markdown claims table (None: no column)

    def terminal_rows(self) -> list[tuple[str, str]]:
        """(label, text) lines of ``verify --claim ID`` / ``--verbose``."""
        return []

    def report_rows(self) -> list[ReportRow]:
        """Rows of the HTML/Markdown evidence table (``$...$`` math allowed)."""
        return []

    def table_cell(self) -> str:
        """Its cell in the Markdown claims table (for a channel with a ``table_heading``)."""
        return "-"

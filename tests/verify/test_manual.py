"""docs/cli.md holds `verify --help` as the parser prints it (one source for the manual)."""

from __future__ import annotations

from verify.manual import DOC, with_help


def test_the_manual_in_docs_is_the_parsers_help() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert with_help(doc) == doc, "docs/cli.md is stale: run python -m verify.manual --write"

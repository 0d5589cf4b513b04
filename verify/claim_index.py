"""The claim registry's names and statements, read without importing it: ``verify --list`` and the command line's
input checks answer at once.

Importing :mod:`claims.registry` imports every claim module, and with them numpy, scipy and sympy (about 4 s on
a busy 2-core machine).  What ``verify --list``, ``--paper KEY``, ``--claim ID`` and ``--mixture NAME`` need
before any work is much less: each pack's key, default mixture and preset names, and each claim's id, source,
results, statement and scope.  That is written to ``verify/claim_index.json`` by this module, together with a
SHA-256 digest of the ``theory`` and ``claims`` packages' source files; at run time the file is used only while that digest
still matches the sources, else the registry itself is imported (slow, never stale).

Regenerating the file is part of changing a claim's text::

    python -m verify.claim_index --write    # rewrite verify/claim_index.json (atomically)
    python -m verify.claim_index --check    # exit 1 when it differs from the registry

``tests/verify/test_claim_index.py`` fails when the committed file is out of date.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["INDEX_PATH", "ClaimEntry", "PackEntry", "build_index", "default_paper", "index", "is_current", "mixture_presets",
           "pack", "pack_keys", "source_digest"]

INDEX_PATH = Path(__file__).resolve().parent / "claim_index.json"


@dataclass(frozen=True)
class ClaimEntry:
    """What the command line shows and selects by, of one :class:`claims.record.Claim`."""

    id: str
    source: str
    results: tuple[str, ...]
    statement: str
    scope_text: str
    kind: str
    reading: str


@dataclass(frozen=True)
class PackEntry:
    """One claim pack (:class:`claims.record.Paper`): its key, default mixture, own preset names and claims."""

    key: str
    default_mixture: str
    presets: tuple[str, ...]
    claims: tuple[ClaimEntry, ...]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # imports the package's __init__.py only, which loads nothing heavy
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0])


def source_digest() -> str:
    """SHA-256 over the relative paths and bytes of every ``.py`` file of the ``theory`` and ``claims`` packages (the
    mathematics and the claims about it: a change to either may change the index; a few ms)."""
    digest = hashlib.sha256()
    for package in ("theory", "claims"):
        root = _package_dir(package)
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}".encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_index(*, built_in_only: bool = False) -> dict[str, Any]:
    """The index from the registry itself (imports every claim module); ``built_in_only``: the packs shipped with the
    toolkit, as stored in the file (installed packs and ``--pack`` are read from the registry at run time)."""
    from claims.papers import BUILT_IN, DEFAULT_PAPER, PAPERS
    from theory.mixture import PRESET_ALIASES, PRESETS

    packs = {key: {"default_mixture": p.default_mixture, "presets": list(p.presets),
                   "claims": [{"id": c.id, "source": c.source, "results": list(c.results), "statement": c.statement,
                               "scope_text": c.scope_text, "kind": str(c.kind), "reading": c.stated_reading}
                              for c in p.claims]}
             for key, p in PAPERS.items() if key in BUILT_IN or not built_in_only}
    return {"source_digest": source_digest(), "default_paper": DEFAULT_PAPER,
            "mixture_presets": [*PRESETS, *PRESET_ALIASES], "packs": packs}


def _stored() -> dict[str, Any] | None:
    try:
        data = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


PACK_GROUP = "prompt_icl_verify.packs"  # claims.packs.ENTRY_POINT_GROUP (not imported here: it loads numpy)


def _extra_packs() -> bool:
    """Packs the stored file cannot know: installed ones (entry points), or one ``--pack`` registered in this process."""
    import importlib.metadata

    if importlib.metadata.entry_points(group=PACK_GROUP):
        return True
    papers = sys.modules.get("claims.papers")
    return papers is not None and set(papers.PAPERS) != set(papers.BUILT_IN)


@cache
def index() -> dict[str, Any]:
    """The stored index while its digest matches the sources and no other pack is present, else one built from the
    registry (call ``index.cache_clear()`` after registering a pack)."""
    stored = _stored()
    if stored is not None and stored.get("source_digest") == source_digest() and not _extra_packs():
        return stored
    return build_index()


def is_current() -> bool:
    """True when the stored file is what :func:`build_index` gives now for the built-in packs."""
    return _stored() == build_index(built_in_only=True)


def pack_keys() -> tuple[str, ...]:
    return tuple(index()["packs"])


def default_paper() -> str:
    return str(index()["default_paper"])


def pack(key: str) -> PackEntry:
    """The pack ``key`` (KeyError when there is none)."""
    data = index()["packs"][key]
    claims = tuple(ClaimEntry(id=c["id"], source=c["source"], results=tuple(c["results"]), statement=c["statement"],
                              scope_text=c["scope_text"], kind=c["kind"], reading=c["reading"]) for c in data["claims"])
    return PackEntry(key=key, default_mixture=data["default_mixture"], presets=tuple(data["presets"]), claims=claims)


def mixture_presets() -> tuple[str, ...]:
    """:data:`theory.mixture.PRESETS` and its aliases (the names ``load_mixture`` takes besides a file)."""
    return tuple(index()["mixture_presets"])


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m verify.claim_index --write | --check``."""
    import argparse

    from theory.files import write_text_atomic

    parser = argparse.ArgumentParser(prog="python -m verify.claim_index", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help=f"rewrite {INDEX_PATH.name}")
    mode.add_argument("--check", action="store_true", help="exit 1 when the stored index is out of date")
    args = parser.parse_args(argv)
    fresh = build_index(built_in_only=True)
    if args.write:
        write_text_atomic(INDEX_PATH, _text(fresh))
        print(f"wrote {INDEX_PATH}")
        return 0
    if _stored() != fresh:
        print(f"{INDEX_PATH} is out of date: run python -m verify.claim_index --write", file=sys.stderr)
        return 1
    print(f"{INDEX_PATH} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())


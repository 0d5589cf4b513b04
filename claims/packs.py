"""Claim packs from outside the package: a module or package on disk (``verify --pack PATH``) or an installed
distribution that declares one under the entry-point group :data:`ENTRY_POINT_GROUP`.

A pack is a module whose ``PAPER`` is a :class:`claims.record.Paper` (docs/claims.md is the authoring guide, and
``examples/isotropic_pack`` a worked example).  It is imported by its own name, with its parent directory on
``sys.path``, so that the worker processes ``verify`` spawns (the symbolic decisions) import it the same way.

>>> ENTRY_POINT_GROUP
'prompt_icl_verify.packs'
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from claims.record import Paper
from theory.errors import VerifyError

__all__ = ["ENTRY_POINT_GROUP", "entry_point_names", "installed_packs", "load_pack", "register"]

ENTRY_POINT_GROUP = "prompt_icl_verify.packs"


def _paper_of(obj: Any, where: str) -> Paper:
    paper = getattr(obj, "PAPER", obj) if isinstance(obj, ModuleType) else obj
    if not isinstance(paper, Paper):
        raise VerifyError(f"{where}: expected a module with PAPER = claims.record.Paper(...), got {type(paper).__name__}")
    return paper


def load_pack(path: str | Path) -> Paper:
    """The pack at ``path``: a ``.py`` file or a package directory (with ``__init__.py``), imported by its name."""
    p = Path(path)
    if p.is_dir():
        if not (p / "__init__.py").is_file():
            raise VerifyError(f"--pack: {str(p)!r} is a directory without __init__.py (expected a package or a .py file)")
        name, parent = p.resolve().name, p.resolve().parent
    elif p.is_file() and p.suffix == ".py":
        name, parent = p.resolve().stem, p.resolve().parent
    else:
        raise VerifyError(f"--pack: {str(p)!r} is not a .py file or a package directory")
    if not name.isidentifier():
        raise VerifyError(f"--pack: {name!r} is not a Python module name")
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve().parent not in (parent, parent / name):
        raise VerifyError(f"--pack: a module named {name!r} is already imported from elsewhere; rename the pack")
    if str(parent) not in sys.path:
        sys.path.insert(0, str(parent))
    try:
        module = importlib.import_module(name)
    except VerifyError:
        raise
    except Exception as exc:  # the pack's own code failed: one line naming it, not a traceback
        raise VerifyError(f"--pack: importing {str(p)!r} failed: {type(exc).__name__}: {exc}") from None
    return _paper_of(module, f"--pack {str(p)!r}")


def entry_point_names() -> list[str]:
    """The names of the installed packs (cheap: reads the distributions' metadata, imports nothing)."""
    return sorted(ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def installed_packs() -> list[Paper]:
    """Every pack declared under :data:`ENTRY_POINT_GROUP` by an installed distribution."""
    out = []
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:
            raise VerifyError(f"pack {ep.name!r} ({ep.value}): loading failed: {type(exc).__name__}: {exc}") from None
        out.append(_paper_of(obj, f"pack {ep.name!r}"))
    return out


def register(paper: Paper, papers: dict[str, Paper]) -> None:
    """Add ``paper`` to ``papers`` (the registry); a key or a claim id that is already taken is an error."""
    if paper.key in papers:
        if papers[paper.key] is paper:
            return
        raise VerifyError(f"pack {paper.key!r}: the key is already taken by another pack")
    taken = {c.id for p in papers.values() for c in p.claims}
    clash = sorted(taken & set(paper.claim_ids()))
    if clash:
        raise VerifyError(f"pack {paper.key!r}: claim ids already registered by another pack: {', '.join(clash)}")
    ids = paper.claim_ids()
    if len(set(ids)) != len(ids):
        raise VerifyError(f"pack {paper.key!r}: a claim id appears twice")
    papers[paper.key] = paper

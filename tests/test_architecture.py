"""The house rules: packages import one way and in no circle, and no private name crosses a package.

Read from the source with ``ast`` (nothing is imported): every ``import``/``from ... import`` between the five
packages and the modules inside them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "montecarlo", "training", "claims", "verify")
# a package may import only lower layers: the mathematics, sampling and training know nothing of the claims about them
LAYER = {"theory": 0, "montecarlo": 1, "training": 2, "claims": 3, "verify": 4}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for every import of one file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in _sources()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names, _ in _imports(path):
            if target.split(".")[0] not in PACKAGES:
                continue
            # "from pkg import sub" imports the submodule pkg.sub where it exists
            hits = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules] or [target]
            graph[name].update(h for h in hits if h in modules and h != name)
    return graph


def test_no_private_name_crosses_a_package() -> None:
    offences = []
    for path in _sources():
        own = path.relative_to(ROOT).parts[0]
        for target, names, line in _imports(path):
            top = target.split(".")[0]
            if top in PACKAGES and top != own:
                private = [n for n in names if n.startswith("_")] + [p for p in target.split(".") if p.startswith("_")
                                                                     and p != "__init__"]
                if private:
                    offences.append(f"{path.relative_to(ROOT)}:{line} imports {private} from {target}")
    assert offences == []


def test_packages_import_only_lower_layers() -> None:
    offences = []
    for path in _sources():
        own = path.relative_to(ROOT).parts[0]
        for target, _, line in _imports(path):
            top = target.split(".")[0]
            if top in LAYER and LAYER[top] > LAYER[own]:
                offences.append(f"{path.relative_to(ROOT)}:{line} ({own}) imports {target}")
    assert offences == []


def test_no_import_circle_between_modules() -> None:
    """Module-level import graph (imports inside functions included: a lazy import still ties two modules) is acyclic,
    except a package's __init__ re-exporting its own modules."""
    graph = _graph()
    for name in graph:  # a package face importing its children is not a circle
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_lists_its_public_names(package: str) -> None:
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]
    assert "__all__" in names

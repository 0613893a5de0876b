"""No two modules of the project import each other, directly or through others.

The import graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` and ``from … import`` counts, at module level or inside a function, except those
under ``if TYPE_CHECKING:``. A cycle is a strongly connected component of more than one
module; the test names its modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("coverage", "layers", "scenarios", "store", "dashapp", "covplan")


def module_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _runtime_nodes(tree: ast.AST):
    """Every node except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the project modules it imports."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        deps: set[str] = set()
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps.update(r for a in node.names if (r := resolve(a.name)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    target = full if full in mods else resolve(source)
                    if target:
                        deps.add(target)
        deps.discard(mod)
        graph[mod] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_project_has_no_import_cycle():
    found = cycles(import_graph(module_files()))
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(c) for c in found)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("files, expected", [
    # a function-level import closes the circle just as a top-level one does
    ({"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import x\n",
      "pkg/b.py": "def f():\n    from pkg.a import y\n"}, [["pkg.a", "pkg.b"]]),
    # a relative import, three modules round
    ({"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/a.py": "from . import b\n",
      "pkg/sub/b.py": "from pkg.sub.c import z\n", "pkg/sub/c.py": "import pkg.sub.a\n"},
     [["pkg.sub.a", "pkg.sub.b", "pkg.sub.c"]]),
])
def test_detector_finds_a_reintroduced_cycle(tmp_path, files, expected):
    _write(tmp_path, files)
    assert cycles(import_graph(module_files(tmp_path, ("pkg",)))) == expected


def test_detector_ignores_type_checking_and_one_way_imports(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "", "pkg/a.py": "from pkg.b import x\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\nx = 1\n",
        "pkg/c.py": "from pkg import a, b\n",
    })
    assert cycles(import_graph(module_files(tmp_path, ("pkg",)))) == []


def test_detector_would_have_caught_the_old_layout():
    """The cycle this issue removed (rules ↔ measures), rebuilt in the old shape."""
    graph = import_graph(module_files())
    graph["coverage.targets.rows"] = graph["coverage.targets.rows"] | {"coverage.targets.registry"}
    assert ["coverage.targets.measures", "coverage.targets.registry", "coverage.targets.rows",
            "coverage.targets.rules"] in cycles(graph)

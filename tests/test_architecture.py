"""The house rules, enforced: inner layers never import outer ones, the core is pure, no module
import cycle (not even through imports inside functions), no overfull folder."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "sophie"

# Layer -> packages it must never import (outer layers).
FORBIDDEN = {
    "model": ("sophie.rules", "sophie.adapters", "sophie.cli", "sophie.execution", "sophie.plugins.manager", "sophie.notifiers"),
    "rules": ("sophie.adapters", "sophie.cli", "sophie.execution", "sophie.plugins.manager", "sophie.notifiers"),
}
IO_MODULES = ("os", "pathlib", "socket", "sqlite3", "subprocess", "urllib", "http", "shutil", "tempfile", "io", "time")
CLOCK_CALLS = ("now", "today", "utcnow", "time")  # perf_counter for timings is allowed


def modules(layer: str) -> list[Path]:
    return sorted((SRC / layer).rglob("*.py"))


def imported_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_do_not_import_outer_layers(layer: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in modules(layer)
        for name in imported_names(path)
        if name.startswith(FORBIDDEN[layer])
    ]
    assert offenders == []


def test_the_core_does_no_io() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in modules("model")
        for name in imported_names(path)
        if name.split(".")[0] in IO_MODULES
    ]
    assert offenders == []


@pytest.mark.parametrize("layer", ["model", "rules"])
def test_the_core_and_rules_never_read_the_clock(layer: str) -> None:
    offenders = []
    for path in modules(layer):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("datetime", "date", "time")
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


# -- import cycles -------------------------------------------------------------------------

MAX_MODULES_PER_FOLDER = 14
# Grew past the limit when the work of several streams met; regroup next (cli/commands/, language/templates/).
KNOWN_CROWDED: dict[str, int] = {}


def module_name(path: Path, root: Path = SRC) -> str:
    """``src/sophie/rules/evaluation.py`` -> ``sophie.rules.evaluation`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_targets(path: Path, name: str) -> Iterator[str]:
    """Every name ``path`` imports, anywhere in the file (function bodies and ``TYPE_CHECKING`` included).

    ``from pkg import x`` yields ``pkg`` and ``pkg.x`` (the graph keeps the ones that are
    modules); relative imports are resolved against the module's package.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (a module importing its own ancestor is ignored)."""
    paths = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    return {
        name: {
            target
            for target in import_targets(path, name)
            if target in paths and target != name and not name.startswith(target + ".")
        }
        for name, path in paths.items()
    }


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of ``graph`` (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def a_cycle(graph: Mapping[str, set[str]], component: list[str]) -> list[str]:
    """Return one cycle through the first module of ``component``, as a path that ends where it starts."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    following.append(successor)
        frontier = following
    return component  # unreachable for a real component


def cycles(root: Path = SRC) -> list[str]:
    """Describe every import cycle under ``root``: one line per strongly connected component."""
    graph = import_graph(root)
    return [
        " -> ".join(a_cycle(graph, component)) + f" ({len(component)} modules: {', '.join(component)})"
        for component in strongly_connected(graph)
        if len(component) > 1
    ]


def test_no_import_cycles_not_even_inside_functions() -> None:
    assert cycles() == []


def test_the_cycle_check_sees_hidden_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import b\nA = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (package / "c.py").write_text("import pkg\nfrom pkg import a\n")  # pkg is c's ancestor: ignored
    assert cycles(package) == ["pkg.a -> pkg.sub.b -> pkg.c -> pkg.a (3 modules: pkg.a, pkg.c, pkg.sub.b)"]
    (package / "c.py").write_text("import pkg\n")
    assert cycles(package) == []


def test_no_folder_holds_more_than_a_dozen_or_so_modules() -> None:
    """A folder holds at most 14 modules besides its ``__init__`` (the package itself).

    ``KNOWN_CROWDED`` lists folders waiting to be regrouped, with the count they may not
    exceed meanwhile; a folder leaves the list once regrouped.
    """
    crowded = {
        str(folder.relative_to(SRC.parent)): count
        for folder in [SRC, *(path for path in SRC.rglob("*") if path.is_dir())]
        if (count := len([m for m in folder.glob("*.py") if m.name != "__init__.py"])) > MAX_MODULES_PER_FOLDER
    }
    growing = {folder: count for folder, count in crowded.items() if count > KNOWN_CROWDED.get(folder, 0)}
    assert growing == {}
    assert set(KNOWN_CROWDED) <= set(crowded), "a folder was regrouped: drop it from KNOWN_CROWDED"


def test_modules_that_import_plugins_submodules_import_first() -> None:
    """Importing ``sophie.plugins.x`` runs the package's ``__init__``: that must not come back round."""
    graph = import_graph()
    importers = sorted(
        name
        for name, targets in graph.items()
        if not name.startswith("sophie.plugins") and any(t.startswith("sophie.plugins.") for t in targets)
    )
    assert "sophie.notifiers.plugin" in importers
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'sophie' or m.startswith('sophie.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as err:\n"
        "        print(f'import {name} first: {err}')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *importers], capture_output=True, text=True, check=True)
    assert done.stdout == ""

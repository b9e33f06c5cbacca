"""The layering of the package, enforced: inner layers never import outer ones; the core is pure."""

from __future__ import annotations

import ast
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

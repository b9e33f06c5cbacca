"""Finding and loading packs by path or by name, and the pack JSON Schema for editors.

A pack is referred to by a path (``rules/my-pack.yaml``) or by name: the built-in
packs ship in ``sophie/rules/packs/builtin/<name>.yaml``, and plugins may add directories
of their own (passed as ``extra``). A pack's tests may sit beside it in
``<file stem>.tests.yaml``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from sophie.errors import ConfigurationError, UnknownNameError
from sophie.model import SUBJECT_TYPES
from sophie.rules.diagnostics import suggest
from sophie.rules.language.functions import FunctionRegistry
from sophie.rules.packs.compiled_pack import CompiledPack
from sophie.rules.packs.loader import compile_pack
from sophie.rules.packs.pack_schema import PRIORITIES, Pack, PackTestCase
from sophie.rules.packs.yaml_source import read_yaml_file

__all__ = [
    "BUILTIN_PACKS_DIR",
    "PACK_SCHEMA_ID",
    "PACK_TESTS_SCHEMA_ID",
    "available_packs",
    "find_pack",
    "find_tests_file",
    "load_pack",
    "pack_json_schema",
    "pack_tests_json_schema",
    "write_pack_schema",
]

BUILTIN_PACKS_DIR = Path(__file__).resolve().parent / "builtin"
"""Where the built-in packs live."""

PACK_SCHEMA_ID = "urn:sophie:schema:pack:v1"  # a name, not a place: the project owns no web domain
PACK_TESTS_SCHEMA_ID = "urn:sophie:schema:pack-tests:v1"
"""The ``$id`` of the pack JSON Schema (version 1 of the pack format)."""

_SUFFIXES = (".yaml", ".yml")


def _is_tests_file(path: Path) -> bool:
    return path.name.endswith((".tests.yaml", ".tests.yml"))


def available_packs(extra: Mapping[str, Path] | None = None) -> dict[str, Path]:
    """Return every pack known by name: the built-ins, then ``extra`` (e.g. from plugins)."""
    found: dict[str, Path] = {}
    if BUILTIN_PACKS_DIR.is_dir():
        for path in sorted(BUILTIN_PACKS_DIR.iterdir()):
            if path.suffix in _SUFFIXES and not _is_tests_file(path):
                found[path.stem] = path
    found.update(extra or {})
    return found


def find_pack(ref: str | Path, *, extra: Mapping[str, Path] | None = None) -> Path:
    """Return the pack file ``ref`` names: an existing path, or a pack name.

    A directory stands for the one pack file inside it (``pack.yaml`` or ``<dir>.yaml``).

    Raises:
        UnknownNameError: For a name that is neither a file nor a known pack (with a did-you-mean).
        ConfigurationError: For a directory without a pack file.
    """
    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in (path / "pack.yaml", path / f"{path.name}.yaml", path / "pack.yml"):
            if candidate.is_file():
                return candidate
        raise ConfigurationError(f"{path}: no pack.yaml or {path.name}.yaml in this directory")
    known = available_packs(extra)
    name = str(ref)
    if name in known:
        return known[name]
    looks_like_path = os.sep in name or "/" in name or name.endswith(_SUFFIXES)
    kind = "pack file" if looks_like_path else "pack"
    raise UnknownNameError(kind, name, known=sorted(known), suggestion=suggest(name, known))


def find_tests_file(path: Path) -> Path | None:
    """Return the sibling ``<stem>.tests.yaml`` (or ``.tests.yml``) of a pack file, if there is one."""
    for suffix in (".tests.yaml", ".tests.yml"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def load_pack(
    ref: str | Path,
    *,
    functions: FunctionRegistry | None = None,
    extra: Mapping[str, Path] | None = None,
) -> CompiledPack:
    """Find, read, check and compile a pack (with its tests file, if any).

    Args:
        ref: A path to a pack file, or a pack name (``example``).
        functions: The functions rules may call (default: the built-ins).
        extra: More packs by name (e.g. from plugins).

    Raises:
        UnknownNameError: No pack by that name or path.
        RuleError: Every problem of the pack and its tests file, located.
    """
    path = find_pack(ref, extra=extra)
    shown = str(ref) if Path(ref).is_file() else str(path)
    document = read_yaml_file(path, name=shown)
    tests_path = find_tests_file(path)
    tests = None
    if tests_path is not None:
        tests = read_yaml_file(tests_path, name=str(Path(shown).with_name(tests_path.name)))
    return compile_pack(document, tests=tests, functions=functions)


def load_packs(refs: Iterable[str | Path], **options: Any) -> list[CompiledPack]:
    """Load several packs (see :func:`load_pack`)."""
    return [load_pack(ref, **options) for ref in refs]


def pack_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of pack files, for editors (yaml-language-server) and CI.

    It is generated from the pydantic models, so it always matches what ``sophie check``
    accepts structurally; the deeper checks (expressions, roles) need ``sophie check``.
    """
    schema = Pack.model_json_schema(by_alias=True, mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PACK_SCHEMA_ID,
        "title": "sophie rule pack",
        **{key: value for key, value in schema.items() if key != "title"},
    }
    defs = schema.get("$defs", {})
    rule = defs.get("Rule", {}).get("properties", {})
    if "for" in rule:
        rule["for"]["examples"] = [f"{entity}" for entity in SUBJECT_TYPES] + ["treatment_plan as plan"]
    task = defs.get("Task", {}).get("properties", {})
    if "priority" in task:
        task["priority"]["examples"] = list(PRIORITIES)
    return schema


def pack_tests_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of ``<pack>.tests.yaml`` files: a list of tests that each name their rule."""
    schema = TypeAdapter(list[PackTestCase]).json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PACK_TESTS_SCHEMA_ID,
        "title": "sophie rule pack tests",
        **schema,
    }


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sophie" / "schemas"


def write_pack_schema(directory: Path | None = None, *, tests: bool = False) -> Path:
    """Write the pack JSON Schema (or, with ``tests``, the tests-file schema) to a stable file.

    The default is ``$XDG_CACHE_HOME/sophie/schemas/pack.v1.json`` (``pack-tests.v1.json``
    for tests files; ``~/.cache/...`` without XDG). The file is only rewritten when its
    content changes.

    Returns:
        The file's path.
    """
    target = (directory or _cache_dir()) / ("pack-tests.v1.json" if tests else "pack.v1.json")
    schema = pack_tests_json_schema() if tests else pack_json_schema()
    text = json.dumps(schema, indent=2, sort_keys=False) + "\n"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return target

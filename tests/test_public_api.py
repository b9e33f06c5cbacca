"""The curated public API: sorted, documented, and everything in it importable."""

from __future__ import annotations

import inspect

import sophie
import sophie.errors


def test_all_is_sorted_and_complete() -> None:
    assert sophie.__all__ == sorted(sophie.__all__, key=str)
    for name in sophie.__all__:
        assert hasattr(sophie, name), name


def test_every_public_class_and_function_is_documented() -> None:
    undocumented = [
        name
        for name in sophie.__all__
        if (inspect.isclass(getattr(sophie, name)) or inspect.isfunction(getattr(sophie, name)))
        and not inspect.getdoc(getattr(sophie, name))
    ]
    assert undocumented == []


def test_every_error_is_a_sophie_error_and_exported() -> None:
    errors = [
        obj for _, obj in inspect.getmembers(sophie.errors, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == "sophie"
    ]
    assert len(errors) >= 10
    for error in errors:
        assert issubclass(error, sophie.SophieError)
        assert getattr(sophie, error.__name__) is error


def test_errors_inherit_the_builtins_callers_expect() -> None:
    assert issubclass(sophie.SnapshotError, ValueError)
    assert issubclass(sophie.RuleError, ValueError)
    assert issubclass(sophie.UnknownNameError, LookupError)
    assert issubclass(sophie.IntegrityError, sophie.SnapshotError)


def test_what_an_embedder_needs_is_exported() -> None:
    for name in ("Action", "ActionResult", "AuditEvent", "EvidenceLine", "apply_action", "evidence_lines",
                 "load_config", "open_ledger"):  # fmt: skip
        assert name in sophie.__all__, name


def test_the_task_docstring_describes_its_fields() -> None:
    doc = inspect.getdoc(sophie.Task) or ""
    fields = [name for name in sophie.Task.__dataclass_fields__ if name not in doc]
    assert fields == []
    assert '{"type": ..., "id": ...}' in doc


def test_the_error_tree_drawn_in_the_embedding_docs_is_the_real_one() -> None:
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "embedding.md").read_text(encoding="utf-8")
    drawn = page.split("## Errors", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    parents: list[str] = []
    seen = set()
    for line in drawn.splitlines():
        name = line.lstrip("│├└─ ").split()[0]
        depth = (len(line) - len(line.lstrip("│├└─ "))) // 4
        parents[depth:] = [name]
        error = getattr(sophie, name)
        if depth:
            assert getattr(sophie, parents[depth - 1]) in error.__bases__, name
        builtins = {base.__name__ for base in error.__bases__ if base.__module__ == "builtins" and base is not Exception}
        assert builtins == ({line.split("(", 1)[1].split(")", 1)[0]} if "(" in line else set()), name
        seen.add(error)
    everything = {obj for _, obj in inspect.getmembers(sophie.errors, inspect.isclass)
                  if isinstance(obj, type) and issubclass(obj, sophie.SophieError)}  # fmt: skip
    assert seen == everything

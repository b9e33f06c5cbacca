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

"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapshot_data import EXAMPLE_SNAPSHOT


@pytest.fixture
def example_snapshot_path() -> Path:
    return EXAMPLE_SNAPSHOT


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request, tmp_path):
    """A ``--db`` URL for a fresh, empty ledger: a SQLite file, or a PostgreSQL schema of its own."""
    from ledger_stores import store_url

    with store_url(request.param, tmp_path) as url:
        yield url
@pytest.fixture(autouse=True)
def _no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ledgers in tests use the plain audit chain unless a test sets ``SOPHIE_AUDIT_KEY`` itself."""
    monkeypatch.delenv("SOPHIE_AUDIT_KEY", raising=False)

"""Opening the ledger a ``--db`` URL names: SQLite for one practice, PostgreSQL for a group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sophie.errors import ConfigurationError
from sophie.execution.stores.ledger import StoredLedger, is_postgres_url, sqlite_path
from sophie.execution.stores.sqlite.ledger import SqliteLedger

__all__ = ["open_existing_ledger", "open_ledger"]


def open_ledger(
    url: str,
    *,
    statement_hook: Callable[[str], None] | None = None,
    audit_key: bytes | Literal["environment"] | None = "environment",
) -> StoredLedger:
    """Open (creating and migrating if needed) the ledger a ``--db`` URL names.

    Raises:
        ConfigurationError: The URL is malformed, or names PostgreSQL without the
            ``[postgres]`` extra installed.
        LedgerError: The store cannot be opened.
    """
    if is_postgres_url(url):
        try:
            from sophie.execution.stores.postgres.ledger import PostgresLedger
        except ImportError as err:  # pragma: no cover - depends on the installed extras
            raise ConfigurationError("a postgresql:// ledger needs psycopg: pip install 'sophie[postgres]'") from err
        return PostgresLedger(url.strip(), statement_hook=statement_hook, audit_key=audit_key)
    return SqliteLedger(sqlite_path(url), statement_hook=statement_hook, audit_key=audit_key)


def open_existing_ledger(url: str) -> StoredLedger:
    """Open a ledger that must already exist (a SQLite file not found is a configuration error).

    Raises:
        ConfigurationError: No ledger file at the path (or a bad URL).
        LedgerError: The store cannot be opened.
    """
    if not is_postgres_url(url):
        path = sqlite_path(url)
        if path != ":memory:" and not Path(path).is_file():
            raise ConfigurationError(f"no ledger at {path}; run `sophie run` first, or pass --db")
    return open_ledger(url)

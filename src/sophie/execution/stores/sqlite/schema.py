"""Migrating a SQLite ledger: the shared steps, with the version in ``PRAGMA user_version``.

The steps a ledger lacks run in one ``BEGIN IMMEDIATE`` transaction that also sets
``user_version``; a process that finds the schema older than it knows upgrades it, one
that finds it newer refuses to touch it.
"""

from __future__ import annotations

import sqlite3

from sophie.errors import LedgerError
from sophie.execution.stores.migrations import Dialect, pending, run_statement
from sophie.execution.stores.schema import LATEST_VERSION, OPEN_SQL, STEPS, WATCHED_SQL

__all__ = ["LATEST_VERSION", "OPEN_SQL", "WATCHED_SQL", "migrate"]


def migrate(connection: sqlite3.Connection, *, path: str) -> int:
    """Bring the schema up to :data:`LATEST_VERSION`; return the version found.

    Safe when several processes open a new ledger at once: the version is re-read inside
    the write transaction.

    Raises:
        LedgerError: The ledger was written by a newer sophie, or is not a sophie ledger.
    """
    found = _version(connection, path)
    if found == LATEST_VERSION:
        return found
    connection.execute("BEGIN IMMEDIATE")
    try:
        found = _version(connection, path)
        for statement in pending(STEPS, found, Dialect.SQLITE):
            run_statement(connection, statement)
        connection.execute(f"PRAGMA user_version = {LATEST_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return found


def _version(connection: sqlite3.Connection, path: str) -> int:
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > LATEST_VERSION:
        raise LedgerError(
            f"{path}: ledger schema version {version} is newer than this sophie understands "
            f"({LATEST_VERSION}); upgrade sophie"
        )
    if version == 0:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise LedgerError(f"{path}: not a sophie ledger (it has tables but no sophie schema version)")
    return version

"""Migrating a PostgreSQL ledger: the shared steps, with the version in the ``sophie_schema`` table.

The steps a ledger lacks run in one transaction that holds an advisory lock (so workers
starting together migrate once) and records the new version; a ledger whose version is
newer than this sophie knows is refused, untouched. Everything lives in the connection's
current schema (``search_path``), so one database can hold several ledgers.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

from sophie.errors import LedgerError
from sophie.execution.stores.migrations import Dialect, pending, run_statement
from sophie.execution.stores.schema import LATEST_VERSION, STEPS

__all__ = ["MIGRATION_LOCK", "migrate"]

MIGRATION_LOCK = 0x50_50_48_49_45_00_01
"""The advisory lock key held while migrating (any constant no other tool uses)."""


def migrate(connection: psycopg.Connection[Any], *, where: str) -> int:
    """Bring the schema up to :data:`LATEST_VERSION`; return the version found.

    Raises:
        LedgerError: The ledger was written by a newer sophie, or the schema holds a
            ``task`` table that is not a sophie ledger's.
    """
    found = _version(connection, where)
    if found == LATEST_VERSION:
        return found
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        found = _version(connection, where)
        if found == 0:
            connection.execute("CREATE TABLE IF NOT EXISTS sophie_schema (version INTEGER NOT NULL)")
        for statement in pending(STEPS, found, Dialect.POSTGRES):
            run_statement(connection, statement)
        connection.execute("DELETE FROM sophie_schema")
        connection.execute("INSERT INTO sophie_schema (version) VALUES (%s)", (LATEST_VERSION,))
    return found


def _version(connection: psycopg.Connection[Any], where: str) -> int:
    cursor = connection.cursor(row_factory=tuple_row)
    names = {
        row[0]
        for row in cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name IN ('sophie_schema', 'task')"
        )
    }
    if "sophie_schema" not in names:
        if "task" in names:
            raise LedgerError(f"{where}: not a sophie ledger (it has a task table but no sophie schema version)")
        return 0
    row = cursor.execute("SELECT max(version) FROM sophie_schema").fetchone()
    version = int(row[0] or 0) if row is not None else 0
    if version > LATEST_VERSION:
        raise LedgerError(
            f"{where}: ledger schema version {version} is newer than this sophie understands "
            f"({LATEST_VERSION}); upgrade sophie"
        )
    return version

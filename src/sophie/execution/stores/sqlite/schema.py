"""Migrating a SQLite ledger: the shared steps, with the version in ``PRAGMA user_version``.

The steps a ledger lacks (SQL statements, or functions given the connection) run in one
``BEGIN IMMEDIATE`` transaction that also sets ``user_version``; a process that finds the
schema older than it knows upgrades it, one that finds it newer refuses to touch it. Foreign
keys are off while migrating (a table rebuild drops and renames a referenced table) and
checked before the commit.

The guards (the triggers that keep audit events append-only and the index that keeps one
open task per key) are checked on every open: one found dropped or altered is put back
and the repair is noted in ``ledger_meta``, where ``sophie ledger verify`` reports it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from sophie.errors import LedgerError
from sophie.execution.stores.integrity import RESTORED_PREFIX
from sophie.execution.stores.migrations import Dialect, pending, run_statement
from sophie.execution.stores.schema import DAY_SQL, LATEST_VERSION, OPEN_KEY_INDEX, OPEN_SQL, STEPS, WATCHED_SQL

__all__ = [
    "DAY_SQL",
    "GUARDS",
    "LATEST_VERSION",
    "OPEN_SQL",
    "RESTORED_PREFIX",
    "WATCHED_SQL",
    "damaged_guards",
    "migrate",
    "restore_guards",
]

_NO_UPDATE_TRIGGER = """CREATE TRIGGER task_event_append_only_update BEFORE UPDATE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"""
_NO_DELETE_TRIGGER = """CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"""

GUARDS: Mapping[str, tuple[str, str]] = {
    "task_event_append_only_update": ("trigger", _NO_UPDATE_TRIGGER),
    "task_event_append_only_delete": ("trigger", _NO_DELETE_TRIGGER),
    "task_open_key": ("index", OPEN_KEY_INDEX),
}
"""The schema objects that enforce the ledger's guarantees: name -> (type, statement)."""



def migrate(connection: sqlite3.Connection, *, path: str, now: str) -> int:
    """Bring the schema up to :data:`LATEST_VERSION` and put back damaged guards.

    Safe when several processes open a new ledger at once: the version is re-read inside
    the write transaction.

    Args:
        connection: The ledger's connection (autocommit mode).
        path: The file, for messages.
        now: The time to note a guard repair at (UTC ISO 8601).

    Returns:
        The schema version found.

    Raises:
        LedgerError: The ledger was written by a newer sophie, or is not a sophie ledger.
    """
    found = _version(connection, path)
    if found != LATEST_VERSION:
        _upgrade(connection, path)
    restore_guards(connection, now=now)
    return found


def _upgrade(connection: sqlite3.Connection, path: str) -> None:
    keys = int(connection.execute("PRAGMA foreign_keys").fetchone()[0])
    connection.execute("PRAGMA foreign_keys = OFF")  # only takes effect outside a transaction
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = _version(connection, path)
            for statement in pending(STEPS, found, Dialect.SQLITE):
                run_statement(connection, statement)
            if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise LedgerError(f"{path}: migration left rows pointing at missing tasks")
            connection.execute(f"PRAGMA user_version = {LATEST_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    finally:
        connection.execute(f"PRAGMA foreign_keys = {'ON' if keys else 'OFF'}")


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split())


def damaged_guards(connection: sqlite3.Connection) -> dict[str, str]:
    """Return the guards that are missing or differ from the schema: name -> ``missing``/``altered``."""
    found = {
        name: sql
        for name, sql in connection.execute(
            f"SELECT name, sql FROM sqlite_master WHERE name IN ({', '.join('?' * len(GUARDS))})", tuple(GUARDS)
        )
    }
    damaged = {}
    for name, (_, statement) in GUARDS.items():
        if name not in found:
            damaged[name] = "missing"
        elif _normal(found[name]) != _normal(statement):
            damaged[name] = "altered"
    return damaged


def restore_guards(connection: sqlite3.Connection, *, now: str) -> list[str]:
    """Put back the guards that were dropped or altered; return their names.

    Each repair is noted in ``ledger_meta`` (``guard_restored:<name>`` = ``now``). A guard
    that cannot be put back is left for ``sophie ledger verify`` to report: the unique
    index when two open tasks already share a key, anything when the file is read-only.
    """
    if not damaged_guards(connection):
        return []
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # read-only file or a busy writer: leave it to verify
        return []
    restored = []
    try:
        for name in damaged_guards(connection):
            kind, statement = GUARDS[name]
            connection.execute("SAVEPOINT guard")
            try:
                connection.execute(f"DROP {kind.upper()} IF EXISTS {name}")
                connection.execute(statement)
            except sqlite3.IntegrityError:  # two open tasks share a key: verify names them
                connection.execute("ROLLBACK TO guard")
                continue
            finally:
                connection.execute("RELEASE guard")
            connection.execute(
                "INSERT INTO ledger_meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (RESTORED_PREFIX + name, now),
            )
            restored.append(name)
        connection.execute("COMMIT")
    except sqlite3.OperationalError:  # read-only file: leave it to verify
        connection.execute("ROLLBACK")
        return []
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return restored


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

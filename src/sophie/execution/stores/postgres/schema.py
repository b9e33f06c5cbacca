"""Migrating a PostgreSQL ledger: the shared steps, with the version in the ``sophie_schema`` table.

The steps a ledger lacks run in one transaction that holds an advisory lock (so workers
starting together migrate once) and records the new version; a ledger whose version is
newer than this sophie knows is refused, untouched. Everything lives in the connection's
current schema (``search_path``), so one database can hold several ledgers.

The guards (the function and triggers that keep audit events append-only, and the index
that keeps one open task per key) are checked on every open against the server's
catalog: one found dropped, disabled or altered is put back and the repair is noted in
``ledger_meta``, where ``sophie ledger verify`` reports it. A role that may not put it
back (or two open tasks sharing a key, for the index) leaves it for verify to report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from sophie.errors import LedgerError
from sophie.execution.stores.integrity import RESTORED_PREFIX
from sophie.execution.stores.migrations import Dialect, pending, run_statement
from sophie.execution.stores.postgres.connection import LEDGER_LOCK_SQL
from sophie.execution.stores.schema import LATEST_VERSION, OPEN_KEY_INDEX, OPEN_SQL, PG_APPEND_ONLY, STEPS

__all__ = ["GUARDS", "MIGRATION_LOCK", "damaged_guards", "migrate", "restore_guards"]

_FUNCTION = "task_event_append_only"
GUARDS: Mapping[str, tuple[str, str]] = {
    **{name: ("function" if name == _FUNCTION else "trigger", sql) for name, sql in PG_APPEND_ONLY.items()},
    "task_open_key": ("index", OPEN_KEY_INDEX),
}
"""The schema objects that enforce the ledger's guarantees: name -> (type, statement)."""

_FUNCTION_BODY = "BEGIN RAISE EXCEPTION 'audit events are append-only'; END"
_STATUS_ARRAY = ", ".join(f"'{status}'::text" for status in re.findall(r"'(\w+)'", OPEN_SQL))
_INDEX_DEF = (
    f"CREATE UNIQUE INDEX task_open_key ON task USING btree (key) WHERE (status = ANY (ARRAY[{_STATUS_ARRAY}]))"
)

MIGRATION_LOCK = 1
"""The advisory lock (of the ledger's schema) held while migrating or putting guards back."""


def migrate(connection: psycopg.Connection[Any], *, where: str, now: str) -> int:
    """Bring the schema up to :data:`LATEST_VERSION` and put back damaged guards; return the version found.

    Args:
        connection: The ledger's connection (autocommit).
        where: The server, for messages.
        now: The time to note a guard repair at (UTC ISO 8601).

    Raises:
        LedgerError: The ledger was written by a newer sophie, or the schema holds a
            ``task`` table that is not a sophie ledger's.
    """
    found = _version(connection, where)
    if found != LATEST_VERSION:
        _upgrade(connection, where)
    restore_guards(connection, now=now)
    return found


def _upgrade(connection: psycopg.Connection[Any], where: str) -> None:
    with connection.transaction():
        connection.execute(LEDGER_LOCK_SQL, (MIGRATION_LOCK,))
        found = _version(connection, where)
        if found == 0:
            connection.execute("CREATE TABLE IF NOT EXISTS sophie_schema (version INTEGER NOT NULL)")
        for statement in pending(STEPS, found, Dialect.POSTGRES):
            run_statement(connection, statement)
        connection.execute("DELETE FROM sophie_schema")
        connection.execute("INSERT INTO sophie_schema (version) VALUES (%s)", (LATEST_VERSION,))


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split())


def damaged_guards(connection: psycopg.Connection[Any]) -> dict[str, str]:
    """Return the guards that are missing or differ from the schema: name -> ``missing``/``altered``.

    A trigger that is disabled (``ALTER TABLE ... DISABLE TRIGGER``) counts as altered.
    """
    cursor = connection.cursor(row_factory=tuple_row)
    found: dict[str, str] = {}
    for name, enabled, definition in cursor.execute(
        "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = 'task_event' AND c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
    ):
        text = re.sub(r" ON \S+\.task_event ", " ON task_event ", str(definition))
        text = re.sub(r"EXECUTE FUNCTION \S+\.(task_event_append_only)\(", r"EXECUTE FUNCTION \1(", text)
        found[str(name)] = text if enabled in ("O", "A") else "(disabled)"
    for body, language in cursor.execute(
        "SELECT p.prosrc, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
        "WHERE p.proname = %s AND p.pronamespace = current_schema()::regnamespace",
        (_FUNCTION,),
    ):
        found[_FUNCTION] = _normal(str(body)) if language == "plpgsql" else "(another language)"
    for definition, valid in cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'task_open_key' AND c.relnamespace = current_schema()::regnamespace"
    ):
        text = re.sub(r" ON \S+\.task USING ", " ON task USING ", str(definition))
        found["task_open_key"] = text if valid else "(invalid)"
    damaged = {}
    for name, (kind, statement) in GUARDS.items():
        expected = _FUNCTION_BODY if kind == "function" else _INDEX_DEF if kind == "index" else _normal(statement)
        if name not in found:
            damaged[name] = "missing"
        elif found[name] != expected:
            damaged[name] = "altered"
    return damaged


def restore_guards(connection: psycopg.Connection[Any], *, now: str) -> list[str]:
    """Put back the guards that were dropped, disabled or altered; return their names.

    Each repair is noted in ``ledger_meta`` (``guard_restored:<name>`` = ``now``). A guard
    that cannot be put back is left for ``sophie ledger verify`` to report: the unique
    index when two open tasks already share a key, anything the role may not change.
    """
    if not damaged_guards(connection):
        return []
    restored: list[str] = []
    try:
        with connection.transaction():
            connection.execute(LEDGER_LOCK_SQL, (MIGRATION_LOCK,))
            for name in damaged_guards(connection):  # again, now that no one else is repairing
                kind, statement = GUARDS[name]
                try:
                    with connection.transaction():  # a savepoint: one guard that cannot come back spoils no other
                        if kind == "function":
                            connection.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
                        elif kind == "trigger":
                            connection.execute(f"DROP TRIGGER IF EXISTS {name} ON task_event")
                            connection.execute(statement)
                        else:
                            connection.execute(f"DROP INDEX IF EXISTS {name}")
                            connection.execute(statement)
                except psycopg.errors.UniqueViolation:  # two open tasks share a key: verify names them
                    continue
                connection.execute(
                    "INSERT INTO ledger_meta (name, value) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (RESTORED_PREFIX + name, now),
                )
                restored.append(name)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):  # leave it to verify
        return []
    return restored


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

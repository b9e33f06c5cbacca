"""The SQLite ledger's schema, as numbered migrations (``PRAGMA user_version``).

Each migration is a list of steps (SQL statements, or functions given the connection)
run in one ``BEGIN IMMEDIATE`` transaction that also sets ``user_version``; a process that
finds the schema older than it knows upgrades it, one that finds it newer refuses to touch
it. Foreign keys are off while migrating (a table rebuild drops and renames a referenced
table) and checked before the commit.

The guards (the triggers that keep audit events append-only and the index that keeps one
open task per key) are checked on every open: one found dropped or altered is put back
and the repair is noted in ``ledger_meta``, where ``sophie ledger verify`` reports it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping

from sophie.errors import LedgerError

__all__ = [
    "DAY_SQL",
    "GUARDS",
    "LATEST_VERSION",
    "MIGRATIONS",
    "OPEN_SQL",
    "RESTORED_PREFIX",
    "WATCHED_SQL",
    "damaged_guards",
    "migrate",
    "restore_guards",
]

_OPEN_SQL_V1 = "status IN ('open', 'acknowledged', 'snoozed', 'blocked')"

OPEN_SQL = "status IN ('open', 'acknowledged', 'snoozed', 'blocked', 'backlog')"
"""The SQL predicate of an open-ish task (the partial unique index repeats it)."""

DAY_SQL = _OPEN_SQL_V1
"""The SQL predicate of a task in its owner's day (open-ish, not in the backlog)."""

WATCHED_SQL = f"({OPEN_SQL} OR (status = 'done' AND verified_at IS NULL))"
"""Tasks reconcile follows: open-ish ones and done ones awaiting confirmation."""

_OPEN_KEY_INDEX = f"CREATE UNIQUE INDEX task_open_key ON task (key) WHERE {OPEN_SQL}"
_NO_UPDATE_TRIGGER = """CREATE TRIGGER task_event_append_only_update BEFORE UPDATE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"""
_NO_DELETE_TRIGGER = """CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"""

GUARDS: Mapping[str, tuple[str, str]] = {
    "task_event_append_only_update": ("trigger", _NO_UPDATE_TRIGGER),
    "task_event_append_only_delete": ("trigger", _NO_DELETE_TRIGGER),
    "task_open_key": ("index", _OPEN_KEY_INDEX),
}
"""The schema objects that enforce the ledger's guarantees: name -> (type, statement)."""

RESTORED_PREFIX = "guard_restored:"
"""``ledger_meta`` names ``guard_restored:<guard>`` hold when a guard was last put back."""

_WATCHED_SQL_V1 = f"({_OPEN_SQL_V1} OR (status = 'done' AND verified_at IS NULL))"

Step = str | Callable[[sqlite3.Connection], None]

_V1 = (
    """
    CREATE TABLE task (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        practice_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        pack TEXT NOT NULL,
        rule_version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        patient_id TEXT,
        title TEXT NOT NULL,
        owner_role TEXT,
        owner_id TEXT,
        priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        status TEXT NOT NULL CHECK (status IN
            ('open', 'acknowledged', 'snoozed', 'blocked', 'done', 'resolved', 'expired', 'cancelled')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        escalation_level INTEGER NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
        snoozed_until TEXT,
        blocked_since TEXT,
        blocked_until TEXT,
        blocked_reason TEXT,
        blocked_seconds REAL NOT NULL DEFAULT 0,
        done_at TEXT,
        verified_at TEXT,
        resolved_at TEXT,
        resolution TEXT,
        expires_at TEXT,
        reopen_count INTEGER NOT NULL DEFAULT 0,
        evidence_json TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        timezone TEXT NOT NULL
    )
    """,
    f"CREATE UNIQUE INDEX task_open_key ON task (key) WHERE {_OPEN_SQL_V1}",
    f"CREATE INDEX task_watched ON task (practice_id) WHERE {_WATCHED_SQL_V1}",
    f"CREATE INDEX task_open_owner ON task (owner_id) WHERE {_OPEN_SQL_V1}",
    """
    CREATE TABLE task_event (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES task (id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        why TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        rule_version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        data_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )
    """,
    "CREATE INDEX task_event_task ON task_event (task_id, seq)",
    _NO_UPDATE_TRIGGER,
    _NO_DELETE_TRIGGER,
    """
    CREATE TABLE outbox (
        key TEXT PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES task (id),
        recipient_id TEXT,
        kind TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        not_before TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_until TEXT,
        sent_at TEXT,
        last_error TEXT
    )
    """,
    "CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL",
    """
    CREATE TABLE practice (
        id TEXT PRIMARY KEY,
        settings_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE assignment_cursor (
        practice_id TEXT NOT NULL,
        role TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        PRIMARY KEY (practice_id, role)
    )
    """,
    """
    CREATE TABLE cycle (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        practice_id TEXT NOT NULL,
        at TEXT NOT NULL,
        complete INTEGER NOT NULL,
        findings INTEGER NOT NULL,
        summary_json TEXT NOT NULL
    )
    """,
)

_V2 = (
    # Delivery state for the notification worker: dead letters, and the channels that
    # already accepted a row (so a retry never repeats a channel that succeeded).
    "ALTER TABLE outbox ADD COLUMN dead_at TEXT",
    "ALTER TABLE outbox ADD COLUMN delivered_json TEXT NOT NULL DEFAULT '[]'",
    "DROP INDEX IF EXISTS outbox_pending",
    "CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL AND dead_at IS NULL",
)

_V3 = (
    # Facts about the ledger itself: the audit chain's scheme and key check, guard repairs.
    "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

_EVENT_TIME_INDEX = (
    # The staff pages and ``sophie report`` read events by time (escalated since yesterday,
    # a year of scorecard).
    "CREATE INDEX IF NOT EXISTS task_event_at ON task_event (at)",
    f"CREATE INDEX IF NOT EXISTS task_open_due ON task (due_at) WHERE {OPEN_SQL}",
    f"CREATE INDEX IF NOT EXISTS task_open_role ON task (owner_role) WHERE {OPEN_SQL}",
    "CREATE INDEX IF NOT EXISTS task_subject_due ON task (subject_type, due_at)",
)


def _allow_backlog(connection: sqlite3.Connection) -> None:
    """Rebuild the task table so its status may be ``backlog``, backlog counting as open-ish.

    SQLite cannot alter a CHECK constraint, so the table is copied into one whose definition
    is the current one with ``'backlog'`` added (columns added by other migrations are kept),
    and its indexes are made again with ``backlog`` in their open-ish predicates.
    """
    (table_sql,) = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'task'").fetchone()
    indexes = [
        str(sql)
        for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task' AND sql IS NOT NULL"
        )
    ]
    new_sql, found = re.subn(r"'cancelled'\)", "'cancelled', 'backlog')", str(table_sql), count=1)
    if not found:
        raise LedgerError("the task table has no status constraint this migration knows")
    connection.execute(re.sub(r"^\s*CREATE TABLE task\b", "CREATE TABLE task_next", new_sql, count=1))
    connection.execute("INSERT INTO task_next SELECT * FROM task")
    connection.execute("DROP TABLE task")
    connection.execute("ALTER TABLE task_next RENAME TO task")
    for sql in indexes:
        connection.execute(sql.replace(_OPEN_SQL_V1, OPEN_SQL))


_BACKLOG: tuple[Step, ...] = (
    # Capacity: a task beyond its owner's capacity waits with status 'backlog' (open-ish).
    _allow_backlog,
    "CREATE INDEX IF NOT EXISTS task_backlog_owner ON task (owner_id) WHERE status = 'backlog'",
)

_GROUPS = (
    # Groups: a task stands for every subject of its rule whose key template rendered the
    # same text. ``members_json`` lists them as ``[[subject_id, patient_id], ...]``; ``[]``
    # (every task written before) is a task about its subject alone. Keys are unchanged:
    # ``practice:rule:subject_type:<rendered key>`` is what they already were for a rule
    # without a key template (the subject id) and for one whose key names the subject id.
    "ALTER TABLE task ADD COLUMN members_json TEXT NOT NULL DEFAULT '[]'",
)

_OWNER_LOADS: tuple[Step, ...] = (
    # The board's load per person (open, overdue, due today, backlog) read from one covering index.
    f"CREATE INDEX IF NOT EXISTS task_open_owner_load ON task (owner_id, status, due_at) WHERE {OPEN_SQL}",
)

MIGRATIONS: tuple[tuple[Step, ...], ...] = (_V1, _V2, _V3, _EVENT_TIME_INDEX, _BACKLOG, _GROUPS, _OWNER_LOADS)
"""Migration ``n`` (1-based) brings the schema from version ``n - 1`` to ``n``."""

LATEST_VERSION = len(MIGRATIONS)
"""The schema version this sophie writes."""


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
            for number in range(found + 1, LATEST_VERSION + 1):
                for step in MIGRATIONS[number - 1]:
                    if isinstance(step, str):
                        connection.execute(step)
                    else:
                        step(connection)
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

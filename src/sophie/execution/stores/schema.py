"""The ledger's schema, as migration steps written for SQLite and for PostgreSQL.

Both stores hold the same tables, columns and indexes; times are UTC ISO 8601 text with
microseconds in both (so they sort, and a row reads back identically from either store).
Only what the dialects spell differently differs: identity columns, the append-only
triggers, floating-point types.
"""

from __future__ import annotations

import re
from typing import Any

from sophie.errors import LedgerError
from sophie.execution.stores.migrations import Step, check_steps

__all__ = ["DAY_SQL", "LATEST_VERSION", "OPEN_KEY_INDEX", "OPEN_SQL", "PG_APPEND_ONLY", "STEPS", "WATCHED_SQL"]

_OPEN_SQL_V1 = "status IN ('open', 'acknowledged', 'snoozed', 'blocked')"

OPEN_SQL = "status IN ('open', 'acknowledged', 'snoozed', 'blocked', 'backlog')"
"""The SQL predicate of an open-ish task (the partial unique index repeats it)."""

DAY_SQL = _OPEN_SQL_V1
"""The SQL predicate of a task in its owner's day (open-ish, not in the backlog)."""

WATCHED_SQL = f"({OPEN_SQL} OR (status = 'done' AND verified_at IS NULL))"
"""Tasks reconcile follows: open-ish ones and done ones awaiting confirmation."""

OPEN_KEY_INDEX = f"CREATE UNIQUE INDEX task_open_key ON task (key) WHERE {OPEN_SQL}"
"""The index that keeps one open-ish task per key (a guard the stores check on open)."""

_WATCHED_SQL_V1 = f"({_OPEN_SQL_V1} OR (status = 'done' AND verified_at IS NULL))"


def _task_table(seconds_type: str) -> str:
    return f"""
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
        blocked_seconds {seconds_type} NOT NULL DEFAULT 0,
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
    """


def _event_table(seq: str) -> str:
    return f"""
    CREATE TABLE task_event (
        seq {seq},
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
    """


_OUTBOX = """
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
    """
_PRACTICE = "CREATE TABLE practice (id TEXT PRIMARY KEY, settings_json TEXT NOT NULL, updated_at TEXT NOT NULL)"
_CURSOR = """
    CREATE TABLE assignment_cursor (
        practice_id TEXT NOT NULL,
        role TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        PRIMARY KEY (practice_id, role)
    )
    """


def _cycle_table(id_column: str) -> str:
    return f"""
    CREATE TABLE cycle (
        id {id_column},
        practice_id TEXT NOT NULL,
        at TEXT NOT NULL,
        complete INTEGER NOT NULL,
        findings INTEGER NOT NULL,
        summary_json TEXT NOT NULL
    )
    """


_INDEXES = (
    f"CREATE UNIQUE INDEX task_open_key ON task (key) WHERE {_OPEN_SQL_V1}",
    f"CREATE INDEX task_watched ON task (practice_id) WHERE {_WATCHED_SQL_V1}",
    f"CREATE INDEX task_open_owner ON task (owner_id) WHERE {_OPEN_SQL_V1}",
)
_SQLITE_SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"
_PG_SERIAL = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

PG_APPEND_ONLY = {
    "task_event_append_only": """
        CREATE FUNCTION task_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$
        """,
    "task_event_append_only_update": """
        CREATE TRIGGER task_event_append_only_update BEFORE UPDATE ON task_event
        FOR EACH ROW EXECUTE FUNCTION task_event_append_only()
        """,
    "task_event_append_only_delete": """
        CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event
        FOR EACH ROW EXECUTE FUNCTION task_event_append_only()
        """,
    "task_event_append_only_truncate": """
        CREATE TRIGGER task_event_append_only_truncate BEFORE TRUNCATE ON task_event
        FOR EACH STATEMENT EXECUTE FUNCTION task_event_append_only()
        """,
}
"""PostgreSQL's append-only guard of the audit events: a function that refuses, and the
triggers that call it on update, delete and truncate (name -> statement)."""

_V1 = Step(
    1,
    "tasks, the hash-chained append-only audit trail, the outbox, practices, cursors, cycles",
    sqlite=(
        _task_table("REAL"),
        *_INDEXES,
        _event_table(_SQLITE_SERIAL),
        "CREATE INDEX task_event_task ON task_event (task_id, seq)",
        """
        CREATE TRIGGER task_event_append_only_update BEFORE UPDATE ON task_event
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
        """
        CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
        """,
        _OUTBOX,
        "CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL",
        _PRACTICE,
        _CURSOR,
        _cycle_table(_SQLITE_SERIAL),
    ),
    postgres=(
        _task_table("DOUBLE PRECISION"),
        *_INDEXES,
        _event_table(_PG_SERIAL),
        "CREATE INDEX task_event_task ON task_event (task_id, seq)",
        *PG_APPEND_ONLY.values(),
        _OUTBOX,
        "CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL",
        _PRACTICE,
        _CURSOR,
        _cycle_table(_PG_SERIAL),
    ),
)

_V2_BOTH = (
    # Delivery state for the notification worker: dead letters, and the channels that
    # already accepted a row (so a retry never repeats a channel that succeeded).
    "ALTER TABLE outbox ADD COLUMN dead_at TEXT",
    "ALTER TABLE outbox ADD COLUMN delivered_json TEXT NOT NULL DEFAULT '[]'",
    "DROP INDEX IF EXISTS outbox_pending",
    "CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL AND dead_at IS NULL",
)
_V2 = Step(2, "outbox delivery state: dead letters, channels delivered", sqlite=_V2_BOTH, postgres=_V2_BOTH)

_V3_BOTH = (
    # Facts about the ledger itself: the audit chain's scheme and key check, guard repairs.
    "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_V3 = Step(3, "ledger_meta: the audit chain's scheme and key check, guard repairs", sqlite=_V3_BOTH, postgres=_V3_BOTH)

_OPEN_TIME_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS task_open_due ON task (due_at) WHERE {OPEN_SQL}",
    f"CREATE INDEX IF NOT EXISTS task_open_role ON task (owner_role) WHERE {OPEN_SQL}",
)
_V4_BOTH = (
    # The staff pages and ``sophie report`` read events by time (escalated since yesterday,
    # a year of scorecard).
    "CREATE INDEX IF NOT EXISTS task_event_at ON task_event (at)",
    *_OPEN_TIME_INDEXES,
    "CREATE INDEX IF NOT EXISTS task_subject_due ON task (subject_type, due_at)",
)
_V4 = Step(4, "indexes for reading events and open tasks by time", sqlite=_V4_BOTH, postgres=_V4_BOTH)


def _allow_backlog_sqlite(connection: Any) -> None:
    """Rebuild SQLite's task table so its status may be ``backlog``, backlog counting as open-ish.

    SQLite cannot alter a CHECK constraint, so the table is copied into one whose definition
    is the current one with ``'backlog'`` added (columns added by other migrations are kept),
    and its indexes are made again with ``backlog`` in their open-ish predicates. The store
    runs it with foreign keys off and checks them before committing.
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


_BACKLOG_INDEX = "CREATE INDEX IF NOT EXISTS task_backlog_owner ON task (owner_id) WHERE status = 'backlog'"
_V5 = Step(
    5,
    "capacity: a task beyond its owner's capacity waits with status 'backlog' (open-ish)",
    sqlite=(_allow_backlog_sqlite, _BACKLOG_INDEX),
    postgres=(
        "ALTER TABLE task DROP CONSTRAINT task_status_check",
        """
        ALTER TABLE task ADD CONSTRAINT task_status_check CHECK (status IN
            ('open', 'acknowledged', 'snoozed', 'blocked', 'done', 'resolved', 'expired', 'cancelled', 'backlog'))
        """,
        "DROP INDEX task_open_key",
        "DROP INDEX task_watched",
        "DROP INDEX task_open_owner",
        "DROP INDEX task_open_due",
        "DROP INDEX task_open_role",
        OPEN_KEY_INDEX,
        f"CREATE INDEX task_watched ON task (practice_id) WHERE {WATCHED_SQL}",
        f"CREATE INDEX task_open_owner ON task (owner_id) WHERE {OPEN_SQL}",
        *_OPEN_TIME_INDEXES,
        _BACKLOG_INDEX,
    ),
)

# Groups: a task stands for every subject of its rule whose key template rendered the same
# text. ``members_json`` lists them as ``[[subject_id, patient_id], ...]``; ``[]`` (every task
# written before) is a task about its subject alone. Keys are unchanged.
_V6_BOTH = ("ALTER TABLE task ADD COLUMN members_json TEXT NOT NULL DEFAULT '[]'",)
_V6 = Step(6, "groups: the members of a task", sqlite=_V6_BOTH, postgres=_V6_BOTH)

# The board's load per person (open, overdue, due today, backlog) read from one covering index.
_V7_BOTH = (f"CREATE INDEX IF NOT EXISTS task_open_owner_load ON task (owner_id, status, due_at) WHERE {OPEN_SQL}",)
_V7 = Step(7, "a covering index for each person's load", sqlite=_V7_BOTH, postgres=_V7_BOTH)

# A group's workers read each practice's last cycle (and whether a cycle at a moment exists).
_V8_BOTH = ("CREATE INDEX IF NOT EXISTS cycle_practice_at ON cycle (practice_id, at)",)
_V8 = Step(8, "an index of cycles by practice and time", sqlite=_V8_BOTH, postgres=_V8_BOTH)

STEPS: tuple[Step, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8)
"""Step ``n`` brings the schema from version ``n - 1`` to ``n``."""

LATEST_VERSION = check_steps(STEPS)
"""The schema version this sophie writes."""

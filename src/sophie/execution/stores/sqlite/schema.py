"""The SQLite ledger's schema, as numbered migrations (``PRAGMA user_version``).

Each migration is a list of statements run in one ``BEGIN IMMEDIATE`` transaction that
also sets ``user_version``; a process that finds the schema older than it knows
upgrades it, one that finds it newer refuses to touch it.
"""

from __future__ import annotations

import sqlite3

from sophie.errors import LedgerError

__all__ = ["LATEST_VERSION", "MIGRATIONS", "OPEN_SQL", "WATCHED_SQL", "migrate"]

OPEN_SQL = "status IN ('open', 'acknowledged', 'snoozed', 'blocked')"
"""The SQL predicate of an open-ish task (the partial unique index repeats it)."""

WATCHED_SQL = f"({OPEN_SQL} OR (status = 'done' AND verified_at IS NULL))"
"""Tasks reconcile follows: open-ish ones and done ones awaiting confirmation."""

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
    f"CREATE UNIQUE INDEX task_open_key ON task (key) WHERE {OPEN_SQL}",
    f"CREATE INDEX task_watched ON task (practice_id) WHERE {WATCHED_SQL}",
    f"CREATE INDEX task_open_owner ON task (owner_id) WHERE {OPEN_SQL}",
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
    """
    CREATE TRIGGER task_event_append_only_update BEFORE UPDATE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
    """
    CREATE TRIGGER task_event_append_only_delete BEFORE DELETE ON task_event
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
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

_GROUPS = (
    # Groups: a task stands for every subject of its rule whose key template rendered the
    # same text. ``members_json`` lists them as ``[[subject_id, patient_id], ...]``; ``[]``
    # (every task written before) is a task about its subject alone. Keys are unchanged:
    # ``practice:rule:subject_type:<rendered key>`` is what they already were for a rule
    # without a key template (the subject id) and for one whose key names the subject id.
    "ALTER TABLE task ADD COLUMN members_json TEXT NOT NULL DEFAULT '[]'",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _GROUPS)
"""Migration ``n`` (1-based) brings the schema from version ``n - 1`` to ``n``."""

LATEST_VERSION = len(MIGRATIONS)
"""The schema version this sophie writes."""


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
        for number in range(found + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                connection.execute(statement)
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

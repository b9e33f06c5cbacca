"""The SQLite ledger: the embedded default store (stdlib ``sqlite3``).

- WAL journal, ``synchronous=FULL`` (a committed cycle survives a power cut when the disk
  honours fsync), ``busy_timeout`` so concurrent writers wait instead of failing.
- Every write is one ``BEGIN IMMEDIATE`` transaction: a reconcile's task changes, audit
  events, outbox rows and bookkeeping commit together or not at all. A process killed
  mid-transaction leaves nothing behind (SQLite rolls the journal back on next open).
- A partial unique index keeps one open-ish task per key; updates are compare-and-set on
  ``version``.
- Audit events are append-only (triggers refuse updates and deletes) and hash-chained.
- Datetimes are stored as UTC ISO 8601 text with microseconds (so they sort) and
  returned in the practice's timezone.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sophie.errors import LedgerConflictError, LedgerError, TransitionError, UnknownNameError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.stores.audit import AuditEvent, chain_hash, event_for_action
from sophie.execution.stores.ledger import CycleRecord, sqlite_path
from sophie.execution.stores.outbox import OutboxMessage
from sophie.execution.stores.sqlite.schema import OPEN_SQL, WATCHED_SQL, migrate
from sophie.execution.tasks import ChangeKind, MemberRef, Task, TaskChange, TaskStatus, priority_rank
from sophie.model.calendar import BusinessCalendar
from sophie.model.enums import Priority
from sophie.model.records import Practice

__all__ = ["SqliteLedger", "open_ledger"]

logger = logging.getLogger(__name__)

StatementHook = Callable[[str], None]

_GENESIS = "0" * 64
_TASK_COLUMNS = (
    "id", "key", "practice_id", "rule_id", "pack", "rule_version", "content_hash", "subject_type", "subject_id",
    "patient_id", "title", "owner_role", "owner_id", "priority", "status", "created_at", "updated_at", "due_at",
    "escalation_level", "snoozed_until", "blocked_since", "blocked_until", "blocked_reason", "blocked_seconds",
    "done_at", "verified_at", "resolved_at", "resolution", "expires_at", "reopen_count", "evidence_json", "version",
    "timezone", "members_json",
)  # fmt: skip
_INSERT_TASK = f"INSERT INTO task ({', '.join(_TASK_COLUMNS)}) VALUES ({', '.join('?' * len(_TASK_COLUMNS))})"
_UPDATE_TASK = f"UPDATE task SET {', '.join(f'{c} = ?' for c in _TASK_COLUMNS[1:])} WHERE id = ? AND version = ?"
_SELECT_TASK = f"SELECT {', '.join(_TASK_COLUMNS)} FROM task"
_EVENT_COLUMNS = (
    "task_id", "at", "actor", "kind", "from_status", "to_status", "why", "rule_id", "rule_version", "content_hash",
    "data_json", "prev_hash", "hash",
)  # fmt: skip


def open_ledger(url: str, *, statement_hook: StatementHook | None = None) -> SqliteLedger:
    """Open (creating and migrating if needed) the ledger a ``--db`` URL names."""
    return SqliteLedger(sqlite_path(url), statement_hook=statement_hook)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _when(text: str | None, tz: ZoneInfo) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(tz)


def _row(task: Task) -> tuple[Any, ...]:
    return (
        task.id, task.key, task.practice_id, task.rule, task.pack, task.rule_version, task.content_hash,
        task.subject_type, task.subject_id, task.patient_id, task.title, task.owner_role, task.owner_id,
        str(task.priority), str(task.status), _stamp(task.created_at), _stamp(task.updated_at), _stamp(task.due_at),
        task.escalation_level, _stamp(task.snoozed_until), _stamp(task.blocked_since), _stamp(task.blocked_until),
        task.blocked_reason, task.blocked_time.total_seconds(), _stamp(task.done_at), _stamp(task.verified_at),
        _stamp(task.resolved_at), task.resolution, _stamp(task.expires_at), task.reopen_count,
        json.dumps(task.evidence, sort_keys=True, separators=(",", ":")), task.version, task.timezone,
        json.dumps([[m.subject_id, m.patient_id] for m in task.members], separators=(",", ":")),
    )  # fmt: skip


def _task(row: sqlite3.Row) -> Task:
    tz = ZoneInfo(row["timezone"])

    def when(name: str) -> datetime | None:
        return _when(row[name], tz)

    def must(name: str) -> datetime:
        value = when(name)
        assert value is not None
        return value

    return Task(
        id=row["id"], key=row["key"], practice_id=row["practice_id"], rule=row["rule_id"], pack=row["pack"],
        rule_version=row["rule_version"], content_hash=row["content_hash"], subject_type=row["subject_type"],
        subject_id=row["subject_id"], patient_id=row["patient_id"], title=row["title"], owner_role=row["owner_role"],
        owner_id=row["owner_id"], priority=Priority(row["priority"]), status=TaskStatus(row["status"]),
        created_at=must("created_at"), updated_at=must("updated_at"), due_at=must("due_at"),
        escalation_level=row["escalation_level"], snoozed_until=when("snoozed_until"),
        blocked_since=when("blocked_since"), blocked_until=when("blocked_until"), blocked_reason=row["blocked_reason"],
        blocked_time=timedelta(seconds=row["blocked_seconds"]), done_at=when("done_at"),
        verified_at=when("verified_at"), resolved_at=when("resolved_at"), resolution=row["resolution"],
        expires_at=when("expires_at"), reopen_count=row["reopen_count"], evidence=json.loads(row["evidence_json"]),
        version=row["version"], timezone=row["timezone"],
        members=tuple(MemberRef(str(m[0]), m[1] and str(m[1])) for m in json.loads(row["members_json"])),
    )  # fmt: skip


class SqliteLedger:
    """A ledger in one SQLite file (or in memory).

    Args:
        path: The database file, or ``":memory:"``. Created (with its schema) if missing.
        statement_hook: Called with each SQL statement inside write transactions, before it
            runs; a seam for fault-injection tests (raise, sleep or kill the process there).
        busy_timeout_ms: How long a writer waits for another to finish.
        autocheckpoint: Let SQLite copy the write-ahead log into the database file when a
            commit finds it long (the default). A long-running writer that cares about the
            latency of each commit (``sophie watch``) turns it off and calls
            :meth:`checkpoint` when it is idle, so no commit pays for a checkpoint.

    Raises:
        LedgerError: The file is not a sophie ledger, is from a newer sophie, or cannot be opened.
    """

    def __init__(
        self,
        path: str,
        *,
        statement_hook: StatementHook | None = None,
        busy_timeout_ms: int = 30_000,
        autocheckpoint: bool = True,
    ):
        self.path = path
        self._hook = statement_hook
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            if not autocheckpoint:
                self._db.execute("PRAGMA wal_autocheckpoint = 0")
            self._db.execute("PRAGMA foreign_keys = ON")
            migrate(self._db, path=path)
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{path}: cannot open the ledger: {err}") from err

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database file, as far as readers allow.

        Passive: it never waits for, or blocks, another connection.

        Raises:
            LedgerError: The store fails.
        """
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.DatabaseError as err:
            raise LedgerError(f"{self.path}: checkpoint failed: {err}") from err

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Callable[..., sqlite3.Cursor]]:
        """Run a ``BEGIN IMMEDIATE`` transaction; yield an ``execute`` that passes the hook."""

        def execute(sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
            if self._hook is not None:
                self._hook(sql)
            return self._db.execute(sql, params)

        try:
            execute("BEGIN IMMEDIATE")
            try:
                yield execute
                execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as err:  # locked past the timeout, disk full, read-only file...
            raise LedgerError(f"{self.path}: the ledger write failed: {err}") from err

    # -- reads -------------------------------------------------------------------------------

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return open-ish tasks and done tasks awaiting confirmation, by key."""
        sql = f"{_SELECT_TASK} WHERE {WATCHED_SQL}"
        params: tuple[str, ...] = ()
        if practice_id is not None:
            sql += " AND practice_id = ?"
            params = (practice_id,)
        return [_task(row) for row in self._db.execute(sql + " ORDER BY key, created_at, id", params)]

    def get(self, task_id: str) -> Task:
        """Return one task by id, or by a prefix that matches exactly one id.

        Raises:
            UnknownNameError: No task (or more than one) matches.
        """
        return self._get(self._db.execute, task_id)

    def _get(self, execute: Callable[..., sqlite3.Cursor], task_id: str) -> Task:
        row = execute(f"{_SELECT_TASK} WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            pattern = task_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = execute(f"{_SELECT_TASK} WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern,)).fetchall()
            if len(rows) != 1:
                raise UnknownNameError("task", task_id)
            row = rows[0]
        return _task(row)

    def queue(
        self, *, role: str | None = None, staff_id: str | None = None, practice_id: str | None = None
    ) -> list[Task]:
        """Return open-ish tasks (for a role or a person), most urgent first, then earliest due."""
        sql, params = f"{_SELECT_TASK} WHERE {OPEN_SQL}", []
        for column, value in (("owner_role", role), ("owner_id", staff_id), ("practice_id", practice_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        tasks = [_task(row) for row in self._db.execute(sql, params)]
        return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""
        rows = self._db.execute("SELECT * FROM task_event WHERE task_id = ? ORDER BY seq", (task_id,))
        return [self._event(row) for row in rows]

    def _event(self, row: sqlite3.Row) -> AuditEvent:
        return AuditEvent(
            task_id=row["task_id"], at=datetime.fromisoformat(row["at"]), actor=row["actor"], kind=row["kind"],
            from_status=row["from_status"], to_status=row["to_status"], why=row["why"], rule_id=row["rule_id"],
            rule_version=row["rule_version"], content_hash=row["content_hash"], data=json.loads(row["data_json"]),
        )  # fmt: skip

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events.

        Raises:
            LedgerError: An event was altered, removed or reordered.
        """
        previous = _GENESIS
        count = 0
        for row in self._db.execute("SELECT * FROM task_event ORDER BY seq"):
            expected = chain_hash(previous, self._event(row))
            if row["prev_hash"] != previous or row["hash"] != expected:
                raise LedgerError(f"{self.path}: audit chain broken at event {row['seq']}")
            previous, count = row["hash"], count + 1
        return count

    def cursors(self, practice_id: str) -> dict[str, str]:
        """Return the round-robin state of a practice (role -> last staff id)."""
        rows = self._db.execute("SELECT role, staff_id FROM assignment_cursor WHERE practice_id = ?", (practice_id,))
        return {row["role"]: row["staff_id"] for row in rows}

    def cycle_count(self, practice_id: str) -> int:
        """Return how many cycles have been recorded for a practice."""
        row = self._db.execute("SELECT count(*) FROM cycle WHERE practice_id = ?", (practice_id,)).fetchone()
        return int(row[0])

    def practice(self, practice_id: str) -> Practice | None:
        """Return the practice settings stored by the last cycle (for calendars in ``sophie task``)."""
        row = self._db.execute("SELECT settings_json FROM practice WHERE id = ?", (practice_id,)).fetchone()
        return None if row is None else Practice.model_validate_json(row["settings_json"])

    def pending_outbox(self) -> list[OutboxMessage]:
        """Return the notifications not yet sent, oldest first."""
        rows = self._db.execute("SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY created_at, key")
        return [
            OutboxMessage(
                row["key"],
                row["task_id"],
                row["recipient_id"],
                row["kind"],
                json.loads(row["payload_json"]),
                datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    # -- writes ------------------------------------------------------------------------------

    def apply(
        self,
        changes: Sequence[TaskChange],
        events: Sequence[AuditEvent],
        outbox: Sequence[OutboxMessage],
        *,
        practice: Practice | None = None,
        cursors: Mapping[str, str] | None = None,
        cycle: CycleRecord | None = None,
    ) -> None:
        """Write a reconcile's changes, events, outbox rows and bookkeeping in one transaction.

        Raises:
            LedgerConflictError: A task changed since it was read, or its key is taken.
        """
        with self._write() as execute:
            for change in changes:
                self._write_change(execute, change)
            self._append_events(execute, events)
            for message in outbox:
                stamp = _stamp(message.created_at)
                execute(
                    "INSERT OR IGNORE INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, "
                    "not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (message.key, message.task_id, message.recipient_id, message.kind,
                     json.dumps(message.payload, sort_keys=True), stamp, stamp),
                )  # fmt: skip
            if practice is not None and cycle is not None:
                execute(
                    "INSERT INTO practice (id, settings_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) "
                    "DO UPDATE SET settings_json = excluded.settings_json, updated_at = excluded.updated_at "
                    "WHERE settings_json != excluded.settings_json",
                    (practice.id, practice.model_dump_json(), _stamp(cycle.at)),
                )
            if cursors and cycle is not None:
                for role, staff_id in sorted(cursors.items()):
                    execute(
                        "INSERT INTO assignment_cursor (practice_id, role, staff_id) VALUES (?, ?, ?) "
                        "ON CONFLICT (practice_id, role) DO UPDATE SET staff_id = excluded.staff_id",
                        (cycle.practice_id, role, staff_id),
                    )
            if cycle is not None:
                execute(
                    "INSERT INTO cycle (practice_id, at, complete, findings, summary_json) VALUES (?, ?, ?, ?, ?)",
                    (cycle.practice_id, _stamp(cycle.at), int(cycle.complete), cycle.findings,
                     json.dumps(cycle.summary, sort_keys=True)),
                )  # fmt: skip

    def _write_change(self, execute: Callable[..., sqlite3.Cursor], change: TaskChange) -> None:
        task = change.task
        if change.kind is ChangeKind.CREATED:
            try:
                execute(_INSERT_TASK, _row(task))
            except sqlite3.IntegrityError as err:
                raise LedgerConflictError(f"task key {task.key} is already open", task_id=task.id) from err
            return
        previous = change.previous
        assert previous is not None
        cursor = execute(_UPDATE_TASK, (*_row(task)[1:], task.id, previous.version))
        if cursor.rowcount != 1:
            raise LedgerConflictError(f"task {task.id} changed since it was read", task_id=task.id)

    def _append_events(self, execute: Callable[..., sqlite3.Cursor], events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        row = execute("SELECT hash FROM task_event ORDER BY seq DESC LIMIT 1").fetchone()
        previous = _GENESIS if row is None else row["hash"]
        sql = f"INSERT INTO task_event ({', '.join(_EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})"
        for event in events:
            digest = chain_hash(previous, event)
            execute(
                sql,
                (event.task_id, event.at.isoformat(), event.actor, event.kind, event.from_status, event.to_status,
                 event.why, event.rule_id, event.rule_version, event.content_hash,
                 json.dumps(event.data, sort_keys=True), previous, digest),
            )  # fmt: skip
            previous = digest

    def transition(
        self,
        task_id: str,
        action: Action | str,
        *,
        actor: str,
        now: datetime,
        until: datetime | None = None,
        reason: str | None = None,
    ) -> ActionResult:
        """Apply a person's action (ack, done, snooze, block, reopen) and audit it, atomically.

        The practice calendar stored by the last cycle measures blocked time in business hours.

        Raises:
            UnknownNameError: No task has that id.
            TransitionError: The action is not allowed now (or reopening would duplicate an open key).
        """
        with self._write() as execute:
            task = self._get(execute, task_id)
            calendar = self._calendar(task.practice_id)
            result = apply_action(task, action, now=now, calendar=calendar, until=until, reason=reason)
            try:
                execute(_UPDATE_TASK, (*_row(result.task)[1:], task.id, task.version))
            except sqlite3.IntegrityError as err:
                other = execute(f"SELECT id FROM task WHERE key = ? AND {OPEN_SQL}", (task.key,)).fetchone()
                hint = f"task {other['id'] if other else '?'} is already open for the same stall"
                raise TransitionError(task.id, str(action), str(task.status), hint=hint) from err
            event = event_for_action(task, result.task, result.event, result.why, actor=actor)
            self._append_events(execute, [event])
        logger.info("task %s %s by %s", task.id, result.event, actor)
        return result

    def _calendar(self, practice_id: str) -> BusinessCalendar | None:
        practice = self.practice(practice_id)
        if practice is None:
            return None
        return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)

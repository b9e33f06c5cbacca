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
from datetime import datetime
from typing import Any

from sophie.errors import LedgerConflictError, LedgerError, TransitionError, UnknownNameError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.stores.audit import AuditEvent, chain_hash, event_for_action
from sophie.execution.stores.ledger import CycleRecord
from sophie.execution.stores.outbox import OutboxMessage
from sophie.execution.stores.rows import (
    EVENT_COLUMNS,
    GENESIS,
    TASK_COLUMNS,
    event_from_row,
    event_params,
    stamp,
    task_from_row,
    task_params,
)
from sophie.execution.stores.sqlite.schema import OPEN_SQL, WATCHED_SQL, migrate
from sophie.execution.tasks import ChangeKind, Task, TaskChange, priority_rank
from sophie.model.calendar import BusinessCalendar
from sophie.model.records import Practice

__all__ = ["SqliteLedger"]

logger = logging.getLogger(__name__)

StatementHook = Callable[[str], None]

_INSERT_TASK = f"INSERT INTO task ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"
_UPDATE_TASK = f"UPDATE task SET {', '.join(f'{c} = ?' for c in TASK_COLUMNS[1:])} WHERE id = ? AND version = ?"
_SELECT_TASK = f"SELECT {', '.join(TASK_COLUMNS)} FROM task"


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
        return [task_from_row(row) for row in self._db.execute(sql + " ORDER BY key, created_at, id", params)]

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
        return task_from_row(row)

    def queue(
        self, *, role: str | None = None, staff_id: str | None = None, practice_id: str | None = None
    ) -> list[Task]:
        """Return open-ish tasks (for a role or a person), most urgent first, then earliest due."""
        sql, params = f"{_SELECT_TASK} WHERE {OPEN_SQL}", []
        for column, value in (("owner_role", role), ("owner_id", staff_id), ("practice_id", practice_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        tasks = [task_from_row(row) for row in self._db.execute(sql, params)]
        return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""
        rows = self._db.execute("SELECT * FROM task_event WHERE task_id = ? ORDER BY seq", (task_id,))
        return [event_from_row(row) for row in rows]

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events.

        Raises:
            LedgerError: An event was altered, removed or reordered.
        """
        previous = GENESIS
        count = 0
        for row in self._db.execute("SELECT * FROM task_event ORDER BY seq"):
            expected = chain_hash(previous, event_from_row(row))
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

    def practice_ids(self) -> list[str]:
        """Return the practices the ledger holds tasks or cycles for, sorted."""
        rows = self._db.execute("SELECT practice_id FROM task UNION SELECT practice_id FROM cycle ORDER BY 1")
        return [row[0] for row in rows]

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
                created = stamp(message.created_at)
                execute(
                    "INSERT OR IGNORE INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, "
                    "not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (message.key, message.task_id, message.recipient_id, message.kind,
                     json.dumps(message.payload, sort_keys=True), created, created),
                )  # fmt: skip
            if practice is not None and cycle is not None:
                execute(
                    "INSERT INTO practice (id, settings_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) "
                    "DO UPDATE SET settings_json = excluded.settings_json, updated_at = excluded.updated_at "
                    "WHERE settings_json != excluded.settings_json",
                    (practice.id, practice.model_dump_json(), stamp(cycle.at)),
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
                    (cycle.practice_id, stamp(cycle.at), int(cycle.complete), cycle.findings,
                     json.dumps(cycle.summary, sort_keys=True)),
                )  # fmt: skip

    def _write_change(self, execute: Callable[..., sqlite3.Cursor], change: TaskChange) -> None:
        task = change.task
        if change.kind is ChangeKind.CREATED:
            try:
                execute(_INSERT_TASK, task_params(task))
            except sqlite3.IntegrityError as err:
                raise LedgerConflictError(f"task key {task.key} is already open", task_id=task.id) from err
            return
        previous = change.previous
        assert previous is not None
        cursor = execute(_UPDATE_TASK, (*task_params(task)[1:], task.id, previous.version))
        if cursor.rowcount != 1:
            raise LedgerConflictError(f"task {task.id} changed since it was read", task_id=task.id)

    def _append_events(self, execute: Callable[..., sqlite3.Cursor], events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        row = execute("SELECT hash FROM task_event ORDER BY seq DESC LIMIT 1").fetchone()
        previous = GENESIS if row is None else row["hash"]
        sql = f"INSERT INTO task_event ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
        for event in events:
            digest = chain_hash(previous, event)
            execute(sql, event_params(event, previous, digest))
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
                execute(_UPDATE_TASK, (*task_params(result.task)[1:], task.id, task.version))
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

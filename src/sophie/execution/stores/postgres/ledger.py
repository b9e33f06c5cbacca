"""The PostgreSQL ledger: the SQLite ledger's behaviour on a server many workers share.

- Every write is one transaction: a reconcile's task changes, audit events, outbox rows
  and bookkeeping commit together or not at all; a client killed mid-transaction leaves
  nothing behind (the server rolls it back when the connection drops).
- The same partial unique index keeps one open-ish task per key; updates are
  compare-and-set on ``version`` (under READ COMMITTED a concurrent update waits, then
  finds the version moved and conflicts).
- Audit events are append-only (triggers refuse update, delete and truncate) and
  hash-chained; appending takes a transaction-scoped advisory lock, so writers append
  one at a time and ``seq`` order is chain order (the task cache's change feed relies on it).
- Rows are stored exactly as the SQLite ledger stores them (UTC ISO 8601 text) and text
  is compared and sorted with the ``C`` collation, so both stores order alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from sophie.errors import LedgerConflictError, LedgerError, TransitionError, UnknownNameError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.capacity import backlog_order, release_after_close
from sophie.execution.stores.audit import (
    AUDIT_KEY_ENV,
    AuditEvent,
    ChainScheme,
    audit_key_from_environment,
    chain_hash,
    event_for_action,
    event_for_change,
    key_check,
)
from sophie.execution.stores.ledger import CycleRecord
from sophie.execution.stores.outbox import OutboxMessage, message_for_change
from sophie.execution.stores.postgres.connection import connect, describe
from sophie.execution.stores.postgres.reading import PostgresReading
from sophie.execution.stores.postgres.schema import migrate
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
from sophie.execution.stores.schema import DAY_SQL, OPEN_SQL, WATCHED_SQL
from sophie.execution.tasks import ChangeKind, Task, TaskChange, priority_rank
from sophie.model.calendar import BusinessCalendar
from sophie.model.records import Practice

__all__ = ["AUDIT_LOCK", "PostgresLedger"]

logger = logging.getLogger(__name__)

StatementHook = Callable[[str], None]
Execute = Callable[..., "psycopg.Cursor[dict[str, Any]]"]

AUDIT_LOCK = 0x50_50_48_49_45_00_02
"""The advisory lock key a writer holds from appending audit events until it commits."""

_MARKS = ", ".join(["%s"] * len(TASK_COLUMNS))
_INSERT_TASK = f"INSERT INTO task ({', '.join(TASK_COLUMNS)}) VALUES ({_MARKS})"
_UPDATE_TASK = f"UPDATE task SET {', '.join(f'{c} = %s' for c in TASK_COLUMNS[1:])} WHERE id = %s AND version = %s"
_SELECT_TASK = f"SELECT {', '.join(TASK_COLUMNS)} FROM task"
_INSERT_EVENT = f"INSERT INTO task_event ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})"
_C = 'COLLATE "C"'
_CHAIN = "audit_chain"
_KEY_CHECK = "audit_key_check"

AuditKeySource = bytes | None | Literal["environment"]
"""An audit key, ``None`` for none, or ``"environment"`` to read ``SOPHIE_AUDIT_KEY``."""


class PostgresLedger(PostgresReading):
    """A ledger in a PostgreSQL schema (the connection's ``search_path``).

    Args:
        url: A ``postgresql://`` URL (libpq's form; ``?options=-csearch_path%3DNAME`` picks a schema).
        statement_hook: Called with each SQL statement inside write transactions, before it
            runs; a seam for fault-injection tests.
        audit_key: The secret of a keyed audit chain; by default read from
            ``SOPHIE_AUDIT_KEY``. A new ledger written with a key is keyed from its first
            event on; a keyed ledger refuses writes without its key.

    Raises:
        LedgerError: The server cannot be reached, the schema is not a sophie ledger, or
            it is from a newer sophie.
        ConfigurationError: ``SOPHIE_AUDIT_KEY`` is set but too short.
    """

    def __init__(
        self, url: str, *, statement_hook: StatementHook | None = None, audit_key: AuditKeySource = "environment"
    ) -> None:
        self.path = describe(url)
        self._hook = statement_hook
        self._key = audit_key_from_environment() if audit_key == "environment" else audit_key
        self._db = connect(url)
        try:
            migrate(self._db, where=self.path)
        except psycopg.Error as err:
            self._db.close()
            raise LedgerError(f"{self.path}: cannot open the ledger: {err}") from err
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @property
    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The ledger's connection (for the change feed and the workers' locks)."""
        return self._db

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Execute]:
        """Run one transaction; yield an ``execute`` that passes the hook."""

        def execute(sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[dict[str, Any]]:
            if self._hook is not None:
                self._hook(sql)
            return self._db.execute(sql, params)

        try:
            with self._db.transaction():
                if self._hook is not None:
                    self._hook("BEGIN")
                yield execute
                if self._hook is not None:
                    self._hook("COMMIT")
        except psycopg.Error as err:
            raise LedgerError(f"{self.path}: the ledger write failed: {err}") from err

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except psycopg.Error as err:
            raise LedgerError(f"{self.path}: the ledger read failed: {err}") from err

    # -- reads -------------------------------------------------------------------------------

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return open-ish tasks and done tasks awaiting confirmation, by key."""
        sql = f"{_SELECT_TASK} WHERE {WATCHED_SQL}"
        params: tuple[str, ...] = ()
        if practice_id is not None:
            sql += " AND practice_id = %s"
            params = (practice_id,)
        return [task_from_row(row) for row in self._read(f"{sql} ORDER BY key {_C}, created_at {_C}, id {_C}", params)]

    def get(self, task_id: str) -> Task:
        """Return one task by id, or by a prefix that matches exactly one id.

        Raises:
            UnknownNameError: No task (or more than one) matches.
        """
        return self._get(lambda sql, params=(): self._db.execute(sql, params), task_id)

    def _get(self, execute: Execute, task_id: str) -> Task:
        row = execute(f"{_SELECT_TASK} WHERE id = %s", (task_id,)).fetchone()
        if row is None:
            pattern = task_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = execute(f"{_SELECT_TASK} WHERE id LIKE %s ESCAPE '\\' LIMIT 2", (pattern,)).fetchall()
            if len(rows) != 1:
                raise UnknownNameError("task", task_id)
            row = rows[0]
        return task_from_row(row)

    def queue(
        self,
        *,
        role: str | None = None,
        staff_id: str | None = None,
        practice_id: str | None = None,
        backlog: bool = False,
    ) -> list[Task]:
        """Return the tasks in people's day (for a role or a person), most urgent first, then earliest due.

        ``backlog=True`` returns the backlog instead, in the order it is released.
        """
        where = "status = 'backlog'" if backlog else DAY_SQL
        sql, params = f"{_SELECT_TASK} WHERE {where}", []
        for column, value in (("owner_role", role), ("owner_id", staff_id), ("practice_id", practice_id)):
            if value is not None:
                sql += f" AND {column} = %s"
                params.append(value)
        tasks = [task_from_row(row) for row in self._read(sql, params)]
        if backlog:
            return sorted(tasks, key=backlog_order)
        return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""
        return [
            event_from_row(row)
            for row in self._read("SELECT * FROM task_event WHERE task_id = %s ORDER BY seq", (task_id,))
        ]

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events.

        Raises:
            LedgerError: An event was altered, removed or reordered, or the chain is keyed
                and this ledger was opened without its key.
        """
        key = self._chain_key(self._db.execute)
        previous = GENESIS
        count = 0
        with self._db.cursor(row_factory=dict_row) as cursor:
            for row in cursor.execute("SELECT * FROM task_event ORDER BY seq"):
                expected = chain_hash(previous, event_from_row(row), key)
                if row["prev_hash"] != previous or row["hash"] != expected:
                    raise LedgerError(f"{self.path}: audit chain broken at event {row['seq']}")
                previous, count = row["hash"], count + 1
        return count

    @property
    def chain_scheme(self) -> ChainScheme:
        """How this ledger's audit events are chained."""
        marker = _read_marker(self._db.execute)
        return ChainScheme.SHA256 if marker is None else ChainScheme(marker[0])

    def _chain_key(self, execute: Execute) -> bytes | None:
        """Return the key to hash this ledger's events with (``None``: plain).

        Raises:
            LedgerError: The chain is keyed and the key is missing or another one.
        """
        marker = _read_marker(execute)
        if marker is None:
            return None
        if self._key is None:
            raise LedgerError(f"{self.path}: the audit chain is keyed; set {AUDIT_KEY_ENV} to the ledger's key")
        if marker[1] != key_check(self._key):
            raise LedgerError(f"{self.path}: {AUDIT_KEY_ENV} is not the key this ledger's audit chain was written with")
        return self._key

    def cursors(self, practice_id: str) -> dict[str, str]:
        """Return the round-robin state of a practice (role -> last staff id)."""
        rows = self._read("SELECT role, staff_id FROM assignment_cursor WHERE practice_id = %s", (practice_id,))
        return {row["role"]: row["staff_id"] for row in rows}

    def cycle_count(self, practice_id: str) -> int:
        """Return how many cycles have been recorded for a practice."""
        return int(self._read("SELECT count(*) AS n FROM cycle WHERE practice_id = %s", (practice_id,))[0]["n"])

    def practice(self, practice_id: str) -> Practice | None:
        """Return the practice settings stored by the last cycle (for calendars in ``sophie task``)."""
        rows = self._read("SELECT settings_json FROM practice WHERE id = %s", (practice_id,))
        return None if not rows else Practice.model_validate_json(rows[0]["settings_json"])

    def practice_ids(self) -> list[str]:
        """Return the practices the ledger holds tasks or cycles for, sorted."""
        rows = self._read(
            "SELECT id FROM (SELECT practice_id AS id FROM task UNION SELECT practice_id FROM cycle) AS p "
            f"ORDER BY id {_C}"
        )
        return [row["id"] for row in rows]

    def pending_outbox(self) -> list[OutboxMessage]:
        """Return the notifications not yet sent, oldest first."""
        rows = self._read(f"SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY created_at {_C}, key {_C}")
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
            self._insert_outbox(execute, outbox)
            if practice is not None and cycle is not None:
                execute(
                    "INSERT INTO practice (id, settings_json, updated_at) VALUES (%s, %s, %s) ON CONFLICT (id) "
                    "DO UPDATE SET settings_json = excluded.settings_json, updated_at = excluded.updated_at "
                    "WHERE practice.settings_json != excluded.settings_json",
                    (practice.id, practice.model_dump_json(), stamp(cycle.at)),
                )
            if cursors and cycle is not None:
                for role, staff_id in sorted(cursors.items()):
                    execute(
                        "INSERT INTO assignment_cursor (practice_id, role, staff_id) VALUES (%s, %s, %s) "
                        "ON CONFLICT (practice_id, role) DO UPDATE SET staff_id = excluded.staff_id",
                        (cycle.practice_id, role, staff_id),
                    )
            if cycle is not None:
                execute(
                    "INSERT INTO cycle (practice_id, at, complete, findings, summary_json) VALUES (%s, %s, %s, %s, %s)",
                    (cycle.practice_id, stamp(cycle.at), int(cycle.complete), cycle.findings,
                     json.dumps(cycle.summary, sort_keys=True)),
                )  # fmt: skip
            # Last, so the chain lock is held only from here to the commit.
            self._append_events(execute, events)

    def _insert_outbox(self, execute: Execute, outbox: Sequence[OutboxMessage]) -> None:
        for message in outbox:
            created = stamp(message.created_at)
            execute(
                "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
                (message.key, message.task_id, message.recipient_id, message.kind,
                 json.dumps(message.payload, sort_keys=True), created, created),
            )  # fmt: skip

    def _write_change(self, execute: Execute, change: TaskChange) -> None:
        task = change.task
        if change.kind is ChangeKind.CREATED:
            try:
                with self._db.transaction():  # a savepoint: the error is turned into a conflict
                    execute(_INSERT_TASK, task_params(task))
            except psycopg.errors.UniqueViolation as err:
                raise LedgerConflictError(f"task key {task.key} is already open", task_id=task.id) from err
            return
        previous = change.previous
        assert previous is not None
        cursor = execute(_UPDATE_TASK, (*task_params(task)[1:], task.id, previous.version))
        if cursor.rowcount != 1:
            raise LedgerConflictError(f"task {task.id} changed since it was read", task_id=task.id)

    def _append_events(self, execute: Execute, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
        row = execute("SELECT hash FROM task_event ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None and self._key is not None and _read_marker(execute) is None:
            for name, value in ((_CHAIN, str(ChainScheme.HMAC_SHA256)), (_KEY_CHECK, key_check(self._key))):
                execute("INSERT INTO ledger_meta (name, value) VALUES (%s, %s)", (name, value))
        key = self._chain_key(execute)
        previous = GENESIS if row is None else row["hash"]
        rows = []
        for event in events:
            digest = chain_hash(previous, event, key)
            rows.append(event_params(event, previous, digest))
            previous = digest
        if self._hook is not None:
            self._hook(_INSERT_EVENT)
        with self._db.cursor() as cursor:
            cursor.executemany(_INSERT_EVENT, rows)

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

        Raises:
            UnknownNameError: No task has that id.
            TransitionError: The action is not allowed now (or reopening would duplicate an open key).
        """
        with self._write() as execute:
            task = self._get(execute, task_id)
            execute("SELECT 1 FROM task WHERE id = %s FOR UPDATE", (task.id,))
            task = self._get(execute, task.id)  # as it stands once locked
            calendar = self._calendar(task.practice_id)
            result = apply_action(task, action, now=now, calendar=calendar, until=until, reason=reason)
            try:
                with self._db.transaction():
                    execute(_UPDATE_TASK, (*task_params(result.task)[1:], task.id, task.version))
            except psycopg.errors.UniqueViolation as err:
                other = execute(f"SELECT id FROM task WHERE key = %s AND {OPEN_SQL}", (task.key,)).fetchone()
                hint = f"task {other['id'] if other else '?'} is already open for the same stall"
                raise TransitionError(task.id, str(action), str(task.status), hint=hint) from err
            event = event_for_action(task, result.task, result.event, result.why, actor=actor, note=result.note)
            self._append_events(execute, [event])
            self._release_after(execute, task, result.task, now, calendar)
        logger.info("task %s %s by %s", task.id, result.event, actor)
        return result

    def _release_after(
        self, execute: Execute, before: Task, after: Task, now: datetime, calendar: BusinessCalendar | None
    ) -> None:
        """Release the owner's next backlog task when an action freed room in their day (same transaction)."""
        if before.owner_id is None or after.in_day:
            return
        rows = execute(
            f"{_SELECT_TASK} WHERE status = 'backlog' AND owner_id = %s AND practice_id = %s FOR UPDATE",
            (before.owner_id, before.practice_id),
        ).fetchall()
        released = release_after_close(before, after, [task_from_row(row) for row in rows], now, calendar)
        if released is None:
            return
        waiting = self._get(execute, released.id)
        why = f"released from the backlog: task {before.id} left {before.owner_id}'s day"
        change = TaskChange(ChangeKind.RELEASED, released, waiting, why)
        self._write_change(execute, change)
        self._append_events(execute, [event_for_change(change)])
        message = message_for_change(change, released.rule)
        if message is not None:
            self._insert_outbox(execute, [message])

    def _calendar(self, practice_id: str) -> BusinessCalendar | None:
        practice = self.practice(practice_id)
        if practice is None:
            return None
        return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)


def _read_marker(execute: Execute) -> tuple[str, str | None] | None:
    """Return the chain's scheme and key check, or ``None`` for a plain chain."""
    rows = {
        row["name"]: row["value"]
        for row in execute(
            "SELECT name, value FROM ledger_meta WHERE name IN (%s, %s)", (_CHAIN, _KEY_CHECK)
        ).fetchall()
    }
    if _CHAIN not in rows:
        return None
    return rows[_CHAIN], rows.get(_KEY_CHECK)

"""The ledger logic both SQL stores share: the write path, the reads it needs, the queue's order.

:class:`SqlLedger` writes a reconcile (:meth:`SqlLedger.apply`) and a person's action
(:meth:`SqlLedger.transition`) with the same statements on SQLite and PostgreSQL, in the
store's parameter mark. A store supplies only what its SQL or its driver says differently:

- :meth:`SqlLedger._write`: one transaction, yielding an ``execute`` that passes the
  statement hook (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a server transaction);
- :meth:`SqlLedger._read`: a read outside a write;
- :meth:`SqlLedger._run_unique`: a statement that may hit the one-open-task-per-key index,
  returning the violation instead of raising it (PostgreSQL runs it in a savepoint, so the
  transaction survives);
- :meth:`SqlLedger._lock_chain` and :meth:`SqlLedger._insert_events`: PostgreSQL takes an
  advisory lock before appending audit events (SQLite's writer already holds the file) and
  inserts them in one batch;
- ``_for_update``: PostgreSQL locks the task an action changes, and the backlog rows it
  may release, until the commit.

Rows are mapped by :mod:`sophie.execution.stores.rows`; text is sorted bytewise on both
(``_collate``), so both stores order alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import groupby
from typing import Any

from sophie.errors import LedgerConflictError, TransitionError, UnknownNameError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.capacity import backlog_order, release_after_close
from sophie.execution.stores.audit import AuditEvent, chain_hash, event_for_action, event_for_change
from sophie.execution.stores.integrity import ChainReads, Execute
from sophie.execution.stores.ledger import CycleRecord
from sophie.execution.stores.outbox import OutboxMessage, message_for_change
from sophie.execution.stores.rows import (
    EVENT_COLUMNS,
    TASK_COLUMNS,
    Row,
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

__all__ = ["SELECT_TASK", "SqlLedger", "StatementHook", "find_task", "outbox_params", "update_params"]

logger = logging.getLogger(__name__)

StatementHook = Callable[[str], None]
"""Called with each SQL statement inside write transactions, before it runs (a seam for fault injection)."""

SELECT_TASK = f"SELECT {', '.join(TASK_COLUMNS)} FROM task"
"""Every column of ``task``, in :data:`~sophie.execution.stores.rows.TASK_COLUMNS` order."""


def _marks(mark: str, count: int) -> str:
    return ", ".join([mark] * count)


def outbox_params(message: OutboxMessage) -> tuple[Any, ...]:
    """Return the parameters of an outbox row's insert."""
    created = stamp(message.created_at)
    return (message.key, message.task_id, message.recipient_id, message.kind,
            json.dumps(message.payload, sort_keys=True), created, created)  # fmt: skip


def update_params(change: TaskChange) -> tuple[Any, ...]:
    """Return the parameters of the compare-and-set update of a changed task (its columns, id, read version)."""
    assert change.previous is not None
    return (*task_params(change.task)[1:], change.task.id, change.previous.version)


def find_task(execute: Callable[..., Any], task_id: str, *, mark: str, practice_id: str | None = None) -> Task:
    """Return the task whose id is ``task_id``, or the one task whose id starts with it.

    Args:
        execute: The store's ``execute(sql, params)``.
        task_id: An id or the start of one.
        mark: The store's parameter mark (``?`` or ``%s``).
        practice_id: Look only among this practice's tasks.

    Raises:
        UnknownNameError: No task (or more than one) matches.
    """
    where, params = ("", ()) if practice_id is None else (f" AND practice_id = {mark}", (practice_id,))
    row = execute(f"{SELECT_TASK} WHERE id = {mark}{where}", (task_id, *params)).fetchone()
    if row is None:
        pattern = task_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = execute(f"{SELECT_TASK} WHERE id LIKE {mark} ESCAPE '\\'{where} LIMIT 2", (pattern, *params)).fetchall()
        if len(rows) != 1:
            raise UnknownNameError("task", task_id if practice_id is None else f"{task_id} in practice {practice_id}")
        row = rows[0]
    return task_from_row(row)


class SqlLedger(ChainReads):
    """The :class:`~sophie.execution.stores.ledger.Ledger` methods both SQL stores share (see the module)."""

    _hook: StatementHook | None
    _for_update: str = ""
    _sql_insert_event: str
    _sql_insert_task: str
    _sql_update_task: str
    _sql_insert_outbox: str
    _sql_create_task: str
    _sql_update_task_returning: str

    # -- what a store supplies ---------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Execute]:
        """Run one write transaction; yield an ``execute(sql, params)`` that passes the hook."""
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """Return a read's rows (outside a write)."""
        raise NotImplementedError

    def _run_unique(self, execute: Execute, sql: str, params: Sequence[Any]) -> Exception | None:
        """Run a statement that may break a unique index; return the violation (``None``: it ran)."""
        raise NotImplementedError

    def _lock_chain(self, execute: Execute) -> None:
        """Hold what keeps audit events appended one writer at a time (until the commit)."""

    def _insert_events(self, execute: Execute, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert audit event rows, in order."""
        for row in rows:
            execute(self._sql_insert_event, row)

    # -- statements in the store's mark --------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Write the statements a store runs for every task and event once, in its parameter mark."""
        super().__init_subclass__(**kwargs)
        m = cls._mark
        events = ", ".join(EVENT_COLUMNS)
        cls._sql_insert_event = f"INSERT INTO task_event ({events}) VALUES ({_marks(m, len(EVENT_COLUMNS))})"
        cls._sql_insert_task = f"INSERT INTO task ({', '.join(TASK_COLUMNS)}) VALUES ({_marks(m, len(TASK_COLUMNS))})"
        assignments = ", ".join(f"{column} = {m}" for column in TASK_COLUMNS[1:])
        cls._sql_update_task = f"UPDATE task SET {assignments} WHERE id = {m} AND version = {m}"
        cls._sql_insert_outbox = (
            "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
            f"VALUES ({_marks(m, 7)}) ON CONFLICT (key) DO NOTHING"
        )
        # For a store that batches: conflicts show as rows not returned instead of errors.
        cls._sql_create_task = f"{cls._sql_insert_task} ON CONFLICT (key) WHERE {OPEN_SQL} DO NOTHING RETURNING id"
        cls._sql_update_task_returning = f"{cls._sql_update_task} RETURNING id"

    def _marks(self, count: int) -> str:
        return _marks(self._mark, count)

    # -- reads -------------------------------------------------------------------------------

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return open-ish tasks and done tasks awaiting confirmation, by key."""
        sql = f"{SELECT_TASK} WHERE {WATCHED_SQL}"
        params: tuple[str, ...] = ()
        if practice_id is not None:
            sql += f" AND practice_id = {self._mark}"
            params = (practice_id,)
        c = self._collate
        return [task_from_row(row) for row in self._read(f"{sql} ORDER BY key{c}, created_at{c}, id{c}", params)]

    def get(self, task_id: str, *, practice_id: str | None = None) -> Task:
        """Return one task by id, or by a prefix that matches exactly one id (of ``practice_id``, when given).

        Raises:
            UnknownNameError: No task (or more than one) matches.
        """
        return find_task(self._execute, task_id, mark=self._mark, practice_id=practice_id)

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
        sql, params = f"{SELECT_TASK} WHERE {where}", []
        for column, value in (("owner_role", role), ("owner_id", staff_id), ("practice_id", practice_id)):
            if value is not None:
                sql += f" AND {column} = {self._mark}"
                params.append(value)
        tasks = [task_from_row(row) for row in self._read(sql, params)]
        if backlog:
            return sorted(tasks, key=backlog_order)
        return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""
        rows = self._read(f"SELECT * FROM task_event WHERE task_id = {self._mark} ORDER BY seq", (task_id,))
        return [event_from_row(row) for row in rows]

    def cursors(self, practice_id: str) -> dict[str, str]:
        """Return the round-robin state of a practice (role -> last staff id)."""
        sql = f"SELECT role, staff_id FROM assignment_cursor WHERE practice_id = {self._mark}"
        rows = self._read(sql, (practice_id,))
        return {row["role"]: row["staff_id"] for row in rows}

    def cycle_count(self, practice_id: str) -> int:
        """Return how many cycles have been recorded for a practice."""
        rows = self._read(f"SELECT count(*) AS n FROM cycle WHERE practice_id = {self._mark}", (practice_id,))
        return int(rows[0]["n"])

    def cycle_span(self, practice_id: str | None = None) -> tuple[datetime, datetime] | None:
        """Return when the first and the last recorded cycle ran (of one practice, or of any), or ``None``."""
        if practice_id is None:
            rows = self._read("SELECT min(at) AS first, max(at) AS last FROM cycle")
        else:
            sql = f"SELECT min(at) AS first, max(at) AS last FROM cycle WHERE practice_id = {self._mark}"
            rows = self._read(sql, (practice_id,))
        if not rows or rows[0]["first"] is None:
            return None
        return datetime.fromisoformat(rows[0]["first"]), datetime.fromisoformat(rows[0]["last"])

    def practice(self, practice_id: str) -> Practice | None:
        """Return the practice settings stored by the last cycle (for calendars in ``sophie task``)."""
        rows = self._read(f"SELECT settings_json FROM practice WHERE id = {self._mark}", (practice_id,))
        return None if not rows else Practice.model_validate_json(rows[0]["settings_json"])

    def practice_ids(self) -> list[str]:
        """Return the ids of the practices this ledger has run cycles for, sorted (both read indexes)."""
        c = self._collate
        known = "SELECT id FROM practice UNION SELECT practice_id FROM cycle"
        rows = self._read(f"SELECT id FROM ({known}) AS known ORDER BY id{c}")
        return [row["id"] for row in rows]

    def pending_outbox(self) -> list[OutboxMessage]:
        """Return the notifications not yet sent, oldest first."""
        c = self._collate
        rows = self._read(f"SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY created_at{c}, key{c}")
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
            # In order (a task created may change again in the same cycle), a run of one kind at a time.
            for created, run in groupby(changes, key=lambda change: change.kind is ChangeKind.CREATED):
                if created:
                    self._create_tasks(execute, [change.task for change in run])
                else:
                    self._update_tasks(execute, list(run))
            self._insert_outbox(execute, outbox)
            if practice is not None and cycle is not None:
                execute(
                    f"INSERT INTO practice (id, settings_json, updated_at) VALUES ({self._marks(3)}) ON CONFLICT (id) "
                    "DO UPDATE SET settings_json = excluded.settings_json, updated_at = excluded.updated_at "
                    "WHERE practice.settings_json != excluded.settings_json",
                    (practice.id, practice.model_dump_json(), stamp(cycle.at)),
                )
            if cursors and cycle is not None:
                for role, staff_id in sorted(cursors.items()):
                    execute(
                        f"INSERT INTO assignment_cursor (practice_id, role, staff_id) VALUES ({self._marks(3)}) "
                        "ON CONFLICT (practice_id, role) DO UPDATE SET staff_id = excluded.staff_id",
                        (cycle.practice_id, role, staff_id),
                    )
            if cycle is not None:
                execute(
                    f"INSERT INTO cycle (practice_id, at, complete, findings, summary_json) VALUES ({self._marks(5)})",
                    (cycle.practice_id, stamp(cycle.at), int(cycle.complete), cycle.findings,
                     json.dumps(cycle.summary, sort_keys=True)),
                )  # fmt: skip
            # Last, so a store that locks the chain holds the lock only from here to the commit.
            self._append_events(execute, events)

    def _insert_outbox(self, execute: Execute, outbox: Sequence[OutboxMessage]) -> None:
        for message in outbox:
            execute(self._sql_insert_outbox, outbox_params(message))

    def _create_tasks(self, execute: Execute, tasks: Sequence[Task]) -> None:
        """Insert new tasks, in order.

        Raises:
            LedgerConflictError: A task's key is already open.
        """
        for task in tasks:
            taken = self._run_unique(execute, self._sql_insert_task, task_params(task))
            if taken is not None:
                raise LedgerConflictError(f"task key {task.key} is already open", task_id=task.id) from taken

    def _update_tasks(self, execute: Execute, changes: Sequence[TaskChange]) -> None:
        """Write changed tasks, each only if its stored version is the one it was read at.

        Raises:
            LedgerConflictError: A task changed since it was read.
        """
        for change in changes:
            cursor = execute(self._sql_update_task, update_params(change))
            if cursor.rowcount != 1:
                raise LedgerConflictError(f"task {change.task.id} changed since it was read", task_id=change.task.id)

    def _append_events(self, execute: Execute, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        self._lock_chain(execute)
        previous = self._start_chain(execute)
        key = self._chain_key(execute)
        rows = []
        for event in events:
            digest = chain_hash(previous, event, key)
            rows.append(event_params(event, previous, digest))
            previous = digest
        self._insert_events(execute, rows)

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
        """Apply a person's action (ack, done, snooze, block, reopen, note) and audit it, atomically.

        The practice calendar stored by the last cycle measures blocked time in business hours.

        Raises:
            UnknownNameError: No task has that id.
            TransitionError: The action is not allowed now (or reopening would duplicate an open key).
        """
        with self._write() as execute:
            task = find_task(execute, task_id, mark=self._mark)
            if self._for_update:  # lock the row, then read it as it stands once locked
                execute(f"SELECT 1 FROM task WHERE id = {self._mark}{self._for_update}", (task.id,))
                task = find_task(execute, task.id, mark=self._mark)
            calendar = self._calendar(task.practice_id)
            result = apply_action(task, action, now=now, calendar=calendar, until=until, reason=reason)
            params = (*task_params(result.task)[1:], task.id, task.version)
            taken = self._run_unique(execute, self._sql_update_task, params)
            if taken is not None:
                other = execute(f"SELECT id FROM task WHERE key = {self._mark} AND {OPEN_SQL}", (task.key,)).fetchone()
                hint = f"task {other['id'] if other else '?'} is already open for the same stall"
                raise TransitionError(task.id, str(action), str(task.status), hint=hint) from taken
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
        m = self._mark
        rows = execute(
            f"{SELECT_TASK} WHERE status = 'backlog' AND owner_id = {m} AND practice_id = {m}{self._for_update}",
            (before.owner_id, before.practice_id),
        ).fetchall()
        released = release_after_close(before, after, [task_from_row(row) for row in rows], now, calendar)
        if released is None:
            return
        waiting = find_task(execute, released.id, mark=m)
        why = f"released from the backlog: task {before.id} left {before.owner_id}'s day"
        change = TaskChange(ChangeKind.RELEASED, released, waiting, why)
        self._update_tasks(execute, [change])
        self._append_events(execute, [event_for_change(change)])
        message = message_for_change(change, released.rule)
        if message is not None:
            self._insert_outbox(execute, [message])

    def _calendar(self, practice_id: str) -> BusinessCalendar | None:
        practice = self.practice(practice_id)
        if practice is None:
            return None
        return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)

"""The SQLite ledger: the embedded default store (stdlib ``sqlite3``).

- WAL journal, ``synchronous=FULL`` (a committed cycle survives a power cut when the disk
  honours fsync), ``busy_timeout`` so concurrent writers wait instead of failing.
- Every write is one ``BEGIN IMMEDIATE`` transaction: a reconcile's task changes, audit
  events, outbox rows and bookkeeping commit together or not at all. A process killed
  mid-transaction leaves nothing behind (SQLite rolls the journal back on next open).
- A partial unique index keeps one open-ish task per key; updates are compare-and-set on
  ``version``.
- Audit events are append-only (triggers refuse updates and deletes) and hash-chained;
  keyed (HMAC-SHA256) when ``SOPHIE_AUDIT_KEY`` is set as the ledger's first event is
  written. A dropped or altered trigger is put back on open, and the repair noted.
- Datetimes are stored as UTC ISO 8601 text with microseconds (so they sort) and
  returned in the practice's timezone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sophie.errors import LedgerConflictError, LedgerError, TransitionError, UnknownNameError
from sophie.execution.actions import Action, ActionResult, apply_action
from sophie.execution.capacity import backlog_order, release_after_close
from sophie.execution.scorecard import ScoreEvent, ScoreTask
from sophie.execution.stores.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainScheme,
    audit_key_from_environment,
    chain_hash,
    event_for_action,
    event_for_change,
    key_check,
)
from sophie.execution.stores.ledger import CycleRecord, OwnerLoad, sqlite_path
from sophie.execution.stores.outbox import OutboxMessage, message_for_change
from sophie.execution.stores.sqlite.integrity import SqliteIntegrity, decode_event, read_marker, write_marker
from sophie.execution.stores.sqlite.schema import DAY_SQL, OPEN_SQL, WATCHED_SQL, migrate
from sophie.execution.stores.verify import ChainMarker
from sophie.execution.tasks import (
    OPEN_STATUSES,
    ChangeKind,
    MemberRef,
    Task,
    TaskChange,
    TaskStatus,
    priority_rank,
)
from sophie.model.calendar import BusinessCalendar
from sophie.model.enums import Priority
from sophie.model.records import Practice

__all__ = ["SqliteLedger", "open_ledger"]

logger = logging.getLogger(__name__)

StatementHook = Callable[[str], None]

AuditKeySource = bytes | None | Literal["environment"]
"""An audit key, ``None`` for none, or ``"environment"`` to read ``SOPHIE_AUDIT_KEY``."""
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
_ID_CHUNK = 500
_OFFSET_SLACK = timedelta(days=1)
_PRIORITY_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
_SCORE_EVENTS = (
    "SELECT task_id, at, actor, kind, rule_id, json_extract(data_json, '$.owner_id'), "
    "json_extract(data_json, '$.owner_role'), "
    "CASE WHEN json_type(data_json, '$.due_at') = 'text' THEN json_extract(data_json, '$.due_at') END "
    "FROM task_event WHERE {where} ORDER BY seq"
)
_OPEN_NAMES = frozenset(str(status) for status in OPEN_STATUSES)
_IN_DAY = "status != 'backlog'"  # of the open-ish tasks
_NARROW = timedelta(days=62)  # an events window this short reads the time index, a longer one the table
_EVENT_COLUMNS = (
    "task_id", "at", "actor", "kind", "from_status", "to_status", "why", "rule_id", "rule_version", "content_hash",
    "data_json", "prev_hash", "hash",
)  # fmt: skip


def open_ledger(
    url: str, *, statement_hook: StatementHook | None = None, audit_key: AuditKeySource = "environment"
) -> SqliteLedger:
    """Open (creating and migrating if needed) the ledger a ``--db`` URL names."""
    return SqliteLedger(sqlite_path(url), statement_hook=statement_hook, audit_key=audit_key)


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


class SqliteLedger(SqliteIntegrity):
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
        audit_key: The secret of a keyed audit chain; by default read from
            ``SOPHIE_AUDIT_KEY``. A new ledger written with a key is keyed from its first
            event on; a keyed ledger refuses writes without its key.

    Raises:
        LedgerError: The file is not a sophie ledger, is from a newer sophie, or cannot be opened.
        ConfigurationError: ``SOPHIE_AUDIT_KEY`` is set but too short.
    """

    def __init__(
        self,
        path: str,
        *,
        statement_hook: StatementHook | None = None,
        busy_timeout_ms: int = 30_000,
        autocheckpoint: bool = True,
        audit_key: AuditKeySource = "environment",
    ):
        self.path = path
        self._hook = statement_hook
        _refuse_empty_file(path)
        _create_in_one_step(path)
        self._key = audit_key_from_environment() if audit_key == "environment" else audit_key
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
            migrate(self._db, path=path, now=_stamp(datetime.now(UTC)) or "")
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
                sql += f" AND {column} = ?"
                params.append(value)
        tasks = [_task(row) for row in self._db.execute(sql, params)]
        if backlog:
            return sorted(tasks, key=backlog_order)
        return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))

    def _task_filter(
        self,
        *,
        owner_id: str | None = None,
        role: str | None = None,
        statuses: Sequence[str] | None = None,
        rule: str | None = None,
        subject_type: str | None = None,
        due_before: datetime | None = None,
        due_after: datetime | None = None,
        practice_id: str | None = None,
        task_ids: Sequence[str] | None = None,
        not_owner_id: str | None = None,
    ) -> tuple[str, list[Any]]:
        clauses = [OPEN_SQL if statuses is None else f"status IN ({', '.join('?' * len(statuses))})"]
        params: list[Any] = [] if statuses is None else [str(status) for status in statuses]
        if statuses is not None and set(params) <= _OPEN_NAMES:  # so the partial indexes of open tasks serve
            clauses.insert(0, OPEN_SQL)
        for column, value in (("owner_id", owner_id), ("owner_role", role), ("rule_id", rule),
                              ("practice_id", practice_id), ("subject_type", subject_type)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if not_owner_id is not None:
            clauses.append("owner_id IS NOT ?")  # unowned tasks included
            params.append(not_owner_id)
        if due_before is not None:
            clauses.append("due_at < ?")
            params.append(_stamp(due_before))
        if due_after is not None:
            clauses.append("due_at >= ?")
            params.append(_stamp(due_after))
        if task_ids is not None:
            clauses.append(f"id IN ({', '.join('?' * len(task_ids))})" if task_ids else "0")
            params.extend(task_ids)
        return " AND ".join(clauses), params

    def find_tasks(
        self,
        *,
        owner_id: str | None = None,
        role: str | None = None,
        statuses: Sequence[str] | None = None,
        rule: str | None = None,
        subject_type: str | None = None,
        due_before: datetime | None = None,
        due_after: datetime | None = None,
        practice_id: str | None = None,
        task_ids: Sequence[str] | None = None,
        limit: int | None = None,
        not_owner_id: str | None = None,
    ) -> list[Task]:
        """Return tasks matching every filter given, most urgent first, then earliest due."""
        if task_ids is not None and len(task_ids) > _ID_CHUNK:
            found: list[Task] = []
            for start in range(0, len(task_ids), _ID_CHUNK):
                found += self.find_tasks(
                    owner_id=owner_id, role=role, statuses=statuses, rule=rule, subject_type=subject_type,
                    due_before=due_before, due_after=due_after, practice_id=practice_id,
                    task_ids=task_ids[start : start + _ID_CHUNK], not_owner_id=not_owner_id,
                )  # fmt: skip
            found.sort(key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))
            return found if limit is None else found[:limit]
        where, params = self._task_filter(
            owner_id=owner_id, role=role, statuses=statuses, rule=rule, subject_type=subject_type,
            due_before=due_before, due_after=due_after, practice_id=practice_id, task_ids=task_ids,
            not_owner_id=not_owner_id,
        )  # fmt: skip
        sql = f"{_SELECT_TASK} WHERE {where} ORDER BY {_PRIORITY_ORDER}, due_at, created_at, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_task(row) for row in self._db.execute(sql, params)]

    def count_tasks(
        self,
        *,
        owner_id: str | None = None,
        role: str | None = None,
        statuses: Sequence[str] | None = None,
        due_before: datetime | None = None,
        due_after: datetime | None = None,
        not_owner_id: str | None = None,
        practice_id: str | None = None,
    ) -> int:
        """Return how many tasks match (``statuses`` ``None``: the open-ish ones)."""
        where, params = self._task_filter(
            owner_id=owner_id, role=role, statuses=statuses, due_before=due_before, due_after=due_after,
            not_owner_id=not_owner_id, practice_id=practice_id,
        )  # fmt: skip
        return int(self._db.execute(f"SELECT count(*) FROM task WHERE {where}", params).fetchone()[0])

    def owner_loads(
        self, *, now: datetime, day_end: datetime, practice_id: str | None = None, owner_id: str | None = None
    ) -> dict[str, OwnerLoad]:
        """Return each owner's day, overdue, due-today and backlog counts (key ``""``: unowned).

        ``open``, ``overdue`` and ``due_today`` count the tasks in the owner's day; the
        backlog is counted apart. One covering index answers it.
        """
        sql = (
            f"SELECT coalesce(owner_id, '') AS owner, sum({_IN_DAY}) AS open, "
            f"sum({_IN_DAY} AND due_at < ?) AS overdue, sum({_IN_DAY} AND due_at >= ? AND due_at < ?) AS today, "
            f"sum(status = 'backlog') AS backlog FROM task WHERE {OPEN_SQL}"  # backlog is open-ish: one index
        )
        params: list[Any] = [_stamp(now), _stamp(now), _stamp(day_end)]
        for column, value in (("practice_id", practice_id), ("owner_id", owner_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        rows = self._db.execute(sql + " GROUP BY owner_id", params)
        return {row["owner"]: OwnerLoad(row["open"], row["overdue"], row["today"], row["backlog"]) for row in rows}

    def events(
        self, *, since: datetime | None = None, until: datetime | None = None, kinds: Sequence[str] | None = None
    ) -> list[AuditEvent]:
        """Return audit events in ``[since, until)`` (of ``kinds``, when given), oldest first.

        Event times are stored with their own UTC offset, so the index narrows to a window a
        day wider on each side and the exact bounds are applied to the parsed times.
        """
        clauses, params = ["1"], []
        if since is not None:
            clauses.append("at >= ?")
            params.append((since.astimezone(UTC) - _OFFSET_SLACK).isoformat()[:19])
        if until is not None:
            clauses.append("at < ?")
            params.append((until.astimezone(UTC) + _OFFSET_SLACK).isoformat()[:19])
        if kinds is not None:
            clauses.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        cursor = self._db.cursor()
        cursor.row_factory = None  # plain tuples: a year of events is read here
        narrow = since is not None and (until is None or until - since <= _NARROW)
        rows = cursor.execute(  # "+seq": sort what the time index finds, rather than scan the table in order
            "SELECT task_id, at, actor, kind, from_status, to_status, why, rule_id, rule_version, content_hash, "
            f"data_json FROM task_event WHERE {' AND '.join(clauses)} ORDER BY {'+seq' if narrow else 'seq'}",
            params,
        )
        parse, load = datetime.fromisoformat, json.loads
        found = []
        for task_id, at, actor, kind, from_status, to_status, why, rule_id, version, content, data in rows:
            when = parse(at)
            if (since is None or when >= since) and (until is None or when < until):
                found.append(
                    AuditEvent(task_id, when, actor, kind, from_status, to_status, why, rule_id, version, content,
                               load(data))
                )  # fmt: skip
        return found

    def score_events(
        self, *, since: datetime | None = None, until: datetime | None = None, practice_id: str | None = None
    ) -> list[ScoreEvent]:
        """Return what the scorecard reads of the audit events, in audit order (a day's slack either side).

        The owner, role and due time are taken out of the event's data by SQLite's JSON
        functions, so no event is decoded in Python.
        """
        clauses, params = ["1"], []
        if since is not None:
            clauses.append("at >= ?")
            params.append((since.astimezone(UTC) - _OFFSET_SLACK).isoformat()[:19])
        if until is not None:
            clauses.append("at < ?")
            params.append((until.astimezone(UTC) + _OFFSET_SLACK).isoformat()[:19])
        if practice_id is not None:
            clauses.append("task_id IN (SELECT id FROM task WHERE practice_id = ?)")
            params.append(practice_id)
        cursor = self._db.cursor()
        cursor.row_factory = None
        return cursor.execute(_SCORE_EVENTS.format(where=" AND ".join(clauses)), params).fetchall()

    def score_tasks(self, task_ids: Sequence[str]) -> dict[str, ScoreTask]:
        """Return the due time and evidence of the tasks given (those that exist), by id."""
        found: dict[str, ScoreTask] = {}
        cursor = self._db.cursor()
        cursor.row_factory = None
        for start in range(0, len(task_ids), _ID_CHUNK):
            chunk = list(task_ids[start : start + _ID_CHUNK])
            sql = f"SELECT id, due_at, evidence_json FROM task WHERE id IN ({', '.join('?' * len(chunk))})"
            for task_id, due, evidence in cursor.execute(sql, chunk):
                found[task_id] = ScoreTask(datetime.fromisoformat(due), json.loads(evidence))
        return found

    def change_marker(self) -> str:
        """Return the last audit event's and cycle's numbers: they change with every commit that matters."""
        row = self._db.execute(
            "SELECT (SELECT coalesce(max(seq), 0) FROM task_event), (SELECT coalesce(max(id), 0) FROM cycle)"
        ).fetchone()
        return f"{row[0]}.{row[1]}"

    def practice_ids(self) -> list[str]:
        """Return the ids of the practices this ledger has seen cycles of."""
        return [row[0] for row in self._db.execute("SELECT id FROM practice ORDER BY id")]

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""
        rows = self._db.execute("SELECT * FROM task_event WHERE task_id = ? ORDER BY seq", (task_id,))
        return [self._event(row) for row in rows]

    def _event(self, row: sqlite3.Row) -> AuditEvent:
        return decode_event(row)

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
            self._insert_outbox(execute, outbox)
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

    def _insert_outbox(self, execute: Callable[..., sqlite3.Cursor], outbox: Sequence[OutboxMessage]) -> None:
        for message in outbox:
            stamp = _stamp(message.created_at)
            execute(
                "INSERT OR IGNORE INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, "
                "not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message.key, message.task_id, message.recipient_id, message.kind,
                 json.dumps(message.payload, sort_keys=True), stamp, stamp),
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
        if row is None and self._key is not None and read_marker(execute) is None:
            write_marker(execute, ChainMarker(ChainScheme.HMAC_SHA256, key_check(self._key)))
        key = self._chain_key(execute)
        previous = GENESIS_HASH if row is None else row["hash"]
        sql = f"INSERT INTO task_event ({', '.join(_EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})"
        for event in events:
            digest = chain_hash(previous, event, key)
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
            event = event_for_action(task, result.task, result.event, result.why, actor=actor, note=result.note)
            self._append_events(execute, [event])
            self._release_after(execute, task, result.task, now, calendar)
        logger.info("task %s %s by %s", task.id, result.event, actor)
        return result

    def _release_after(
        self,
        execute: Callable[..., sqlite3.Cursor],
        before: Task,
        after: Task,
        now: datetime,
        calendar: BusinessCalendar | None,
    ) -> None:
        """Release the owner's next backlog task when an action freed room in their day (same transaction)."""
        if before.owner_id is None or after.in_day:
            return
        rows = execute(
            f"{_SELECT_TASK} WHERE status = 'backlog' AND owner_id = ? AND practice_id = ?",
            (before.owner_id, before.practice_id),
        ).fetchall()
        released = release_after_close(before, after, [_task(row) for row in rows], now, calendar)
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


def _create_in_one_step(path: str) -> None:
    """Create a missing ledger file whole: built beside it, then linked into place.

    So sophie itself never leaves a 0-byte ledger (a process killed while creating one
    leaves only its temporary file), and :func:`_refuse_empty_file` can refuse every empty
    one. If another process links its ledger first, that one is used. Where hard links are
    not available, the ledger is created in place as SQLite does.
    """
    if path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    temp = f"{path}.{os.getpid()}.new"
    try:
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            migrate(db, path=path, now=_stamp(datetime.now(UTC)) or "")
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temp, path)
    except (OSError, sqlite3.DatabaseError):
        pass  # created in place below, or the real open reports why it cannot be
    finally:
        for suffix in ("", "-journal"):
            with contextlib.suppress(OSError):
                os.remove(temp + suffix)


def _refuse_empty_file(path: str) -> None:
    """Refuse a ledger file that exists but is empty, rather than start a new ledger in it.

    SQLite takes a 0-byte file for a new database: a ledger emptied by a failed restore
    would silently become a fresh one, and every open task would be created and notified
    again. Sophie creates new ledgers in one step (:func:`_create_in_one_step`).
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        empty = os.path.getsize(path) == 0
        wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
    except OSError:
        return  # missing or unreadable: sqlite3 creates it or reports why
    if empty and not wal:
        raise LedgerError(f"ledger file is empty: {path}; restore it or remove it")

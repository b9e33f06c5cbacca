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
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sophie.errors import LedgerError
from sophie.execution.scorecard import ScoreEvent, ScoreTask
from sophie.execution.stores.audit import (
    AuditEvent,
    audit_key_from_environment,
)
from sophie.execution.stores.integrity import Execute
from sophie.execution.stores.ledger import OwnerLoad, sqlite_path
from sophie.execution.stores.rows import stamp, task_from_row
from sophie.execution.stores.sql_ledger import SELECT_TASK, SqlLedger, StatementHook
from sophie.execution.stores.sqlite.integrity import SqliteIntegrity
from sophie.execution.stores.sqlite.schema import OPEN_SQL, migrate
from sophie.execution.tasks import (
    OPEN_STATUSES,
    Task,
    priority_rank,
)

__all__ = ["SqliteLedger", "open_ledger"]


AuditKeySource = bytes | None | Literal["environment"]
"""An audit key, ``None`` for none, or ``"environment"`` to read ``SOPHIE_AUDIT_KEY``."""
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


class SqliteLedger(SqliteIntegrity, SqlLedger):
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
            migrate(self._db, path=path, now=stamp(datetime.now(UTC)) or "")
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

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    def _run_unique(self, execute: Execute, sql: str, params: Sequence[Any]) -> Exception | None:
        try:
            execute(sql, params)
        except sqlite3.IntegrityError as err:
            return err
        return None

    # -- reads -------------------------------------------------------------------------------

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
            params.append(stamp(due_before))
        if due_after is not None:
            clauses.append("due_at >= ?")
            params.append(stamp(due_after))
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
        sql = f"{SELECT_TASK} WHERE {where} ORDER BY {_PRIORITY_ORDER}, due_at, created_at, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [task_from_row(row) for row in self._db.execute(sql, params)]

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
        params: list[Any] = [stamp(now), stamp(now), stamp(day_end)]
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
            migrate(db, path=path, now=stamp(datetime.now(UTC)) or "")
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

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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg

from sophie.errors import LedgerConflictError, LedgerError
from sophie.execution.stores.audit import (
    audit_key_from_environment,
)
from sophie.execution.stores.outbox import OutboxMessage
from sophie.execution.stores.postgres.connection import LEDGER_LOCK_SQL, connect, describe
from sophie.execution.stores.postgres.integrity import PostgresIntegrity
from sophie.execution.stores.postgres.reading import PostgresReading
from sophie.execution.stores.postgres.schema import migrate
from sophie.execution.stores.rows import stamp, task_params
from sophie.execution.stores.sql_ledger import SELECT_TASK, SqlLedger, StatementHook, outbox_params, update_params
from sophie.execution.tasks import Task, TaskChange

__all__ = ["AUDIT_LOCK", "PostgresLedger"]


Execute = Callable[..., "psycopg.Cursor[dict[str, Any]]"]

AUDIT_LOCK = 2
"""The advisory lock (of this ledger's schema) a writer holds from appending audit events until it commits."""

_SELECT_TASK = SELECT_TASK
_C = 'COLLATE "C"'
"""Compare and sort text bytewise, as SQLite does."""

AuditKeySource = bytes | None | Literal["environment"]
"""An audit key, ``None`` for none, or ``"environment"`` to read ``SOPHIE_AUDIT_KEY``."""


class PostgresLedger(PostgresReading, PostgresIntegrity, SqlLedger):
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

    _for_update = " FOR UPDATE"

    def __init__(
        self, url: str, *, statement_hook: StatementHook | None = None, audit_key: AuditKeySource = "environment"
    ) -> None:
        self.path = describe(url)
        self._hook = statement_hook
        self._key = audit_key_from_environment() if audit_key == "environment" else audit_key
        self._db = connect(url)
        try:
            migrate(self._db, where=self.path, now=stamp(datetime.now(UTC)) or "")
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

    def _run_unique(self, execute: Execute, sql: str, params: Sequence[Any]) -> Exception | None:
        try:
            with self._db.transaction():  # a savepoint: the violation leaves the transaction usable
                execute(sql, params)
        except psycopg.errors.UniqueViolation as err:
            return err
        return None

    def _lock_chain(self, execute: Execute) -> None:
        execute(LEDGER_LOCK_SQL, (AUDIT_LOCK,))

    def _insert_events(self, execute: Execute, rows: Sequence[tuple[Any, ...]]) -> None:
        self._many(self._sql_insert_event, rows)

    # A cycle writes hundreds of rows; one round trip each over the network is most of its
    # write time, so tasks and outbox rows go as batches (psycopg pipelines ``executemany``),
    # their conflicts read back from what each statement returned.

    def _many(self, sql: str, rows: Sequence[tuple[Any, ...]], *, returning: bool = False) -> list[Any]:
        """Run ``sql`` once per row as one batch; with ``returning``, return the first column of every row returned."""
        if not rows:
            return []
        if self._hook is not None:
            self._hook(sql)
        found: list[Any] = []
        with self._db.cursor() as cursor:
            cursor.executemany(sql, rows, returning=returning)
            while returning:  # one result set per statement (nextset: psycopg 3.1 and later)
                found.extend(next(iter(row.values())) for row in cursor.fetchall())
                if not cursor.nextset():
                    break
        return found

    def _create_tasks(self, execute: Execute, tasks: Sequence[Task]) -> None:
        written = set(self._many(self._sql_create_task, [task_params(task) for task in tasks], returning=True))
        for task in tasks:
            if task.id not in written:
                raise LedgerConflictError(f"task key {task.key} is already open", task_id=task.id)

    def _update_tasks(self, execute: Execute, changes: Sequence[TaskChange]) -> None:
        written = set(self._many(self._sql_update_task_returning, [update_params(c) for c in changes], returning=True))
        for change in changes:
            if change.task.id not in written:
                raise LedgerConflictError(f"task {change.task.id} changed since it was read", task_id=change.task.id)

    def _insert_outbox(self, execute: Execute, outbox: Sequence[OutboxMessage]) -> None:
        self._many(self._sql_insert_outbox, [outbox_params(message) for message in outbox])

    # -- reads -------------------------------------------------------------------------------


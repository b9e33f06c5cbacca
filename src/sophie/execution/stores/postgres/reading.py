"""The PostgreSQL ledger's reads for the staff pages and ``sophie report``.

A mixin :class:`~sophie.execution.stores.postgres.ledger.PostgresLedger` inherits: the
:class:`~sophie.execution.stores.ledger.ReportingLedger` methods beyond the loop's, with
the SQLite store's meaning (same filters, same order, same counts). Times are stored as
UTC ISO 8601 text, so they compare as text; ordering uses the ``C`` collation as the rest
of the store does. Event times keep their own offset, so event reads narrow by a window a
day wider each side and apply the exact bounds to the parsed times.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from sophie.errors import LedgerError
from sophie.execution.scorecard import ScoreEvent, ScoreTask
from sophie.execution.stores.audit import AuditEvent
from sophie.execution.stores.ledger import OwnerLoad
from sophie.execution.stores.rows import TASK_COLUMNS, event_from_row, stamp, task_from_row
from sophie.execution.stores.schema import OPEN_SQL
from sophie.execution.tasks import OPEN_STATUSES, Task

__all__ = ["PostgresReading"]

_C = 'COLLATE "C"'
_SLACK = timedelta(days=1)
_OPEN_NAMES = frozenset(str(status) for status in OPEN_STATUSES)
_PRIORITY_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
_IN_DAY = "status <> 'backlog'"
_SCORE_EVENTS = (
    "SELECT task_id, at, actor, kind, rule_id, d -> 'owner_id', d -> 'owner_role', "
    "CASE WHEN jsonb_typeof(d -> 'due_at') = 'string' THEN d ->> 'due_at' END "
    "FROM (SELECT seq, task_id, at, actor, kind, rule_id, data_json::jsonb AS d FROM task_event WHERE {where}) AS e "
    "ORDER BY seq"
)


class PostgresReading:
    """The staff pages' and the scorecard's reads on a PostgreSQL ledger (a mixin)."""

    path: str
    _db: psycopg.Connection[dict[str, Any]]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except psycopg.Error as err:
            raise LedgerError(f"{self.path}: the ledger read failed: {err}") from err

    def _tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._db.cursor(row_factory=tuple_row) as cursor:
                return cursor.execute(sql, params).fetchall()
        except psycopg.Error as err:
            raise LedgerError(f"{self.path}: the ledger read failed: {err}") from err

    @staticmethod
    def _task_filter(
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
        clauses: list[str] = [OPEN_SQL]
        params: list[Any] = []
        if statuses is not None:
            names = [str(status) for status in statuses]
            clauses = [OPEN_SQL, "status = ANY(%s)"] if set(names) <= _OPEN_NAMES else ["status = ANY(%s)"]
            params.append(names)
        for column, value in (("owner_id", owner_id), ("owner_role", role), ("rule_id", rule),
                              ("practice_id", practice_id), ("subject_type", subject_type)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if not_owner_id is not None:
            clauses.append("owner_id IS DISTINCT FROM %s")  # unowned tasks included
            params.append(not_owner_id)
        if due_before is not None:
            clauses.append(f"due_at < %s {_C}")
            params.append(stamp(due_before))
        if due_after is not None:
            clauses.append(f"due_at >= %s {_C}")
            params.append(stamp(due_after))
        if task_ids is not None:
            clauses.append("id = ANY(%s)")
            params.append(list(task_ids))
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
        where, params = self._task_filter(
            owner_id=owner_id, role=role, statuses=statuses, rule=rule, subject_type=subject_type,
            due_before=due_before, due_after=due_after, practice_id=practice_id, task_ids=task_ids,
            not_owner_id=not_owner_id,
        )  # fmt: skip
        sql = (
            f"SELECT {', '.join(TASK_COLUMNS)} FROM task WHERE {where} "
            f"ORDER BY {_PRIORITY_ORDER}, due_at {_C}, created_at {_C}, id {_C}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [task_from_row(row) for row in self._rows(sql, params)]

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
        return int(self._tuples(f"SELECT count(*) FROM task WHERE {where}", params)[0][0])

    def owner_loads(
        self, *, now: datetime, day_end: datetime, practice_id: str | None = None, owner_id: str | None = None
    ) -> dict[str, OwnerLoad]:
        """Return each owner's day, overdue, due-today and backlog counts (key ``""``: unowned)."""
        sql = (
            f"SELECT coalesce(owner_id, ''), count(*) FILTER (WHERE {_IN_DAY}), "
            f"count(*) FILTER (WHERE {_IN_DAY} AND due_at < %s {_C}), "
            f"count(*) FILTER (WHERE {_IN_DAY} AND due_at >= %s {_C} AND due_at < %s {_C}), "
            f"count(*) FILTER (WHERE status = 'backlog') FROM task WHERE {OPEN_SQL}"
        )
        params: list[Any] = [stamp(now), stamp(now), stamp(day_end)]
        for column, value in (("practice_id", practice_id), ("owner_id", owner_id)):
            if value is not None:
                sql += f" AND {column} = %s"
                params.append(value)
        rows = self._tuples(sql + " GROUP BY owner_id", params)
        return {owner: OwnerLoad(int(a), int(b), int(c), int(d)) for owner, a, b, c, d in rows}

    @staticmethod
    def _window(since: datetime | None, until: datetime | None) -> tuple[list[str], list[Any]]:
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        if since is not None:
            clauses.append(f"at >= %s {_C}")
            params.append((since.astimezone(UTC) - _SLACK).isoformat()[:19])
        if until is not None:
            clauses.append(f"at < %s {_C}")
            params.append((until.astimezone(UTC) + _SLACK).isoformat()[:19])
        return clauses, params

    def events(
        self, *, since: datetime | None = None, until: datetime | None = None, kinds: Sequence[str] | None = None
    ) -> list[AuditEvent]:
        """Return audit events in ``[since, until)`` (of ``kinds``, when given), oldest first."""
        clauses, params = self._window(since, until)
        if kinds is not None:
            clauses.append("kind = ANY(%s)")
            params.append(list(kinds))
        rows = self._rows(f"SELECT * FROM task_event WHERE {' AND '.join(clauses)} ORDER BY seq", params)
        found = []
        for row in rows:
            event = event_from_row(row)
            if (since is None or event.at >= since) and (until is None or event.at < until):
                found.append(event)
        return found

    def score_events(
        self, *, since: datetime | None = None, until: datetime | None = None, practice_id: str | None = None
    ) -> list[ScoreEvent]:
        """Return what the scorecard reads of the audit events, in audit order (a day's slack either side)."""
        clauses, params = self._window(since, until)
        if practice_id is not None:
            clauses.append("task_id IN (SELECT id FROM task WHERE practice_id = %s)")
            params.append(practice_id)
        rows = self._tuples(_SCORE_EVENTS.format(where=" AND ".join(clauses)), params)
        return [ScoreEvent(*row) for row in rows]

    def score_tasks(self, task_ids: Sequence[str]) -> dict[str, ScoreTask]:
        """Return the due time and evidence of the tasks given (those that exist), by id."""
        rows = self._tuples("SELECT id, due_at, evidence_json FROM task WHERE id = ANY(%s)", [list(task_ids)])
        return {task_id: ScoreTask(datetime.fromisoformat(due), json.loads(data)) for task_id, due, data in rows}

    def change_marker(self) -> str:
        """Return the last audit event's and cycle's numbers (appends are serialized, so they only grow)."""
        row = self._tuples(
            "SELECT (SELECT coalesce(max(seq), 0) FROM task_event), (SELECT coalesce(max(id), 0) FROM cycle)"
        )[0]
        return f"{row[0]}.{row[1]}"

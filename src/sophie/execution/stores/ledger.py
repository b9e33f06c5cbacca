"""The ledger: where tasks, their audit trail and the notification outbox are kept.

:class:`Ledger` is the interface every store implements: SQLite
(:class:`~sophie.execution.stores.sqlite.ledger.SqliteLedger`, the embedded default) and
PostgreSQL (:class:`~sophie.execution.stores.postgres.ledger.PostgresLedger`, for a group). Its guarantees:

- :meth:`Ledger.apply` writes a reconcile's task changes, audit events and outbox rows
  in **one transaction**: all of them or none.
- Updates are compare-and-set on the task's ``version``; a create conflicts when an
  open-ish task already holds the key. On either conflict nothing is written and
  :class:`LedgerConflictError` is raised, so the caller re-reads and reconciles again.
- At most one open-ish task per key, enforced by the store itself (a partial unique index).
- Audit events are append-only.

``--db`` URLs: ``postgresql://user@host:port/db`` (a group's shared ledger),
``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, a plain
path, or ``:memory:`` (also ``sqlite://`` and ``sqlite:///:memory:``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sophie.errors import ConfigurationError, LedgerConflictError, LedgerError
from sophie.execution.capacity import day_counts
from sophie.execution.stores.verify import SupportsVerify
from sophie.execution.tasks import JsonValue, Task, TaskChange
from sophie.model.redaction import mask_url

if TYPE_CHECKING:
    from sophie.execution.actions import Action, ActionResult
    from sophie.execution.scorecard import ScoreEvent, ScoreTask
    from sophie.execution.stores.audit import AuditEvent
    from sophie.execution.stores.outbox import OutboxMessage
    from sophie.model.records import Practice

__all__ = [
    "DEFAULT_DB_URL",
    "CycleRecord",
    "Ledger",
    "LedgerConflictError",
    "LedgerError",
    "OwnerLoad",
    "ReportingLedger",
    "StoredLedger",
    "SupportsCheckpoint",
    "TaskSelection",
    "is_postgres_url",
    "select_all",
    "sqlite_path",
]

DEFAULT_DB_URL = "sqlite:///sophie.db"
"""The ledger ``sophie`` uses when ``--db`` is not given: ``sophie.db`` in the current directory."""


@dataclass(frozen=True, slots=True)
class TaskSelection:
    """The tasks one reconcile follows, with the practice-wide counts that ownership needs.

    A complete cycle follows every open-ish task; an incremental one follows only the tasks
    whose subjects it re-read, while least-open ownership still weighs everyone's load.

    Attributes:
        tasks: The open-ish and awaiting-verification tasks to reconcile.
        open_counts: Tasks in each owner's day (not their backlog), over the whole practice:
            what least-open ownership weighs.
        open_total: Open-ish tasks (backlog included) in the whole practice.
        day_counts: Per owner, the tasks taking room in their day (urgent ones apart), over
            the whole practice; ``None``: count them from ``tasks``.
        backlog: Backlog tasks of the practice that ``tasks`` does not hold (an incremental
            cycle's), so room freed in the cycle can release them.
    """

    tasks: Sequence[Task]
    open_counts: Mapping[str, int]
    open_total: int
    day_counts: Mapping[str, int] | None = None
    backlog: Sequence[Task] = ()


def select_all(tasks: Sequence[Task]) -> TaskSelection:
    """Return a selection of every task in ``tasks`` (a complete cycle's view)."""
    counts = Counter(task.owner_id for task in tasks if task.in_day and task.owner_id is not None)
    return TaskSelection(tasks, counts, sum(1 for task in tasks if task.is_open), day_counts(tasks))


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """What one cycle saw and decided, kept beside the tasks (proof of what sophie knew when).

    Attributes:
        practice_id: The practice.
        at: The cycle's ``now``.
        complete: Whether the evaluation was complete.
        findings: How many findings it had.
        summary: Counts of changes by kind, errors, pack versions.
    """

    practice_id: str
    at: datetime
    complete: bool
    findings: int
    summary: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OwnerLoad:
    """One owner's open work at a moment (the huddle board's load column).

    Attributes:
        open: Tasks in the owner's day (open-ish, not in the backlog).
        overdue: Of those, due before the moment.
        due_today: Of those, due between the moment and the end of the day.
        backlog: Tasks waiting in the owner's backlog (status ``backlog``).
    """

    open: int
    overdue: int
    due_today: int
    backlog: int = 0


class Ledger(Protocol):
    """A durable store of tasks, audit events and outbox rows (see the module docstring)."""

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return the open-ish tasks, and the done tasks still awaiting confirmation.

        These are the tasks reconcile follows; ``practice_id`` narrows to one practice.
        """

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
        """Write changes, events and outbox rows (and the cycle's bookkeeping) atomically.

        ``practice`` (its hours, for business time in :meth:`transition`) and ``cursors``
        are stored with a ``cycle`` record; without one only the changes, events and outbox
        rows are written.

        Raises:
            LedgerConflictError: A task changed since it was read, or a key is taken.
        """

    def get(self, task_id: str) -> Task:
        """Return one task by id (or a unique id prefix).

        Raises:
            UnknownNameError: No task has that id.
        """

    def queue(
        self,
        *,
        role: str | None = None,
        staff_id: str | None = None,
        practice_id: str | None = None,
        backlog: bool = False,
    ) -> list[Task]:
        """Return the tasks in people's day, most urgent first, then earliest due.

        ``backlog=True`` returns the backlog instead, in the order it is released.
        """

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
        """Apply a person's action to a task and audit it, in one transaction.

        Raises:
            UnknownNameError: No task has that id.
            TransitionError: The action is not allowed from the task's status.
        """

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events, oldest first."""

    def cursors(self, practice_id: str) -> dict[str, str]:
        """Return the round-robin state of a practice (role -> last staff id)."""

    def cycle_count(self, practice_id: str) -> int:
        """Return how many cycles have been recorded for a practice (new task ids fold it in)."""

    def close(self) -> None:
        """Release the store's resources."""


class StoredLedger(Ledger, SupportsVerify, Protocol):
    """A ledger in a database, with what the command line reads beyond :class:`Ledger` (``ledger verify``'s too)."""

    path: str
    """Where it is, for messages (a file path, or a server URL without credentials)."""

    def get(self, task_id: str, *, practice_id: str | None = None) -> Task:
        """Return one task by id (or a unique id prefix), of ``practice_id`` when given.

        Raises:
            UnknownNameError: No task (or more than one) matches.
        """

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events."""

    def practice(self, practice_id: str) -> Practice | None:
        """Return the practice settings stored by the last cycle."""

    def practice_ids(self) -> list[str]:
        """Return the practices the ledger holds tasks or cycles for, sorted."""

    def pending_outbox(self) -> list[OutboxMessage]:
        """Return the notifications not yet sent, oldest first."""

    def __enter__(self) -> StoredLedger: ...

    def __exit__(self, *exc: object) -> None: ...


def is_postgres_url(url: str) -> bool:
    """Whether a ``--db`` URL names a PostgreSQL ledger."""
    return url.strip().startswith(("postgresql://", "postgres://"))


class ReportingLedger(Ledger, Protocol):
    """A ledger that also answers the staff pages' and the scorecard's reads.

    Both stores implement it (PostgreSQL's in
    :class:`~sophie.execution.stores.postgres.reading.PostgresReading`); wrappers used only by the loop
    (:class:`~sophie.execution.stores.task_cache.CachedTaskLedger`) need not.
    """

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
        """Return tasks matching every filter given, most urgent first, then earliest due.

        ``statuses`` ``None`` means the open-ish ones; ``due_after`` is inclusive and
        ``due_before`` exclusive; ``not_owner_id`` keeps tasks owned by someone else or nobody.
        """

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
        """Return how many tasks match (``statuses`` ``None``: the open-ish ones; filters as :meth:`find_tasks`)."""

    def owner_loads(
        self, *, now: datetime, day_end: datetime, practice_id: str | None = None, owner_id: str | None = None
    ) -> dict[str, OwnerLoad]:
        """Return each owner's day, overdue, due-today and backlog counts (key ``""``: unowned).

        ``open``, ``overdue`` and ``due_today`` count tasks in the owner's day (not the
        backlog); ``owner_id`` narrows to one owner.
        """

    def events(
        self, *, since: datetime | None = None, until: datetime | None = None, kinds: Sequence[str] | None = None
    ) -> list[AuditEvent]:
        """Return audit events in ``[since, until)`` (of ``kinds``, when given), oldest first."""

    def score_events(
        self, *, since: datetime | None = None, until: datetime | None = None, practice_id: str | None = None
    ) -> list[ScoreEvent]:
        """Return what the scorecard reads of the audit events, in audit order (see :class:`ScoreEvent`).

        The store may return events a day either side of ``[since, until)`` (the scorecard
        applies the exact bounds); ``practice_id`` keeps the events of that practice's tasks.
        """

    def score_tasks(self, task_ids: Sequence[str]) -> dict[str, ScoreTask]:
        """Return the due time and evidence of the tasks given (those that exist), by id."""

    def change_marker(self) -> str:
        """Return a cheap value that changes whenever any writer commits a task change or a cycle."""

    def cycle_span(self, practice_id: str | None = None) -> tuple[datetime, datetime] | None:
        """Return when the first and the last recorded cycle ran (of one practice, or of any), or ``None``."""

    def practice(self, practice_id: str) -> Practice | None:
        """Return the practice settings stored by the last cycle (``None`` before any)."""

    def practice_ids(self) -> list[str]:
        """Return the ids of the practices this ledger has seen cycles of."""


@runtime_checkable
class SupportsCheckpoint(Protocol):
    """A store with a write-ahead log that a long-running writer checkpoints when idle."""

    def checkpoint(self) -> None:
        """Copy the log into the main store without waiting for, or blocking, anyone."""


def sqlite_path(url: str) -> str:
    """Return the SQLite file path (or ``:memory:``) that a ``--db`` URL names.

    Raises:
        ConfigurationError: For another scheme or an empty path.
    """
    text = url.strip()
    if text in ("", "sqlite://", "sqlite:///:memory:", ":memory:"):
        if text == "":
            raise ConfigurationError("--db is empty; use sqlite:///PATH or :memory:")
        return ":memory:"
    if text.startswith("sqlite:///"):
        path = text[len("sqlite:///") :]
        if not path:
            raise ConfigurationError(f"--db {mask_url(url)!r} names no file; use sqlite:///PATH")
        return path
    if is_postgres_url(text):  # the URL may hold a password: not repeated
        raise ConfigurationError(
            "this command needs a SQLite ledger for now (--db sqlite:///PATH); a PostgreSQL ledger serves "
            "run, queue, task, report, serve, ledger verify, outbox and worker"
        )
    if "://" in text or text.startswith("sqlite:"):
        scheme = text.split(":", 1)[0]
        raise ConfigurationError(
            f"--db {mask_url(url)!r}: unsupported ledger {mask_url(scheme)!r}; use sqlite:///PATH, :memory: or postgresql://..."
        )
    return text

"""A ledger wrapper that keeps the open tasks in memory between a watcher's cycles.

Reading every open task from SQLite costs more than the rest of an incremental cycle (a
large practice has thousands). :class:`CachedTaskLedger` reads them once, then keeps the
list current from the changes it writes itself. Writes by other processes (a person's
``sophie task done``) are noticed through SQLite's ``PRAGMA data_version``, read on a
second connection, and drop the cache.

A stale cache is safe: every update is compare-and-set on the task's version and a create
conflicts on the open-key index, so a cycle planned on stale tasks fails with
:class:`~sophie.errors.LedgerConflictError`, the cache is dropped, and the engine re-reads
and reconciles again. Nothing is ever acted on twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.errors import LedgerConflictError
from sophie.execution.tasks import Task, TaskChange

if TYPE_CHECKING:
    from sophie.execution.actions import Action, ActionResult
    from sophie.execution.audit import AuditEvent
    from sophie.execution.ledger import CycleRecord, Ledger
    from sophie.execution.outbox import OutboxMessage
    from sophie.model.records import Practice

__all__ = ["CachedTaskLedger"]


def _watched(task: Task) -> bool:
    return task.is_open or task.awaits_verification


class CachedTaskLedger:
    """A :class:`~sophie.execution.ledger.Ledger` whose :meth:`open_tasks` answers from memory.

    Args:
        ledger: The ledger to wrap (every other call goes straight to it).
        path: Its SQLite file, to notice other writers; ``None`` or ``":memory:"``: no
            other writer can exist.
    """

    def __init__(self, ledger: Ledger, path: str | None = None) -> None:
        self.ledger = ledger
        self._probe = None if path in (None, ":memory:") else sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self._tasks: dict[str | None, dict[str, Task]] = {}
        self._version: int | None = None

    def _data_version(self) -> int | None:
        if self._probe is None:
            return None
        return int(self._probe.execute("PRAGMA data_version").fetchone()[0])

    def invalidate(self) -> None:
        """Forget the cached tasks (the next read goes to the store)."""
        self._tasks.clear()

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return the open-ish and awaiting-verification tasks (from memory when current)."""
        version = self._data_version()
        if version != self._version:
            self.invalidate()
            self._version = version
        cached = self._tasks.get(practice_id)
        if cached is None:
            cached = {task.id: task for task in self.ledger.open_tasks(practice_id)}
            self._tasks[practice_id] = cached
        return list(cached.values())

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
        """Write through to the ledger, then update the cache from the changes written."""
        try:
            self.ledger.apply(changes, events, outbox, practice=practice, cursors=cursors, cycle=cycle)
        except LedgerConflictError:
            self.invalidate()
            raise
        # Our own commit moves the data version: take the new one as ours. A write by someone
        # else in between goes unnoticed here, and is caught by compare-and-set later.
        self._version = self._data_version()
        for practice_id, cached in self._tasks.items():
            for change in changes:
                task = change.task
                if practice_id is not None and task.practice_id != practice_id:
                    continue
                if _watched(task):
                    cached[task.id] = task
                else:
                    cached.pop(task.id, None)

    def get(self, task_id: str) -> Task:
        """Return one task (from the store)."""
        return self.ledger.get(task_id)

    def queue(
        self, *, role: str | None = None, staff_id: str | None = None, practice_id: str | None = None
    ) -> list[Task]:
        """Return the queue (from the store)."""
        return self.ledger.queue(role=role, staff_id=staff_id, practice_id=practice_id)

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
        """Apply a person's action (and forget the cache)."""
        self.invalidate()
        return self.ledger.transition(task_id, action, actor=actor, now=now, until=until, reason=reason)

    def audit(self, task_id: str) -> list[AuditEvent]:
        """Return a task's audit events."""
        return self.ledger.audit(task_id)

    def cursors(self, practice_id: str) -> dict[str, str]:
        """Return the round-robin state."""
        return self.ledger.cursors(practice_id)

    def cycle_count(self, practice_id: str) -> int:
        """Return the number of recorded cycles."""
        return self.ledger.cycle_count(practice_id)

    def close(self) -> None:
        """Close the probe connection (the wrapped ledger is the caller's to close)."""
        if self._probe is not None:
            self._probe.close()
            self._probe = None

"""A ledger wrapper that keeps the open tasks in memory between a watcher's cycles.

Reading every open task from SQLite costs more than the rest of an incremental cycle (a
large practice has tens of thousands). :class:`CachedTaskLedger` reads them once, then
keeps them current, indexed by patient and by chair-day so that an incremental cycle finds
the tasks of its scope without walking them all, and with each owner's open count kept as
tasks open and close (least-open ownership needs the whole practice's load).

Keeping current: its own writes update the cache directly. Any write to the file (its own,
or another process's, such as a person's ``sophie task done``) moves SQLite's
``PRAGMA data_version``, read on a second, read-only connection. When it moved, the cache
reads which tasks the audit trail (append-only, one event per change, numbered by ``seq``)
shows changed since it last looked, compares their versions with its own, and re-reads
only those that differ. So a person acting on one task costs the watcher one task's read,
not the practice's.

A stale cache is still safe: every update is compare-and-set on the task's version and a
create conflicts on the open-key index, so a cycle planned on stale tasks fails with
:class:`~sophie.errors.LedgerConflictError`, the cache is dropped, and the engine re-reads
and reconciles again. Nothing is ever acted on twice.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.errors import LedgerConflictError
from sophie.execution.capacity import counts_against_capacity
from sophie.execution.reconcile import ChairDay, opening_chair_day
from sophie.execution.stores.ledger import SupportsCheckpoint, TaskSelection
from sophie.execution.tasks import Task, TaskChange, TaskStatus

if TYPE_CHECKING:
    from sophie.execution.actions import Action, ActionResult
    from sophie.execution.stores.audit import AuditEvent
    from sophie.execution.stores.ledger import CycleRecord, Ledger
    from sophie.execution.stores.outbox import OutboxMessage
    from sophie.model.records import Practice

__all__ = ["CachedTaskLedger", "task_place", "task_places", "touches"]

_REFRESH_LIMIT = 5000
"""Past this many tasks changed by others, the cache reads every open task again instead."""


def _watched(task: Task) -> bool:
    return task.is_open or task.awaits_verification


def task_place(task: Task) -> str | ChairDay | None:
    """Where a task belongs in a scope: its opening's chair-day, else its patient's id (``None``: neither)."""
    if task.subject_type == "opening":
        return opening_chair_day(task.subject_id)
    return task.patient_id


def task_places(task: Task) -> tuple[str | ChairDay, ...]:
    """Every place a task belongs to: each member's chair-day (openings) or patient; empty: none known."""
    if task.subject_type == "opening":
        days = (opening_chair_day(subject_id) for subject_id in task.member_ids)
        return tuple(dict.fromkeys(day for day in days if day is not None))
    return task.member_patients


def touches(task: Task, patients: Collection[str], chair_days: Collection[ChairDay]) -> bool:
    """Whether ``task`` (any member of its group) concerns one of ``patients`` or an opening on ``chair_days``."""
    return any(place in patients if isinstance(place, str) else place in chair_days for place in task_places(task))


class _PracticeTasks:
    """One practice's watched tasks, with the indexes and counts kept as they change."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self.by_id: dict[str, Task] = {}
        self.by_place: dict[str | ChairDay, set[str]] = defaultdict(set)
        self.by_key: dict[str, set[str]] = defaultdict(set)
        self.open_counts: Counter[str] = Counter()
        self.day_counts: Counter[str] = Counter()
        self.backlog: dict[str, Task] = {}
        self.open_total = 0
        for task in tasks:
            self.put(task)

    def put(self, task: Task) -> None:
        self.drop(task.id)
        if not _watched(task):
            return
        self.by_id[task.id] = task
        self.by_key[task.key].add(task.id)
        for place in task_places(task):
            self.by_place[place].add(task.id)
        self._count(task, +1)

    def _count(self, task: Task, delta: int) -> None:
        if task.is_open:
            self.open_total += delta
        if task.in_day and task.owner_id is not None:
            self.open_counts[task.owner_id] += delta
        if counts_against_capacity(task) and task.owner_id is not None:
            self.day_counts[task.owner_id] += delta
        if task.status is TaskStatus.BACKLOG:
            if delta > 0:
                self.backlog[task.id] = task
            else:
                self.backlog.pop(task.id, None)

    def drop(self, task_id: str) -> None:
        old = self.by_id.pop(task_id, None)
        if old is None:
            return
        self.by_key[old.key].discard(task_id)
        for place in task_places(old):
            self.by_place[place].discard(task_id)
        self._count(old, -1)

    def touching(self, patients: Iterable[str], chair_days: Iterable[ChairDay]) -> list[Task]:
        places: list[str | ChairDay] = [*patients, *chair_days]
        ids: set[str] = set()
        for place in places:
            ids |= self.by_place.get(place, set())
        return [self.by_id[task_id] for task_id in ids]


class CachedTaskLedger:
    """A :class:`~sophie.execution.stores.ledger.Ledger` whose :meth:`open_tasks` answers from memory.

    Args:
        ledger: The ledger to wrap (every other call goes straight to it).
        path: Its SQLite file, to notice other writers; ``None`` or ``":memory:"``: no
            other writer can exist.
    """

    def __init__(self, ledger: Ledger, path: str | None = None) -> None:
        self.ledger = ledger
        self._probe = None if path in (None, ":memory:") else sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self._tasks: dict[str | None, _PracticeTasks] = {}
        self._version: int | None = None
        self._changed: list[Task] = []
        self._reset = True
        self._seq: int | None = None  # the audit trail is read up to here
        self._written: dict[str, int] = {}  # versions this wrapper wrote since the last refresh

    def _data_version(self) -> int | None:
        if self._probe is None:
            return None
        return int(self._probe.execute("PRAGMA data_version").fetchone()[0])

    def invalidate(self) -> None:
        """Forget the cached tasks (the next read goes to the store)."""
        self._tasks.clear()
        self._changed.clear()
        self._reset = True
        self._seq = None
        self._written.clear()

    def _check_writers(self) -> None:
        version = self._data_version()
        if version == self._version:
            return
        self._version = version  # read before the audit trail: a later write moves it again
        if self._probe is None or self._seq is None or not self._tasks:
            self.invalidate()
            return
        rows = self._probe.execute(
            "SELECT task_id, max(seq) FROM task_event WHERE seq > ? GROUP BY task_id", (self._seq,)
        ).fetchall()
        if len(rows) > _REFRESH_LIMIT:  # a large outside change: reading everything is cheaper
            self.invalidate()
            return
        self._seq = max([self._seq, *(int(seq) for _, seq in rows)])
        self._refresh([str(task_id) for task_id, _ in rows])

    def _refresh(self, task_ids: list[str]) -> None:
        """Re-read the tasks among ``task_ids`` whose stored version differs from the cached one."""
        assert self._probe is not None

        written, self._written = self._written, {}

        def cached_version(task_id: str) -> int | None:
            if task_id in written:  # also covers tasks it closed, which the cache no longer holds
                return written[task_id]
            for cached in self._tasks.values():
                task = cached.by_id.get(task_id)
                if task is not None:
                    return task.version
            return None

        stale: list[str] = []
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._probe.execute(f"SELECT id, version FROM task WHERE id IN ({marks})", chunk)
            stale += [str(task_id) for task_id, version in rows if cached_version(str(task_id)) != version]
        self._take([self.ledger.get(task_id) for task_id in stale], written=False)

    def _take(self, tasks: Iterable[Task], *, written: bool) -> None:
        """Bring the cached tasks and the change feed up to date with ``tasks`` (``written``: by this wrapper)."""
        for task in tasks:
            self._changed.append(task)
            if written:
                self._written[task.id] = task.version
            for practice_id, cached in self._tasks.items():
                if practice_id is None or task.practice_id == practice_id:
                    cached.put(task)

    def drain_changes(self) -> tuple[bool, list[Task]]:
        """Return the tasks that changed since the last call (its own writes and others'), and forget them.

        The first element is ``True`` when that list is not the whole story (the first
        call, or the cache was dropped: a conflict, or a large outside change): the caller
        must then read :meth:`open_tasks` afresh. One consumer only (the watcher's timers).
        """
        self._check_writers()
        reset, changed = self._reset, self._changed
        self._reset, self._changed = False, []
        return reset, changed

    def _current(self, practice_id: str | None) -> _PracticeTasks:
        self._check_writers()
        cached = self._tasks.get(practice_id)
        if cached is None:
            if self._seq is None:  # before the tasks: a write in between is read again, harmlessly
                self._seq = self._last_seq()
            cached = _PracticeTasks(self.ledger.open_tasks(practice_id))
            self._tasks[practice_id] = cached
        return cached

    def _last_seq(self) -> int:
        if self._probe is None:
            return 0
        row = self._probe.execute("SELECT max(seq) FROM task_event").fetchone()
        return int(row[0] or 0)

    def open_tasks(self, practice_id: str | None = None) -> list[Task]:
        """Return the open-ish and awaiting-verification tasks (from memory when current)."""
        return list(self._current(practice_id).by_id.values())

    def select_touching(
        self, practice_id: str, patients: Iterable[str], chair_days: Iterable[ChairDay]
    ) -> TaskSelection:
        """Return the tasks of ``patients`` and of openings on ``chair_days``, with the practice's counts.

        Costs the number of tasks found, not the number open in the practice.
        """
        cached = self._current(practice_id)
        tasks = cached.touching(patients, chair_days)
        inside = {task.id for task in tasks}
        backlog = [task for task_id, task in cached.backlog.items() if task_id not in inside]
        return TaskSelection(
            tasks, dict(cached.open_counts), cached.open_total, dict(cached.day_counts), backlog
        )

    def with_keys(self, practice_id: str, keys: Iterable[str]) -> list[Task]:
        """Return the watched tasks of ``practice_id`` whose key is one of ``keys``."""
        cached = self._current(practice_id)
        return [cached.by_id[task_id] for key in keys for task_id in sorted(cached.by_key.get(key, ()))]

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
        # Our own commit moves the data version too; the next check reads the audit trail and
        # finds these tasks already at their stored versions, so it re-reads none of them.
        self._take((change.task for change in changes), written=True)

    def checkpoint(self) -> None:
        """Checkpoint the wrapped ledger's write-ahead log, if it has one."""
        if isinstance(self.ledger, SupportsCheckpoint):
            self.ledger.checkpoint()

    def get(self, task_id: str) -> Task:
        """Return one task (from the store)."""
        return self.ledger.get(task_id)

    def queue(
        self,
        *,
        role: str | None = None,
        staff_id: str | None = None,
        practice_id: str | None = None,
        backlog: bool = False,
    ) -> list[Task]:
        """Return the queue (from the store)."""
        return self.ledger.queue(role=role, staff_id=staff_id, practice_id=practice_id, backlog=backlog)

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
        """Apply a person's action, and keep the cache current with its result."""
        result = self.ledger.transition(task_id, action, actor=actor, now=now, until=until, reason=reason)
        self._take([result.task], written=True)
        return result

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

"""When open tasks next need the clock, kept as a schedule between a watcher's ticks.

A task needs the clock at its next escalation deadline, its expiry, the end of its snooze
and the end of its block. Working out an escalation deadline walks the business calendar,
and a large practice has tens of thousands of open tasks; the watcher asks what is due,
and when to wake next, on every tick. :class:`TaskTimers` keeps the times in a heap:
loading every task once, then taking in only the tasks that changed (every change to a
task raises its version; entries of an older version are dropped as they surface). So a
tick costs the tasks that changed and the timers that came due, not the practice's size.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import datetime

from sophie.execution.escalation import escalation_deadline
from sophie.execution.inputs import RuleLike
from sophie.execution.tasks import Task, TaskStatus
from sophie.model.calendar import BusinessCalendar

__all__ = ["TaskTimers", "task_moments"]

_Entry = tuple[datetime, str, int]  # (instant, task id, task version)


def task_moments(task: Task, rule: RuleLike | None, calendar: BusinessCalendar) -> tuple[datetime, ...]:
    """Return the instants at which ``task`` next needs the clock (none for a task not open)."""
    if not task.is_open:
        return ()
    moments = [task.expires_at, task.snoozed_until, task.blocked_until]
    level = task.escalation_level
    if rule is not None and level < len(rule.escalate) and task.status not in (TaskStatus.BLOCKED, TaskStatus.BACKLOG):
        moments.append(escalation_deadline(task, rule.escalate[level], calendar))
    return tuple(moment for moment in moments if moment is not None)


class TaskTimers:
    """A schedule of open tasks' clock times.

    Args:
        rules: Rule id -> rule (for escalation ladders).
    """

    def __init__(self, rules: Mapping[str, RuleLike]) -> None:
        self._rules = rules
        self.calendar: BusinessCalendar | None = None
        self._tasks: dict[str, Task] = {}
        self._heap: list[_Entry] = []

    def reset(self, tasks: Iterable[Task], calendar: BusinessCalendar) -> None:
        """Forget everything and schedule ``tasks`` (the practice's open tasks) on ``calendar``.

        A task whose version is already scheduled on the same calendar keeps its times
        without a calendar walk.
        """
        known: dict[tuple[str, int], list[datetime]] = {}
        if calendar is self.calendar:
            # tasks scheduled with no time at all (a backlog task without expiry) are known too
            known = {(task.id, task.version): [] for task in self._tasks.values()}
            for moment, task_id, version in self._heap:
                known.setdefault((task_id, version), []).append(moment)
        self.calendar, self._tasks, self._heap = calendar, {}, []
        for task in tasks:
            moments = known.get((task.id, task.version))
            self._schedule(task, moments)
        heapq.heapify(self._heap)

    def update(self, tasks: Iterable[Task]) -> None:
        """Take in tasks that changed: their new times replace the old ones."""
        heap = self._heap
        for task in tasks:
            self._tasks.pop(task.id, None)
            for moment in self._schedule(task, None, push=False):
                heapq.heappush(heap, (moment, task.id, task.version))
        if len(heap) > 4 * len(self._tasks) + 1024:  # mostly superseded entries: compact
            self._heap = [entry for entry in heap if self._current(entry)]
            heapq.heapify(self._heap)

    def due(self, since: datetime | None, now: datetime) -> list[Task]:
        """Remove and return the tasks with a time in ``(since, now]`` (each once, by id)."""
        heap = self._heap
        found: dict[str, Task] = {}
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if self._current(entry) and (since is None or entry[0] > since):
                found[entry[1]] = self._tasks[entry[1]]
        return list(found.values())

    def next_after(self, since: datetime | None) -> datetime | None:
        """Return the earliest scheduled time after ``since`` (``None``: any), if any; it may be past already."""
        heap = self._heap
        while heap and ((since is not None and heap[0][0] <= since) or not self._current(heap[0])):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def times(self) -> list[tuple[datetime, Task]]:
        """Return every scheduled ``(instant, task)``, earliest first."""
        return [(entry[0], self._tasks[entry[1]]) for entry in sorted(self._heap) if self._current(entry)]

    def _current(self, entry: _Entry) -> bool:
        task = self._tasks.get(entry[1])
        return task is not None and task.version == entry[2]

    def _schedule(self, task: Task, moments: list[datetime] | None, *, push: bool = True) -> tuple[datetime, ...]:
        if not task.is_open:
            return ()
        assert self.calendar is not None
        found = tuple(moments) if moments is not None else task_moments(task, self._rules.get(task.rule), self.calendar)
        self._tasks[task.id] = task
        if push:
            self._heap.extend((moment, task.id, task.version) for moment in found)
        return found

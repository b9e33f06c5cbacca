"""Capacity: how many tasks a person's day holds, and the backlog beyond it.

Every staff member can act on a limited number of tasks a business day: their
``capacity`` (the snapshot's staff record), else the practice default
(:attr:`ExecutionSettings.capacity <sophie.execution.settings.ExecutionSettings.capacity>`,
30). A person's **day** is their open, acknowledged, snoozed and blocked tasks; urgent tasks
are counted apart (they never wait). After reconcile has decided its changes, this step:

1. keeps every task that was already in its owner's day there;
2. lets the tasks that *enter* a day in this cycle (created, reopened, or handed to a new
   owner) and the owner's ``backlog`` tasks compete for the room left, best first —
   priority, then money at stake (:func:`money_at_stake`), then age (oldest first);
3. puts the winners in the day (a backlog task is **released**: its due time is
   recomputed from the moment of release and its escalation clock starts then) and the
   rest in the **backlog**, where no due time counts and nothing escalates.

Room appears when tasks close (done, resolved, expired), so a person's action that closes a
task releases the next one in the same transaction (:func:`release_after_close`), and the
first cycle of each business morning refills every day. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sophie.execution.tasks import ChangeKind, Task, TaskChange, TaskStatus, priority_rank
from sophie.model.calendar import BusinessCalendar, business_hours
from sophie.model.enums import Priority
from sophie.model.records import StaffMember

__all__ = [
    "DEFAULT_CAPACITY",
    "MONEY_FIELDS",
    "apply_capacity",
    "backlog_order",
    "capacities",
    "counts_against_capacity",
    "day_counts",
    "money_at_stake",
    "release_after_close",
    "start_clock",
]

DEFAULT_CAPACITY = 30
"""Tasks a business day a person can act on, when neither the staff record nor the practice says."""

MONEY_FIELDS = frozenset(
    {"amount", "total", "unscheduled_total", "fee", "billed", "expected", "past_due", "over_30", "over_60", "over_90"}
)
"""Evidence names that hold money at stake (the last name of an evidence key, e.g.
``claim.billed`` or ``plan.unscheduled_total``)."""

_LAST_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\)*$")


def money_at_stake(task: Task) -> float:
    """Return the money a task is about: the largest amount in its evidence under a money name.

    An evidence key counts when its last name is in :data:`MONEY_FIELDS` (``claim.billed``,
    ``balance.over_90``, ``sum(claim.billed)``...) and its value is a number or a decimal
    text. A task with none has ``0``.
    """
    best = 0.0
    for key, value in task.evidence.items():
        match = _LAST_NAME.search(str(key))
        if match is None or match.group(1) not in MONEY_FIELDS:
            continue
        amount = _number(value)
        if amount is not None and amount > best:
            best = amount
    return best


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def backlog_order(task: Task) -> tuple[int, float, datetime, str]:
    """Sort key, best first: higher priority, then more money at stake, then older."""
    return (-priority_rank(task.priority), -money_at_stake(task), task.created_at, task.id)


def counts_against_capacity(task: Task) -> bool:
    """Whether a task takes room in its owner's day (in the day, owned, and not urgent)."""
    return task.in_day and task.owner_id is not None and task.priority is not Priority.URGENT


def day_counts(tasks: Sequence[Task]) -> Counter[str]:
    """Return, per owner, how many of ``tasks`` take room in their day."""
    return Counter(task.owner_id for task in tasks if task.owner_id is not None and counts_against_capacity(task))


def capacities(staff: Sequence[StaffMember], default: int = DEFAULT_CAPACITY) -> dict[str, int]:
    """Return staff id -> capacity (the staff record's, else ``default``)."""
    return {member.id: default if member.capacity is None else member.capacity for member in staff}


def start_clock(task: Task, now: datetime, calendar: BusinessCalendar | None, due_at: datetime | None = None) -> Task:
    """Return ``task`` moved into its owner's day at ``now``: open, with its due time starting now.

    ``due_at`` is the rule's due time evaluated at ``now`` (when a cycle has the finding);
    without it the task keeps the allowance it was created with (the business time from its
    creation to its due time), counted from ``now``. Never due before ``now``.
    """
    if due_at is None:
        if calendar is None:
            due_at = now + max(task.due_at - task.created_at, timedelta(0))
        else:
            allowance = max(calendar.business_time_between(task.created_at, task.due_at), timedelta(0))
            due_at = calendar.add(now, business_hours(allowance.total_seconds() / 3600)) if allowance else now
    due_at = max(due_at, now).astimezone(task.due_at.tzinfo)
    return replace(task, status=TaskStatus.OPEN, due_at=due_at, snoozed_until=None)


def _released(task: Task, now: datetime, calendar: BusinessCalendar | None, due_at: datetime | None) -> Task:
    return replace(start_clock(task, now, calendar, due_at), updated_at=now, version=task.version + 1)


def apply_capacity(
    before: Sequence[Task],
    changes: Sequence[TaskChange],
    now: datetime,
    *,
    capacity: Mapping[str, int],
    default_capacity: int = DEFAULT_CAPACITY,
    calendar: BusinessCalendar | None = None,
    due_by_key: Mapping[str, datetime] | None = None,
    counts: Mapping[str, int] | None = None,
    backlog: Sequence[Task] = (),
) -> tuple[TaskChange, ...]:
    """Return ``changes`` with each person's day kept within their capacity (see the module docstring).

    Args:
        before: The tasks reconcile followed, as read before it.
        changes: Reconcile's changes, in order.
        now: The cycle's instant.
        capacity: Staff id -> capacity; others get ``default_capacity``.
        default_capacity: The practice default.
        calendar: The practice calendar (for a released task's due time).
        due_by_key: Task key -> the due time its finding has in this cycle.
        counts: Per owner, the tasks taking room in their day before the cycle, over the
            whole practice (default: counted from ``before``). An incremental cycle passes it.
        backlog: Backlog tasks of the practice that ``before`` does not hold (incremental
            cycles), so room freed in this cycle can release them.

    Returns:
        The changes, with entering tasks beyond capacity rewritten to ``backlog`` and a
        ``released`` change for each backlog task moved into a day.
    """
    out = list(changes)
    final: dict[str, Task] = {task.id: task for task in (*backlog, *before)}
    first: dict[str, Task | None] = {}
    last: dict[str, int] = {}
    for number, change in enumerate(out):
        first.setdefault(change.task.id, change.previous)
        last[change.task.id] = number
        final[change.task.id] = change.task

    def entering(task_id: str) -> bool:
        task, start = final[task_id], first[task_id]
        if task.status is not TaskStatus.OPEN or not counts_against_capacity(task):
            return False
        return start is None or not start.in_day or start.owner_id != task.owner_id

    room: Counter[str] = Counter(counts if counts is not None else day_counts(before))
    competing: dict[str, list[Task]] = defaultdict(list)
    for task_id in last:
        start, task = first[task_id], final[task_id]
        if start is not None and start.owner_id is not None and counts_against_capacity(start):
            room[start.owner_id] -= 1
        if entering(task_id):
            competing[str(task.owner_id)].append(task)
        elif task.owner_id is not None and counts_against_capacity(task):
            room[task.owner_id] += 1
    due_by_key = due_by_key or {}
    for task in final.values():
        if task.status is not TaskStatus.BACKLOG:
            continue
        if task.owner_id is None or task.priority is Priority.URGENT:  # nobody to wait for; urgent never waits
            out.append(_release(task, now, calendar, due_by_key, "urgent tasks never wait"))
        else:
            competing[task.owner_id].append(task)
    for owner_id in sorted(competing):
        limit = capacity.get(owner_id, default_capacity)
        free = max(limit - room[owner_id], 0)
        ranked = sorted(competing[owner_id], key=backlog_order)
        for task in ranked[:free]:
            if task.status is TaskStatus.BACKLOG:
                out.append(_release(task, now, calendar, due_by_key, f"room in {owner_id}'s day (capacity {limit})"))
        for task in ranked[free:]:
            if task.status is TaskStatus.BACKLOG:
                continue
            number = last[task.id]
            change = out[number]
            why = f"{change.why}; beyond {owner_id}'s capacity ({limit}): backlog"
            out[number] = replace(change, task=replace(change.task, status=TaskStatus.BACKLOG), why=why)
    return tuple(out)


def _release(
    task: Task, now: datetime, calendar: BusinessCalendar | None, due_by_key: Mapping[str, datetime], why: str
) -> TaskChange:
    after = _released(task, now, calendar, due_by_key.get(task.key))
    return TaskChange(ChangeKind.RELEASED, after, task, f"released from the backlog: {why}")


def release_after_close(
    closed: Task, after: Task, backlog: Sequence[Task], now: datetime, calendar: BusinessCalendar | None
) -> Task | None:
    """Return the backlog task a person's action frees room for, released at ``now``, if any.

    ``closed`` is the task before the action, ``after`` the task after it. Room is freed
    when a task that took room in its owner's day leaves the day; the best of ``backlog``
    (that owner's backlog tasks) then enters it.
    """
    if not counts_against_capacity(closed) or after.in_day or after.status is TaskStatus.BACKLOG:
        return None
    waiting = [task for task in backlog if task.status is TaskStatus.BACKLOG and task.owner_id == closed.owner_id]
    if not waiting:
        return None
    return _released(min(waiting, key=backlog_order), now, calendar, None)

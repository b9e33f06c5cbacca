"""Time on a task: escalation deadlines, the paused clock of a block, the reopen grace.

Deadlines are business time on the practice calendar. Step ``n`` of a rule's ladder
fires once ``after`` has passed from the task's due time, measured with
:meth:`BusinessCalendar.add` (``business_days`` keep the wall-clock time across DST,
``business_hours`` count open time, a plain duration is elapsed time). Time spent
blocked does not count: when a block ends, the due time (and with it every deadline)
moves later by the business time the block lasted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sophie.execution.inputs import EscalationStepLike
from sophie.execution.tasks import Task, TaskStatus
from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_hours

__all__ = ["due_steps", "end_block", "escalation_deadline", "grace_passed"]


def escalation_deadline(task: Task, step: EscalationStepLike, calendar: BusinessCalendar | None) -> datetime:
    """Return when ``step`` fires for ``task``: ``step.after`` after the task's due time."""
    if calendar is None:
        after = step.after
        return task.due_at + (after if isinstance(after, timedelta) else _rough(after))
    return calendar.add(task.due_at, step.after)


def due_steps(
    task: Task, steps: Sequence[EscalationStepLike], calendar: BusinessCalendar | None, now: datetime
) -> list[tuple[int, EscalationStepLike]]:
    """Return the steps (1-based level, step) that are due at ``now`` and have not fired yet.

    A blocked task's clock is paused, and a backlog task's has not started, so nothing is
    due while a task is blocked or in the backlog.
    """
    if task.status in (TaskStatus.BLOCKED, TaskStatus.BACKLOG):
        return []
    found = []
    for level, step in enumerate(steps, start=1):
        if level <= task.escalation_level:
            continue
        if escalation_deadline(task, step, calendar) > now:
            break
        found.append((level, step))
    return found


def end_block(task: Task, now: datetime, calendar: BusinessCalendar | None) -> Task:
    """Return ``task`` with its current block closed at ``now``: the blocked time added, due moved.

    The task's status is left for the caller to set. A task that is not blocked is
    returned unchanged.
    """
    if task.blocked_since is None:
        return task
    if calendar is None:
        paused = max(now - task.blocked_since, timedelta(0))
        due_at = task.due_at + paused
    else:
        paused = max(calendar.business_time_between(task.blocked_since, now), timedelta(0))
        due_at = task.due_at
        if paused > timedelta(0):
            due_at = calendar.add(task.due_at, business_hours(paused.total_seconds() / 3600))
    return replace(
        task,
        blocked_since=None,
        blocked_until=None,
        blocked_reason=None,
        blocked_time=task.blocked_time + paused,
        due_at=due_at,
    )


def grace_passed(
    done_at: datetime, now: datetime, grace: BusinessDuration | timedelta, calendar: BusinessCalendar | None
) -> bool:
    """Return whether the reopen grace after a task was marked done has passed at ``now``."""
    if calendar is None:
        return now - done_at >= (grace if isinstance(grace, timedelta) else _rough(grace))
    return calendar.business_age_reached(done_at, now, grace)


def _rough(duration: BusinessDuration) -> timedelta:
    """Elapsed-time stand-in for business time when no calendar is known (days of 24 hours)."""
    hours = duration.amount * (24 if duration.unit == "business_days" else 1)
    return timedelta(hours=hours)

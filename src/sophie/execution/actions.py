"""What people do to tasks: acknowledge, mark done, snooze, block, reopen.

:func:`apply_action` is pure: it returns the task after the action (``version`` one
higher) or raises :class:`TransitionError` for an action the task's status does not
allow. Ledgers call it inside their write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sophie.errors import TransitionError
from sophie.execution.capacity import start_clock
from sophie.execution.escalation import end_block
from sophie.execution.tasks import DAY_STATUSES, OPEN_STATUSES, TERMINAL_STATUSES, Task, TaskStatus
from sophie.model.calendar import BusinessCalendar, business_days

__all__ = ["NOTE_LIMIT", "Action", "ActionResult", "TransitionError", "apply_action"]


class Action(StrEnum):
    """A person's action on a task (``sophie task ACTION TASK_ID``)."""

    ACK = "ack"
    DONE = "done"
    SNOOZE = "snooze"
    BLOCK = "block"
    REOPEN = "reopen"
    NOTE = "note"


_EVENT = {
    Action.ACK: "acknowledged",
    Action.DONE: "done",
    Action.SNOOZE: "snoozed",
    Action.BLOCK: "blocked",
    Action.REOPEN: "reopened",
    Action.NOTE: "noted",
}

NOTE_LIMIT = 2000
"""The longest note a person can add (characters)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """A task after a person's action.

    Attributes:
        task: The task after the action.
        previous: The task before it.
        event: The audit event kind (``acknowledged``, ``done``, ``snoozed``, ``blocked``, ``reopened``).
        why: What was done, with ids and times only.
        note: A note's text (kept in the audit event's data, never logged).
    """

    task: Task
    previous: Task
    event: str
    why: str
    note: str | None = None


def apply_action(
    task: Task,
    action: Action | str,
    *,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    until: datetime | None = None,
    reason: str | None = None,
) -> ActionResult:
    """Return ``task`` after a person's ``action`` at ``now``.

    - ``ack``: open, snoozed, blocked or backlog -> acknowledged (ends a snooze or block;
      a backlog task enters its owner's day, its due time and escalation clock starting now).
    - ``done``: any open-ish status (backlog included) -> done. If the rule still fires
      after the grace period, reconcile reopens it.
    - ``snooze``: open, acknowledged, snoozed or blocked -> snoozed until ``until``
      (default: one business day). The due clock keeps running. A backlog task has no
      clock yet: acknowledge it first.
    - ``block``: open, acknowledged or snoozed -> blocked, with ``reason``; the due clock
      pauses until it is unblocked (``ack``, ``reopen``, or ``until`` passing).
    - ``reopen``: any status but open -> open (a closed task comes back with its
      escalation level; a backlog task enters its owner's day as with ``ack``).
    - ``note``: any status; the task keeps its status and clocks; ``reason`` is the note.

    Raises:
        TransitionError: The action is not allowed from the task's status, or ``until``
            is not after ``now``.
    """
    action = Action(action)
    now = now.astimezone(task.due_at.tzinfo)
    status = task.status
    if action is Action.NOTE:
        text = (reason or "").strip()
        if not text or len(text) > NOTE_LIMIT:
            raise TransitionError(task.id, str(action), str(status), hint=f"a note has 1 to {NOTE_LIMIT} characters")
        return ActionResult(replace(task, updated_at=now, version=task.version + 1), task, "noted", "noted", text)
    allowed = {
        Action.ACK: {TaskStatus.OPEN, TaskStatus.SNOOZED, TaskStatus.BLOCKED, TaskStatus.BACKLOG},
        Action.DONE: set(OPEN_STATUSES),
        Action.SNOOZE: set(DAY_STATUSES),
        Action.BLOCK: {TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED, TaskStatus.SNOOZED},
        Action.REOPEN: set(TaskStatus) - {TaskStatus.OPEN},
    }[action]
    if status not in allowed:
        hint = "reopen it first" if status in TERMINAL_STATUSES else ""
        if status is TaskStatus.BACKLOG:
            hint = "it waits in the backlog; acknowledge it first"
        raise TransitionError(task.id, str(action), str(status), hint=hint)
    if until is not None and until <= now:
        raise TransitionError(task.id, str(action), str(status), hint=f"--until {until.isoformat()} is not after now")
    base = replace(end_block(task, now, calendar), snoozed_until=None, updated_at=now, version=task.version + 1)
    if status is TaskStatus.BACKLOG and action in (Action.ACK, Action.REOPEN):
        base = start_clock(base, now, calendar)
    why = str(_EVENT[action])
    if action is Action.ACK:
        after = replace(base, status=TaskStatus.ACKNOWLEDGED)
    elif action is Action.DONE:
        after = replace(base, status=TaskStatus.DONE, done_at=now, resolved_at=now, resolution="done")
    elif action is Action.SNOOZE:
        wake = until or _default_snooze(now, calendar)
        after = replace(base, status=TaskStatus.SNOOZED, snoozed_until=wake.astimezone(now.tzinfo))
        why = f"snoozed until {after.snoozed_until.isoformat() if after.snoozed_until else ''}"
    elif action is Action.BLOCK:
        after = replace(
            base,
            status=TaskStatus.BLOCKED,
            blocked_since=now,
            blocked_until=None if until is None else until.astimezone(now.tzinfo),
            blocked_reason=reason or "waiting on someone outside the practice",
        )
        why = "blocked" + ("" if until is None else f" until {until.isoformat()}")
    else:
        after = replace(
            base,
            status=TaskStatus.OPEN,
            done_at=None,
            verified_at=None,
            resolved_at=None,
            resolution=None,
            reopen_count=task.reopen_count + (1 if status in TERMINAL_STATUSES else 0),
        )
        why = f"reopened from {status}"
    return ActionResult(after, task, _EVENT[action], why)


def _default_snooze(now: datetime, calendar: BusinessCalendar | None) -> datetime:
    if calendar is None:
        return now + timedelta(days=1)
    return calendar.add(now, business_days(1))

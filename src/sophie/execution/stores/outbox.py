"""The notification outbox: rows written in the same transaction as the task changes.

A delivery worker (``sophie.notifiers.delivery``) reads unsent rows and hands them to notifiers,
at least once, with the row's key as the idempotency key; so no notification is lost
when sophie crashes and none is sent twice to a receiver that deduplicates.

Payloads carry no patient data: the task id, the rule and its title (rule titles are
written by analysts and name no patient), the owner, the priority and the due time.
The task's own title, which may name the patient, is never put in a notification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sophie.execution.tasks import ChangeKind, JsonValue, TaskChange, TaskStatus

__all__ = ["OutboxMessage", "message_for_change"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One notification waiting to be delivered.

    Attributes:
        key: The idempotency key, e.g. ``t-1a2b3c4d5e:escalated:2``; unique.
        task_id: The task it is about.
        recipient_id: The staff member to tell (``None`` when the task has no owner).
        kind: ``created``, ``escalated``, ``reopened``, ``released`` or ``reassigned``.
        payload: What the notifier may show (no patient data).
        created_at: When it was queued (also the earliest time to send it).
    """

    key: str
    task_id: str
    recipient_id: str | None
    kind: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)
    created_at: datetime | None = None


def message_for_change(change: TaskChange, rule_title: str) -> OutboxMessage | None:
    """Return the notification a change calls for, or ``None``.

    Created, escalated, reopened and released tasks notify their owner; a touched task
    notifies its new owner when it was reassigned. Other changes, and any change that leaves
    a task in its owner's backlog, notify nobody.
    """
    task = change.task
    if task.status is TaskStatus.BACKLOG:
        return None
    if change.kind is ChangeKind.CREATED:
        kind, key = "created", f"{task.id}:created"
    elif change.kind is ChangeKind.ESCALATED:
        kind, key = "escalated", f"{task.id}:escalated:{change.level or task.escalation_level}"
    elif change.kind is ChangeKind.RELEASED:
        kind, key = "released", f"{task.id}:released:{task.version}"
    elif change.kind is ChangeKind.REOPENED:
        kind, key = "reopened", f"{task.id}:reopened:{task.reopen_count}"
    elif change.kind is ChangeKind.TOUCHED and change.owner_changed:
        kind, key = "reassigned", f"{task.id}:reassigned:{task.version}"
    else:
        return None
    payload: dict[str, JsonValue] = {
        "task_id": task.id,
        "change": kind,
        "practice_id": task.practice_id,
        "rule": task.rule,
        "rule_title": rule_title,
        "owner_id": task.owner_id,
        "owner_role": task.owner_role,
        "priority": str(task.priority),
        "due_at": task.due_at.isoformat(),
        "escalation_level": task.escalation_level,
    }
    return OutboxMessage(key, task.id, task.owner_id, kind, payload, task.updated_at)

"""Tasks: one owned piece of follow-up work per stall, and the changes reconcile makes to them.

A :class:`Task` is immutable; every change produces a new one (``dataclasses.replace``)
with ``version`` one higher, so a ledger can refuse a write made from a stale read
(compare-and-set). Datetimes on a task are aware and in the practice's timezone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sophie.model.enums import Priority
from sophie.model.records import decimal_number

__all__ = [
    "DAY_STATUSES",
    "OPEN_STATUSES",
    "TERMINAL_STATUSES",
    "ChangeKind",
    "JsonValue",
    "MemberRef",
    "Task",
    "TaskChange",
    "TaskStatus",
    "jsonable",
    "priority_rank",
    "raise_priority",
    "task_id_for",
    "task_key",
]

JsonValue = Any
"""A value that ``json.dumps`` accepts as it is (str, number, bool, None, lists, dicts)."""


class TaskStatus(StrEnum):
    """Where a task is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    BLOCKED = "blocked"
    BACKLOG = "backlog"
    DONE = "done"
    RESOLVED = "resolved"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


DAY_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED, TaskStatus.SNOOZED, TaskStatus.BLOCKED}
)
"""The statuses of a task in its owner's day (its clock runs)."""

OPEN_STATUSES: frozenset[TaskStatus] = DAY_STATUSES | {TaskStatus.BACKLOG}
"""The open-ish statuses: only these take part in dedup (one task per key). A ``backlog``
task is open-ish but not yet in its owner's day: no due time counts, nothing escalates."""

TERMINAL_STATUSES: frozenset[TaskStatus] = frozenset(TaskStatus) - OPEN_STATUSES
"""Statuses a task leaves only by being reopened."""

_PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority)}


class ChangeKind(StrEnum):
    """What reconcile did to a task.

    ``verified`` is internal: a task marked done whose stall the PMS no longer shows is
    confirmed and stops being watched for a reopen. ``sophie run`` counts it in the
    summary but does not list it among the changes (the others are listed). ``released``:
    a ``backlog`` task moved into its owner's day (its due time and escalation clock start then).
    """

    CREATED = "created"
    TOUCHED = "touched"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    EXPIRED = "expired"
    RELEASED = "released"
    VERIFIED = "verified"


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One subject of a group task: its id and its patient (where it has one)."""

    subject_id: str
    patient_id: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One stall, with one owner, a priority and a due time.

    Attributes:
        id: Short stable id (``t-`` and 10 hex digits) derived from the key and creation time.
        key: ``practice:rule:subject_type:<key>`` where ``<key>`` is the rule's rendered key
            template, or the subject id for a rule without one; one open-ish task per key.
        practice_id: The practice the task belongs to.
        rule: The rule id. pack: the pack name.
        rule_version: The pack version the task was last changed under.
        content_hash: Hash of the rule's text when the task was last changed.
        subject_type / subject_id: What the task is about (a record type such as ``appointment``,
            and its id; for a group, its first member, members ordered by id); :attr:`subject`
            gives both as ``{"type": ..., "id": ...}``.
        patient_id: The patient concerned, when there is one.
        title: What to do (may name the patient; never logged or sent in notifications).
        owner_role: The role the task was routed to (the rule's, or an escalation step's).
        owner_id: The staff member who owns it (``None`` only when the practice lists nobody).
        priority: low, normal, high or urgent; escalation only ever raises it.
        status: See :class:`TaskStatus`.
        created_at / updated_at: When the task was opened and last changed.
        due_at: When it is due; moved later by time spent blocked.
        escalation_level: How many escalation steps have fired (0: none).
        snoozed_until: When a snooze ends.
        blocked_since / blocked_until / blocked_reason: The current block, if blocked.
        blocked_time: Business time spent blocked so far (the paused clock).
        done_at: When a person marked it done. verified_at: when the PMS confirmed it.
        resolved_at / resolution: When and how it ended (``done``, ``resolved``, ``expired``,
            ``cancelled``).
        expires_at: When the chance lapses (an opening's start), if it can.
        reopen_count: How often it was reopened.
        evidence: The values that made the rule fire (JSON-ready).
        version: Incremented on every change (compare-and-set in ledgers).
        timezone: The practice's IANA timezone.
        members: For a group task (a rule with a key template), every member subject of the
            group, ordered by id; empty for a task about its subject alone.
    """

    id: str
    key: str
    practice_id: str
    rule: str
    pack: str
    rule_version: str
    content_hash: str
    subject_type: str
    subject_id: str
    patient_id: str | None
    title: str
    owner_role: str | None
    owner_id: str | None
    priority: Priority
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    escalation_level: int = 0
    snoozed_until: datetime | None = None
    blocked_since: datetime | None = None
    blocked_until: datetime | None = None
    blocked_reason: str | None = None
    blocked_time: timedelta = timedelta(0)
    done_at: datetime | None = None
    verified_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    expires_at: datetime | None = None
    reopen_count: int = 0
    evidence: Mapping[str, JsonValue] = field(default_factory=dict)
    version: int = 1
    timezone: str = "UTC"
    members: tuple[MemberRef, ...] = ()

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Return the ids of the subjects the task stands for (its subject alone, or its group)."""
        return tuple(m.subject_id for m in self.members) if self.members else (self.subject_id,)

    @property
    def member_patients(self) -> tuple[str, ...]:
        """Return the patients of the task's subjects (its own, or each member's), without repeats."""
        found = [m.patient_id for m in self.members if m.patient_id is not None]
        if self.patient_id is not None:
            found.insert(0, self.patient_id)
        return tuple(dict.fromkeys(found))

    @property
    def is_open(self) -> bool:
        """Whether the task is open-ish (open, acknowledged, snoozed or blocked)."""
        return self.status in OPEN_STATUSES

    @property
    def in_day(self) -> bool:
        """Whether the task is in its owner's day (open-ish and not in the backlog)."""
        return self.status in DAY_STATUSES

    @property
    def awaits_verification(self) -> bool:
        """Whether the task is marked done but the PMS has not yet confirmed the stall cleared."""
        return self.status is TaskStatus.DONE and self.verified_at is None

    @property
    def subject(self) -> dict[str, str]:
        """The subject as ``{"type": ..., "id": ...}``."""
        return {"type": self.subject_type, "id": self.subject_id}

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the task's fields, JSON-ready (datetimes as ISO 8601 with offset)."""
        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "pack": self.pack,
            "subject": self.subject,
            "patient_id": self.patient_id,
            "title": self.title,
            "owner_role": self.owner_role,
            "owner_id": self.owner_id,
            "priority": str(self.priority),
            "status": str(self.status),
            "created_at": self.created_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "escalation_level": self.escalation_level,
            "snoozed_until": _iso(self.snoozed_until),
            "resolved_at": _iso(self.resolved_at),
            "resolution": self.resolution,
            "evidence": dict(self.evidence),
        }

    def as_detail(self) -> dict[str, JsonValue]:
        """Return :meth:`as_dict` plus the bookkeeping fields (block, done, expiry, versions)."""
        detail = self.as_dict()
        detail.update(
            {
                "practice_id": self.practice_id,
                "rule_version": self.rule_version,
                "content_hash": self.content_hash,
                "updated_at": self.updated_at.isoformat(),
                "blocked_since": _iso(self.blocked_since),
                "blocked_until": _iso(self.blocked_until),
                "blocked_reason": self.blocked_reason,
                "blocked_seconds": self.blocked_time.total_seconds(),
                "done_at": _iso(self.done_at),
                "verified_at": _iso(self.verified_at),
                "expires_at": _iso(self.expires_at),
                "reopen_count": self.reopen_count,
                "version": self.version,
                "members": [{"id": m.subject_id, "patient_id": m.patient_id} for m in self.members],
            }
        )
        return detail


@dataclass(frozen=True, slots=True)
class TaskChange:
    """One change reconcile (or a person) made to one task.

    Attributes:
        kind: What happened.
        task: The task after the change.
        previous: The task before the change (``None`` when created).
        why: A short reason, with ids only (it goes into the audit trail and logs).
        level: For an escalation, the step that fired (1-based).
        owner_changed: Whether the owner changed (the new owner is notified).
    """

    kind: ChangeKind
    task: Task
    previous: Task | None
    why: str
    level: int | None = None
    owner_changed: bool = False

    @property
    def backlogged(self) -> bool:
        """Whether the change left the task in its owner's backlog (beyond their capacity)."""
        return self.task.status is TaskStatus.BACKLOG and (
            self.previous is None or self.previous.status is not TaskStatus.BACKLOG
        )

    def as_dict(self) -> dict[str, JsonValue]:
        """Return ``{"change": kind, "task": {...}}`` as ``sophie run --format json`` prints it.

        A change that put the task in its owner's backlog also carries ``"backlogged": true``.
        """
        data: dict[str, JsonValue] = {"change": str(self.kind), "task": self.task.as_dict()}
        if self.backlogged:
            data["backlogged"] = True
        return data


def task_key(practice_id: str, rule_id: str, subject_type: str, key: str) -> str:
    """Return the dedup key ``practice:rule:subject_type:<key>``.

    ``key`` is the rule's rendered key template (the group: findings that render the same key
    are one task), or the subject id for a rule without one.
    """
    return f"{practice_id}:{rule_id}:{subject_type}:{key}"


def task_id_for(key: str, created_at: datetime, generation: int = 0) -> str:
    """Return the deterministic id of the task opened for ``key`` at ``created_at``.

    ``generation`` (the ledger's count of cycles so far) tells apart two tasks for one key
    opened at the same instant in different cycles (a stall that cleared and came back while
    ``--now`` stood still).
    """
    stamp = created_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{key}|{stamp}|{generation}".encode()).hexdigest()
    return f"t-{digest[:10]}"


def raise_priority(current: Priority, proposed: Priority | str | None) -> Priority:
    """Return the higher of two priorities (escalation never lowers one)."""
    if proposed is None:
        return current
    candidate = Priority(proposed)
    return candidate if _PRIORITY_RANK[candidate] > _PRIORITY_RANK[current] else current


def priority_rank(priority: Priority | str) -> int:
    """Return 0 for low up to 3 for urgent."""
    return _PRIORITY_RANK[Priority(priority)]


def jsonable(value: object) -> JsonValue:
    """Return ``value`` as plain JSON data: datetimes and dates as ISO text, decimals as numbers.

    Anything else without a JSON form becomes its ``str``; mappings keep sorted keys so
    that equal evidence always serialises to equal text.
    """
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, str):  # enums and other str subclasses: their plain text
        return str(value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, Decimal):
        return decimal_number(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    return str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

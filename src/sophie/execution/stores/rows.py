"""Tasks and audit events as table rows: the one mapping every SQL store shares.

Times are stored as UTC ISO 8601 text with microseconds (so they sort as text) and read
back in the task's timezone; evidence and event data are canonical JSON text; a group
task's members are ``members_json``, ``[[subject_id, patient_id], ...]`` (``[]`` for a
task about its subject alone).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sophie.execution.stores.audit import GENESIS_HASH, AuditEvent
from sophie.execution.tasks import MemberRef, Task, TaskStatus
from sophie.model.enums import Priority

__all__ = [
    "EVENT_COLUMNS",
    "GENESIS",
    "TASK_COLUMNS",
    "Row",
    "event_from_row",
    "event_params",
    "stamp",
    "task_from_row",
    "task_params",
]

GENESIS = GENESIS_HASH
"""The ``prev_hash`` of the first audit event."""

TASK_COLUMNS = (
    "id", "key", "practice_id", "rule_id", "pack", "rule_version", "content_hash", "subject_type", "subject_id",
    "patient_id", "title", "owner_role", "owner_id", "priority", "status", "created_at", "updated_at", "due_at",
    "escalation_level", "snoozed_until", "blocked_since", "blocked_until", "blocked_reason", "blocked_seconds",
    "done_at", "verified_at", "resolved_at", "resolution", "expires_at", "reopen_count", "evidence_json", "version",
    "timezone", "members_json",
)  # fmt: skip
EVENT_COLUMNS = (
    "task_id", "at", "actor", "kind", "from_status", "to_status", "why", "rule_id", "rule_version", "content_hash",
    "data_json", "prev_hash", "hash",
)  # fmt: skip


class Row(Protocol):
    """A database row whose columns are read by name (``sqlite3.Row``, a psycopg dict row)."""

    def __getitem__(self, key: str, /) -> Any:
        """Return a column's value."""


def stamp(value: datetime | None) -> str | None:
    """Return ``value`` as stored: UTC ISO 8601 text with microseconds (``None`` stays ``None``)."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def task_params(task: Task) -> tuple[Any, ...]:
    """Return a task's column values, in :data:`TASK_COLUMNS` order."""
    return (
        task.id, task.key, task.practice_id, task.rule, task.pack, task.rule_version, task.content_hash,
        task.subject_type, task.subject_id, task.patient_id, task.title, task.owner_role, task.owner_id,
        str(task.priority), str(task.status), stamp(task.created_at), stamp(task.updated_at), stamp(task.due_at),
        task.escalation_level, stamp(task.snoozed_until), stamp(task.blocked_since), stamp(task.blocked_until),
        task.blocked_reason, task.blocked_time.total_seconds(), stamp(task.done_at), stamp(task.verified_at),
        stamp(task.resolved_at), task.resolution, stamp(task.expires_at), task.reopen_count,
        json.dumps(task.evidence, sort_keys=True, separators=(",", ":")), task.version, task.timezone,
        json.dumps([[m.subject_id, m.patient_id] for m in task.members], separators=(",", ":")),
    )  # fmt: skip


def task_from_row(row: Row) -> Task:
    """Return the task a row of the ``task`` table holds, its times in the task's timezone."""
    tz = ZoneInfo(row["timezone"])

    def when(name: str) -> datetime | None:
        text = row[name]
        return None if text is None else datetime.fromisoformat(text).astimezone(tz)

    def must(name: str) -> datetime:
        value = when(name)
        assert value is not None
        return value

    return Task(
        id=row["id"], key=row["key"], practice_id=row["practice_id"], rule=row["rule_id"], pack=row["pack"],
        rule_version=row["rule_version"], content_hash=row["content_hash"], subject_type=row["subject_type"],
        subject_id=row["subject_id"], patient_id=row["patient_id"], title=row["title"], owner_role=row["owner_role"],
        owner_id=row["owner_id"], priority=Priority(row["priority"]), status=TaskStatus(row["status"]),
        created_at=must("created_at"), updated_at=must("updated_at"), due_at=must("due_at"),
        escalation_level=row["escalation_level"], snoozed_until=when("snoozed_until"),
        blocked_since=when("blocked_since"), blocked_until=when("blocked_until"), blocked_reason=row["blocked_reason"],
        blocked_time=timedelta(seconds=row["blocked_seconds"]), done_at=when("done_at"),
        verified_at=when("verified_at"), resolved_at=when("resolved_at"), resolution=row["resolution"],
        expires_at=when("expires_at"), reopen_count=row["reopen_count"], evidence=json.loads(row["evidence_json"]),
        version=row["version"], timezone=row["timezone"],
        members=tuple(MemberRef(str(m[0]), m[1] and str(m[1])) for m in json.loads(row["members_json"])),
    )  # fmt: skip


def event_params(event: AuditEvent, previous: str, digest: str) -> tuple[Any, ...]:
    """Return an audit event's column values, in :data:`EVENT_COLUMNS` order."""
    return (
        event.task_id, event.at.isoformat(), event.actor, event.kind, event.from_status, event.to_status,
        event.why, event.rule_id, event.rule_version, event.content_hash,
        json.dumps(event.data, sort_keys=True), previous, digest,
    )  # fmt: skip


def event_from_row(row: Row) -> AuditEvent:
    """Return the audit event a row of the ``task_event`` table holds.

    Raises:
        ValueError: The row does not decode (bad time or JSON), as a row edited by hand may not.
        TypeError: The row's data is not a JSON object.
    """
    data = json.loads(row["data_json"])
    if not isinstance(data, dict):
        raise TypeError("data_json is not an object")
    return AuditEvent(
        task_id=row["task_id"], at=datetime.fromisoformat(row["at"]), actor=row["actor"], kind=row["kind"],
        from_status=row["from_status"], to_status=row["to_status"], why=row["why"], rule_id=row["rule_id"],
        rule_version=row["rule_version"], content_hash=row["content_hash"], data=data,
    )  # fmt: skip

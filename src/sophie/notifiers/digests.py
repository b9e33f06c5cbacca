"""Digests: one message per person at each digest window instead of one per task.

A practice picks its windows (by default 08:00 and 13:00, practice-local). Between two
windows, the notifications about a person's non-urgent tasks (new, escalated, reopened,
released, reassigned) wait in the outbox; at the window they become one digest message,
with the tasks of that person's day that went overdue since the previous window. Urgent
tasks are sent at once, as without digests.

This module is pure (no I/O, no clock): it says which window a moment belongs to and
builds the digest's payload from the waiting messages' payloads. The payload carries what
a single message does — task ids, rule titles, priorities, due times — never a task title
or anything else about the patient. :class:`~sophie.notifiers.sqlite_outbox.SqliteOutbox`
and :class:`~sophie.notifiers.postgres_outbox.PostgresOutbox` roll the waiting rows into a
digest row in one transaction (see there).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_WINDOWS",
    "Digest",
    "DigestSettings",
    "digest_key",
    "digest_payload",
    "next_window",
    "parse_window",
    "plan_digests",
    "window_at",
]

DEFAULT_WINDOWS = (time(8, 0), time(13, 0))
"""When digests go out by default: at opening and after lunch, practice-local."""

_VERBS = {"created": "new", "released": "new", "escalated": "escalated", "reopened": "reopened",
          "reassigned": "reassigned", "overdue": "overdue"}  # fmt: skip


@dataclass(frozen=True)
class DigestSettings:
    """When a practice's digests go out.

    Attributes:
        timezone: The practice's IANA timezone.
        windows: Practice-local times of day (at least one).
    """

    timezone: str
    windows: tuple[time, ...] = DEFAULT_WINDOWS

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("digests need at least one window")


def window_at(now: datetime, settings: DigestSettings) -> tuple[datetime, datetime]:
    """Return ``(previous window, current window)``: the two latest window times at or before ``now``."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    found: list[datetime] = []
    for back in range(3):
        day = local.date() - timedelta(days=back)
        found += [datetime.combine(day, moment, zone) for moment in settings.windows]
    passed = sorted(moment for moment in found if moment <= local)
    return passed[-2], passed[-1]


def next_window(after: datetime, settings: DigestSettings) -> datetime:
    """Return the first window time strictly after ``after``."""
    zone = ZoneInfo(settings.timezone)
    local = after.astimezone(zone)
    found = [
        datetime.combine(local.date() + timedelta(days=ahead), moment, zone)
        for ahead in range(3)
        for moment in settings.windows
    ]
    return min(moment for moment in found if moment > local)


def parse_window(text: str) -> time:
    """Return a window time from ``HH:MM``.

    Raises:
        ValueError: Not a time of day as ``HH:MM``.
    """
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as err:
        raise ValueError(f"{text!r} is not a time of day as HH:MM") from err


def digest_key(recipient_id: str | None, window: datetime, *, practice_id: str | None = None) -> str:
    """Return the idempotency key of a person's digest for one window (of one practice, in a group's ledger)."""
    where = "" if practice_id is None else f"{practice_id}:"
    return f"digest:{where}{recipient_id or 'unassigned'}:{window.isoformat()}"


def digest_payload(
    recipient_id: str | None, window: datetime, messages: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return the payload of one person's digest from the payloads of the messages it gathers.

    Each item is ``{"task_id", "change", "rule_title", "priority", "due_at"}``: the same
    facts a single message carries. ``messages`` may include ``{"change": "overdue", ...}``
    entries for tasks that went overdue since the previous window.
    """
    items = []
    seen: set[tuple[str, str]] = set()
    for payload in messages:
        change = _VERBS.get(str(payload.get("change")), str(payload.get("change")))
        task_id = str(payload.get("task_id"))
        if (task_id, change) in seen:
            continue
        seen.add((task_id, change))
        items.append(
            {
                "task_id": task_id,
                "change": change,
                "rule_title": str(payload.get("rule_title") or payload.get("rule") or "task"),
                "priority": str(payload.get("priority") or "normal"),
                "due_at": payload.get("due_at"),
            }
        )
    counts = Counter(item["change"] for item in items)
    summary = ", ".join(f"{counts[verb]} {verb}" for verb in ("new", "escalated", "reopened", "reassigned", "overdue")
                        if counts[verb])  # fmt: skip
    first = messages[0] if messages else {}
    return {
        "task_id": items[0]["task_id"] if items else "digest",
        "change": "digest",
        "rule_title": f"Your tasks: {summary}" if summary else "Your tasks",
        "priority": "normal",
        "practice_id": first.get("practice_id"),
        "owner_id": recipient_id,
        "owner_role": None,
        "window": window.isoformat(),
        "items": items,
    }


@dataclass(frozen=True)
class Digest:
    """One person's digest for one window, as an outbox store writes it.

    Attributes:
        key: Its idempotency key (:func:`digest_key`).
        recipient_id: Whom it goes to (``None``: unassigned).
        payload: What it says (:func:`digest_payload`).
        gathered: The keys of the waiting rows it stands for (marked sent with it).
    """

    key: str
    recipient_id: str | None
    payload: dict[str, Any]
    gathered: tuple[str, ...]


def plan_digests(
    window: datetime,
    waiting: Sequence[Mapping[str, Any]],
    overdue: Sequence[Mapping[str, Any]],
    *,
    practice_id: str | None = None,
) -> list[Digest]:
    """Return the digests of one window: one per person with waiting rows or tasks gone overdue.

    Args:
        window: The window they are for.
        waiting: Outbox rows held for a digest (``key``, ``recipient_id``, ``payload_json``), oldest first.
        overdue: Tasks of people's day that went overdue since the previous window
            (``id``, ``rule_id``, ``priority``, ``due_at``, ``owner_id``, ``practice_id``), by due time.
        practice_id: The practice of a group's ledger (named in the keys); ``None`` for a
            ledger of one practice.
    """
    rows: dict[str | None, list[Mapping[str, Any]]] = {}
    for row in waiting:
        rows.setdefault(row["recipient_id"], []).append(row)
    late: dict[str | None, list[dict[str, Any]]] = {}
    for task in overdue:
        late.setdefault(task["owner_id"], []).append(
            {"task_id": task["id"], "change": "overdue", "rule": task["rule_id"], "priority": task["priority"],
             "due_at": task["due_at"], "practice_id": task["practice_id"]}
        )  # fmt: skip
    digests = []
    for recipient in sorted({*rows, *late}, key=lambda r: r or ""):
        gathered = rows.get(recipient, [])
        payloads = [json.loads(row["payload_json"]) for row in gathered] + late.get(recipient, [])
        digests.append(
            Digest(
                digest_key(recipient, window, practice_id=practice_id),
                recipient,
                digest_payload(recipient, window, payloads),
                tuple(row["key"] for row in gathered),
            )
        )
    return digests

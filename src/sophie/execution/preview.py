"""Preview: what packs would hand each role and person on a practice, before going live.

Nothing is written anywhere: the findings are reconciled against an empty set of tasks in
memory, and capacity is applied as a first cycle would apply it. For each role and each
person: the day-one findings, what capacity puts in day one and in the backlog, the
business days to drain that backlog at capacity (nothing new assumed), the new tasks to
expect a business day, and the rules that contribute most.

New tasks a business day: for each of the last ``days`` business mornings (the practice's
opening, in its zone), the practice as read that morning (``read_at``; by default the same
snapshot) is evaluated at that morning and at the business morning before; the findings
whose key fires only at the later one are what a practice already running sophie would
get that morning. Per person, a role's new tasks are counted for the person who holds most
of that role's day-one tasks.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sophie.execution.capacity import apply_capacity, capacities
from sophie.execution.engine import rules_by_id
from sophie.execution.reconcile import finding_key, reconcile
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.tasks import JsonValue, Task, TaskStatus
from sophie.model.enums import Priority

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.model.calendar import BusinessCalendar
    from sophie.rules import CompiledPack

__all__ = ["Load", "Preview", "business_mornings", "preview"]

TOP_RULES = 5


@dataclass(frozen=True)
class Load:
    """What one role or person would get.

    Attributes:
        findings: Day-one findings (one task each).
        day: Day-one tasks in the day (urgent ones included).
        urgent: Of those, urgent ones (counted apart from capacity).
        backlog: Day-one tasks waiting in the backlog.
        drain_days: Business days to release the backlog at capacity (``None``: capacity 0).
        new_per_day: New tasks each of the last business mornings, oldest first.
        top_rules: The rules with most day-one findings, with their counts.
    """

    findings: int
    day: int
    urgent: int
    backlog: int
    drain_days: int | None
    new_per_day: tuple[int, ...]
    top_rules: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the load as JSON-ready data."""
        new = self.new_per_day
        return {
            "findings": self.findings,
            "day_one": self.day,
            "urgent": self.urgent,
            "backlog": self.backlog,
            "drain_days": self.drain_days,
            "new_per_day": {"mean": round(sum(new) / len(new), 1) if new else 0.0, "max": max(new, default=0),
                            "days": list(new)},
            "top_rules": [{"rule": rule, "findings": count} for rule, count in self.top_rules],
        }  # fmt: skip


@dataclass(frozen=True)
class Preview:
    """A preview of a practice: per role and per person (see the module docstring)."""

    practice_id: str
    now: datetime
    mornings: tuple[datetime, ...]
    roles: Mapping[str, Load]
    people: Mapping[str, Load]
    capacity: Mapping[str, int]

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the preview as JSON-ready data."""
        return {
            "practice": self.practice_id,
            "now": self.now.isoformat(),
            "mornings": [m.isoformat() for m in self.mornings],
            "roles": {role: load.as_dict() for role, load in self.roles.items()},
            "people": {
                person: {**load.as_dict(), "capacity": self.capacity.get(person)}
                for person, load in self.people.items()
            },
        }


def business_mornings(calendar: BusinessCalendar, now: datetime, count: int) -> list[datetime]:
    """Return the openings of the ``count + 1`` business days before ``now``'s day, oldest first."""
    found: list[datetime] = []
    day = calendar.local_date(now)
    for _ in range(7 * (count + 1) + 366):  # bounded even for a calendar with no open day
        if len(found) > count:
            break
        day -= timedelta(days=1)
        if calendar.is_business_day(day):
            found.append(calendar.next_open(datetime.combine(day, time(0), calendar.tz)))
    return sorted(found)


def preview(
    snapshot: Snapshot,
    packs: Sequence[CompiledPack],
    now: datetime,
    *,
    params: Mapping[str, object] | None = None,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    days: int = 10,
    read_at: Callable[[datetime], Snapshot] | None = None,
) -> Preview:
    """Return what ``packs`` would hand each role and person of ``snapshot`` (writes nothing).

    ``read_at`` reads the practice as it was at an earlier morning (the demo can); without
    it the same snapshot is evaluated at the earlier mornings.
    """
    from sophie.rules import evaluate

    practice_id = snapshot.practice.id
    calendar = snapshot.index.calendar
    local_now = now.astimezone(calendar.tz)
    evaluation = evaluate(packs, snapshot, now, params)
    rules = rules_by_id(packs)
    planned = reconcile(
        [], evaluation, local_now, practice_id=practice_id, rules=rules, staff=snapshot.staff, calendar=calendar,
        settings=settings,
    )  # fmt: skip
    limits = capacities(snapshot.staff, settings.capacity)
    changes = apply_capacity([], planned.changes, local_now, capacity=limits, default_capacity=settings.capacity,
                             calendar=calendar)  # fmt: skip
    tasks: dict[str, Task] = {change.task.id: change.task for change in changes}
    mornings = business_mornings(calendar, local_now, days)
    owner_of_role = {finding_key(practice_id, f): f.owner for f in evaluation.findings}
    new_by_role: dict[str, list[int]] = defaultdict(list)
    for earlier, later in itertools.pairwise(mornings):
        data = read_at(later) if read_at is not None else snapshot
        before = {finding_key(practice_id, f) for f in evaluate(packs, data, earlier, params).findings}
        counts: Counter[str] = Counter()
        for finding in evaluate(packs, data, later, params).findings:
            key = finding_key(practice_id, finding)
            if key not in before:
                counts[owner_of_role.get(key, finding.owner)] += 1
        for role in {*counts, *new_by_role}:
            new_by_role[role].append(counts[role])
    roles = _loads(tasks.values(), lambda task: task.owner_role or "unassigned", limits, settings.capacity,
                   new_by_role, len(mornings) - 1)  # fmt: skip
    new_by_person: dict[str, list[int]] = defaultdict(lambda: [0] * (len(mornings) - 1))
    for role, role_counts in new_by_role.items():
        holders = Counter(task.owner_id for task in tasks.values() if task.owner_role == role and task.owner_id)
        if holders:  # a role's new tasks go to the person who holds most of its day-one tasks
            person = str(holders.most_common(1)[0][0])
            padded = [0] * (len(mornings) - 1 - len(role_counts)) + role_counts
            new_by_person[person] = [a + b for a, b in zip(new_by_person[person], padded, strict=True)]
    people = _loads(tasks.values(), lambda task: task.owner_id or "unassigned", limits, settings.capacity,
                    new_by_person, len(mornings) - 1)  # fmt: skip
    return Preview(practice_id, local_now, tuple(mornings[1:]), roles, people, limits)


def _loads(
    tasks: Iterable[Task],
    group: Callable[[Task], str],
    limits: Mapping[str, int],
    default: int,
    new_by_group: Mapping[str, list[int]],
    days: int,
) -> dict[str, Load]:
    grouped: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        grouped[group(task)].append(task)
    loads: dict[str, Load] = {}
    for name in sorted({*grouped, *new_by_group}):
        members = grouped.get(name, [])
        waiting = sum(1 for t in members if t.status is TaskStatus.BACKLOG)
        capacity = limits.get(name, default)
        owners = {t.owner_id for t in members if t.status is TaskStatus.BACKLOG}
        if len(owners) > 1 or name not in limits:  # a role: its holders' capacities together
            capacity = sum(limits.get(owner or "", default) for owner in owners) or default
        drain = (math.ceil(waiting / capacity) if capacity else None) if waiting else 0
        new = new_by_group.get(name, [])
        loads[name] = Load(
            findings=len(members),
            day=sum(1 for t in members if t.in_day),
            urgent=sum(1 for t in members if t.in_day and t.priority is Priority.URGENT),
            backlog=waiting,
            drain_days=drain,
            new_per_day=tuple([0] * (days - len(new)) + new),
            top_rules=tuple(Counter(t.rule for t in members).most_common(TOP_RULES)),
        )
    return loads

"""The day-a-team-can-work targets, read from a simulation's ledger.

What a practice needs from the queue sophie hands it, measured over simulated business
days (see :mod:`sophie.execution.simulation.loop`):

- **new tasks per role per business day**: tasks created, by the role owning them when
  they were created; day one (the backlog of a practice switching sophie on) apart from
  the later days (mean and max);
- **backlog drain**: per role, how many tasks the first morning put in a backlog, and the
  business day (1-based) by which every one of them had left it (released, or closed);
- **duplicate pairs**: pairs of tasks for the same patient, the same owner role and the
  same *rule group* (the first two dot-separated parts of the rule id:
  ``claims.outstanding.30d`` and ``claims.outstanding.60d`` are one group) open at the same
  time — two calls one person makes to one patient about one thing;
- **tasks for $0**: tasks whose title shows money and every amount in it is ``$0.00``, or
  whose money evidence is all zero. A denied claim's "$0.00 paid of $400.00 expected" is a
  task about $400, not a task for nothing;
- **born overdue**: tasks due before the moment they were created;
- **stage moves**: tasks carried on into the next stage of their stall (one task, not a
  new one; see :mod:`sophie.rules.packs.stages`).

Nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sophie.execution.stores.ledger import ReportingLedger
from sophie.execution.tasks import JsonValue, Task, TaskStatus

__all__ = ["Targets", "duplicate_pairs", "is_zero_money", "measure_targets", "rule_group"]

_MONEY_KEYS = frozenset({"billed", "fee", "total", "unscheduled_total", "amount", "over_60", "over_90", "balance"})
_AMOUNT = re.compile(r"\$(\d[\d,]*\.\d\d)")
_STAGE_MOVE = "the stall moved from rule"


@dataclass
class Targets:
    """The targets measured over one simulation (see the module docstring).

    Attributes:
        days: The business days simulated, in order.
        created: Role -> business day -> tasks created for that role that day.
        day_one_backlog: Role -> tasks the first morning put in a backlog.
        drained: Role -> the business day (1-based) by which all of them had left the
            backlog; ``None``: some still wait at the end.
        urgent_max: The most urgent tasks any one person's day held.
        day_max: The most non-urgent tasks any one person's day held.
        duplicate_pairs: Pairs of task ids (see :func:`duplicate_pairs`).
        zero_money: Ids of tasks for $0. born_overdue: ids of tasks due before they opened.
        stage_moves: How many times a task was carried on into its stall's next stage.
        tasks: How many tasks the simulation made.
    """

    days: list[date] = field(default_factory=list)
    created: dict[str, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))
    day_one_backlog: Counter[str] = field(default_factory=Counter)
    drained: dict[str, int | None] = field(default_factory=dict)
    urgent_max: int = 0
    day_max: int = 0
    duplicate_pairs: list[tuple[str, str]] = field(default_factory=list)
    zero_money: list[str] = field(default_factory=list)
    born_overdue: list[str] = field(default_factory=list)
    stage_moves: int = 0
    tasks: int = 0

    def roles(self) -> list[str]:
        """Return the roles that received tasks, the busiest first."""
        return sorted(self.created, key=lambda role: (-sum(self.created[role].values()), role))

    def per_day(self, role: str) -> list[int]:
        """Return the tasks created for ``role`` on each business day."""
        return [self.created[role][day] for day in self.days]

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the targets as JSON-ready data."""
        roles: dict[str, JsonValue] = {}
        for role in self.roles():
            counts = self.per_day(role)
            later = counts[1:]
            roles[role] = {
                "day_one": counts[0] if counts else 0,
                "new_per_day_mean": round(sum(later) / len(later), 1) if later else 0.0,
                "new_per_day_max": max(later, default=0),
                "day_one_backlog": self.day_one_backlog.get(role, 0),
                "backlog_drained_by_day": self.drained.get(role),
            }
        return {
            "business_days": len(self.days),
            "roles": roles,
            "urgent_max": self.urgent_max,
            "day_max": self.day_max,
            "duplicate_pairs": len(self.duplicate_pairs),
            "zero_money": len(self.zero_money),
            "born_overdue": len(self.born_overdue),
            "stage_moves": self.stage_moves,
            "tasks": self.tasks,
        }


def rule_group(rule_id: str) -> str:
    """Return the rule group of a rule id: its first two dot-separated parts."""
    return ".".join(rule_id.split(".")[:2])


def _money_values(evidence: object) -> list[float]:
    found: list[float] = []
    if isinstance(evidence, Mapping):
        for key, value in evidence.items():
            if key == "members" and isinstance(value, list):
                for member in value:
                    if isinstance(member, Mapping):
                        found.extend(_money_values(member.get("evidence")))
            elif _is_amount(value) and str(key).rsplit(".", 1)[-1] in _MONEY_KEYS:
                try:
                    found.append(float(str(value)))
                except ValueError:
                    continue
    return found


def _is_amount(value: object) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def is_zero_money(task: Task) -> bool:
    """Whether a task is about no money: every amount its title shows is $0.00, or all its money evidence is 0."""
    amounts = [float(text.replace(",", "")) for text in _AMOUNT.findall(task.title)]
    if amounts and all(amount == 0 for amount in amounts):
        return True
    values = _money_values(task.evidence)
    return bool(values) and all(value == 0 for value in values)


def _closed_at(task: Task) -> datetime | None:
    return task.resolved_at or task.done_at


def duplicate_pairs(tasks: Iterable[Task], roles: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return pairs of tasks (same patient, owner role at creation, rule group) open at the same time."""
    buckets: dict[tuple[str, str, str], list[Task]] = defaultdict(list)
    for task in tasks:
        if task.patient_id is not None:
            role = roles.get(task.id, task.owner_role or "")
            buckets[(task.patient_id, role, rule_group(task.rule))].append(task)
    pairs = []
    for bucket in buckets.values():
        for number, one in enumerate(bucket):
            for other in bucket[number + 1 :]:
                start = max(one.created_at, other.created_at)
                ends = [end for end in (_closed_at(one), _closed_at(other)) if end is not None]
                if not ends or start < min(ends):
                    pairs.append((one.id, other.id))
    return pairs


def measure_targets(ledger: ReportingLedger, practice_id: str, days: Sequence[date], day_one: Iterable[str]) -> Targets:
    """Read the targets from a simulation's ledger.

    Args:
        ledger: The ledger the simulation wrote.
        practice_id: The simulated practice.
        days: The business days simulated, in order.
        day_one: Ids of the tasks the first morning put in a backlog.
    """
    targets = Targets(days=list(days))
    statuses = [str(status) for status in TaskStatus]
    tasks = ledger.find_tasks(statuses=statuses, practice_id=practice_id)
    targets.tasks = len(tasks)
    roles: dict[str, str] = {}
    left: dict[str, datetime] = {}
    for event in ledger.events():
        if event.kind == "created":
            role = event.data.get("owner_role")
            if isinstance(role, str):
                roles[event.task_id] = role
        elif event.from_status == "backlog" and event.to_status != "backlog":
            left.setdefault(event.task_id, event.at)
        if event.kind == "touched" and _STAGE_MOVE in event.why:
            targets.stage_moves += 1
    index = {day: number for number, day in enumerate(targets.days, start=1)}
    by_id = {task.id: task for task in tasks}
    latest: dict[str, int | None] = {}
    for task_id in day_one:
        task = by_id.get(task_id)
        if task is None:
            continue
        role = roles.get(task_id, task.owner_role or "")
        targets.day_one_backlog[role] += 1
        moment = left.get(task_id)
        number = None if moment is None else index.get(moment.astimezone(task.created_at.tzinfo).date())
        if role not in latest or latest[role] is not None:
            latest[role] = None if number is None else max(number, latest.get(role) or 0)
    targets.drained = latest
    for task in tasks:
        role = roles.get(task.id, task.owner_role or "")
        targets.created[role][task.created_at.date()] += 1
        if is_zero_money(task):
            targets.zero_money.append(task.id)
        if task.due_at < task.created_at:
            targets.born_overdue.append(task.id)
    targets.duplicate_pairs = duplicate_pairs(tasks, roles)
    return targets

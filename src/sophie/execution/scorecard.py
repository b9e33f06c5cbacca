"""The scorecard: what happened to the work over a period, per rule, role and person.

Pure over audit events and tasks (no I/O, no clock): ``sophie report`` and the staff
pages' Scorecard compute the same numbers from the same ledger reads.

- **created / resolved / done / reopened / expired / escalated**: audit events of that kind
  in the period (``resolved``: the PMS showed the stall cleared; ``done``: a person marked it).
- **median time to first action**: business time from a task's creation to the first thing a
  person did to it (acknowledge, done, snooze, block, note), for tasks created in the period.
- **median time to resolution**: business time from creation to done, resolved or expired.
- **closed before due**: the share of tasks closed (done or resolved) in the period whose
  closing came no later than their due time.
- **money recovered**: the amount in the evidence of treatment tasks (``tx.*``) and claim
  follow-ups (``claims.*``) that the PMS then showed done: treatment scheduled, claims paid.

Rows are keyed by the rule, the owner's role and the owner at the time of each event.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sophie.execution.stores.audit import SOPHIE_ACTOR, AuditEvent
from sophie.execution.tasks import JsonValue, Task
from sophie.model.calendar import BusinessCalendar

__all__ = [
    "COUNTED_KINDS",
    "MONEY_KEYS",
    "RECOVERY_RULE_PREFIXES",
    "ScoreRow",
    "Scorecard",
    "WeekRow",
    "money_amount",
    "needs_task",
    "scorecard",
]

COUNTED_KINDS = ("created", "resolved", "done", "reopened", "expired", "escalated")
"""The event kinds a scorecard counts, in the order it shows them."""

RECOVERY_RULE_PREFIXES = ("tx.", "claims.")
"""Rules whose tasks recover money when the PMS shows the work done."""

MONEY_KEYS = (
    "plan.unscheduled_total", "claim.expected", "claim.amount", "procedure.fee", "appointment.fee",
    "balance.total", "balance.over_90", "balance.over_60",
)  # fmt: skip
"""Evidence keys holding the task's amount, most specific first."""

_PERSON_ACTIONS = ("acknowledged", "done", "snoozed", "blocked", "noted")
_CLOSING = ("done", "resolved", "expired")


def money_amount(evidence: Mapping[str, JsonValue]) -> Decimal | None:
    """Return the amount a task is about, from its evidence (``None`` when it names none)."""
    for key in MONEY_KEYS:
        value = evidence.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return Decimal(str(value))
        except InvalidOperation:
            continue
    return None


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """The numbers of one rule, role or person (or of everything: key ``"all"``).

    Attributes:
        key: The rule id, role, staff id or ``"all"``.
        counts: Events per kind of :data:`COUNTED_KINDS`.
        median_first_action: Median business time to a person's first action.
        median_resolution: Median business time to done, resolved or expired.
        closed: Tasks closed (done or resolved) in the period.
        closed_before_due: Of those, how many no later than their due time.
        money_recovered: The amount recovered.
    """

    key: str
    counts: Mapping[str, int]
    median_first_action: timedelta | None
    median_resolution: timedelta | None
    closed: int
    closed_before_due: int
    money_recovered: Decimal

    @property
    def share_before_due(self) -> float | None:
        """The share of closed tasks closed by their due time (``None`` with none closed)."""
        return None if not self.closed else self.closed_before_due / self.closed

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the row as JSON-ready data (durations in seconds, money as a number)."""
        return {
            "key": self.key,
            **{kind: self.counts.get(kind, 0) for kind in COUNTED_KINDS},
            "median_first_action_seconds": _seconds(self.median_first_action),
            "median_resolution_seconds": _seconds(self.median_resolution),
            "closed": self.closed,
            "closed_before_due": self.closed_before_due,
            "share_before_due": self.share_before_due,
            "money_recovered": float(self.money_recovered),
        }


@dataclass(frozen=True, slots=True)
class WeekRow:
    """One week of the trend (weeks start on Monday, in the practice's zone).

    Attributes:
        week: The Monday.
        created / closed / escalated: Events in the week.
        money_recovered: The amount recovered in the week.
    """

    week: date
    created: int
    closed: int
    escalated: int
    money_recovered: Decimal

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the week as JSON-ready data."""
        return {
            "week": self.week.isoformat(),
            "created": self.created,
            "closed": self.closed,
            "escalated": self.escalated,
            "money_recovered": float(self.money_recovered),
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A period's scorecard.

    Attributes:
        since / until: The period, ``[since, until)``.
        total: Everything together.
        by_rule / by_role / by_person: One row per rule, role and owner, by key.
        weeks: The week-by-week trend, oldest first.
    """

    since: datetime
    until: datetime
    total: ScoreRow
    by_rule: Sequence[ScoreRow] = field(default_factory=tuple)
    by_role: Sequence[ScoreRow] = field(default_factory=tuple)
    by_person: Sequence[ScoreRow] = field(default_factory=tuple)
    weeks: Sequence[WeekRow] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, JsonValue]:
        """Return the scorecard as JSON-ready data (what ``sophie report --format json`` prints)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "total": self.total.as_dict(),
            "by_rule": [row.as_dict() for row in self.by_rule],
            "by_role": [row.as_dict() for row in self.by_role],
            "by_person": [row.as_dict() for row in self.by_person],
            "weeks": [week.as_dict() for week in self.weeks],
        }


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED_KINDS, 0))
    first_action: list[timedelta] = field(default_factory=list)
    resolution: list[timedelta] = field(default_factory=list)
    closed: int = 0
    before_due: int = 0
    money: Decimal = Decimal(0)

    def row(self, key: str) -> ScoreRow:
        return ScoreRow(
            key=key,
            counts=dict(self.counts),
            median_first_action=_median(self.first_action),
            median_resolution=_median(self.resolution),
            closed=self.closed,
            closed_before_due=self.before_due,
            money_recovered=self.money,
        )


def _median(values: list[timedelta]) -> timedelta | None:
    return None if not values else timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def _due(event: AuditEvent, task: Task | None) -> datetime | None:
    text = event.data.get("due_at")
    if isinstance(text, str):
        return datetime.fromisoformat(text)
    return None if task is None else task.due_at


def needs_task(event: AuditEvent) -> bool:
    """Whether the scorecard reads ``event``'s task (its evidence for money, or its due time)."""
    return _recovers(event) or (event.kind in ("done", "resolved") and "due_at" not in event.data)


def _recovers(event: AuditEvent) -> bool:
    by_pms = (event.kind == "resolved" and event.actor == SOPHIE_ACTOR) or event.kind == "verified"
    return by_pms and event.rule_id.startswith(RECOVERY_RULE_PREFIXES)


def scorecard(
    events: Iterable[AuditEvent],
    tasks: Mapping[str, Task],
    *,
    since: datetime,
    until: datetime,
    calendar: BusinessCalendar | None = None,
) -> Scorecard:
    """Return the scorecard of ``[since, until)`` from the audit events and their tasks.

    Args:
        events: Audit events (those outside the period are ignored; order does not matter).
        tasks: The tasks the events belong to, by id: at least those :func:`needs_task` names
            (for the evidence of money recovered, and due times older events lack).
        since: The period's start.
        until: The period's end.
        calendar: The practice's business calendar (wall-clock time without one).
    """
    timeline: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if since <= event.at < until:
            timeline[event.task_id].append(event)
    total = _Tally()
    groups: dict[str, dict[str, _Tally]] = {
        "rule": defaultdict(_Tally),
        "role": defaultdict(_Tally),
        "person": defaultdict(_Tally),
    }
    weeks: dict[date, list[int | Decimal]] = {}
    week_of: dict[date, date] = {}
    by_rule, by_role, by_person = groups["rule"], groups["role"], groups["person"]
    zone = calendar.tz if calendar is not None else since.tzinfo

    def between(a: datetime, b: datetime) -> timedelta:
        return calendar.business_time_between(a, b) if calendar is not None else b - a

    for task_id, trail in timeline.items():
        trail.sort(key=lambda e: e.at)
        task = tasks.get(task_id)
        created = next((e.at for e in trail if e.kind == "created"), None)
        first_action = next((e.at for e in trail if e.kind in _PERSON_ACTIONS and e.actor != SOPHIE_ACTOR), None)
        closing = next((e for e in trail if e.kind in _CLOSING), None)
        to_first = to_close = None
        if created is not None:
            to_first = None if first_action is None else between(created, first_action)
            to_close = None if closing is None else between(created, closing.at)
        for event in trail:
            kind, data = event.kind, event.data
            tallies = (
                total,
                by_rule[event.rule_id],
                by_role[str(data.get("owner_role") or "nobody")],
                by_person[str(data.get("owner_id") or "nobody")],
            )
            day = event.at.date() if zone is None or event.at.tzinfo == zone else event.at.astimezone(zone).date()
            week = week_of.get(day)
            if week is None:
                week = week_of[day] = day - timedelta(days=day.weekday())
            trend = weeks.setdefault(week, [0, 0, 0, Decimal(0)])
            closes = kind == "done" or kind == "resolved"
            amount = money_amount(task.evidence) if task is not None and _recovers(event) else None
            if kind == "created":
                trend[0] = int(trend[0]) + 1
                for tally in tallies:
                    tally.counts[kind] += 1
                    if to_first is not None:
                        tally.first_action.append(to_first)
                    if to_close is not None:
                        tally.resolution.append(to_close)
                continue
            if kind == "escalated":
                trend[2] = int(trend[2]) + 1
            elif closes:
                trend[1] = int(trend[1]) + 1
            if amount is not None:
                trend[3] = Decimal(trend[3]) + amount
            on_time = closes and (due := _due(event, task)) is not None and event.at <= due
            counted = kind in total.counts
            for tally in tallies:
                if counted:
                    tally.counts[kind] += 1
                if closes:
                    tally.closed += 1
                    tally.before_due += on_time
                if amount is not None:
                    tally.money += amount

    def rows(name: str) -> tuple[ScoreRow, ...]:
        return tuple(tally.row(key) for key, tally in sorted(groups[name].items()))

    week_rows = tuple(
        WeekRow(week, int(values[0]), int(values[1]), int(values[2]), Decimal(values[3]))
        for week, values in sorted(weeks.items())
    )
    return Scorecard(since, until, total.row("all"), rows("rule"), rows("role"), rows("person"), week_rows)

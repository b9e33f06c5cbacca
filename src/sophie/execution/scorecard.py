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

Two computations give the same numbers: :func:`scorecard`, the plain one over decoded audit
events (the reference, written to be read), and :func:`tally_scorecard`, over
the lean :class:`ScoreEvent` rows a store selects, in one pass (what ``sophie report`` and the
pages use: a year of events in well under two seconds). The tests compare them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, Protocol

from sophie.execution.stores.audit import SOPHIE_ACTOR, AuditEvent
from sophie.execution.tasks import JsonValue, Task
from sophie.model.calendar import BusinessCalendar

__all__ = [
    "COUNTED_KINDS",
    "MONEY_KEYS",
    "RECOVERY_RULE_PREFIXES",
    "ScoreEvent",
    "ScoreRow",
    "ScoreTask",
    "Scorecard",
    "TaskFacts",
    "WeekRow",
    "money_amount",
    "needs_task",
    "row_needs_task",
    "scorecard",
    "tally_scorecard",
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
    due_given = isinstance(event.data.get("due_at"), str)
    return _recovers(event) or (event.kind in ("done", "resolved") and not due_given)


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
        return calendar.business_time_between(a, b) if calendar is not None else _elapsed(a, b)

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


class TaskFacts(Protocol):
    """What the scorecard reads of a task: its due time and its evidence (a :class:`Task` has both)."""

    @property
    def due_at(self) -> datetime:
        """When the task is due."""

    @property
    def evidence(self) -> Mapping[str, JsonValue]:
        """The task's evidence (amounts for money recovered)."""


class ScoreTask(NamedTuple):
    """A task as a store hands it to :func:`tally_scorecard`: no more than it reads.

    Attributes:
        due_at: When the task is due.
        evidence: The task's evidence.
    """

    due_at: datetime
    evidence: Mapping[str, JsonValue]


class ScoreEvent(NamedTuple):
    """The part of an audit event the scorecard reads: what a store hands :func:`tally_scorecard`.

    A store builds these in SQL (no JSON decoding, no :class:`AuditEvent`), in audit order.

    Attributes:
        task_id: The task.
        at: The event's time as stored (ISO 8601 with its offset).
        actor: Who did it.
        kind: The event kind.
        rule_id: The task's rule.
        owner_id: ``data.owner_id`` (``None`` when absent).
        owner_role: ``data.owner_role`` (``None`` when absent).
        due_at: ``data.due_at`` when it is a string (``None`` otherwise: the task's due time counts).
    """

    task_id: str
    at: str
    actor: str
    kind: str
    rule_id: str
    owner_id: JsonValue
    owner_role: JsonValue
    due_at: str | None


def row_needs_task(row: ScoreEvent) -> bool:
    """Whether :func:`tally_scorecard` reads the row's task (what :func:`needs_task` says of its event)."""
    kind = row[3]
    if kind in ("done", "resolved") and row[7] is None:
        return True
    by_pms = (kind == "resolved" and row[2] == SOPHIE_ACTOR) or kind == "verified"
    return by_pms and row[4].startswith(RECOVERY_RULE_PREFIXES)


@dataclass(slots=True)
class _Marks:
    """What one task's period holds for its durations: the first creation, person action and closing."""

    created: datetime | None = None
    first: datetime | None = None
    closing: datetime | None = None
    tallies: list[_FastTally] = field(default_factory=list)  # one per creation event


@dataclass(slots=True)
class _FastTally:
    """:class:`_Tally` with durations kept as seconds (what the median is taken over)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED_KINDS, 0))
    first_action: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    closed: int = 0
    before_due: int = 0
    money: Decimal = Decimal(0)

    def row(self, key: str) -> ScoreRow:
        return ScoreRow(
            key=key,
            counts=dict(self.counts),
            median_first_action=_median_seconds(self.first_action),
            median_resolution=_median_seconds(self.resolution),
            closed=self.closed,
            closed_before_due=self.before_due,
            money_recovered=self.money,
        )


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two instants (Python subtracts same-zone times by the wall clock, across DST too)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def _median_seconds(values: list[float]) -> timedelta | None:
    return None if not values else timedelta(seconds=statistics.median(values))


def _merge(into: _FastTally, part: _FastTally) -> None:
    for kind, count in part.counts.items():
        into.counts[kind] += count
    into.first_action += part.first_action
    into.resolution += part.resolution
    into.closed += part.closed
    into.before_due += part.before_due
    into.money += part.money


def tally_scorecard(
    rows: Iterable[ScoreEvent],
    tasks: Mapping[str, TaskFacts],
    *,
    since: datetime,
    until: datetime,
    calendar: BusinessCalendar | None = None,
) -> Scorecard:
    """Return the same scorecard as :func:`scorecard`, from lean rows, fast enough for a year.

    One pass over the rows: each event updates one tally, that of its (rule, role,
    person), and notes its task's first creation, person action and closing (the earliest
    times, which is what :func:`scorecard` finds first in each time-sorted trail); then one
    pass over the tasks adds the durations. The rows of each dimension and the total are
    merged from the tallies at the end.

    Args:
        rows: The events as :class:`ScoreEvent` rows (outside the period: ignored).
        tasks: The tasks :func:`row_needs_task` names, by id.
        since: The period's start.
        until: The period's end.
        calendar: The practice's business calendar (wall-clock time without one).
    """
    parse = datetime.fromisoformat
    combos: dict[tuple[str, JsonValue, JsonValue], _FastTally] = {}  # by rule, raw role, raw person
    weeks: dict[date, list[int | Decimal]] = {}
    trend_of: dict[date, list[int | Decimal]] = {}  # by day: its week's
    amounts: dict[str, Decimal | None] = {}
    marks: dict[str, _Marks] = {}
    zone = calendar.tz if calendar is not None else since.tzinfo
    for row in rows:
        at = parse(row[1])
        if not since <= at < until:
            continue
        task_id, actor, kind = row[0], row[2], row[3]
        key = (row[4], row[6], row[5])
        tally = combos.get(key)
        if tally is None:
            tally = combos[key] = _FastTally()
        day = at.astimezone(zone).date() if zone is not None else at.date()
        trend = trend_of.get(day)
        if trend is None:
            week = day - timedelta(days=day.weekday())
            trend = trend_of[day] = weeks.setdefault(week, [0, 0, 0, Decimal(0)])
        marked = marks.get(task_id)
        if marked is None:
            marked = marks[task_id] = _Marks()
        if kind == "created":
            trend[0] = int(trend[0]) + 1
            tally.counts[kind] += 1
            if marked.created is None or at < marked.created:
                marked.created = at
            marked.tallies.append(tally)
            continue
        if kind in _PERSON_ACTIONS and actor != SOPHIE_ACTOR and (marked.first is None or at < marked.first):
            marked.first = at
        if kind in _CLOSING and (marked.closing is None or at < marked.closing):
            marked.closing = at
        closes = kind == "done" or kind == "resolved"
        if kind == "escalated":
            trend[2] = int(trend[2]) + 1
        elif closes:
            trend[1] = int(trend[1]) + 1
        task = tasks.get(task_id)
        if task is not None and (
            ((kind == "resolved" and actor == SOPHIE_ACTOR) or kind == "verified")
            and row[4].startswith(RECOVERY_RULE_PREFIXES)
        ):
            if task_id not in amounts:
                amounts[task_id] = money_amount(task.evidence)
            amount = amounts[task_id]
            if amount is not None:
                trend[3] = Decimal(trend[3]) + amount
                tally.money += amount
        if kind in tally.counts:
            tally.counts[kind] += 1
        if closes:
            tally.closed += 1
            text = row[7]
            due = parse(text) if text is not None else (None if task is None else task.due_at)
            tally.before_due += due is not None and at <= due

    between = calendar.business_time_between if calendar is not None else _elapsed
    for marked in marks.values():  # durations: from a task's first creation in the period
        created = marked.created
        if created is None:
            continue
        to_first = to_close = None
        if marked.first is not None:
            to_first = between(created, marked.first).total_seconds()
        if marked.closing is not None:
            to_close = between(created, marked.closing).total_seconds()
        for tally in marked.tallies:
            if to_first is not None:
                tally.first_action.append(to_first)
            if to_close is not None:
                tally.resolution.append(to_close)

    total = _FastTally()
    groups: dict[str, dict[str, _FastTally]] = {"rule": {}, "role": {}, "person": {}}
    for (rule, role, person), part in combos.items():
        _merge(total, part)
        for name, group_key in (("rule", rule), ("role", str(role or "nobody")), ("person", str(person or "nobody"))):
            into = groups[name].get(group_key)
            if into is None:
                into = groups[name][group_key] = _FastTally()
            _merge(into, part)

    def rows_of(name: str) -> tuple[ScoreRow, ...]:
        return tuple(tally.row(key) for key, tally in sorted(groups[name].items()))

    week_rows = tuple(
        WeekRow(week, int(values[0]), int(values[1]), int(values[2]), Decimal(values[3]))
        for week, values in sorted(weeks.items())
    )
    return Scorecard(since, until, total.row("all"), rows_of("rule"), rows_of("role"), rows_of("person"), week_rows)

"""Reading a scorecard out of a ledger, and saying business durations in words.

:func:`load_scorecard` is what ``sophie report`` and the staff pages' Scorecard call: the
period's audit events, their tasks and the practice's calendar, through the
:class:`~sophie.execution.stores.ledger.ReportingLedger` reads only.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sophie.execution.scorecard import Scorecard, row_needs_task, tally_scorecard
from sophie.execution.stores.ledger import ReportingLedger
from sophie.model.calendar import BusinessCalendar
from sophie.model.records import Practice

__all__ = ["business_day_length", "business_duration_text", "load_scorecard", "practice_calendar"]

_DEFAULT_DAY = timedelta(hours=8)


def practice_calendar(practice: Practice | None) -> BusinessCalendar | None:
    """Return the practice's business calendar (``None`` without a practice)."""
    if practice is None:
        return None
    return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)


def business_day_length(practice: Practice | None) -> timedelta:
    """Return the practice's average open time per open weekday (8 hours without one)."""
    if practice is None:
        return _DEFAULT_DAY
    days = []
    for intervals in practice.hours.values():
        total = timedelta(0)
        for start, end in intervals:
            begin = datetime.combine(datetime.min, time.fromisoformat(start))
            finish = datetime.combine(datetime.min, time.fromisoformat("23:59:59.999999" if end == "24:00" else end))
            total += finish - begin
        if total:
            days.append(total)
    return sum(days, timedelta(0)) / len(days) if days else _DEFAULT_DAY


def business_duration_text(value: timedelta | None, day: timedelta = _DEFAULT_DAY) -> str:
    """Return business time in words: ``45 business minutes``, ``3.5 business hours``, ``2 business days``."""
    if value is None:
        return "n/a"
    seconds = value.total_seconds()
    if seconds < 3600:
        minutes = round(seconds / 60)
        return f"{minutes} business minute" + ("" if minutes == 1 else "s")
    if seconds < day.total_seconds():
        hours = round(seconds / 3600, 1)
        return f"{hours:g} business hour" + ("" if hours == 1 else "s")
    days = round(seconds / day.total_seconds(), 1)
    return f"{days:g} business day" + ("" if days == 1 else "s")


def load_scorecard(
    ledger: ReportingLedger, *, since: datetime, until: datetime, practice_id: str | None = None
) -> Scorecard:
    """Return the scorecard of ``[since, until)`` from the ledger's audit trail.

    The business calendar is the practice's (``practice_id``, or the ledger's first practice).
    """
    rows = ledger.score_events(since=since, until=until, practice_id=practice_id)
    wanted = sorted({row[0] for row in rows if row_needs_task(row)})
    tasks = ledger.score_tasks(wanted)
    known = ledger.practice_ids()
    chosen = practice_id or (known[0] if known else None)
    calendar = practice_calendar(None if chosen is None else ledger.practice(chosen))
    return tally_scorecard(rows, tasks, since=since, until=until, calendar=calendar)

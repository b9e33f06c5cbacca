"""Time for the demo practice: its hours, US holidays, and business-day steps around ``as_of``.

Every date and time the demo generator writes is derived from one :class:`Timeline`, so a
practice generated for the same ``as_of`` is the same practice. Nothing here reads the clock.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["DENTIST_HOURS", "HYGIENE_HOURS", "PRACTICE_HOURS", "Snap", "Timeline", "block_minutes", "us_holidays"]

Hours = tuple[tuple[str, str], ...]
Snap = Literal["earlier", "later"]

PRACTICE_HOURS: dict[str, list[tuple[str, str]]] = {
    "mon": [("08:00", "12:00"), ("13:00", "17:00")],
    "tue": [("08:00", "12:00"), ("13:00", "17:00")],
    "wed": [("08:00", "12:00"), ("13:00", "17:00")],
    "thu": [("08:00", "12:00"), ("13:00", "17:00")],
    "fri": [("08:00", "13:00")],
}
"""The practice's opening hours, as written into ``practice.hours``."""

HYGIENE_HOURS: tuple[Hours, ...] = ((("08:00", "12:00"), ("13:00", "17:00")),) * 4 + ((("08:00", "13:00"),),)
"""Hygienists' schedule blocks per weekday (Monday first): the practice hours."""

DENTIST_HOURS: tuple[Hours, ...] = ((("08:00", "12:30"), ("13:30", "17:00")),) * 4 + ((("08:00", "13:00"),),)
"""Dentists' schedule blocks per weekday: they take a later lunch than the front office."""

_ONE_DAY = timedelta(days=1)
_MORNING_CUTOFF = time(9, 30)


def _observed(day: date) -> date:
    """Move a holiday that falls on a weekend to the nearest weekday, as US offices do."""
    if day.weekday() == 5:
        return day - _ONE_DAY
    if day.weekday() == 6:
        return day + _ONE_DAY
    return day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    after = date(year + (month == 12), month % 12 + 1, 1)
    last = after - _ONE_DAY
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_holidays(year: int) -> list[date]:
    """Return the days a US dental office usually closes in ``year`` (observed dates).

    New Year's Day, Memorial Day, Independence Day, Labor Day, Thanksgiving and the day
    after, and Christmas Day.
    """
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    return sorted(
        {
            _observed(date(year, 1, 1)),
            _last_weekday(year, 5, 0),
            _observed(date(year, 7, 4)),
            _nth_weekday(year, 9, 0, 1),
            thanksgiving,
            thanksgiving + _ONE_DAY,
            _observed(date(year, 12, 25)),
        }
    )


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Timeline:
    """The practice's calendar seen from ``as_of``.

    Attributes:
        tz: The practice timezone.
        as_of: When the snapshot is read, in practice-local time.
        today: The local date of ``as_of``.
        holidays: Closed dates from three years before to one year after ``today``.
        morning: Whether ``as_of`` is on an open day before 09:30, so that "today" still
            lies ahead (the default). Plants about today's schedule need it.
        day0: ``today`` when ``morning``, else the next open day: the first schedule day ahead.
        window: The eight open days that carry schedule blocks, from today (or the next
            open day) on.
        history: The two open days before the window: their visits come from the same
            chair-by-chair schedule, though no schedule blocks are written for them.
        schedule_start: Local midnight starting the first history day.
        protected: ``day0`` and the three open days after it, where planted scenarios
            place their appointments and openings.
        window_start: Local midnight starting the first window day.
        window_end: Local midnight after the last window day.
    """

    def __init__(self, as_of: datetime, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._starts: dict[tuple[int, int, bool], list[int]] = {}
        self.as_of = as_of.astimezone(self.tz)
        self.today = self.as_of.date()
        years = range(self.today.year - 3, self.today.year + 2)
        self.holidays = frozenset(day for year in years for day in us_holidays(year))
        self.morning = self.is_open_day(self.today) and self.as_of.time() < _MORNING_CUTOFF
        self.day0 = self.today if self.morning else self.shift(self.today, 1)
        first = self.snap(self.today, "later")
        self.window = [self.shift(first, step) for step in range(8)]
        self.history = [self.shift(first, -2), self.shift(first, -1)]
        self.schedule_start = self.at(self.history[0], 0)
        self.protected = frozenset(self.shift(self.day0, step) for step in range(4))
        self.window_start = self.at(self.window[0], 0)
        self.window_end = self.at(self.window[-1] + _ONE_DAY, 0)

    def is_open_day(self, day: date) -> bool:
        """Return whether the practice opens on ``day`` (a weekday that is not a holiday)."""
        return day.weekday() < 5 and day not in self.holidays

    def shift(self, day: date, steps: int) -> date:
        """Step ``steps`` open days forward (or back, when negative) from ``day``."""
        step = _ONE_DAY if steps >= 0 else -_ONE_DAY
        for _ in range(abs(steps)):
            day += step
            while not self.is_open_day(day):
                day += step
        return day

    def snap(self, day: date, direction: Snap) -> date:
        """Return ``day`` if the practice opens then, else the nearest open day in ``direction``."""
        step = -_ONE_DAY if direction == "earlier" else _ONE_DAY
        while not self.is_open_day(day):
            day += step
        return day

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """Return the local wall-clock time ``hour:minute`` on ``day`` as an aware datetime."""
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def days_ago(self, days: int, hour: int, minute: int = 0, *, snap: Snap) -> datetime:
        """Return ``hour:minute`` on the open day ``days`` calendar days before today.

        ``snap`` says which way to move off a closed day: ``earlier`` makes the time older
        (use it for stalls that must be past a threshold), ``later`` younger (near-misses).
        """
        return self.at(self.snap(self.today - timedelta(days=days), snap), hour, minute)

    def business_days_ago(self, steps: int, hour: int, minute: int = 0) -> datetime:
        """Return ``hour:minute`` on the open day ``steps`` open days before today."""
        return self.at(self.shift(self.today, -steps), hour, minute)

    def days_ahead(self, days: int, hour: int, minute: int = 0) -> datetime:
        """Return ``hour:minute`` on the first open day at least ``days`` days after today."""
        return self.at(self.snap(self.today + timedelta(days=days), "later"), hour, minute)

    def in_window(self, moment: datetime) -> bool:
        """Return whether ``moment`` falls on a day that carries schedule blocks."""
        return self.window_start <= moment < self.window_end

    def in_schedule(self, moment: datetime) -> bool:
        """Return whether ``moment`` falls on a day whose chairs are booked slot by slot."""
        return self.schedule_start <= moment < self.window_end

    def random_start(self, day: date, minutes: int, rng: random.Random, hours: tuple[Hours, ...]) -> datetime:
        """Return a random start on ``day`` (an open day) for a visit of ``minutes`` that fits ``hours``."""
        key = (day.weekday(), minutes, hours is HYGIENE_HOURS)
        starts = self._starts.get(key)
        if starts is None:
            starts = self._starts[key] = [
                start
                for first, last in hours[day.weekday()]
                for start in range(_minutes(first), _minutes(last) - minutes + 1, 10)
            ]
        start = rng.choice(starts)
        return self.at(day, start // 60, start % 60)

    def random_past_day(self, low: int, high: int, rng: random.Random) -> date:
        """Return an open day ``low``..``high`` days before today, and before the booked schedule."""
        day = min(self.today - timedelta(days=rng.randint(low, high)), self.history[0] - _ONE_DAY)
        return self.snap(day, "earlier")

    def random_future_day(self, low: int, high: int, rng: random.Random) -> date:
        """Return an open day ``low``..``high`` days after today, and after the schedule window."""
        day = max(self.today + timedelta(days=rng.randint(low, high)), self.window[-1] + _ONE_DAY)
        return self.snap(day, "later")


def block_minutes(hours: Hours) -> list[tuple[int, int]]:
    """Return ``hours`` as ``(start, end)`` minutes after midnight."""
    return [(_minutes(first), _minutes(last)) for first, last in hours]

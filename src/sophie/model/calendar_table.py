"""The open time of a business calendar as UTC instants, one local date at a time.

This is the engine behind :class:`sophie.model.calendar.BusinessCalendar`; it is not public API.

Instants are integers: microseconds since the Unix epoch (UTC). Integer arithmetic is exact
and never crosses a DST boundary in local time. The table turns the practice's weekly
wall-clock hours into half-open ``[start, end)`` intervals per local date, built lazily in
blocks of :data:`BLOCK_DAYS` dates and kept for the calendar's lifetime. Each block also
holds running totals of open time and of business days, so that a span of months or years
costs a bisection and a few additions instead of a walk over days.

Wall-clock times are resolved to instants the same way everywhere: a time that does not exist
(inside a spring-forward gap) moves forward to the first valid instant after the gap, and a
time that happens twice (a fall-back repeat) takes the first occurrence.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sophie.errors import CalendarError

__all__ = [
    "BLOCK_DAYS",
    "DAY_US",
    "Day",
    "Interval",
    "OpenTimeTable",
    "WeekHours",
    "from_us",
    "to_us",
]

BLOCK_DAYS = 128
DAY_US = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The first and last dates are left closed: their neighbours fall outside what datetime holds.
_FIRST_OPEN_ORDINAL = date.min.toordinal() + 1
_LAST_OPEN_ORDINAL = date.max.toordinal() - 1

Interval = tuple[int, int]
"""A half-open ``[start, end)`` span: UTC microseconds, or wall-clock microseconds since midnight."""

WeekHours = tuple[tuple[Interval, ...], ...]
"""Open wall-clock intervals for Monday (index 0) to Sunday (6), sorted and disjoint."""


def to_us(t: datetime) -> int:
    """Return an aware datetime as microseconds since the Unix epoch."""
    return (t - _EPOCH) // _ONE_US


def from_us(instant: int, tz: ZoneInfo) -> datetime:
    """Return microseconds since the Unix epoch as an aware datetime in ``tz``."""
    if instant % 1_000_000:
        return (_EPOCH + timedelta(microseconds=instant)).astimezone(tz)
    return datetime.fromtimestamp(instant // 1_000_000, tz)  # exact for whole seconds, and faster


def _midnight_us(ordinal: int) -> int:
    """Local midnight of a date, read as if it were UTC (the date's wall-clock origin)."""
    return (ordinal - _EPOCH_ORDINAL) * DAY_US


class Day(NamedTuple):
    """One local date of the table.

    Attributes:
        intervals: Open UTC intervals, sorted, disjoint and never touching.
        offset: The date's UTC offset in microseconds when it holds all day, else None (the
            date has a DST transition, or starts inside a gap).
        open_time: Total open microseconds of the date.
        block: Number of the block of :data:`BLOCK_DAYS` dates that holds it.
        open_before: Open microseconds in its block before this date.
    """

    intervals: tuple[Interval, ...]
    offset: int | None
    open_time: int
    block: int
    open_before: int


class _DayMap(dict[int, Day]):
    """Dates by ordinal; a missing one builds its whole block first."""

    def __init__(self, build: Callable[[int], None]) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, ordinal: int) -> Day:
        self._build(ordinal // BLOCK_DAYS)
        return self[ordinal]


class OpenTimeTable:
    """Open intervals per local date for one timezone, weekly hours and holiday set.

    Attributes:
        days: Every date built so far, by ordinal; indexing a new one builds its block.
    """

    def __init__(self, tz: ZoneInfo, week: WeekHours, holidays: frozenset[date]) -> None:
        self.tz = tz
        self._week = week
        self._holidays = holidays
        self.days = _DayMap(self._build)
        # Running totals per block: open microseconds and business days before each date,
        # with the block's total as the last item.
        self._open_totals: dict[int, tuple[int, ...]] = {}
        self._day_totals: dict[int, tuple[int, ...]] = {}

    # -- wall clock <-> instants -------------------------------------------------------------

    def offset_at(self, instant: int) -> int:
        """Return the UTC offset in force at an instant, in microseconds."""
        offset = from_us(instant, self.tz).utcoffset()
        assert offset is not None  # a ZoneInfo always answers
        return offset // _ONE_US

    def _first_change(self, before: int, after: int) -> int:
        """Return the first instant in ``(before, after]`` whose UTC offset differs from ``before``'s.

        The caller guarantees that the offset changes exactly once in between.
        """
        base = self.offset_at(before)
        while after - before > 1:
            middle = (before + after) // 2
            if self.offset_at(middle) == base:
                before = middle
            else:
                after = middle
        return after

    def resolve(self, wall: datetime) -> int:
        """Return the instant of a naive local wall-clock time.

        A time inside a spring-forward gap resolves to the first instant after the gap; a
        time that a fall-back repeats resolves to its first occurrence (``fold=0``).
        """
        instant = to_us(wall.replace(tzinfo=self.tz, fold=0))
        if from_us(instant, self.tz).replace(tzinfo=None) == wall:
            return instant
        # In a gap, fold=0 reads the wall time with the offset from before the jump (an
        # instant after the transition) and fold=1 with the offset after it (an instant before).
        return self._first_change(to_us(wall.replace(tzinfo=self.tz, fold=1)), instant)

    def wall_key(self, ordinal: int, instant: int) -> int:
        """Return the wall-clock time of an instant as microseconds since its date's midnight.

        During the second pass of a fall-back repeat the key is the end of the repeated period
        (e.g. 02:00 in London), so that keys never decrease as instants increase.
        """
        offset = self.days[ordinal].offset
        if offset is not None:
            return instant + offset - _midnight_us(ordinal)
        local = from_us(instant, self.tz)
        if local.fold:
            first_pass = to_us(local.replace(fold=0))
            fall_back = self._first_change(first_pass, instant)
            local = from_us(fall_back + (instant - first_pass), self.tz)
        return to_us(local.replace(tzinfo=UTC)) - _midnight_us(ordinal)

    def at_wall_key(self, ordinal: int, key: int) -> int:
        """Return the instant of a wall-clock time (microseconds since midnight) on a date."""
        offset = self.days[ordinal].offset
        if offset is not None:
            return _midnight_us(ordinal) + key - offset
        return self.resolve(datetime.fromordinal(ordinal) + timedelta(microseconds=key))

    # -- blocks ------------------------------------------------------------------------------

    def _build(self, number: int) -> None:
        if (number + 1) * BLOCK_DAYS <= _FIRST_OPEN_ORDINAL or number * BLOCK_DAYS > _LAST_OPEN_ORDINAL:
            raise CalendarError("no open time within the dates Python can represent")
        first = number * BLOCK_DAYS
        starts = [self._day_start(ordinal) for ordinal in range(first, first + BLOCK_DAYS + 1)]
        open_totals = [0]
        day_totals = [0]
        for index in range(BLOCK_DAYS):
            ordinal, start, end = first + index, starts[index], starts[index + 1]
            offset = None
            intervals: tuple[Interval, ...] = ()
            if start is not None and end is not None:
                # A date keeps one offset all day when it starts at its own midnight and the
                # next date starts with the same offset (no zone changes twice within a day).
                if start[0] == _midnight_us(ordinal) - start[1] and start[1] == end[1]:
                    offset = start[1]
                intervals = self._day_intervals(ordinal, offset)
            open_time = sum(e - s for s, e in intervals)
            self.days[ordinal] = Day(intervals, offset, open_time, number, open_totals[-1])
            open_totals.append(open_totals[-1] + open_time)
            day_totals.append(day_totals[-1] + (1 if intervals else 0))
        self._open_totals[number] = tuple(open_totals)
        self._day_totals[number] = tuple(day_totals)

    def _day_start(self, ordinal: int) -> tuple[int, int] | None:
        """Return the first instant of a local date and the UTC offset in force then."""
        if not _FIRST_OPEN_ORDINAL <= ordinal <= _LAST_OPEN_ORDINAL + 1:
            return None
        midnight = datetime.fromordinal(ordinal)
        offset = midnight.replace(tzinfo=self.tz).utcoffset()
        assert offset is not None  # a ZoneInfo always answers
        instant = _midnight_us(ordinal) - offset // _ONE_US
        if from_us(instant, self.tz).replace(tzinfo=None) == midnight:
            return instant, offset // _ONE_US
        instant = self.resolve(midnight)  # midnight falls in a gap
        return instant, self.offset_at(instant)

    def _day_intervals(self, ordinal: int, offset: int | None) -> tuple[Interval, ...]:
        weekday = (ordinal - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
        if not self._week[weekday] or date.fromordinal(ordinal) in self._holidays:
            return ()
        midnight = _midnight_us(ordinal)
        merged: list[Interval] = []
        for wall_start, wall_end in self._week[weekday]:
            if offset is not None:
                start, end = midnight + wall_start - offset, midnight + wall_end - offset
            else:
                wall_midnight = datetime.fromordinal(ordinal)
                start = self.resolve(wall_midnight + timedelta(microseconds=wall_start))
                end = self.resolve(wall_midnight + timedelta(microseconds=wall_end))
            if end <= start:
                continue  # swallowed whole by a spring-forward gap
            if merged and merged[-1][1] >= start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return tuple(merged)

    def _totals(self, number: int, business_days: bool) -> tuple[int, ...]:
        totals = self._day_totals if business_days else self._open_totals
        if number not in totals:
            self._build(number)
        return totals[number]

    # -- queries -----------------------------------------------------------------------------

    @staticmethod
    def open_before_in_day(day: tuple[Interval, ...], instant: int) -> int:
        """Return the open microseconds of a date's intervals that lie before an instant."""
        total = 0
        for start, end in day:
            if instant <= start:
                break
            total += (instant if instant < end else end) - start
        return total

    def open_between_blocks(self, first: int, last: int) -> int:
        """Return the open microseconds of blocks ``[first, last)``; negative if reversed."""
        if first > last:
            return -self.open_between_blocks(last, first)
        return sum(self._totals(number, False)[BLOCK_DAYS] for number in range(first, last))

    def locate(self, ordinal: int, amount: int, *, business_days: bool = False) -> tuple[int, int]:
        """Find the date at a distance along the running total, and the remainder inside it.

        The running total counts open microseconds (or business days) from the start of
        ``ordinal``. The answer is the one date whose own share contains the target: the total
        before it is at most the target and the total after it exceeds the target. That date
        therefore has open time, and the remainder is less than its open time (or than 1).

        Returns:
            The date's ordinal and the remainder from the start of that date.
        """
        number, index = divmod(ordinal, BLOCK_DAYS)
        totals = self._totals(number, business_days)
        target = totals[index] + amount
        while target < 0:
            number -= 1
            totals = self._totals(number, business_days)
            target += totals[BLOCK_DAYS]
        while target >= totals[BLOCK_DAYS]:
            target -= totals[BLOCK_DAYS]
            number += 1
            totals = self._totals(number, business_days)
        index = bisect_right(totals, target) - 1
        return number * BLOCK_DAYS + index, target - totals[index]

    def business_day_after(self, ordinal: int, steps: int) -> int:
        """Return the business day ``steps`` business days after a business day (before if negative)."""
        if abs(steps) > 8:
            return self.locate(ordinal, steps, business_days=True)[0]
        days, step = self.days, (1 if steps > 0 else -1)
        for _ in range(abs(steps)):
            ordinal += step
            while not days[ordinal].intervals:
                ordinal += step
        return ordinal

    def instant_at(self, ordinal: int, amount: int) -> tuple[int, int]:
        """Return the open instant reached ``amount`` open microseconds after the start of a date.

        Where the running total stays flat (closed time), the latest instant with that total is
        returned: the start of the next open interval. The answer is therefore always open.

        Returns:
            The local date's ordinal and the instant.
        """
        day = self.days[ordinal]
        if not 0 <= amount < day.open_time:
            ordinal, amount = self.locate(ordinal, amount)
            day = self.days[ordinal]
        for start, end in day.intervals:
            if amount < end - start:
                return ordinal, start + amount
            amount -= end - start
        raise AssertionError("locate() returned a date without enough open time")  # pragma: no cover

    def next_open(self, ordinal: int, instant: int) -> tuple[int, int]:
        """Return the instant itself if open, else the start of the next open interval.

        ``ordinal`` is the local date of ``instant``, or an earlier date whose end is at or
        before it.

        Returns:
            The local date's ordinal and the instant.
        """
        intervals = self.days[ordinal].intervals
        for start, end in intervals:
            if instant < end:
                return ordinal, max(instant, start)
        return self.instant_at(ordinal, self.open_before_in_day(intervals, instant))

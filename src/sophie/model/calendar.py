"""The practice's business calendar: opening hours, holidays and timezone.

Pure: nothing here reads the clock or does I/O; ``now`` is always an argument.

Two kinds of business duration exist, and they mean different things:

- ``business_hours(n)`` counts open time. ``add`` walks forward (or back) through open time
  only, and ``business_time_between`` counts the open time of a span.
- ``business_days(n)`` is a calendar step, not an hour count: from ``t`` (or the next opening
  if ``t`` is closed) move ``n`` business days and keep the same wall-clock time; if that time
  is closed on the day reached (a lunch break, after closing) take the next opening.

Every datetime returned is aware and in the practice's timezone; every instant returned by
``add`` with a business duration, or by ``next_open``, is open. Arithmetic happens on UTC
instants, so wall-clock 09:00 stays 09:00 across daylight-saving changes. See
``docs/calendar.md`` for the full semantics and examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sophie.errors import CalendarError
from sophie.model.calendar_table import DAY_US, Interval, OpenTimeTable, from_us, to_us

__all__ = [
    "BusinessCalendar",
    "BusinessDuration",
    "BusinessUnit",
    "business_days",
    "business_hours",
]

_HOUR_US = 3_600_000_000
_ONE_US = timedelta(microseconds=1)
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class BusinessUnit(StrEnum):
    """What a :class:`BusinessDuration` counts."""

    DAYS = "business_days"
    HOURS = "business_hours"


@dataclass(frozen=True)
class BusinessDuration:
    """An amount of business time: open hours, or business-day steps.

    Make one with :func:`business_days` or :func:`business_hours`.

    Attributes:
        amount: How many, as a float; may be negative. Business days must be whole numbers.
        unit: Days (calendar steps) or hours (open time).

    Raises:
        CalendarError: If the amount is not finite, or days are not whole.
    """

    amount: float
    unit: BusinessUnit

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", BusinessUnit(self.unit))
        except ValueError as err:
            raise CalendarError(f"unknown business unit {self.unit!r}") from err
        object.__setattr__(self, "amount", _as_float(self.amount))
        if not math.isfinite(self.amount):
            raise CalendarError(f"a business duration must be finite, got {self.amount!r}")
        if self.unit is BusinessUnit.DAYS and self.amount != int(self.amount):
            raise CalendarError(f"business_days needs a whole number of days, got {self.amount!r}")

    def __neg__(self) -> BusinessDuration:
        return BusinessDuration(-self.amount, self.unit)

    def __str__(self) -> str:
        """``1 business_day``, ``2 business_days``: the YAML spelling, singular for one."""
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        unit = str(self.unit)
        return f"{amount} {unit[:-1] if amount in (1, -1) else unit}"


def business_days(n: float | Decimal) -> BusinessDuration:
    """Return ``n`` business-day steps (a whole number; negative steps back)."""
    return BusinessDuration(_as_float(n), BusinessUnit.DAYS)


def business_hours(n: float | Decimal) -> BusinessDuration:
    """Return ``n`` hours of open time (may be fractional or negative)."""
    return BusinessDuration(_as_float(n), BusinessUnit.HOURS)


def _as_float(n: object) -> float:
    if isinstance(n, bool) or not isinstance(n, int | float | Decimal | Fraction):
        raise CalendarError(f"a business duration needs a number, got {n!r}")
    return float(n)


_SHARED: dict[object, BusinessCalendar] = {}
_SHARED_MAX = 32


class BusinessCalendar:
    """When a practice is open, in its own timezone.

    Open intervals are half-open ``[start, end)`` in local wall-clock time and never span
    local midnight: a day open until midnight closes at midnight, and the next day's first
    interval may start at that same instant. A wall-clock time that a spring-forward gap
    skips resolves to the first instant after the gap; one that a fall-back repeats takes its
    first occurrence.

    Args:
        timezone: IANA name, e.g. ``"America/New_York"``.
        hours: Weekday (0 = Monday … 6 = Sunday) to its open intervals in local wall-clock
            time. A missing weekday is closed. An end of ``time(0, 0)`` means midnight at the
            end of the day ("24:00"). Intervals may touch but not overlap.
        holidays: Local dates on which the practice is closed all day.

    Raises:
        CalendarError: For an unknown timezone, an interval that ends before it starts,
            overlapping intervals, hours that leave every weekday closed, or holidays that
            are not dates.
    """

    def __init__(
        self,
        timezone: str,
        hours: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
    ) -> None:
        self._timezone_name = timezone
        self._tz = _zone(timezone)
        week = _week_hours(hours)
        holiday_set = frozenset(holidays)
        for holiday in holiday_set:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise CalendarError(f"holidays must be dates, got {holiday!r}")
        self._holidays = holiday_set
        self._table = OpenTimeTable(self._tz, week, holiday_set)

    @classmethod
    def from_strings(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build a calendar from the snapshot's ``practice`` form.

        Args:
            timezone: IANA name.
            hours: ``"mon"`` … ``"sun"`` to intervals such as
                ``[["08:00", "12:00"], ["13:00", "17:00"]]``; ``"24:00"`` is allowed as an end.
            holidays: Local dates on which the practice is closed.

        Raises:
            CalendarError: Naming the day and value, for an unknown day or a malformed time,
                and for everything :class:`BusinessCalendar` rejects.
        """
        parsed: dict[int, list[tuple[time, time]]] = {}
        for key, intervals in hours.items():
            day = str(key).lower()
            if day not in _DAY_NAMES:
                raise CalendarError(f"unknown day {key!r} in hours; use one of {', '.join(_DAY_NAMES)}")
            if isinstance(intervals, str):
                raise CalendarError(f"hours for {day}: expected a list of [start, end] pairs, got {intervals!r}")
            parsed[_DAY_NAMES.index(day)] = [_parse_interval(day, interval) for interval in intervals]
        return cls(timezone, parsed, holidays)

    @classmethod
    def shared(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Return :meth:`from_strings`, shared among equal settings (with the tables it has built).

        A watcher builds many small snapshots of one practice; each would otherwise build
        the same calendar and its open-time tables again. A calendar never changes once
        built, so sharing it is safe. Up to 32 settings are kept, oldest dropped first.

        Raises:
            CalendarError: As :meth:`from_strings`.
        """
        holiday_list = list(holidays)
        try:
            key = (timezone, tuple((day, tuple(map(tuple, spans))) for day, spans in hours.items()),
                   tuple(sorted(holiday_list)))  # fmt: skip
            found = _SHARED.get(key)
        except TypeError:  # malformed hours or holidays: let from_strings name the problem
            return cls.from_strings(timezone, hours, holiday_list)
        if found is None:
            found = cls.from_strings(timezone, hours, holiday_list)
            if len(_SHARED) >= _SHARED_MAX:
                del _SHARED[next(iter(_SHARED))]
            _SHARED[key] = found
        return found

    def __repr__(self) -> str:
        return f"BusinessCalendar(timezone={self._timezone_name!r}, holidays={len(self._holidays)})"

    @property
    def tz(self) -> ZoneInfo:
        """The practice's timezone."""
        return self._tz

    # -- questions about one instant --------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        """Return whether the practice is open at ``t`` (intervals are half-open)."""
        ordinal, instant = self._instant(t)
        for start, end in self._table.days[ordinal].intervals:
            if instant < end:
                return instant >= start
        return False

    def next_open(self, t: datetime) -> datetime:
        """Return ``t`` itself if open, else the start of the next open interval."""
        ordinal, instant = self._instant(t)
        return from_us(self._table.next_open(ordinal, instant)[1], self._tz)

    def next_close(self, t: datetime) -> datetime:
        """Return the end of the open interval containing ``t``, or else of the next one.

        Intervals end at local midnight at the latest, even when the next day opens at once.
        """
        ordinal, instant = self._instant(t)
        found, opening = self._table.next_open(ordinal, instant)
        intervals = self._table.days[found].intervals
        return from_us(next(end for start, end in intervals if start <= opening < end), self._tz)

    def local_date(self, t: datetime) -> date:
        """Return the practice-local date of ``t``."""
        return self._local(t).date()

    def is_business_day(self, d: date) -> bool:
        """Return whether ``d`` has open time: a weekday with hours that is not a holiday.

        (In the rare zone where a DST jump swallows all of a day's hours, that day is not one.)
        """
        if isinstance(d, datetime) or not isinstance(d, date):
            raise CalendarError(f"is_business_day needs a date, got {d!r}")
        return bool(self._table.days[d.toordinal()].intervals)

    # -- arithmetic --------------------------------------------------------------------------

    def add(self, t: datetime, duration: BusinessDuration | timedelta) -> datetime:
        """Return ``t`` moved by a business duration (or by plain elapsed time).

        - ``business_hours(h)``: walk ``h`` hours of open time from ``t`` (from the next
          opening if ``t`` is closed); backwards when ``h`` is negative. Reaching the end of an
          interval exactly gives the start of the next one, so the result is always open and
          ``business_time_between(t, add(t, business_hours(h)))`` is ``h``.
        - ``business_days(n)``: from ``next_open(t)``, step ``n`` business days (back when
          negative) and keep the local wall-clock time; if that time is closed on the day
          reached, return the next opening after it. ``n == 0`` gives ``next_open(t)``.
        - a ``timedelta``: exact elapsed time, ``t + duration``, which may be closed.

        The result is non-decreasing in ``t`` and in the duration.
        """
        ordinal, instant = self._instant(t)
        if isinstance(duration, timedelta):
            # Not ``t + duration``: Python adds to the wall clock when t has a tzinfo.
            return from_us(instant + duration // _ONE_US, self._tz)
        table = self._table
        if duration.unit is BusinessUnit.HOURS:
            within = table.open_before_in_day(table.days[ordinal].intervals, instant)
            found = table.instant_at(ordinal, within + round(duration.amount * _HOUR_US))
            return from_us(found[1], self._tz)
        ordinal, instant = table.next_open(ordinal, instant)
        if duration.amount:
            key = table.wall_key(ordinal, instant)
            landing = table.business_day_after(ordinal, int(duration.amount))
            instant = table.next_open(landing, table.at_wall_key(landing, key))[1]
        return from_us(instant, self._tz)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Return the open time in ``[a, b)``; negative when ``b`` is before ``a``."""
        first, start = self._instant(a)
        last, end = self._instant(b)
        table = self._table
        first_day, last_day = table.days[first], table.days[last]
        amount = (
            last_day.open_before
            + table.open_before_in_day(last_day.intervals, end)
            - first_day.open_before
            - table.open_before_in_day(first_day.intervals, start)
        )
        if first_day.block != last_day.block:
            amount += table.open_between_blocks(first_day.block, last_day.block)
        return timedelta(microseconds=amount)

    def business_age_reached(self, since: datetime, now: datetime, duration: BusinessDuration | timedelta) -> bool:
        """Return whether ``duration`` of business time has passed between ``since`` and ``now``.

        For ``business_days(n)`` this holds when ``add(since, business_days(n)) <= now``:
        stepping n business days from ``since`` (from the next opening if it is closed), at
        the same wall-clock time, lands at or before ``now``. For ``business_hours(h)`` it
        holds when ``business_time_between(since, now)`` is at least ``h`` hours; for a
        ``timedelta``, when ``now - since`` is at least that long.
        """
        if isinstance(duration, timedelta):
            elapsed = self._instant(now)[1] - self._instant(since)[1]
            return elapsed >= duration // _ONE_US
        if duration.unit is BusinessUnit.DAYS:
            # Compared as instants: Python compares datetimes sharing a tzinfo by wall clock.
            return to_us(self.add(since, duration)) <= self._instant(now)[1]
        needed = round(duration.amount * _HOUR_US)
        return self.business_time_between(since, now) >= timedelta(microseconds=needed)

    # -- inputs ------------------------------------------------------------------------------

    def _local(self, t: datetime) -> datetime:
        self._instant(t)
        return t.astimezone(self._tz)

    def _instant(self, t: datetime) -> tuple[int, int]:
        """Return the local date's ordinal and the UTC microseconds of ``t``."""
        try:
            instant = to_us(t)
        except TypeError:  # naive, or not a datetime at all
            if isinstance(t, datetime):
                raise CalendarError(
                    f"naive datetime {t.isoformat()} has no timezone; the calendar needs timezone-aware datetimes"
                ) from None
            raise CalendarError(f"expected a timezone-aware datetime, got {t!r}") from None
        return t.astimezone(self._tz).toordinal(), instant


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarError(f"unknown timezone {name!r} (use an IANA name such as America/New_York)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise CalendarError(f"unknown timezone {name!r} (use an IANA name such as America/New_York)") from err


def _week_hours(hours: Mapping[int, Sequence[tuple[time, time]]]) -> tuple[tuple[Interval, ...], ...]:
    week: list[tuple[Interval, ...]] = [()] * 7
    for weekday, intervals in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise CalendarError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        week[weekday] = _day_hours(_DAY_NAMES[weekday], intervals)
    if not any(week):
        raise CalendarError("the hours leave every weekday closed; a calendar needs some open time")
    return tuple(week)


def _day_hours(day: str, intervals: Sequence[tuple[time, time]]) -> tuple[Interval, ...]:
    spans: list[Interval] = []
    for interval in intervals:
        try:
            start, end = interval
        except (TypeError, ValueError) as err:
            raise CalendarError(f"hours for {day}: expected a (start, end) pair, got {interval!r}") from err
        for clock in (start, end):
            if not isinstance(clock, time) or clock.tzinfo is not None:
                raise CalendarError(f"hours for {day}: expected a naive time of day, got {clock!r}")
        wall_start, wall_end = _clock_us(start), _clock_us(end) or DAY_US
        if wall_end <= wall_start:
            raise CalendarError(f"hours for {day}: {_label(start, end)} ends before it starts")
        spans.append((wall_start, wall_end))
    spans.sort()
    for (first_start, first_end), (second_start, second_end) in pairwise(spans):
        if second_start < first_end:
            first, second = _label_us(first_start, first_end), _label_us(second_start, second_end)
            raise CalendarError(f"hours for {day}: {first} and {second} overlap")
    return tuple(spans)


def _clock_us(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


def _label(start: time, end: time) -> str:
    return _label_us(_clock_us(start), _clock_us(end) or DAY_US)


def _label_us(start: int, end: int) -> str:
    def clock(us: int) -> str:
        minutes, rest = divmod(us, 60_000_000)
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
        return text + (f":{rest / 1_000_000:09.6f}".rstrip("0").rstrip(".") if rest else "")

    return f"{clock(start)}-{clock(end)}"


def _parse_interval(day: str, interval: Sequence[str]) -> tuple[time, time]:
    if isinstance(interval, str) or len(interval) != 2:
        raise CalendarError(f"hours for {day}: expected a [start, end] pair, got {interval!r}")
    start, end = interval
    return _parse_clock(day, start, is_end=False), _parse_clock(day, end, is_end=True)


def _parse_clock(day: str, text: str, *, is_end: bool) -> time:
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match:
        hour, minute = int(match[1]), int(match[2])
        if is_end and (hour, minute) == (24, 0):
            return time(0, 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    allowed = "00:00 to 24:00" if is_end else "00:00 to 23:59"
    raise CalendarError(f"hours for {day}: {text!r} is not a time of day (use HH:MM, {allowed})")

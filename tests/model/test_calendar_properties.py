"""Properties of the business calendar, on random calendars and random instants.

Calendars are drawn with random timezones (many with DST, some with transitions at midnight
or of 30 minutes), random hours with breaks, and random holidays and closures; instants are
drawn over about two years either side of 2026, half of them on quarter-hour wall-clock times
in DST months so that interval boundaries and transitions are hit often.

Besides the algebraic properties, a brute-force oracle (minute-scanning gap resolution, plain
interval lists) checks the calendar's answers on short spans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sophie.model.calendar import (
    BusinessCalendar,
    BusinessDuration,
    business_days,
    business_hours,
)

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "Europe/London",
    "Europe/Berlin",
    "Europe/Dublin",  # "negative" DST in tzdata
    "Africa/Casablanca",  # a change around Ramadan every year
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Tehran",
]
ZONE_INFOS = [ZoneInfo(name) for name in ZONES]
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2028, 1, 1)
PROPERTY = settings(max_examples=200, deadline=None)
ORACLE = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Config:
    timezone: str
    hours: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date]

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.timezone, self.hours, self.holidays)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _quarter(index: int) -> time:
    return time(0) if index == 96 else time(index // 4, index % 4 * 15)


# Quarter-hours of the day, 0..96; the early-morning ones are drawn more often because that is
# where DST transitions happen.
QUARTER_BOUNDS = st.lists(st.one_of(st.integers(0, 16), st.integers(0, 96)), min_size=2, max_size=6, unique=True)
ANYWHERE = st.datetimes(
    min_value=datetime.combine(FIRST_DAY, time()),
    max_value=datetime.combine(LAST_DAY, time()),
    timezones=st.sampled_from(ZONE_INFOS),
)
QUARTER_HOUR_OF_DST_MONTH = st.builds(
    lambda year, month, day, quarter, fold: datetime(year, month, day, quarter // 4, quarter % 4 * 15, fold=fold),
    st.integers(2025, 2027),
    st.sampled_from([3, 4, 9, 10, 11]),
    st.integers(1, 28),
    st.integers(0, 95),
    st.integers(0, 1),
)


def day_hours(bounds: list[int]) -> list[tuple[time, time]]:
    bounds = sorted(bounds)[: len(bounds) // 2 * 2]
    return [(_quarter(start), _quarter(end)) for start, end in zip(bounds[::2], bounds[1::2], strict=True)]


@st.composite
def configs(draw: st.DrawFn) -> Config:
    timezone = draw(st.sampled_from(ZONES))
    hours = {weekday: day_hours(draw(QUARTER_BOUNDS)) for weekday in range(7) if draw(st.integers(0, 3))}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = [(time(9), time(17))]
    holidays = set(draw(st.lists(st.dates(FIRST_DAY, LAST_DAY), max_size=12)))
    for start in draw(st.lists(st.dates(FIRST_DAY, LAST_DAY), max_size=2)):
        holidays.update(start + timedelta(days=offset) for offset in range(draw(st.integers(1, 21))))
    return Config(timezone, hours, frozenset(holidays))


def draw_instant(draw: st.DrawFn, tz: ZoneInfo) -> datetime:
    """An aware datetime in any zone, or a quarter-hour wall-clock time of a DST month in ``tz``."""
    if draw(st.booleans()):
        return draw(ANYWHERE)
    return draw(QUARTER_HOUR_OF_DST_MONTH).replace(tzinfo=tz)


@st.composite
def calendar_and_instants(draw: st.DrawFn, count: int) -> tuple[Config, list[datetime]]:
    config = draw(configs())
    return config, [draw_instant(draw, config.tz) for _ in range(count)]


def utc(t: datetime) -> datetime:
    """Python compares datetimes that share a tzinfo by wall clock; compare instants in UTC."""
    return t.astimezone(UTC)


def durations(unit: str, magnitude: int) -> st.SearchStrategy[BusinessDuration]:
    if unit == "days":
        return st.integers(-magnitude, magnitude).map(business_days)
    return st.integers(-magnitude * 60, magnitude * 60).map(lambda minutes: business_hours(minutes / 60))


# -- the brute-force oracle -------------------------------------------------------------------


def oracle_resolve(tz: ZoneInfo, wall: datetime) -> datetime:
    """The first instant at or after a wall-clock time, found by scanning whole minutes."""
    while True:
        aware = wall.replace(tzinfo=tz)
        if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
            return aware.astimezone(UTC)
        wall += timedelta(minutes=1)


def oracle_day(config: Config, day: date) -> list[tuple[datetime, datetime]]:
    if day in config.holidays:
        return []
    spans: list[tuple[datetime, datetime]] = []
    for start, end in config.hours.get(day.weekday(), []):
        first = oracle_resolve(config.tz, datetime.combine(day, start))
        end_day = day + timedelta(days=1) if end == time(0) else day
        last = oracle_resolve(config.tz, datetime.combine(end_day, end))
        if last > first:
            if spans and spans[-1][1] == first:
                first = spans.pop()[0]
            spans.append((first, last))
    return spans


def oracle_intervals(config: Config, first: date, last: date) -> list[tuple[datetime, datetime]]:
    spans: list[tuple[datetime, datetime]] = []
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        spans.extend(oracle_day(config, day))
        day += timedelta(days=1)
    return spans


def local_day(config: Config, t: datetime) -> date:
    return t.astimezone(config.tz).date()


def oracle_between(config: Config, a: datetime, b: datetime) -> timedelta:
    a, b = utc(a), utc(b)
    low, high = min(a, b), max(a, b)
    total = timedelta()
    for start, end in oracle_intervals(config, local_day(config, low), local_day(config, high)):
        total += max(timedelta(), min(end, high) - max(start, low))
    return total if a <= b else -total


def oracle_days_from(config: Config, t: datetime) -> Iterator[list[tuple[datetime, datetime]]]:
    day = local_day(config, t) - timedelta(days=1)
    while True:
        yield oracle_day(config, day)
        day += timedelta(days=1)


def oracle_next_open(config: Config, t: datetime) -> datetime:
    t = utc(t)
    for spans in oracle_days_from(config, t):
        for start, end in spans:
            if t < end:
                return max(t, start)
    raise AssertionError("unreachable")


def oracle_add_minutes(config: Config, t: datetime, minutes: int) -> datetime:
    t = utc(t)
    left = timedelta(minutes=abs(minutes))
    if minutes >= 0:
        for spans in oracle_days_from(config, t):
            for start, end in spans:
                if end > t:
                    start = max(start, t)
                    if left < end - start:
                        return start + left
                    left -= end - start
    day = local_day(config, t) + timedelta(days=1)
    while True:
        for start, end in reversed(oracle_day(config, day)):
            if start < t:
                end = min(end, t)
                if left <= end - start:
                    return end - left
                left -= end - start
        day -= timedelta(days=1)


def oracle_add_days(config: Config, t: datetime, steps: int) -> datetime:
    opening = oracle_next_open(config, t).astimezone(config.tz)
    assume(opening.fold == 0)  # the second pass of a repeated hour has its own rule
    if steps == 0:
        return opening
    day = opening.date()
    for _ in range(abs(steps)):
        day += timedelta(days=1 if steps > 0 else -1)
        while not oracle_day(config, day):
            day += timedelta(days=1 if steps > 0 else -1)
    landing = oracle_resolve(config.tz, datetime.combine(day, opening.time()))
    return oracle_next_open(config, landing)


# -- algebraic properties -----------------------------------------------------------------------


@PROPERTY
@given(calendar_and_instants(1), st.integers(-200_000, 200_000))
def test_adding_business_hours_round_trips_through_business_time_between(
    case: tuple[Config, list[datetime]], minutes: int
) -> None:
    config, (t,) = case
    calendar = config.calendar
    result = calendar.add(t, business_hours(minutes / 60))
    assert calendar.business_time_between(t, result) == timedelta(minutes=minutes)


@PROPERTY
@given(calendar_and_instants(1), st.sampled_from(["days", "hours"]), st.data())
def test_add_and_next_open_never_land_in_closed_time(
    case: tuple[Config, list[datetime]], unit: str, data: st.DataObject
) -> None:
    config, (t,) = case
    calendar = config.calendar
    duration = data.draw(durations(unit, 60))
    for result in (calendar.add(t, duration), calendar.next_open(t)):
        assert calendar.is_open(result)
        assert result.tzinfo is calendar.tz
    if duration.amount >= 0:
        assert utc(calendar.add(t, duration)) >= utc(t)
    opening, closing = calendar.next_open(t), calendar.next_close(t)
    assert utc(opening) < utc(closing)
    assert calendar.is_open(utc(closing) - timedelta(microseconds=1))  # subtract in UTC: wall-clock arithmetic skips DST gaps
    assert calendar.business_time_between(opening, closing) == utc(closing) - utc(opening)


@PROPERTY
@given(calendar_and_instants(2), st.sampled_from(["days", "hours"]), st.data())
def test_add_is_monotonic_in_the_start(case: tuple[Config, list[datetime]], unit: str, data: st.DataObject) -> None:
    config, pair = case
    early, late = sorted(pair, key=utc)
    duration = data.draw(durations(unit, 40))
    assert utc(config.calendar.add(early, duration)) <= utc(config.calendar.add(late, duration))


@PROPERTY
@given(calendar_and_instants(1), st.sampled_from(["days", "hours"]), st.data())
def test_add_is_monotonic_in_the_duration(case: tuple[Config, list[datetime]], unit: str, data: st.DataObject) -> None:
    config, (t,) = case
    small, large = sorted([data.draw(durations(unit, 40)), data.draw(durations(unit, 40))], key=lambda d: d.amount)
    assert utc(config.calendar.add(t, small)) <= utc(config.calendar.add(t, large))


@PROPERTY
@given(calendar_and_instants(3))
def test_business_time_between_grows_with_the_end_and_shrinks_with_the_start(
    case: tuple[Config, list[datetime]],
) -> None:
    config, (a, b, c) = case
    between = config.calendar.business_time_between
    low, high = sorted([b, c], key=utc)
    assert between(a, low) <= between(a, high)
    assert between(low, a) >= between(high, a)


@PROPERTY
@given(calendar_and_instants(3))
def test_business_time_between_is_antisymmetric_and_additive(case: tuple[Config, list[datetime]]) -> None:
    config, (a, b, c) = case
    between = config.calendar.business_time_between
    assert between(a, b) == -between(b, a)
    assert between(a, b) + between(b, c) == between(a, c)
    assert between(a, a) == timedelta()


@PROPERTY
@given(calendar_and_instants(2), st.sampled_from(["days", "hours"]), st.data())
def test_business_age_reached_follows_its_definition(
    case: tuple[Config, list[datetime]], unit: str, data: st.DataObject
) -> None:
    config, (since, now) = case
    calendar = config.calendar
    duration = data.draw(durations(unit, 20))
    if unit == "days":
        expected = utc(calendar.add(since, duration)) <= utc(now)
    else:
        expected = calendar.business_time_between(since, now) >= timedelta(hours=duration.amount)
    assert calendar.business_age_reached(since, now, duration) is expected


# -- against the brute-force oracle ------------------------------------------------------------


@ORACLE
@given(calendar_and_instants(1), st.integers(0, 45 * 24 * 60))
def test_open_time_matches_a_brute_force_oracle(case: tuple[Config, list[datetime]], span: int) -> None:
    config, (t,) = case
    calendar = config.calendar
    end = t + timedelta(minutes=span)
    assert calendar.business_time_between(t, end) == oracle_between(config, t, end)
    assert utc(calendar.next_open(t)) == oracle_next_open(config, t)
    assert calendar.is_open(t) is (utc(calendar.next_open(t)) == utc(t))


@ORACLE
@given(calendar_and_instants(1), st.integers(-3000, 3000))
def test_adding_business_hours_matches_a_brute_force_oracle(case: tuple[Config, list[datetime]], minutes: int) -> None:
    config, (t,) = case
    expected = oracle_add_minutes(config, t, minutes) if minutes else oracle_next_open(config, t)
    assert utc(config.calendar.add(t, business_hours(minutes / 60))) == expected


@ORACLE
@given(calendar_and_instants(1), st.integers(-30, 30))
def test_business_days_keep_the_wall_clock_time_like_a_brute_force_oracle(
    case: tuple[Config, list[datetime]], steps: int
) -> None:
    config, (t,) = case
    calendar = config.calendar
    result = calendar.add(t, business_days(steps))
    assert utc(result) == utc(oracle_add_days(config, t, steps))
    assert calendar.is_business_day(calendar.local_date(result))


@settings(max_examples=25, deadline=None)
@given(calendar_and_instants(2))
def test_long_spans_match_the_oracle(case: tuple[Config, list[datetime]]) -> None:
    config, (a, b) = case
    assert config.calendar.business_time_between(a, b) == oracle_between(config, a, b)

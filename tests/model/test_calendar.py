"""The business calendar on hand-picked cases: hours, holidays, DST weekends, bad configuration."""

from __future__ import annotations

import doctest
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sophie.errors import CalendarError, SophieError
from sophie.model.calendar import (
    BusinessCalendar,
    BusinessDuration,
    BusinessUnit,
    business_days,
    business_hours,
)

NY = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
SPLIT_DAY = [["08:00", "12:00"], ["13:00", "17:00"]]
INDEPENDENCE_DAY_OBSERVED = date(2026, 7, 3)  # a Friday


@pytest.fixture
def practice() -> BusinessCalendar:
    """Mon-Fri 08:00-12:00 and 13:00-17:00 in New York, closed Friday 3 July 2026."""
    return BusinessCalendar.from_strings(
        "America/New_York", {day: SPLIT_DAY for day in WEEKDAYS}, holidays=[INDEPENDENCE_DAY_OBSERVED]
    )


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NY)


# -- opening hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (ny(2026, 3, 4, 7, 59), False),
        (ny(2026, 3, 4, 8, 0), True),
        (ny(2026, 3, 4, 11, 59, 59), True),
        (ny(2026, 3, 4, 12, 0), False),  # lunch: intervals are half-open
        (ny(2026, 3, 4, 12, 30), False),
        (ny(2026, 3, 4, 13, 0), True),
        (ny(2026, 3, 4, 16, 59), True),
        (ny(2026, 3, 4, 17, 0), False),
        (ny(2026, 3, 7, 10, 0), False),  # Saturday
        (ny(2026, 7, 3, 10, 0), False),  # holiday
    ],
)
def test_is_open_follows_the_weekly_hours(practice: BusinessCalendar, moment: datetime, is_open: bool) -> None:
    assert practice.is_open(moment) is is_open


def test_is_open_accepts_any_timezone(practice: BusinessCalendar) -> None:
    assert practice.is_open(datetime(2026, 3, 4, 14, 0, tzinfo=UTC))  # 09:00 in New York
    assert not practice.is_open(datetime(2026, 3, 4, 17, 30, tzinfo=UTC))  # 12:30, lunch


def test_next_open_returns_open_instants_unchanged_and_skips_closed_time(practice: BusinessCalendar) -> None:
    assert practice.next_open(ny(2026, 3, 4, 9, 15)) == ny(2026, 3, 4, 9, 15)
    assert practice.next_open(ny(2026, 3, 4, 12, 0)) == ny(2026, 3, 4, 13, 0)
    assert practice.next_open(ny(2026, 3, 6, 17, 0)) == ny(2026, 3, 9, 8, 0)
    assert practice.next_open(ny(2026, 7, 2, 18, 0)) == ny(2026, 7, 6, 8, 0)


def test_next_close_is_the_end_of_the_current_or_next_interval(practice: BusinessCalendar) -> None:
    assert practice.next_close(ny(2026, 3, 4, 9, 0)) == ny(2026, 3, 4, 12, 0)
    assert practice.next_close(ny(2026, 3, 4, 12, 0)) == ny(2026, 3, 4, 17, 0)
    assert practice.next_close(ny(2026, 3, 6, 17, 30)) == ny(2026, 3, 9, 12, 0)


def test_results_are_in_the_practice_timezone(practice: BusinessCalendar) -> None:
    result = practice.add(datetime(2026, 3, 4, 14, 0, tzinfo=UTC), business_hours(1))
    assert result.tzinfo is practice.tz
    assert result == ny(2026, 3, 4, 10, 0)


def test_local_date_and_business_days(practice: BusinessCalendar) -> None:
    assert practice.local_date(datetime(2026, 3, 5, 2, 0, tzinfo=UTC)) == date(2026, 3, 4)
    assert practice.is_business_day(date(2026, 3, 4))
    assert not practice.is_business_day(date(2026, 3, 7))
    assert not practice.is_business_day(INDEPENDENCE_DAY_OBSERVED)


# -- business hours ---------------------------------------------------------------------------


def test_friday_afternoon_plus_one_business_hour_is_monday_morning(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 6, 16, 30), business_hours(1)) == ny(2026, 3, 9, 8, 30)


def test_business_hours_skip_lunch(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 4, 11, 30), business_hours(1)) == ny(2026, 3, 4, 13, 30)
    assert practice.add(ny(2026, 3, 4, 12, 15), business_hours(0.5)) == ny(2026, 3, 4, 13, 30)


def test_business_hours_ending_at_closing_time_give_the_next_opening(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 6, 16, 0), business_hours(1)) == ny(2026, 3, 9, 8, 0)
    assert practice.add(ny(2026, 3, 4, 11, 0), business_hours(1)) == ny(2026, 3, 4, 13, 0)


def test_negative_business_hours_walk_back_through_open_time(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 9, 8, 30), business_hours(-1)) == ny(2026, 3, 6, 16, 30)
    assert practice.add(ny(2026, 3, 4, 13, 0), business_hours(-1)) == ny(2026, 3, 4, 11, 0)
    assert practice.add(ny(2026, 3, 4, 14, 0), business_hours(-1)) == ny(2026, 3, 4, 13, 0)


def test_zero_business_hours_is_next_open(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 7, 9, 0), business_hours(0)) == ny(2026, 3, 9, 8, 0)


def test_business_time_between_counts_open_time_only(practice: BusinessCalendar) -> None:
    between = practice.business_time_between
    assert between(ny(2026, 3, 6, 16, 0), ny(2026, 3, 9, 9, 0)) == timedelta(hours=2)
    assert between(ny(2026, 3, 9, 9, 0), ny(2026, 3, 6, 16, 0)) == timedelta(hours=-2)
    assert between(ny(2026, 3, 4, 11, 30), ny(2026, 3, 4, 13, 30)) == timedelta(hours=1)
    assert between(ny(2026, 1, 1), ny(2027, 1, 1)) == timedelta(hours=8 * (261 - 1))


def test_a_plain_timedelta_is_elapsed_time(practice: BusinessCalendar) -> None:
    # 24 real hours across the spring-forward night: 09:00 EST becomes 10:00 EDT.
    result = practice.add(ny(2026, 3, 7, 9, 0), timedelta(hours=24))
    assert result == ny(2026, 3, 8, 10, 0)
    assert result.tzinfo is practice.tz


# -- business days -----------------------------------------------------------------------------


def test_business_days_keep_the_wall_clock_time(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 4, 9, 0), business_days(2)) == ny(2026, 3, 6, 9, 0)
    assert practice.add(ny(2026, 3, 5, 9, 0), business_days(2)) == ny(2026, 3, 9, 9, 0)


def test_business_days_skip_holidays(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 7, 2, 9, 0), business_days(1)) == ny(2026, 7, 6, 9, 0)
    assert practice.add(ny(2026, 7, 6, 9, 0), business_days(-1)) == ny(2026, 7, 2, 9, 0)


def test_business_days_start_from_the_next_opening_when_closed(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 3, 7, 10, 0), business_days(1)) == ny(2026, 3, 10, 8, 0)
    assert practice.add(ny(2026, 3, 4, 12, 30), business_days(1)) == ny(2026, 3, 5, 13, 0)
    assert practice.add(ny(2026, 3, 7, 10, 0), business_days(0)) == ny(2026, 3, 9, 8, 0)


def test_business_days_landing_in_closed_time_move_to_the_next_opening() -> None:
    calendar = BusinessCalendar(
        "America/New_York",
        {
            1: [(time(8), time(17))],
            2: [(time(8), time(10)), (time(14), time(18))],  # Wednesday: long break
            3: [(time(8), time(12))],  # Thursday: mornings only
            4: [(time(8), time(17))],
        },
    )
    assert calendar.add(ny(2026, 3, 3, 11, 0), business_days(1)) == ny(2026, 3, 4, 14, 0)
    assert calendar.add(ny(2026, 3, 4, 15, 0), business_days(1)) == ny(2026, 3, 6, 8, 0)
    assert calendar.add(ny(2026, 3, 6, 15, 0), business_days(-2)) == ny(2026, 3, 4, 15, 0)
    assert calendar.add(ny(2026, 3, 6, 15, 0), business_days(-1)) == ny(2026, 3, 6, 8, 0)


def test_many_business_days_count_whole_weeks_and_holidays(practice: BusinessCalendar) -> None:
    assert practice.add(ny(2026, 6, 1, 9, 0), business_days(25)) == ny(2026, 7, 7, 9, 0)
    assert practice.add(ny(2026, 7, 7, 9, 0), business_days(-25)) == ny(2026, 6, 1, 9, 0)
    assert practice.add(ny(2026, 1, 2, 9, 0), business_days(520)) == ny(2028, 1, 3, 9, 0)


def test_business_age_reached(practice: BusinessCalendar) -> None:
    since = ny(2026, 7, 2, 9, 0)
    assert not practice.business_age_reached(since, ny(2026, 7, 6, 8, 59), business_days(1))
    assert practice.business_age_reached(since, ny(2026, 7, 6, 9, 0), business_days(1))
    assert not practice.business_age_reached(since, ny(2026, 7, 2, 16, 59), business_hours(7))
    assert practice.business_age_reached(since, ny(2026, 7, 2, 17, 0), business_hours(7))
    assert not practice.business_age_reached(since, ny(2026, 7, 6, 8, 59), business_hours(8))
    assert practice.business_age_reached(since, since + timedelta(days=3), timedelta(days=3))


# -- daylight saving time -------------------------------------------------------------------


def test_nine_oclock_stays_nine_oclock_across_the_march_change(practice: BusinessCalendar) -> None:
    friday = ny(2026, 3, 6, 9, 0)  # EST, UTC-5
    monday = practice.add(friday, business_days(1))
    assert monday == ny(2026, 3, 9, 9, 0)
    assert (monday.hour, monday.minute) == (9, 0)
    assert friday.utcoffset() == timedelta(hours=-5)
    assert monday.utcoffset() == timedelta(hours=-4)
    assert monday.astimezone(UTC) - friday.astimezone(UTC) == timedelta(hours=71)


def test_nine_oclock_stays_nine_oclock_across_the_november_change(practice: BusinessCalendar) -> None:
    friday = ny(2026, 10, 30, 9, 0)  # EDT, UTC-4
    monday = practice.add(friday, business_days(1))
    assert monday.utcoffset() == timedelta(hours=-5)
    assert monday == ny(2026, 11, 2, 9, 0)
    assert monday.astimezone(UTC) - friday.astimezone(UTC) == timedelta(hours=73)
    assert practice.add(monday, business_days(-1)) == friday


def test_business_hours_across_a_dst_weekend_count_open_time_only(practice: BusinessCalendar) -> None:
    assert practice.business_time_between(ny(2026, 3, 6, 16, 0), ny(2026, 3, 9, 9, 0)) == timedelta(hours=2)
    assert practice.business_time_between(ny(2026, 10, 30, 16, 0), ny(2026, 11, 2, 9, 0)) == timedelta(hours=2)


def test_sydney_across_easter_and_the_april_change() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    calendar = BusinessCalendar.from_strings(
        "Australia/Sydney",
        {day: [["09:00", "17:00"]] for day in WEEKDAYS},
        holidays=[date(2026, 4, 3), date(2026, 4, 6)],  # Good Friday, Easter Monday
    )
    thursday = datetime(2026, 4, 2, 9, 0, tzinfo=sydney)  # AEDT, UTC+11
    tuesday = calendar.add(thursday, business_days(1))
    assert tuesday == datetime(2026, 4, 7, 9, 0, tzinfo=sydney)
    assert tuesday.utcoffset() == timedelta(hours=10)
    assert calendar.add(datetime(2026, 4, 2, 16, 0, tzinfo=sydney), business_hours(2)) == datetime(
        2026, 4, 7, 10, 0, tzinfo=sydney
    )


def test_sydney_october_change_keeps_wall_clock() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    calendar = BusinessCalendar.from_strings("Australia/Sydney", {day: [["09:00", "17:00"]] for day in WEEKDAYS})
    friday = datetime(2026, 10, 2, 9, 30, tzinfo=sydney)  # AEST, UTC+10
    monday = calendar.add(friday, business_days(1))
    assert monday == datetime(2026, 10, 5, 9, 30, tzinfo=sydney)
    assert monday.utcoffset() == timedelta(hours=11)


def test_london_practice_across_both_changes() -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar.from_strings("Europe/London", {day: SPLIT_DAY for day in WEEKDAYS})
    friday = datetime(2026, 3, 27, 9, 0, tzinfo=london)
    monday = calendar.add(friday, business_days(1))
    assert monday == datetime(2026, 3, 30, 9, 0, tzinfo=london)
    assert (friday.utcoffset(), monday.utcoffset()) == (timedelta(0), timedelta(hours=1))
    friday = datetime(2026, 10, 23, 16, 0, tzinfo=london)
    assert calendar.add(friday, business_hours(2)) == datetime(2026, 10, 26, 9, 0, tzinfo=london)


def test_hours_on_a_dst_night_count_real_time() -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar("Europe/London", {6: [(time(0, 30), time(3, 0))]})
    between = calendar.business_time_between
    assert between(datetime(2026, 3, 22, tzinfo=london), datetime(2026, 3, 23, tzinfo=london)) == timedelta(hours=2.5)
    assert between(datetime(2026, 3, 29, tzinfo=london), datetime(2026, 3, 30, tzinfo=london)) == timedelta(hours=1.5)
    assert between(datetime(2026, 10, 25, tzinfo=london), datetime(2026, 10, 26, tzinfo=london)) == timedelta(hours=3.5)


def test_a_wall_clock_time_in_the_spring_gap_resolves_to_the_first_valid_instant() -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar("Europe/London", {6: [(time(1, 30), time(4, 0))]})
    opening = calendar.next_open(datetime(2026, 3, 28, 23, 0, tzinfo=london))
    assert opening == datetime(2026, 3, 29, 2, 0, tzinfo=london)
    assert opening.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_an_ambiguous_wall_clock_time_takes_its_first_occurrence() -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar("Europe/London", {6: [(time(1, 30), time(4, 0))]})
    opening = calendar.next_open(datetime(2026, 10, 24, 23, 0, tzinfo=london))
    assert opening.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert opening.fold == 0


@pytest.mark.parametrize(
    ("zone", "fall_back_day", "first_pass", "second_pass"),
    [
        ("Europe/London", date(2026, 10, 25), time(1, 30), time(1, 10)),
        ("America/New_York", date(2026, 11, 1), time(1, 45), time(1, 5)),
        ("Australia/Sydney", date(2026, 4, 5), time(2, 50), time(2, 0)),
    ],
)
def test_business_days_stay_monotonic_through_a_repeated_hour(
    zone: str, fall_back_day: date, first_pass: time, second_pass: time
) -> None:
    tz = ZoneInfo(zone)
    calendar = BusinessCalendar(zone, {weekday: [(time(0), time(0))] for weekday in range(7)})
    early = datetime.combine(fall_back_day, first_pass, tzinfo=tz)
    late = datetime.combine(fall_back_day, second_pass, tzinfo=tz).replace(fold=1)
    # Python compares datetimes that share a tzinfo by wall clock, so compare in UTC.
    assert early.astimezone(UTC) < late.astimezone(UTC)
    for steps in (1, -1, 3):
        first = calendar.add(early, business_days(steps)).astimezone(UTC)
        second = calendar.add(late, business_days(steps)).astimezone(UTC)
        assert first <= second


def test_the_second_pass_of_a_repeated_hour_steps_as_the_end_of_that_hour() -> None:
    london = ZoneInfo("Europe/London")
    calendar = BusinessCalendar("Europe/London", {weekday: [(time(0), time(0))] for weekday in range(7)})
    second_pass = datetime(2026, 10, 25, 1, 10, tzinfo=london, fold=1)
    assert calendar.add(second_pass, business_days(1)) == datetime(2026, 10, 26, 2, 0, tzinfo=london)
    first_pass = datetime(2026, 10, 25, 1, 10, tzinfo=london)
    assert calendar.add(first_pass, business_days(1)) == datetime(2026, 10, 26, 1, 10, tzinfo=london)


def test_santiago_changes_at_midnight() -> None:
    santiago = ZoneInfo("America/Santiago")
    calendar = BusinessCalendar("America/Santiago", {weekday: [(time(0), time(0))] for weekday in range(7)})
    saturday, sunday = date(2026, 4, 4), date(2026, 4, 5)  # 24:00 Saturday becomes 23:00
    start = datetime.combine(saturday, time(0), tzinfo=santiago)
    end = datetime.combine(sunday, time(0), tzinfo=santiago)
    assert calendar.business_time_between(start, end) == timedelta(hours=25)
    assert calendar.next_close(start) == end
    assert calendar.is_open(end)
    # 00:00 on 6 September does not exist: the day opens at 01:00.
    assert calendar.next_open(datetime(2026, 9, 5, 23, 59, 59, 999999, tzinfo=santiago)) == datetime(
        2026, 9, 5, 23, 59, 59, 999999, tzinfo=santiago
    )
    sunday_open = BusinessCalendar("America/Santiago", {6: [(time(0), time(2))]})
    assert sunday_open.next_open(datetime(2026, 9, 5, 12, 0, tzinfo=santiago)) == datetime(
        2026, 9, 6, 1, 0, tzinfo=santiago
    )
    assert sunday_open.business_time_between(
        datetime(2026, 9, 5, tzinfo=santiago), datetime(2026, 9, 7, tzinfo=santiago)
    ) == timedelta(hours=1)


def test_a_day_open_until_midnight_closes_at_midnight() -> None:
    calendar = BusinessCalendar.from_strings(
        "America/New_York", {"mon": [["18:00", "24:00"]], "tue": [["00:00", "02:00"]]}
    )
    assert calendar.next_close(ny(2026, 3, 2, 20, 0)) == ny(2026, 3, 3, 0, 0)
    assert calendar.is_open(ny(2026, 3, 3, 0, 0))
    assert calendar.add(ny(2026, 3, 2, 23, 0), business_hours(2)) == ny(2026, 3, 3, 1, 0)


def test_touching_intervals_are_one_interval() -> None:
    calendar = BusinessCalendar("America/New_York", {0: [(time(13), time(17)), (time(8), time(13))]})
    assert calendar.next_close(ny(2026, 3, 2, 9, 0)) == ny(2026, 3, 2, 17, 0)


# -- durations ---------------------------------------------------------------------------------


def test_business_durations_print_and_negate() -> None:
    assert str(business_days(2)) == "2 business_days"
    assert str(business_days(1)) == "1 business_day"
    assert str(business_hours(1)) == "1 business_hour"
    assert str(business_hours(1.5)) == "1.5 business_hours"
    assert -business_days(2) == BusinessDuration(-2, BusinessUnit.DAYS)
    assert business_days(2.0) == business_days(2)
    assert BusinessDuration(3, "business_hours").unit is BusinessUnit.HOURS  # type: ignore[arg-type]
    assert business_hours(Decimal("1.5")) == business_hours(1.5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: business_days(1.5), "whole number"),
        (lambda: business_hours(math.nan), "finite"),
        (lambda: business_hours(math.inf), "finite"),
        (lambda: BusinessDuration(1, "fortnights"), "unknown business unit"),  # type: ignore[arg-type]
        (lambda: business_hours("2"), "needs a number"),  # type: ignore[arg-type]
    ],
)
def test_bad_business_durations_are_calendar_errors(make: object, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        make()  # type: ignore[operator]


# -- bad configuration and input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "hours", "message"),
    [
        ("Mars/Olympus_Mons", {0: [(time(8), time(17))]}, "unknown timezone 'Mars/Olympus_Mons'"),
        ("", {0: [(time(8), time(17))]}, "unknown timezone"),
        ("America/New_York", {0: [(time(17), time(8))]}, "hours for mon: 17:00-08:00 ends before it starts"),
        ("America/New_York", {0: [(time(8), time(8))]}, "ends before it starts"),
        (
            "America/New_York",
            {2: [(time(8), time(12)), (time(11), time(17))]},
            "hours for wed: 08:00-12:00 and 11:00-17:00 overlap",
        ),
        ("America/New_York", {}, "every weekday closed"),
        ("America/New_York", {0: [], 6: []}, "every weekday closed"),
        ("America/New_York", {7: [(time(8), time(17))]}, "weekday must be 0"),
        ("America/New_York", {0: [(time(8), time(12), time(13))]}, "expected a \\(start, end\\) pair"),
        ("America/New_York", {0: [(time(8, tzinfo=UTC), time(17))]}, "naive time of day"),
        ("America/New_York", {0: [("08:00", "17:00")]}, "naive time of day"),
    ],
)
def test_bad_configuration_is_a_calendar_error(timezone: str, hours: object, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar(timezone, hours)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"mon": [["08:00", "25:00"]]}, "hours for mon: '25:00' is not a time of day"),
        ({"tue": [["8am", "17:00"]]}, "hours for tue: '8am' is not a time of day"),
        ({"wed": [["24:00", "24:00"]]}, "hours for wed: '24:00' is not a time of day"),
        ({"thu": [["08:00", "12:60"]]}, "'12:60'"),
        ({"fri": [["08:00"]]}, "hours for fri: expected a \\[start, end\\] pair"),
        ({"fri": ["08:00-17:00"]}, "hours for fri: expected a \\[start, end\\] pair"),
        ({"sat": "08:00-17:00"}, "hours for sat: expected a list"),
        ({"monday": [["08:00", "17:00"]]}, "unknown day 'monday'"),
        ({"sun": [["09:00", "08:00"]]}, "hours for sun: 09:00-08:00 ends before it starts"),
    ],
)
def test_bad_hour_strings_name_the_day_and_value(hours: dict[str, list[list[str]]], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_strings("America/New_York", hours)


def test_holidays_must_be_dates() -> None:
    with pytest.raises(CalendarError, match="holidays must be dates"):
        BusinessCalendar("UTC", {0: [(time(8), time(17))]}, holidays=[datetime(2026, 1, 1)])


def test_calendar_errors_are_value_errors_and_sophie_errors() -> None:
    with pytest.raises(ValueError, match="unknown timezone") as caught:
        BusinessCalendar("Nowhere/Town", {0: [(time(8), time(17))]})
    assert isinstance(caught.value, SophieError)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.is_open(t),
        lambda c, t: c.next_open(t),
        lambda c, t: c.next_close(t),
        lambda c, t: c.add(t, business_days(1)),
        lambda c, t: c.add(t, business_hours(1)),
        lambda c, t: c.add(t, timedelta(hours=1)),
        lambda c, t: c.business_time_between(t, ny(2026, 3, 4)),
        lambda c, t: c.business_time_between(ny(2026, 3, 4), t),
        lambda c, t: c.business_age_reached(t, ny(2026, 3, 4), business_days(1)),
        lambda c, t: c.business_age_reached(ny(2026, 3, 4), t, timedelta(1)),
        lambda c, t: c.local_date(t),
    ],
)
def test_naive_datetimes_are_rejected(practice: BusinessCalendar, call: object) -> None:
    with pytest.raises(CalendarError, match="naive datetime 2026-03-04T09:00:00 has no timezone"):
        call(practice, datetime(2026, 3, 4, 9, 0))  # type: ignore[operator]


def test_a_date_is_not_a_datetime(practice: BusinessCalendar) -> None:
    with pytest.raises(CalendarError, match="timezone-aware"):
        practice.is_open(date(2026, 3, 4))  # type: ignore[arg-type]


# -- the docs -------------------------------------------------------------------------------------


def test_the_examples_in_docs_calendar_md_run() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "calendar.md"
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_shared_calendars_are_one_object_per_setting() -> None:
    hours = {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "tue": [["08:00", "17:00"]]}
    first = BusinessCalendar.shared("America/New_York", hours, [date(2026, 3, 3)])
    again = BusinessCalendar.shared("America/New_York", {k: [list(i) for i in v] for k, v in hours.items()},
                                    (date(2026, 3, 3),))  # fmt: skip
    assert again is first
    other = BusinessCalendar.shared("America/New_York", hours, [])
    assert other is not first
    assert not first.is_business_day(date(2026, 3, 3)) and other.is_business_day(date(2026, 3, 3))
    built = BusinessCalendar.from_strings("America/New_York", hours, [date(2026, 3, 3)])
    start = datetime(2026, 3, 2, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    assert first.add(start, business_days(1)) == built.add(start, business_days(1))


def test_shared_reports_bad_hours_like_from_strings() -> None:
    with pytest.raises(CalendarError, match="unknown day"):
        BusinessCalendar.shared("America/New_York", {"someday": [["08:00", "12:00"]]})
    with pytest.raises(CalendarError):
        BusinessCalendar.shared("America/New_York", {"mon": [[8, 12]]})  # type: ignore[list-item]

"""The function registry, the built-in functions, business-time cut-offs and value formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_data import minimal_snapshot
from sophie.errors import ConfigurationError, UnknownNameError
from sophie.model import PlanStatus, parse_snapshot
from sophie.model.calendar import BusinessCalendar, BusinessDuration, BusinessUnit, business_days, business_hours
from sophie.rules.language.compilation.compiler import compile_expression
from sophie.rules.language.context import EvalContext
from sophie.rules.language.expressions import Scope, check_expression
from sophie.rules.language.functions import FILTERS, FunctionRegistry, RuleFunction, format_value
from sophie.rules.language.functions.builtin import OPEN_DAYS_HORIZON, business_age_holds, business_cutoff
from sophie.rules.language.interpreter import interpret
from sophie.rules.language.types import DECIMAL, INT, NUMBER, STR

NY = ZoneInfo("America/New_York")
SNAPSHOT = parse_snapshot(
    minimal_snapshot(
        patients=[{"id": "p-1", "first_name": "Ana", "last_name": "Diaz"}],
        treatment_plans=[{"id": "tp-1", "patient_id": "p-1", "status": "presented"}],
    )
)
CONTEXT = EvalContext.build(SNAPSHOT.index, datetime(2026, 3, 5, 12, tzinfo=NY), {})
PLAN = SNAPSHOT.index.subjects("treatment_plan")[0]
SCOPE = Scope("plan", "treatment_plan")
BUILTINS = [
    "age", "all", "any", "business_age", "business_days", "business_hours", "coalesce", "count", "date",
    "days", "days_since", "hours", "len", "lower", "max", "min", "minutes", "sum", "upper", "weeks",
    "within_open_days",
]


def test_the_builtin_registry_holds_the_documented_functions() -> None:
    assert FunctionRegistry.builtin().names() == sorted(BUILTINS)


def test_every_builtin_has_a_doc_and_an_example_that_checks() -> None:
    scopes = {
        "plan": Scope("plan", "treatment_plan", {"first_touch_days": INT}),
        "claim": Scope("claim", "claim"),
        "appointment": Scope("appointment", "appointment"),
        "recall": Scope("recall", "recall"),
        "patient": Scope("patient", "patient"),
        "procedure": Scope("procedure", "procedure"),
    }
    for function in FunctionRegistry.builtin():
        assert function.doc and function.example, function.name
        subject = next((name for name in scopes if f"{name}." in function.example), "plan")
        check_expression(function.example, scopes[subject])


def test_signatures_read_like_calls() -> None:
    registry = FunctionRegistry.builtin()
    assert registry.require("days").signature() == "days(n: number) -> duration"
    assert registry.require("business_days").signature() == "business_days(n: int) -> business_duration"
    assert registry.require("coalesce").signature() == "coalesce(a, b, ...) -> the type of a and b"
    assert registry.require("lower").signature() == "lower(text: str) -> str"


def test_a_plugin_function_can_be_registered_and_used() -> None:
    registry = FunctionRegistry.builtin()
    registry.register(RuleFunction("discounted", (DECIMAL, NUMBER), DECIMAL,
                                   lambda amount, rate: amount * (1 - Decimal(repr(rate))), "amount after a discount"))
    checked = check_expression("discounted(plan.total, 0.25) >= 0", SCOPE, functions=registry)
    assert interpret(checked, CONTEXT, PLAN) is True
    assert compile_expression(checked)(CONTEXT, PLAN) is True


def test_registering_a_taken_or_malformed_name_fails() -> None:
    registry = FunctionRegistry.builtin()
    function = RuleFunction("days", (INT,), INT, lambda n: n, "clash")
    with pytest.raises(ConfigurationError, match="already registered"):
        registry.register(function)
    for bad in ("_hidden", "Upper", "two words", "now"):
        with pytest.raises(ConfigurationError):
            registry.register(RuleFunction(bad, (INT,), INT, lambda n: n, "bad"))


def test_an_unknown_function_lookup_suggests_a_close_name() -> None:
    registry = FunctionRegistry.builtin()
    assert registry.get("dayz") is None
    with pytest.raises(UnknownNameError) as caught:
        registry.require("dayz")
    assert caught.value.suggestion == "days"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("minutes(90)", timedelta(minutes=90)),
        ("hours(1.5)", timedelta(minutes=90)),
        ("days(2)", timedelta(days=2)),
        ("weeks(1)", timedelta(days=7)),
        ("business_days(3)", BusinessDuration(3, BusinessUnit.DAYS)),
        ("business_hours(4)", BusinessDuration(4, BusinessUnit.HOURS)),
        ('lower("ÀB")', "àb"),
        ('upper("ab")', "AB"),
        ("coalesce(null, 2)", 2),
        ("coalesce(null, null)", None),
        ("len([1, 2])", 2),
    ],
)
def test_builtin_values(call: str, expected: object) -> None:
    checked = check_expression(call, SCOPE)
    assert interpret(checked, CONTEXT, PLAN) == expected
    assert compile_expression(checked)(CONTEXT, PLAN) == expected


def test_lower_and_upper_read_enum_values() -> None:
    registry = FunctionRegistry.builtin()
    assert registry.require("upper").impl(PlanStatus.PRESENTED) == "PRESENTED"


# -- business-time cut-offs -----------------------------------------------------------------------

CALENDAR = BusinessCalendar.from_strings(
    "America/New_York",
    {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    [date(2026, 3, 9)],
)
INSTANTS = st.datetimes(min_value=datetime(2026, 2, 1), max_value=datetime(2026, 4, 30), timezones=st.just(UTC))
DURATIONS = st.one_of(
    st.integers(min_value=0, max_value=15).map(business_days),
    st.integers(min_value=0, max_value=80).map(lambda n: business_hours(n / 2)),
)


@settings(max_examples=150, deadline=None)
@given(now=INSTANTS, since=INSTANTS, duration=DURATIONS, op=st.sampled_from([">=", ">", "<", "<="]))
def test_a_business_cutoff_decides_exactly_like_the_calendar(
    now: datetime, since: datetime, duration: BusinessDuration, op: str
) -> None:
    cutoff = business_cutoff(CALENDAR, now, duration, op)
    assert cutoff is not None
    reached = since <= cutoff
    assert business_age_holds(CALENDAR, since, now, duration, op) is (reached if op in (">=", ">") else not reached)


def test_a_cutoff_of_a_null_duration_is_none() -> None:
    assert business_cutoff(CALENDAR, datetime(2026, 3, 5, tzinfo=UTC), None, ">=") is None


def test_business_age_compares_only_with_business_durations() -> None:
    with pytest.raises(TypeError):
        business_age_holds(CALENDAR, datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC), 3, ">=")


# -- formatting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "filter_name", "expected"),
    [
        (Decimal("1234"), "money", "$1,234.00"),
        (Decimal("1234.005"), "money", "$1,234.01"),
        (Decimal("-5.5"), "money", "-$5.50"),
        (0.1, "money", "$0.10"),
        (7, "money", "$7.00"),
        (date(2026, 3, 5), "date", "Mar 5"),
        (datetime(2026, 3, 5, 16, 40, tzinfo=UTC), "date", "Mar 5"),
        (datetime(2026, 3, 5, 16, 40, tzinfo=UTC), "datetime", "Thu Mar 5 11:40"),
        (datetime(2026, 3, 5, 16, 40, tzinfo=UTC), "time", "11:40"),
        (datetime(2026, 3, 5, 16, 40, tzinfo=UTC), None, "Thu Mar 5 11:40"),
        ("ana diaz", "title", "Ana Diaz"),
        ("Ana", "upper", "ANA"),
        ("Ana", "lower", "ana"),
        (PlanStatus.PRESENTED, None, "presented"),
        (PlanStatus.PRESENTED, "upper", "PRESENTED"),
        (None, "money", ""),
        (None, None, ""),
        (True, None, "yes"),
        ("text", "money", "text"),
        (Decimal("12.50"), None, "12.50"),
    ],
)
def test_format_value(value: object, filter_name: str | None, expected: str) -> None:
    assert format_value(value, filter_name, NY) == expected


def test_format_value_without_a_timezone_keeps_the_value_zone() -> None:
    assert format_value(datetime(2026, 3, 5, 16, 40, tzinfo=UTC), "time") == "16:40"


def test_an_unknown_filter_suggests_a_close_one() -> None:
    with pytest.raises(UnknownNameError) as caught:
        format_value(1, "mony")
    assert caught.value.suggestion == "money"
    assert "money" in FILTERS


def test_the_difference_of_two_times_is_elapsed_time_across_the_spring_forward() -> None:
    """Thu noon + 4 days is Mon noon EDT (wall clock); from Fri noon EST that is 71 hours, not 72."""
    checked = check_expression("(now + days(4)) - (now + days(1))", SCOPE)
    assert interpret(checked, CONTEXT, PLAN) == timedelta(hours=71)
    assert compile_expression(checked)(CONTEXT, PLAN) == timedelta(hours=71)
    same = check_expression("(now + days(1)) - now", SCOPE)  # different zones: already an instant difference
    assert compile_expression(same)(CONTEXT, PLAN) == interpret(same, CONTEXT, PLAN) == timedelta(days=1)


def test_a_function_needing_the_context_gets_it() -> None:
    registry = FunctionRegistry.builtin()
    seen: list[object] = []

    def echo(context: object, text: str) -> str:
        seen.append(context)
        return text

    registry.register(RuleFunction("echo", (STR,), STR, echo, "echo", needs_context=True))
    checked = check_expression("echo(plan.id)", SCOPE, functions=registry)
    assert interpret(checked, CONTEXT, PLAN) == "tp-1"
    assert compile_expression(checked)(CONTEXT, PLAN) == "tp-1"
    assert seen == [CONTEXT, CONTEXT]


# -- within_open_days: dates, closed days stepped over -------------------------------------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@settings(max_examples=300, deadline=None)
@given(
    open_days=st.sets(st.integers(0, 6), min_size=1),
    holidays=st.sets(st.integers(1, 40), max_size=12),
    start=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    hour=st.integers(0, 23),
    ahead=st.integers(-3, 45),
    visit_hour=st.integers(0, 23),
    n=st.integers(0, 6),
)
def test_within_open_days_is_the_nth_open_date_after_today(open_days, holidays, start, hour, ahead, visit_hour, n):
    """Brute force: list the open dates after today; t is within n when its date is at most the n-th of them."""
    from types import SimpleNamespace

    from sophie.rules.language.functions.builtin import _within_open_days

    hours = {_WEEKDAYS[day]: [["08:00", "12:00"]] for day in open_days}
    closed = {start + timedelta(days=k) for k in holidays}
    calendar = BusinessCalendar.from_strings("America/New_York", hours, closed)
    now = datetime.combine(start, datetime.min.time(), NY).replace(hour=hour)
    context = SimpleNamespace(tz=NY, today=start, calendar=calendar, now=now)
    visit = datetime.combine(start + timedelta(days=ahead), datetime.min.time(), NY).replace(hour=visit_hour)
    later = (start + timedelta(days=k) for k in range(1, 60))
    open_dates = [day for day in later if _WEEKDAYS[day.weekday()] in hours and day not in closed]
    limit = open_dates[n - 1] if n else start
    assert _within_open_days(context, visit, n) == (visit.date() <= limit)


def test_within_open_days_on_a_friday_reaches_all_of_monday_and_stops_on_a_closed_calendar() -> None:
    from types import SimpleNamespace

    from sophie.rules.language.functions.builtin import _within_open_days

    week = {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in _WEEKDAYS[:5]}
    calendar = BusinessCalendar.from_strings("America/New_York", week)
    friday = SimpleNamespace(tz=NY, today=date(2026, 3, 6), calendar=calendar)
    monday_evening, tuesday_morning = datetime(2026, 3, 9, 19, tzinfo=NY), datetime(2026, 3, 10, 7, tzinfo=NY)
    assert _within_open_days(friday, monday_evening, 1) and not _within_open_days(friday, tuesday_morning, 1)
    assert _within_open_days(friday, tuesday_morning, 2)
    assert _within_open_days(friday, datetime(2026, 3, 6, 23, tzinfo=NY), 0)  # today, any hour
    holidays = [date(2026, 3, 6) + timedelta(days=k) for k in range(1, OPEN_DAYS_HORIZON + 10)]
    closed = SimpleNamespace(tz=NY, today=date(2026, 3, 6), calendar=BusinessCalendar.from_strings(
        "America/New_York", week, holidays))  # fmt: skip
    far = datetime(2028, 1, 3, 10, tzinfo=NY)
    assert not _within_open_days(closed, far, 1)  # no open day within the horizon: it stops there
    assert _within_open_days(closed, datetime(2027, 4, 1, 10, tzinfo=NY), 1)  # at the horizon itself

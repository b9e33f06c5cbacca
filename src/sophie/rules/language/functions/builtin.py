"""The built-in rule functions, and the business-time helpers compiled rules call.

Every function here is pure: the same arguments (and context) give the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_days, business_hours
from sophie.rules.language.durations import MAX_AMOUNT
from sophie.rules.language.types import (
    ANY,
    BOOL,
    BUSINESS_AGE,
    BUSINESS_DURATION,
    DATE,
    DATETIME,
    DURATION,
    INT,
    NUMBER,
    STR,
    ExprType,
    RuleFunction,
    text_of,
    unify,
)

if TYPE_CHECKING:
    from sophie.rules.language.context import EvalContext

__all__ = [
    "BUILTIN_FUNCTIONS",
    "LIST_IMPLS",
    "MAX_TEXT",
    "business_add",
    "business_age_holds",
    "business_cutoff",
    "concat",
    "contains",
    "days_back",
    "elapsed_between",
    "local_day_start",
    "present",
    "wall_add",
    "wall_sub",
]


# -- text --------------------------------------------------------------------------------

MAX_TEXT = 100_000
"""The longest text ``+`` may build, in characters (a bound on work, far above any title)."""


def concat(left: str, right: str) -> str:
    """Return ``left + right``, refusing to build text longer than :data:`MAX_TEXT`.

    Raises:
        ValueError: If the result would be longer (captured per subject, like any failure).
    """
    if len(left) + len(right) > MAX_TEXT:
        raise ValueError(f"text too long: joining would make {len(left) + len(right)} characters (at most {MAX_TEXT})")
    return left + right


# -- membership --------------------------------------------------------------------------


def _number_key(value: object) -> object:
    """Return a float as the decimal it is written as (``0.1`` -> ``Decimal("0.1")``), as ``==`` does."""
    return Decimal(repr(value)) if type(value) is float else value


def contains(item: object, container: object) -> bool:
    """Return whether ``item in container`` holds, comparing numbers as numbers.

    A money value (a ``Decimal``) is found among float literals exactly when ``==`` finds
    it equal to one: floats are read as the decimals they are written as. ``x in null`` is
    false, and so is ``null in "text"``.
    """
    if container is None or (item is None and isinstance(container, str)):
        return False
    if isinstance(container, str):
        return item in container  # type: ignore[operator]
    if type(item) is float or isinstance(item, Decimal):
        key = _number_key(item)
        return any(_number_key(value) == key for value in container)  # type: ignore[attr-defined]
    return item in container  # type: ignore[operator]


# -- business time -----------------------------------------------------------------------

_BUSINESS_OPS = (">=", ">", "<", "<=")


def business_age_holds(calendar: BusinessCalendar, since: datetime, now: datetime, duration: object, op: str) -> bool:
    """Return ``business_age(since) <op> duration`` at ``now``.

    ``>=`` holds when ``calendar.business_age_reached(since, now, duration)``; ``>`` when the
    business time since ``since`` is strictly more than ``duration`` (for business days:
    the step lands before ``now``); ``<`` and ``<=`` are their negations.
    """
    if not isinstance(duration, BusinessDuration | timedelta):
        raise TypeError(f"business_age compares with a business duration, not {duration!r}")
    if op in (">=", "<"):
        reached = calendar.business_age_reached(since, now, duration)
    elif isinstance(duration, BusinessDuration) and duration.unit == "business_hours":
        needed = timedelta(microseconds=round(duration.amount * 3_600_000_000))
        reached = calendar.business_time_between(since, now) > needed
    elif isinstance(duration, timedelta):
        reached = now - since > duration
    else:
        reached = calendar.add(since, duration) < now
    return reached if op in (">=", ">") else not reached


_SEARCH_SPAN = timedelta(days=366 * 300)


def business_cutoff(calendar: BusinessCalendar, now: datetime, duration: object, op: str) -> datetime | None:
    """Return the latest ``since`` for which ``business_age(since) >= duration`` (or ``>``).

    The calendar's steps are non-decreasing in ``since``, so the instants that have reached
    the age are exactly those at or before this cutoff. Found once per run by bisection, it
    turns the per-subject test into one comparison. Returns ``None`` when no boundary lies
    within 300 years of ``now`` (the caller then tests each subject directly).
    """
    if duration is None:
        return None
    strict = op in (">", "<=")

    def holds(us: int) -> bool:
        return business_age_holds(calendar, _EPOCH + timedelta(microseconds=us), now, duration, ">" if strict else ">=")

    try:
        now_us = (now - _EPOCH) // _ONE_US
        span_us = _SEARCH_SPAN // _ONE_US
        step = 86_400_000_000
        lo, hi = now_us - step, now_us + 1
        while holds(hi):
            lo, hi = hi, hi + step
            step *= 2
            if hi - now_us > span_us:
                return None
        while not holds(lo):
            hi, lo = lo, lo - step
            step *= 2
            if now_us - lo > span_us:
                return None
    except (OverflowError, ValueError):
        return None
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if holds(middle):
            lo = middle
        else:
            hi = middle
    return _EPOCH + timedelta(microseconds=lo)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def days_back(today: date, n: int) -> date:
    """Return the date ``n`` days before ``today`` (``n`` must be a whole number)."""
    if type(n) is not int:
        raise TypeError(f"days_since compares with whole numbers of days, not {n!r}")
    return today - timedelta(days=n)


def local_day_start(context: EvalContext, n: int, shift: int) -> datetime:
    """Return the first instant of the practice-local date ``today - n + shift``.

    Found by bisection over microseconds, so it is exact even where local midnight does
    not exist (a DST change at midnight).
    """
    day = days_back(context.today, n - shift)
    tz = context.tz
    guess = datetime(day.year, day.month, day.day, tzinfo=UTC)
    lo, hi = (guess - timedelta(days=2) - _EPOCH) // _ONE_US, (guess + timedelta(days=2) - _EPOCH) // _ONE_US
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if (_EPOCH + timedelta(microseconds=middle)).astimezone(tz).date() >= day:
            hi = middle
        else:
            lo = middle
    return _EPOCH + timedelta(microseconds=hi)


def wall_add(context: EvalContext, a: datetime | timedelta, b: datetime | timedelta) -> datetime:
    """Return a datetime plus a duration, on the practice's wall clock.

    ``days(7)`` after Monday 10:00 is the next Monday at 10:00 even across a DST change;
    the result is in the practice's timezone.
    """
    if isinstance(a, timedelta):
        a, b = b, a
    return a.astimezone(context.tz) + b  # type: ignore[union-attr, operator]


def wall_sub(context: EvalContext, t: datetime, duration: timedelta) -> datetime:
    """Return a datetime minus a duration, on the practice's wall clock."""
    return t.astimezone(context.tz) - duration


def elapsed_between(context: EvalContext, end: datetime, start: datetime) -> timedelta:
    """Return the real time from ``start`` to ``end``.

    Python subtracts two times of one zone by their wall clocks, so across a DST change it
    would be an hour off; times of different zones are already compared as instants.
    """
    if end.tzinfo is start.tzinfo:
        return end.astimezone(UTC) - start.astimezone(UTC)
    return end - start


def business_add(context: EvalContext, t: datetime, duration: BusinessDuration) -> datetime:
    """Return ``t`` plus a business duration on the practice calendar."""
    return context.calendar.add(t, duration)


# -- built-in implementations -----------------------------------------------------------


def _age(context: EvalContext, t: datetime) -> timedelta:
    return context.now - t


def _business_age(context: EvalContext, t: datetime) -> timedelta:
    return context.calendar.business_time_between(t, context.now)


def _days_since(context: EvalContext, t: date) -> int:
    day = t.astimezone(context.tz).date() if isinstance(t, datetime) else t
    return (context.today - day).days


def _local_date(context: EvalContext, t: datetime) -> date:
    return t.astimezone(context.tz).date()


OPEN_DAYS_HORIZON = 400
"""How many calendar days :func:`_within_open_days` looks ahead at most (a calendar without open days ends there)."""


def _within_open_days(context: EvalContext, t: datetime, n: int) -> bool:
    """Return whether ``t``'s practice-local date is at most the ``n``-th open day after today.

    Today and earlier dates count as within; closed days and holidays are stepped over, so
    on a Friday ``within_open_days(t, 1)`` holds for all of Monday.
    """
    day = t.astimezone(context.tz).date()
    current, last = context.today, context.today + timedelta(days=OPEN_DAYS_HORIZON)
    found = 0
    while found < n and current < day and current < last:
        current += timedelta(days=1)
        found += context.calendar.is_business_day(current)
    return day <= current


def _coalesce(*values: object) -> object:
    return next((value for value in values if value is not None), None)


def _days_since_type(args: Sequence[ExprType]) -> ExprType | str:
    if args[0].kind not in ("date", "datetime", "none", "any"):
        return f"days_since() needs a date or a date and time, got {args[0].describe()}"
    return INT


def _coalesce_type(args: Sequence[ExprType]) -> ExprType | str:
    result: ExprType | None = args[0]
    for arg in args[1:]:
        result = None if result is None else unify(result, arg)
    if result is None:
        return "coalesce() needs values of one type, got " + ", ".join(a.describe() for a in args)
    return result.with_optional(args[-1].optional)


def _lower(value: object) -> str:
    return text_of(value).lower()


def _upper(value: object) -> str:
    return text_of(value).upper()


def _scalar(name: str, impl: Callable[..., object], params: tuple[ExprType, ...], returns: ExprType, doc: str,
            example: str, **extra: object) -> RuleFunction:
    return RuleFunction(name, params, returns, impl, doc, example=example, **extra)  # type: ignore[arg-type]


def _list_any(items: Iterable[object] | None) -> bool:
    return items is not None and any(item is True for item in items)


def _list_all(items: Iterable[object] | None) -> bool:
    return items is None or all(item is True for item in items)


def _list_count(items: Iterable[object] | None) -> int:
    return 0 if items is None else sum(1 for item in items if item is True)


def present(items: Iterable[object] | None) -> list[object]:
    """Return the items that are not ``None`` (``None`` itself counts as no items)."""
    return [] if items is None else [item for item in items if item is not None]


def _list_sum(items: Iterable[object] | None) -> object:
    values = present(items)
    start: object = timedelta(0) if values and isinstance(values[0], timedelta) else 0
    return sum(values, start)  # type: ignore[call-overload]


def _list_min(*items: object) -> object:
    values = present(items[0] if len(items) == 1 else items)  # type: ignore[arg-type]
    return min(values) if values else None  # type: ignore[type-var]


def _list_max(*items: object) -> object:
    values = present(items[0] if len(items) == 1 else items)  # type: ignore[arg-type]
    return max(values) if values else None  # type: ignore[type-var]


def _list_len(value: Sequence[object]) -> int:
    return len(value)


LIST_IMPLS: dict[str, Callable[..., object]] = {
    "any": _list_any,
    "all": _list_all,
    "count": _list_count,
    "sum": _list_sum,
    "min": _list_min,
    "max": _list_max,
    "len": _list_len,
}


def _aggregate(name: str, doc: str, example: str) -> RuleFunction:
    return RuleFunction(
        name, (ANY,), ANY, LIST_IMPLS[name], doc, example=example, aggregate=True,
        propagates_null=name == "len", variadic=name in ("min", "max"),
    )


def _bounded(unit: str, make: Callable[[Any], object]) -> Callable[[Any], object]:
    """Wrap a duration constructor so an expression-made amount is capped as literals are."""

    def build(n: Any) -> object:
        size = abs(float(n)) if isinstance(n, int | float | Decimal) else 0.0
        if not size <= MAX_AMOUNT:  # also refuses NaN
            raise ValueError(f"{unit}({n}) is too long (at most {MAX_AMOUNT} units)")
        return make(n)

    build.__name__ = build.__qualname__ = unit
    return build


def _builtins() -> tuple[RuleFunction, ...]:
    return (
        _scalar("minutes", _bounded("minutes", lambda n: timedelta(minutes=n)), (NUMBER,), DURATION, "n minutes",
                "minutes(30)"),
        _scalar("hours", _bounded("hours", lambda n: timedelta(hours=n)), (NUMBER,), DURATION,
                "n hours of elapsed time", "hours(4)"),
        _scalar("days", _bounded("days", lambda n: timedelta(days=n)), (NUMBER,), DURATION,
                "n days of elapsed time (24 h each)", "age(claim.sent_at) > days(30)"),
        _scalar("weeks", _bounded("weeks", lambda n: timedelta(weeks=n)), (NUMBER,), DURATION, "n weeks", "weeks(2)"),
        _scalar("business_days", _bounded("business_days", business_days), (INT,), BUSINESS_DURATION,
                "n business days: calendar steps over open days, same wall-clock time",
                "business_age(plan.presented_at) >= business_days(3)"),
        _scalar("business_hours", _bounded("business_hours", business_hours), (NUMBER,), BUSINESS_DURATION,
                "n hours of open time", "business_age(appointment.broken_at) >= business_hours(2)"),
        _scalar("age", _age, (DATETIME,), DURATION, "now - t: elapsed time since t", "age(claim.sent_at) > days(30)",
                needs_context=True),
        _scalar("business_age", _business_age, (DATETIME,), BUSINESS_AGE,
                "business time since t; compare it with business_days(n) or business_hours(n)",
                "business_age(plan.presented_at) >= business_days(params.first_touch_days)", needs_context=True),
        _scalar("days_since", _days_since, (ANY,), INT,
                "whole days from t's practice-local date to today (t a date or a date and time)",
                "days_since(recall.due_date) > 30", needs_context=True, type_rule=_days_since_type),
        _scalar("date", _local_date, (DATETIME,), DATE, "the practice-local date of a date and time",
                "date(appointment.start) == today", needs_context=True),
        _scalar("within_open_days", _within_open_days, (DATETIME, INT), BOOL,
                "true when t's practice-local date is today (or earlier) or one of the next n open days",
                "within_open_days(appointment.start, 1)", needs_context=True),
        _scalar("lower", _lower, (STR,), STR, "text in lower case", 'lower(claim.carrier) == "delta dental"'),
        _scalar("upper", _upper, (STR,), STR, "text in upper case", 'upper(procedure.code) == "D2740"'),
        _scalar("coalesce", _coalesce, (ANY, ANY), ANY, "the first argument that is not null",
                "coalesce(claim.expected, claim.billed)", propagates_null=False, variadic=True,
                type_rule=_coalesce_type),
        _aggregate("any", "true if the condition holds for at least one item",
                   "any(p.fee > 500 for p in plan.procedures)"),
        _aggregate("all", "true if the condition holds for every item (true for none)",
                   'all(p.status == "completed" for p in plan.procedures)'),
        _aggregate("count", "how many items pass the `if` (and the condition, when it is true/false)",
                   'count(c for c in patient.contacts if c.topic == "treatment")'),
        _aggregate("sum", "the sum of the values (nulls skipped; 0 for none)", "sum(p.fee for p in plan.procedures)"),
        _aggregate("min", "the smallest value (nulls skipped; null for none); also min(a, b)",
                   "min(a.start for a in patient.appointments)"),
        _aggregate("max", "the largest value (nulls skipped; null for none); also max(a, b)",
                   "max(c.at for c in patient.contacts)"),
        _aggregate("len", "the number of items of a list, or of characters of text", "len(plan.procedures) > 3"),
    )


_PARAM_NAMES = {
    **dict.fromkeys(("minutes", "hours", "days", "weeks", "business_days", "business_hours"), ("n",)),
    **dict.fromkeys(("age", "business_age", "days_since", "date"), ("t",)),
    "lower": ("text",),
    "upper": ("text",),
    "coalesce": ("a", "b"),
    "within_open_days": ("t", "n"),
}

_USAGE = {
    "any": "any(test for x in list [if filter]) -> bool; any(list of bool) -> bool",
    "all": "all(test for x in list [if filter]) -> bool; all(list of bool) -> bool",
    "count": "count(x for x in list [if filter]) -> int; count(test for x in list) -> int",
    "sum": "sum(number for x in list [if filter]) -> number; sum(list) -> number (numbers or durations)",
    "min": "min(value for x in list [if filter]) -> value or null; min(list); min(a, b, ...)",
    "max": "max(value for x in list [if filter]) -> value or null; max(list); max(a, b, ...)",
    "len": "len(list or text) -> int; len(x for x in list [if filter]) -> int",
    "days_since": "days_since(t: date | datetime) -> int",
    "coalesce": "coalesce(a, b, ...) -> the type of a and b",
}

BUILTIN_FUNCTIONS: tuple[RuleFunction, ...] = tuple(
    replace(function, param_names=_PARAM_NAMES.get(function.name, ()), usage=_USAGE.get(function.name, ""))
    for function in _builtins()
)
"""The functions every rule can call."""


"""The functions rule expressions may call: a typed registry, the built-ins, value formatting.

A :class:`RuleFunction` says everything the checker, the compiler and ``sophie functions``
need: its parameter and return types, its implementation and one line of documentation.
Plugins add their own with :meth:`FunctionRegistry.register`. Implementations must be
pure: the same arguments (and context) give the same result, with no I/O and no clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import TYPE_CHECKING

from sophie.errors import ConfigurationError, UnknownNameError
from sophie.model.calendar import BusinessCalendar, BusinessDuration, business_days, business_hours
from sophie.rules.types import (
    ANY,
    BUSINESS_AGE,
    BUSINESS_DURATION,
    DATE,
    DATETIME,
    DURATION,
    INT,
    NUMBER,
    STR,
    ExprType,
)

if TYPE_CHECKING:
    from sophie.rules.context import EvalContext

__all__ = [
    "FILTERS",
    "FunctionRegistry",
    "RuleFunction",
    "business_age_holds",
    "business_cutoff",
    "format_value",
]

TypeRule = Callable[[Sequence[ExprType]], "ExprType | str"]


@dataclass(frozen=True)
class RuleFunction:
    """A function rule expressions can call.

    Attributes:
        name: The name analysts write, e.g. ``days``.
        params: Parameter types, in order.
        returns: The return type (when every argument is non-null).
        impl: The implementation; called ``impl(*args)``, or ``impl(context, *args)``
            when ``needs_context``.
        doc: One line for analysts.
        needs_context: Whether ``impl`` takes the :class:`~sophie.rules.context.EvalContext`.
        propagates_null: If true, a ``None`` argument gives ``None`` without calling ``impl``.
        variadic: If true, the last parameter may repeat (``coalesce(a, b, c)``).
        example: An example call for the documentation.
        type_rule: For functions whose result depends on argument types: given the argument
            types, the result type, or an error message.
        aggregate: One of the functions that also take a generator (``any``, ``sum`` …).
    """

    name: str
    params: tuple[ExprType, ...]
    returns: ExprType
    impl: Callable[..., object]
    doc: str
    needs_context: bool = False
    propagates_null: bool = True
    variadic: bool = False
    example: str = ""
    type_rule: TypeRule | None = None
    aggregate: bool = False
    param_names: tuple[str, ...] = ()

    def signature(self) -> str:
        """Return the call form for documentation, e.g. ``days(n: number) -> duration``."""
        names = self.param_names or tuple(f"x{i + 1}" if len(self.params) > 1 else "x" for i in range(len(self.params)))
        params = ", ".join(f"{name}: {param}" for name, param in zip(names, self.params, strict=False))
        if self.variadic:
            params += ", ..."
        return f"{self.name}({params}) -> {self.returns}"


class FunctionRegistry:
    """The functions available to a set of rules, by name."""

    def __init__(self, functions: Iterable[RuleFunction] = ()) -> None:
        self._functions: dict[str, RuleFunction] = {}
        for function in functions:
            self.register(function)

    @classmethod
    def builtin(cls) -> FunctionRegistry:
        """Return a new registry holding the built-in functions (add plugins' to it)."""
        return cls(BUILTIN_FUNCTIONS)

    def register(self, function: RuleFunction) -> None:
        """Add a function.

        Raises:
            ConfigurationError: If the name is taken or is not a plain lower-case identifier.
        """
        name = function.name
        if not name.isidentifier() or name.startswith("_") or not name.islower():
            raise ConfigurationError(f"function name {name!r} must be a lower_snake_case identifier")
        if name in self._functions or name in _RESERVED:
            raise ConfigurationError(f"a rule function named {name!r} is already registered")
        self._functions[name] = function

    def get(self, name: str) -> RuleFunction | None:
        """Return the function called ``name``, or ``None``."""
        return self._functions.get(name)

    def require(self, name: str) -> RuleFunction:
        """Return the function called ``name``.

        Raises:
            UnknownNameError: With the closest known name as a suggestion.
        """
        function = self._functions.get(name)
        if function is None:
            close = difflib.get_close_matches(name, list(self._functions), n=1)
            raise UnknownNameError("function", name, known=self.names(), suggestion=close[0] if close else None)
        return function

    def names(self) -> list[str]:
        """Return every function name, sorted."""
        return sorted(self._functions)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __iter__(self) -> Iterator[RuleFunction]:
        return iter(sorted(self._functions.values(), key=lambda f: f.name))


_RESERVED = frozenset({"true", "false", "null", "params", "practice", "now", "today"})


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


def _coalesce(*values: object) -> object:
    return next((value for value in values if value is not None), None)


def _days_since_type(args: Sequence[ExprType]) -> ExprType | str:
    if args[0].kind not in ("date", "datetime", "none", "any"):
        return f"days_since() needs a date or a date and time, got {args[0].describe()}"
    return INT


def _coalesce_type(args: Sequence[ExprType]) -> ExprType | str:
    from sophie.rules.types import unify

    result: ExprType | None = args[0]
    for arg in args[1:]:
        result = None if result is None else unify(result, arg)
    if result is None:
        return "coalesce() needs values of one type, got " + ", ".join(a.describe() for a in args)
    return result.with_optional(args[-1].optional)


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _lower(value: object) -> str:
    return _text(value).lower()


def _upper(value: object) -> str:
    return _text(value).upper()


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
    return sum(values, start)  # type: ignore[arg-type]


def _list_min(*items: object) -> object:
    values = present(items[0] if len(items) == 1 else items)  # type: ignore[arg-type]
    return min(values) if values else None  # type: ignore[type-var]


def _list_max(*items: object) -> object:
    values = present(items[0] if len(items) == 1 else items)  # type: ignore[arg-type]
    return max(values) if values else None  # type: ignore[type-var]


def _list_len(value: Sequence[object]) -> int:
    return len(value)


_LIST_IMPLS: dict[str, Callable[..., object]] = {
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
        name, (ANY,), ANY, _LIST_IMPLS[name], doc, example=example, aggregate=True,
        propagates_null=name == "len", variadic=name in ("min", "max"),
    )


def _builtins() -> tuple[RuleFunction, ...]:
    return (
        _scalar("minutes", lambda n: timedelta(minutes=n), (NUMBER,), DURATION, "n minutes", "minutes(30)"),
        _scalar("hours", lambda n: timedelta(hours=n), (NUMBER,), DURATION, "n hours of elapsed time", "hours(4)"),
        _scalar("days", lambda n: timedelta(days=n), (NUMBER,), DURATION, "n days of elapsed time (24 h each)",
                "age(claim.sent_at) > days(30)"),
        _scalar("weeks", lambda n: timedelta(weeks=n), (NUMBER,), DURATION, "n weeks", "weeks(2)"),
        _scalar("business_days", business_days, (INT,), BUSINESS_DURATION,
                "n business days: calendar steps over open days, same wall-clock time",
                "business_age(plan.presented_at) >= business_days(3)"),
        _scalar("business_hours", business_hours, (NUMBER,), BUSINESS_DURATION, "n hours of open time",
                "business_age(appointment.broken_at) >= business_hours(2)"),
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
}

BUILTIN_FUNCTIONS: tuple[RuleFunction, ...] = tuple(
    replace(function, param_names=_PARAM_NAMES.get(function.name, ())) for function in _builtins()
)
"""The functions every rule can call."""

# -- formatting for templates -------------------------------------------------------------

FILTERS: tuple[str, ...] = ("money", "date", "datetime", "time", "upper", "lower", "title")
"""Filters a template placeholder may name: ``{plan.total|money}``."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CENT = Decimal("0.01")


def _money(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return _text(value)
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    amount = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _local(value: datetime, tz: tzinfo | None) -> datetime:
    return value.astimezone(tz) if tz is not None else value


def _format_date(value: object, tz: tzinfo | None) -> str:
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    if isinstance(value, date):
        return f"{_MONTHS[value.month - 1]} {value.day}"
    return _text(value)


def _format_datetime(value: object, tz: tzinfo | None, *, with_day: bool) -> str:
    if not isinstance(value, datetime):
        return _format_date(value, tz) if with_day else _text(value)
    local = _local(value, tz)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if not with_day:
        return clock
    return f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day} {clock}"


def format_value(value: object, filter_name: str | None, tz: tzinfo | None = None) -> str:
    """Return ``value`` as template text, through an optional filter.

    Filters: ``money`` (``$1,234.00``), ``date`` (``Mar 5``), ``datetime``
    (``Thu Mar 5 11:40``), ``time`` (``11:40``), ``upper``, ``lower``, ``title``. Dates and
    times are shown in ``tz`` (the practice's timezone) when given. ``None`` is empty text.
    Month and day names are English whatever the locale.

    Raises:
        UnknownNameError: For a filter that does not exist, with the closest name.
    """
    if filter_name is not None and filter_name not in FILTERS:
        close = difflib.get_close_matches(filter_name, FILTERS, n=1)
        raise UnknownNameError("filter", filter_name, known=FILTERS, suggestion=close[0] if close else None)
    if value is None:
        return ""
    if filter_name == "money":
        return _money(value)
    if filter_name == "date":
        return _format_date(value, tz)
    if filter_name in ("datetime", "time"):
        return _format_datetime(value, tz, with_day=filter_name == "datetime")
    if filter_name in ("upper", "lower", "title"):
        text = _text(value)
        return text.upper() if filter_name == "upper" else text.lower() if filter_name == "lower" else text.title()
    if isinstance(value, datetime):
        return _format_datetime(value, tz, with_day=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value)

"""The functions rule expressions may call: a typed registry, the built-ins, value formatting.

A :class:`~sophie.rules.language.types.RuleFunction` (defined beside the types, re-exported
here) says everything the checker, the compiler and ``sophie functions`` need: its parameter
and return types, its implementation and one line of documentation.
Plugins add their own with :meth:`FunctionRegistry.register`. Implementations must be
pure: the same arguments (and context) give the same result, with no I/O and no clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from sophie.errors import ConfigurationError, UnknownNameError
from sophie.rules.language.functions.builtin import BUILTIN_FUNCTIONS
from sophie.rules.language.types import RuleFunction, TypeRule, text_of

__all__ = [
    "FILTERS",
    "FunctionRegistry",
    "RuleFunction",
    "TypeRule",
    "format_value",
    "text_of",
]


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


# -- formatting for templates -------------------------------------------------------------

FILTERS: tuple[str, ...] = ("money", "date", "datetime", "time", "upper", "lower", "title")
"""Filters a template placeholder may name: ``{plan.total|money}``."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CENT = Decimal("0.01")


def _money(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return text_of(value)
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
    return text_of(value)


def _format_datetime(value: object, tz: tzinfo | None, *, with_day: bool) -> str:
    if not isinstance(value, datetime):
        return _format_date(value, tz) if with_day else text_of(value)
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
        text = text_of(value)
        return text.upper() if filter_name == "upper" else text.lower() if filter_name == "lower" else text.title()
    if isinstance(value, datetime):
        return _format_datetime(value, tz, with_day=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return text_of(value)

"""Durations as analysts write them in packs: ``2 hours``, ``1 business_day``, ``3 weeks``.

The form is ``<n> <unit>``: a whole number ``n >= 0`` and one of the units below,
singular or plural. Plain units are elapsed time (a :class:`~datetime.timedelta`);
``business_days`` and ``business_hours`` are business time on the practice calendar
(a :class:`~sophie.model.calendar.BusinessDuration`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta

from sophie.model.calendar import BusinessDuration, BusinessUnit

__all__ = [
    "DURATION_UNITS",
    "MAX_AMOUNT",
    "MAX_TEXT",
    "Duration",
    "DurationSyntaxError",
    "looks_like_duration",
    "parse_duration",
]

DURATION_UNITS: tuple[str, ...] = (
    "minutes",
    "hours",
    "days",
    "weeks",
    "business_days",
    "business_hours",
)
"""The units a duration may be written in (singular forms are accepted too)."""

_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}
# Applied to stripped text of bounded length; every repetition is followed by a character
# it cannot take, so matching is linear (no backtracking over runs of spaces).
_FORM = re.compile(r"(?P<amount>[+-]?\d+(?:\.\d+)?)[ \t]*(?P<unit>[A-Za-z_-]+(?:[ \t]+[A-Za-z_-]+)*)")
MAX_AMOUNT = 100_000
"""The most units a duration may have, written or computed."""
MAX_TEXT = 64
"""The longest text read as a duration; anything longer is refused before matching."""


class DurationSyntaxError(ValueError):
    """A text that is not a duration.

    Attributes:
        suggestion: A corrected spelling of the unit, when one is close.
    """

    def __init__(self, message: str, *, suggestion: str | None = None) -> None:
        self.suggestion = suggestion
        super().__init__(message)


@dataclass(frozen=True)
class Duration:
    """A parsed duration.

    Attributes:
        amount: How many units (a whole number, at least 0).
        unit: One of :data:`DURATION_UNITS` (always plural).
    """

    amount: int
    unit: str

    @property
    def is_business(self) -> bool:
        """Whether this is business time (counted on the practice calendar)."""
        return self.unit.startswith("business_")

    def value(self) -> timedelta | BusinessDuration:
        """Return the value the calendar and the expression language work with."""
        if self.unit == "business_days":
            return BusinessDuration(self.amount, BusinessUnit.DAYS)
        if self.unit == "business_hours":
            return BusinessDuration(self.amount, BusinessUnit.HOURS)
        return timedelta(seconds=self.amount * _SECONDS[self.unit])

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"


def _unit_of(word: str) -> str | None:
    word = word.strip().lower().replace(" ", "_").replace("-", "_")
    if word in DURATION_UNITS:
        return word
    if word + "s" in DURATION_UNITS:
        return word + "s"
    return None


def looks_like_duration(text: str) -> bool:
    """Return whether ``text`` is shaped like ``<number> <word>`` (an attempt at a duration)."""
    return len(text) <= MAX_TEXT and _FORM.fullmatch(text.strip()) is not None


def parse_duration(text: str) -> Duration:
    """Parse ``<n> <unit>``, e.g. ``"2 business_days"`` or ``"1 hour"``.

    Raises:
        DurationSyntaxError: With a did-you-mean for a misspelt unit.
    """
    if len(text) > MAX_TEXT:
        raise DurationSyntaxError(f"{text[:20]!r}... is too long for a duration (at most {MAX_TEXT} characters)")
    match = _FORM.fullmatch(text.strip())
    if match is None:
        raise DurationSyntaxError(
            f"{text!r} is not a duration; write '<n> <unit>' with a unit from {', '.join(DURATION_UNITS)}"
        )
    amount_text, word = match.group("amount"), match.group("unit")
    unit = _unit_of(word)
    if unit is None:
        candidates = [*DURATION_UNITS, *(u[:-1] for u in DURATION_UNITS)]
        close = difflib.get_close_matches(word.strip().lower(), candidates, n=1, cutoff=0.6)
        suggestion = None
        if close:
            plural = close[0] if close[0].endswith("s") else close[0] + "s"
            suggestion = f"{amount_text} {plural[:-1] if amount_text.lstrip('+') == '1' else plural}"
        raise DurationSyntaxError(
            f"unknown duration unit {word.strip()!r} in {text!r}; use one of {', '.join(DURATION_UNITS)}",
            suggestion=suggestion,
        )
    if not amount_text.lstrip("+-").isdigit():
        raise DurationSyntaxError(f"a duration needs a whole number, got {amount_text!r} in {text!r}")
    amount = int(amount_text)
    if amount < 0:
        raise DurationSyntaxError(f"a duration cannot be negative, got {text!r}")
    if amount > MAX_AMOUNT:
        raise DurationSyntaxError(f"duration {text!r} is too long (at most {MAX_AMOUNT} units)")
    return Duration(amount, unit)

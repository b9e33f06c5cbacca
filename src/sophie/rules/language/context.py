"""The evaluation context: everything a rule reads besides its subject.

One context is built per evaluation run; the compiled evaluators hoist what they can
(``now``, ``today``, parameters, time cut-offs) out of the per-subject loop once per
context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING

from sophie.errors import ConfigurationError
from sophie.model.calendar import BusinessCalendar

if TYPE_CHECKING:
    from sophie.model import SnapshotIndex, View

__all__ = ["EvalContext"]


@dataclass(frozen=True)
class EvalContext:
    """What rule expressions read besides their subject.

    ``now`` is held in UTC, so that arithmetic on dates and times (``now - days(14)``,
    ``age(t)``) is always elapsed time, whatever zone the caller gave it in; ``today`` and
    ``date(t)`` use the practice's timezone.

    Attributes:
        now: The evaluation instant (aware; stored in UTC).
        today: The practice-local date of ``now``.
        params: Parameter values by name (``params.<name>``).
        practice: The practice view (``practice`` in expressions).
        calendar: The practice's business calendar.
        index: The snapshot index the subjects come from.
    """

    now: datetime
    today: date
    params: Mapping[str, object] = field(hash=False)
    practice: View
    calendar: BusinessCalendar
    index: SnapshotIndex

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ConfigurationError(f"now must be a timezone-aware datetime, got {self.now.isoformat()}")
        object.__setattr__(self, "now", self.now.astimezone(UTC))

    @property
    def tz(self) -> tzinfo:
        """The practice's timezone."""
        return self.calendar.tz

    @classmethod
    def build(cls, index: SnapshotIndex, now: datetime, params: Mapping[str, object]) -> EvalContext:
        """Return the context for evaluating rules over ``index`` at ``now``.

        Raises:
            ConfigurationError: If ``now`` is naive.
            CalendarError: If the practice's hours make no calendar.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ConfigurationError(f"now must be a timezone-aware datetime, got {now.isoformat()}")
        calendar = index.calendar
        return cls(
            now=now,
            today=calendar.local_date(now),
            params=MappingProxyType(dict(params)),
            practice=index.practice,
            calendar=calendar,
            index=index,
        )

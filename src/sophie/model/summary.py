"""A practice summary: counts per section, openings and freshness (``sophie inspect``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sophie.model.openings import Opening

if TYPE_CHECKING:
    from sophie.model.snapshot import Snapshot

__all__ = ["PracticeSummary"]


@dataclass(frozen=True)
class PracticeSummary:
    """What a snapshot holds, in a few numbers.

    Attributes:
        practice_id: The practice's id.
        practice_name: Its name.
        timezone: Its IANA timezone.
        as_of: When the data was read.
        counts: Records per section, in section order.
        opening_count: How many openings the schedule has.
        openings: The first openings by start time (at most the number asked for).
    """

    practice_id: str
    practice_name: str
    timezone: str
    as_of: datetime
    counts: dict[str, int]
    opening_count: int
    openings: tuple[Opening, ...] = field(default=())

    @classmethod
    def of(cls, snapshot: Snapshot, *, max_openings: int = 10) -> PracticeSummary:
        """Summarise a snapshot (this builds its index, so openings are computed)."""
        openings = snapshot.index.openings
        return cls(
            practice_id=snapshot.practice.id,
            practice_name=snapshot.practice.name,
            timezone=snapshot.practice.timezone,
            as_of=snapshot.as_of,
            counts=snapshot.counts(),
            opening_count=len(openings),
            openings=tuple(openings[:max_openings]),
        )

    def as_dict(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Return the summary as JSON-ready data; with ``now``, include the data age in seconds."""
        data: dict[str, Any] = {
            "practice": {"id": self.practice_id, "name": self.practice_name, "timezone": self.timezone},
            "as_of": self.as_of.isoformat(),
            "counts": dict(self.counts),
            "openings": {
                "count": self.opening_count,
                "first": [
                    {
                        "id": o.id,
                        "start": o.start.isoformat(),
                        "end": o.end.isoformat(),
                        "minutes": int(o.duration.total_seconds() // 60),
                        "provider_id": o.provider_id,
                        "operatory_id": o.operatory_id,
                    }
                    for o in self.openings
                ],
            },
        }
        if now is not None:
            data["data_age_seconds"] = round((now - self.as_of).total_seconds())
        return data

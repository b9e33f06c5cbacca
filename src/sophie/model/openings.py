"""Openings: time inside schedule blocks that no appointment occupies.

An appointment cancelled at 11:40 leaves a gap in its chair; the next snapshot's
openings contain it without anything having to declare it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sophie.model.enums import AppointmentStatus
from sophie.model.records import Appointment, ScheduleBlock

__all__ = ["Opening", "find_openings", "opening_id"]

# A completed appointment occupied its chair too, so past time it used is not an opening.
_OCCUPYING = (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED)


@dataclass(frozen=True)
class Opening:
    """A bookable gap in one chair.

    Attributes:
        id: ``<operatory_id>@<local start as YYYY-MM-DDTHH:MM>``, stable across snapshots.
        start: When the gap starts.
        end: When it ends.
        provider_id: The provider whose schedule block holds the gap.
        operatory_id: The chair.
    """

    id: str
    start: datetime
    end: datetime
    provider_id: str
    operatory_id: str

    @property
    def duration(self) -> timedelta:
        """The length of the gap."""
        return self.end - self.start


def opening_id(operatory_id: str, start: datetime, tz: ZoneInfo) -> str:
    """Return the deterministic id of an opening in ``operatory_id`` starting at ``start``."""
    return f"{operatory_id}@{start.astimezone(tz):%Y-%m-%dT%H:%M}"


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _gaps(
    start: datetime, end: datetime, busy: Sequence[tuple[datetime, datetime]], ends: Sequence[datetime]
) -> Iterable[tuple[datetime, datetime]]:
    cursor = start
    # ``busy`` is merged and sorted, so its ends are sorted too: skip what ended before the block.
    for busy_start, busy_end in busy[bisect_left(ends, start) :]:
        if busy_start >= end:
            break
        if busy_start > cursor:
            yield cursor, busy_start
        cursor = max(cursor, busy_end)
    if cursor < end:
        yield cursor, end


def find_openings(
    blocks: Iterable[ScheduleBlock],
    appointments: Iterable[Appointment],
    *,
    tz: ZoneInfo,
    min_minutes: int,
) -> list[Opening]:
    """Return the gaps of at least ``min_minutes`` in the schedule blocks, sorted by start and chair.

    A gap is time inside a block that no scheduled, arrived or completed appointment
    in the same chair covers (broken, planned and unscheduled ones leave it free).
    When two blocks in one chair give the same opening id, the longer gap is kept.
    """
    busy_by_chair: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appointment in appointments:
        if (
            appointment.status in _OCCUPYING
            and appointment.operatory_id is not None
            and appointment.start is not None
            and appointment.end is not None
        ):
            busy_by_chair[appointment.operatory_id].append((appointment.start, appointment.end))
    merged = {chair: _merge(spans) for chair, spans in busy_by_chair.items()}
    ends = {chair: [span[1] for span in spans] for chair, spans in merged.items()}
    shortest = timedelta(minutes=min_minutes)
    found: dict[str, Opening] = {}
    for block in blocks:
        busy = merged.get(block.operatory_id, [])
        for start, end in _gaps(block.start, block.end, busy, ends.get(block.operatory_id, [])):
            if end - start < shortest:
                continue
            key = opening_id(block.operatory_id, start, tz)
            known = found.get(key)
            if known is None or end - start > known.duration:
                found[key] = Opening(key, start, end, block.provider_id, block.operatory_id)
    return sorted(found.values(), key=lambda opening: (opening.start, opening.operatory_id))

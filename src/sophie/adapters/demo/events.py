"""A simulated day of PMS events for the demo practice: cancellations, and openings filled again.

:func:`day_of_events` takes a snapshot (usually the demo practice's) and draws, from a
seeded ``random.Random``, a day of changes in time order:

* ``appointment_cancelled``: a scheduled appointment later that day or the next is
  cancelled by its patient (status ``broken``, ``broken_kind`` ``cancelled``);
* ``appointment_rescheduled``: some minutes later, about half of those gaps are filled by
  moving an ASAP patient's later appointment (or, failing one, another later appointment
  in the same chair) into it.

Each change comes as an :class:`~sophie.adapters.base.AdapterEvent` plus the
:class:`~sophie.adapters.base.SnapshotChanges` that a PMS would answer to an incremental
read after it. :class:`DemoEventsAdapter` replays them against a clock, for
``sophie watch`` and the latency benchmark. Deterministic: the same snapshot and seed give
the same day.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sophie.adapters.base import (
    Adapter,
    AdapterEvent,
    AdapterEventKind,
    IncrementalResult,
    SnapshotChanges,
    Watermark,
)
from sophie.model import Snapshot
from sophie.model.enums import AppointmentStatus, BrokenKind
from sophie.model.records import Appointment

__all__ = ["DemoEvent", "DemoEventsAdapter", "day_of_events"]


@dataclass(frozen=True)
class DemoEvent:
    """One simulated change: the hint and the records that changed with it."""

    event: AdapterEvent
    changes: SnapshotChanges


def _start(appointment: Appointment) -> datetime:
    assert appointment.start is not None
    return appointment.start


def _after(appointment: Appointment, moment: datetime) -> bool:
    return appointment.start is not None and appointment.start > moment


def _mark(number: int) -> Watermark:
    return f"events:{number}"


def day_of_events(snapshot: Snapshot, *, seed: int = 1, count: int = 100) -> list[DemoEvent]:
    """Return about ``count`` events over the day after ``snapshot.as_of``, in time order.

    Every change is relative to the snapshot (records are changed once at most), so the
    events can be applied in order to it.
    """
    rng = random.Random(f"demo-events:{seed}")
    start = snapshot.as_of
    horizon = start + timedelta(hours=36)
    upcoming = sorted(
        (a for a in snapshot.appointments
         if a.status == AppointmentStatus.SCHEDULED and a.start is not None and start < a.start < horizon),
        key=lambda a: (_start(a), a.id),
    )  # fmt: skip
    later = [a for a in snapshot.appointments if a.status == AppointmentStatus.SCHEDULED and _after(a, horizon)]
    asap = [a for a in later if a.asap]
    used: set[str] = set()
    drawn: list[tuple[datetime, int, AdapterEvent, Appointment]] = []
    cancels = rng.sample(upcoming, min(len(upcoming), max(1, (2 * count) // 3)))
    clock = start
    for number, appointment in enumerate(sorted(cancels, key=lambda a: (_start(a), a.id))):
        begins = _start(appointment)
        clock = max(min(clock + timedelta(minutes=rng.randint(1, 6)), begins - timedelta(minutes=1)),
                    start + timedelta(seconds=number + 1))  # fmt: skip
        broken = appointment.model_copy(
            update={"status": AppointmentStatus.BROKEN, "broken_kind": BrokenKind.CANCELLED, "broken_at": clock}
        )
        used.add(appointment.id)
        event = AdapterEvent(kind=AdapterEventKind.APPOINTMENT_CANCELLED, record_id=appointment.id, at=clock,
                             patient_id=appointment.patient_id)  # fmt: skip
        drawn.append((clock, len(drawn), event, broken))
        if len(drawn) >= count or rng.random() >= 0.5:
            continue
        pool = [a for a in (asap or later) if a.id not in used and a.operatory_id == appointment.operatory_id]
        pool = pool or [a for a in asap if a.id not in used]
        if not pool:
            continue
        mover = rng.choice(pool[:50])
        used.add(mover.id)
        filled_at = clock + timedelta(minutes=rng.randint(2, 20))
        length = (appointment.end or begins) - begins
        update = {"start": begins, "end": begins + length, "operatory_id": appointment.operatory_id,
                  "provider_id": appointment.provider_id, "asap": False}  # fmt: skip
        event = AdapterEvent(kind=AdapterEventKind.APPOINTMENT_RESCHEDULED, record_id=mover.id, at=filled_at,
                             patient_id=mover.patient_id)  # fmt: skip
        drawn.append((filled_at, len(drawn), event, mover.model_copy(update=update)))
    drawn.sort(key=lambda item: (item[0], item[1]))
    day: list[DemoEvent] = []
    for number, (at, _, event, record) in enumerate(drawn[:count], start=1):
        marked = event.model_copy(update={"watermark": _mark(number)})
        day.append(DemoEvent(marked, SnapshotChanges(as_of=at, appointments=[record])))
    return day


class DemoEventsAdapter(Adapter):
    """The demo practice plus a simulated day of events, replayed as the clock passes them.

    Args:
        snapshot: The practice at the start of the day.
        clock: Returns the current (simulated or real) time.
        seed / count: As for :func:`day_of_events`.
    """

    name = "demo"
    supports_incremental = True
    supports_events = True

    def __init__(self, snapshot: Snapshot, clock: Callable[[], datetime], *, seed: int = 1, count: int = 100) -> None:
        self.snapshot = snapshot
        self.clock = clock
        self.day = day_of_events(snapshot, seed=seed, count=count)

    def _reached(self) -> int:
        now = self.clock()
        return sum(1 for item in self.day if item.event.at <= now)

    def fetch(self) -> Snapshot:
        """Return the practice with every event so far applied."""
        return self.fetch_since(None).apply(None)

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        """Answer the changes since ``watermark`` (``events:N``), or the whole practice for ``None``."""
        reached = self._reached()
        if watermark is None:
            snapshot = self.snapshot
            for item in self.day[:reached]:
                snapshot = IncrementalResult.delta(item.changes, "x").apply(snapshot)
            return IncrementalResult.full(snapshot, _mark(reached))
        done = int(watermark.removeprefix("events:") or 0)
        records = {a.id: a for item in self.day[done:reached] for a in item.changes.appointments}
        as_of = self.day[reached - 1].event.at if reached else self.snapshot.as_of
        changes = SnapshotChanges(as_of=max(as_of, self.snapshot.as_of), appointments=list(records.values()))
        return IncrementalResult.delta(changes, _mark(reached))

    def events(self, since: Watermark | None = None) -> Iterator[AdapterEvent]:
        """Yield the events the clock has passed, after ``since``."""
        done = int((since or "events:0").removeprefix("events:") or 0)
        for item in self.day[done : self._reached()]:
            yield item.event

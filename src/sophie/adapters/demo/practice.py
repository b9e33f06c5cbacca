"""A deterministic synthetic dental practice, with stalls planted where the default pack must find them.

The demo practice is a PMS that does not exist: families with histories, a schedule with
openings, treatment presented and not scheduled, claims of every age, recalls, calls,
balances. The same :class:`DemoSettings` always give the same practice, byte for byte:
everything is drawn from ``random.Random`` streams seeded from ``seed`` and dated relative
to ``as_of``; nothing reads the clock.

Its ground truth (:meth:`DemoPractice.plants`) lists, for every rule of the default pack
(``dental-core``), situations that must fire and near-misses just on the other
side of the threshold that must not. ``docs/demo-practice.md`` lists them with thresholds.

Large practices stream: :meth:`DemoPractice.iter_records` yields the records family by
family, and :meth:`DemoPractice.summary` counts them with memory bounded by the schedule
window, so a million patients fit on a laptop.

Example:
    >>> from sophie.adapters.demo.practice import DemoPractice, DemoSettings
    >>> practice = DemoPractice(DemoSettings(seed=7, patients=500))
    >>> snapshot = practice.snapshot()
    >>> len(snapshot.patients)
    500
"""

from __future__ import annotations

import gc
import random
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from sophie.adapters.demo.background import Background
from sophie.adapters.demo.calendar import Timeline
from sophie.adapters.demo.layout import Layout, Slot, build_slots
from sophie.adapters.demo.plants import billing, recall, schedule, treatment
from sophie.adapters.demo.plants.planting import Plant, PlantKit
from sophie.adapters.demo.records import FamilyRecords, Ids
from sophie.errors import ConfigurationError
from sophie.model.enums import AppointmentStatus
from sophie.model.openings import find_openings
from sophie.model.records import Appointment, Practice, ScheduleBlock
from sophie.model.snapshot import SECTIONS, Snapshot
from sophie.model.summary import PracticeSummary

__all__ = ["DEFAULT_AS_OF", "MIN_PATIENTS", "DemoPractice", "DemoSettings", "Plant", "generate"]

DEFAULT_AS_OF = datetime(2026, 3, 2, 7, 30, tzinfo=ZoneInfo("America/New_York"))
"""The default reading time: a Monday morning before the practice opens."""

MIN_PATIENTS = 200
"""The smallest practice the demo generates: the planted families need about 120 patients."""

_FAMILY_SIZES = (1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6)
_BOOKED = (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED)
_SCENARIOS: tuple[Callable[[PlantKit], None], ...] = (
    treatment.SCENARIOS
    + schedule.SCENARIOS
    + recall.SCENARIOS
    + billing.SCENARIOS
)


@dataclass(frozen=True)
class DemoSettings:
    """What to generate.

    Attributes:
        seed: The random seed: the same settings give the same practice.
        patients: How many patients (at least :data:`MIN_PATIENTS`); above 2,000 the
            practice becomes a group of offices of six chairs each.
        as_of: When the practice is read (timezone-aware). The default is a fixed Monday
            07:30; the ground truth is exact for any ``as_of`` before 09:30 on an open day,
            and leaves out the plants about "today" otherwise.
        timezone: The practice's IANA timezone.

    Raises:
        ConfigurationError: a naive ``as_of``, an unknown timezone or too few patients.
    """

    seed: int = 1
    patients: int = 2000
    as_of: datetime = field(default=DEFAULT_AS_OF)
    timezone: str = "America/New_York"

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None or self.as_of.utcoffset() is None:
            raise ConfigurationError(f"as_of must be timezone-aware, not {self.as_of.isoformat()}")
        if self.patients < MIN_PATIENTS:
            raise ConfigurationError(f"the demo practice needs at least {MIN_PATIENTS} patients, not {self.patients}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigurationError(f"unknown timezone {self.timezone!r}") from err


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of records are made.

    The records hold no reference cycles, but their allocations keep triggering collections
    that rescan every record still alive: building a 100,000-patient snapshot took twice as
    long with the collector running. The previous state is restored on the way out.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stream(seed: int, purpose: str) -> random.Random:
    """Return the random stream for one purpose, so that parts vary independently."""
    return random.Random(f"sophie-demo:{seed}:{purpose}")


class DemoPractice:
    """A synthetic practice: its snapshot, its records as a stream, its ground truth.

    Building one lays out the practice, plants the scenarios and cuts the schedule into
    slots; records are generated each time they are asked for, the same way every time.

    Args:
        settings: What to generate.
    """

    def __init__(self, settings: DemoSettings | None = None) -> None:
        self.settings = settings = settings or DemoSettings()
        self.timeline = Timeline(settings.as_of, settings.timezone)
        self.layout = Layout(settings.patients, self.timeline, _stream(settings.seed, "layout"))
        ids = Ids()
        kit = PlantKit(self.timeline, self.layout, ids, _stream(settings.seed, "plants"))
        for scenario in _SCENARIOS:
            scenario(kit)
        self._planted: list[FamilyRecords] = kit.families
        self._plants = kit.plants
        self._ids = ids.state()
        planted = sum(len(family.sections["patients"]) for family in kit.families)
        self._sizes = self._family_sizes(settings.patients - planted, _stream(settings.seed, "families"))
        slots = build_slots(self.layout, kit.reserved, _stream(settings.seed, "slots"))
        self._queue = self._assign(slots, _stream(settings.seed, "assign"))

    @staticmethod
    def _family_sizes(patients: int, rng: random.Random) -> array[int]:
        sizes = array("B")
        while patients > 0:
            size = min(patients, rng.choice(_FAMILY_SIZES))
            sizes.append(size)
            patients -= size
        return sizes

    def _unit_of(self, family: int) -> int:
        return family * len(self.layout.units) // len(self._sizes)

    def _assign(self, per_unit: list[list[Slot]], rng: random.Random) -> list[tuple[int, Slot]]:
        """Spread each unit's slots over that unit's families: (family index, slot), in family order."""
        families, units = len(self._sizes), len(self.layout.units)
        queue: list[tuple[int, Slot]] = []
        for number, slots in enumerate(per_unit):
            first = -(-number * families // units)
            last = max(first, -(-(number + 1) * families // units) - 1)
            rng.shuffle(slots)
            spread = last - first + 1
            queue.extend((min(families - 1, first + k * spread // len(slots)), slot) for k, slot in enumerate(slots))
        return queue

    def plants(self) -> list[Plant]:
        """Return the ground truth: every planted stall and near-miss."""
        return list(self._plants)

    def iter_records(self) -> Iterator[tuple[str, BaseModel]]:
        """Yield ``(section, record)`` for the whole practice, one family at a time.

        The first item is ``("practice", Practice)``; then staff, providers, operatories
        and schedule blocks; then each family's patients, appointments, procedures,
        treatment plans, claims, recalls, contacts and balance. Only the current family
        is held in memory.
        """
        yield from self.layout.records()
        for family in self._planted:
            yield from family.records()
        ids = Ids(self._ids)
        background = Background(self.timeline, _stream(self.settings.seed, "background"))
        queue, position = self._queue, 0
        for index, size in enumerate(self._sizes):
            slots = []
            while position < len(queue) and queue[position][0] <= index:
                slots.append(queue[position][1])
                position += 1
            unit = self.layout.units[self._unit_of(index)]
            yield from background.family(ids, unit, size, slots).records()

    def snapshot(self) -> Snapshot:
        """Return the whole practice as one snapshot (meant for up to a few hundred thousand patients)."""
        sections: dict[str, list[BaseModel]] = {name: [] for name in SECTIONS}
        with _collector_paused():
            for section, record in self.iter_records():
                if section != "practice":
                    sections[section].append(record)
        return Snapshot(practice=self.layout.practice, as_of=self.timeline.as_of, **sections)

    def summary(self, *, max_openings: int = 10) -> PracticeSummary:
        """Count the practice's records and find its openings, streaming.

        Memory stays bounded by the schedule window: only schedule blocks and the
        appointments booked inside the window are kept.

        Args:
            max_openings: How many openings (the earliest) to list.
        """
        counts = dict.fromkeys(SECTIONS, 0)
        blocks: list[ScheduleBlock] = []
        booked: list[Appointment] = []
        start, end = self.timeline.window_start, self.timeline.window_end
        with _collector_paused():
            for section, record in self.iter_records():
                if section == "practice":
                    continue
                counts[section] += 1
                if isinstance(record, ScheduleBlock):
                    blocks.append(record)
                elif (
                    isinstance(record, Appointment)
                    and record.status in _BOOKED
                    and record.start is not None
                    and record.end is not None
                    and record.start < end
                    and record.end > start
                ):
                    booked.append(record)
        practice: Practice = self.layout.practice
        openings = find_openings(blocks, booked, tz=self.timeline.tz, min_minutes=practice.min_opening_minutes)
        return PracticeSummary(
            practice_id=practice.id,
            practice_name=practice.name,
            timezone=practice.timezone,
            as_of=self.timeline.as_of,
            counts=counts,
            opening_count=len(openings),
            openings=tuple(openings[:max_openings]),
        )


def generate(settings: DemoSettings | None = None) -> DemoPractice:
    """Return the demo practice for ``settings`` (the defaults when ``None``)."""
    return DemoPractice(settings)

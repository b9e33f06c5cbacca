"""The demo practice's people, chairs and schedule: everything decided before any patient.

A practice is one or more *units* of six chairs (four restorative, two hygiene), two
dentists, a visiting specialist, two hygienists and eight staff; bigger practices are groups
of units, about one chair per 350 patients. Each unit's schedule over the
:attr:`~sophie.adapters.demo.calendar.Timeline.window` is cut into :class:`Slot` s before any
patient exists; the families generated later fill them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from sophie.adapters.demo.calendar import (
    DENTIST_HOURS,
    HYGIENE_HOURS,
    PRACTICE_HOURS,
    Timeline,
    block_minutes,
)
from sophie.adapters.demo.catalog import FEMALE_NAMES, LAST_NAMES, MALE_NAMES
from sophie.model.enums import AppointmentStatus, BrokenKind, ProviderKind
from sophie.model.records import Operatory, Period, Practice, Provider, ScheduleBlock, StaffMember

__all__ = ["PATIENTS_PER_UNIT", "Layout", "Slot", "Unit", "build_slots"]

PATIENTS_PER_UNIT = 2000
"""Patients per unit of six chairs."""

# (roles, title) of the eight staff of a unit, in id order; index 4 (office manager) manages.
_STAFF_PLAN: tuple[tuple[tuple[str, ...], str], ...] = (
    (("owner_dentist",), "DDS"),
    (("associate_dentist",), "DMD"),
    (("hygienist", "hygiene_coordinator"), "RDH"),
    (("hygienist",), "RDH"),
    (("office_manager", "financial_coordinator"), ""),
    (("treatment_coordinator", "scheduling_coordinator"), ""),
    (("front_desk", "insurance_coordinator"), ""),
    (("assistant",), "CDA"),
)
_MANAGER = 4
_OWNER = 0
_RESTORATIVE = (30, 40, 60, 60, 80, 90)
_HYGIENE = (60, 60, 60, 60, 90, 50)
Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Unit:
    """One office of six chairs and who works in them.

    Attributes:
        number: 0-based unit number.
        owner: Provider id of the unit's lead (owner) dentist.
        associate: Provider id of the associate dentist.
        specialist: Provider id of the visiting endodontist (Tuesdays and Thursdays).
        hygienists: Provider ids of the two hygienists.
        operatories: The six chair ids; the last two are hygiene chairs.
        staff: Role -> id of the staff member who holds it in this unit.
    """

    number: int
    owner: str
    associate: str
    specialist: str
    hygienists: tuple[str, str]
    operatories: tuple[str, ...]
    staff: Mapping[str, str]

    def chairs(self, weekday: int, *, hygiene: bool) -> list[tuple[str, str]]:
        """Return ``(operatory, provider)`` for each hygiene (or other) chair staffed on ``weekday``."""
        numbers = (4, 5) if hygiene else (0, 1, 2, 3)
        staffed = [(chair, self.provider_in(chair, weekday)) for chair in numbers]
        return [(self.operatories[chair], provider) for chair, provider in staffed if provider is not None]

    def provider_in(self, chair: int, weekday: int) -> str | None:
        """Return who works in chair ``chair`` (0-5) on ``weekday`` (Monday 0), or ``None``."""
        if chair in (0, 3):
            return self.owner
        if chair == 1:
            return self.associate
        if chair == 2:
            return self.specialist if weekday in (1, 3) else self.associate
        if chair == 4:
            return self.hygienists[0]
        return None if weekday == 4 else self.hygienists[1]


class Layout:
    """The practice record, staff, providers, chairs and schedule blocks of the demo.

    Args:
        patients: How many patients the practice has (sets the number of units).
        timeline: The practice calendar.
        rng: The random source for names.
    """

    def __init__(self, patients: int, timeline: Timeline, rng: random.Random) -> None:
        count = max(1, round(patients / PATIENTS_PER_UNIT))
        self.timeline = timeline
        self.practice = Practice(
            id="demo",
            name="Maple Grove Family Dentistry" if count == 1 else "Maple Grove Dental Group",
            timezone=str(timeline.tz.key),
            hours=PRACTICE_HOURS,
            holidays=sorted(timeline.holidays),
            country="US",
            min_opening_minutes=30,
        )
        self.units: list[Unit] = []
        self.staff: list[StaffMember] = []
        self.providers: list[Provider] = []
        self.operatories: list[Operatory] = []
        for number in range(count):
            self._add_unit(number, rng)
        self.blocks = list(self._blocks())

    def _add_unit(self, number: int, rng: random.Random) -> None:
        staff_ids = [f"s-{8 * number + k + 1}" for k in range(8)]
        names = [f"{rng.choice(FEMALE_NAMES + MALE_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(9)]
        manager_of = staff_ids[_MANAGER]
        for k, (roles, _title) in enumerate(_STAFF_PLAN):
            if k == _OWNER:
                manager = None if number == 0 else "s-1"
            else:
                manager = staff_ids[_OWNER] if k == _MANAGER else manager_of
            self.staff.append(
                StaffMember(
                    id=staff_ids[k],
                    name=names[k],
                    roles=list(roles),
                    manager_id=manager,
                    out_of_office=self._leave() if number == 0 and k == 6 else [],
                )
            )
        provider_ids = [f"prov-{5 * number + k + 1}" for k in range(5)]
        clinicians = (
            (names[0], "DDS", ProviderKind.DENTIST, staff_ids[0]),
            (names[1], "DMD", ProviderKind.DENTIST, staff_ids[1]),
            (names[8], "DDS, MS (endodontics)", ProviderKind.SPECIALIST, None),
            (names[2], "RDH", ProviderKind.HYGIENIST, staff_ids[2]),
            (names[3], "RDH", ProviderKind.HYGIENIST, staff_ids[3]),
        )
        for provider_id, (name, title, kind, staff_id) in zip(provider_ids, clinicians, strict=True):
            prefix = "Dr. " if kind != ProviderKind.HYGIENIST else ""
            self.providers.append(
                Provider(id=provider_id, name=f"{prefix}{name}, {title}", kind=kind, staff_id=staff_id)
            )
        chairs = tuple(f"op-{6 * number + k + 1}" for k in range(6))
        for k, chair in enumerate(chairs):
            label = f"Op {6 * number + k + 1}" if k < 4 else f"Hyg {2 * number + k - 3}"
            self.operatories.append(Operatory(id=chair, name=label, hygiene=k >= 4))
        holders: dict[str, str] = {}
        for k, (held, _title) in enumerate(_STAFF_PLAN):
            for role in held:
                holders.setdefault(role, staff_ids[k])
        self.units.append(
            Unit(
                number=number,
                owner=provider_ids[0],
                associate=provider_ids[1],
                specialist=provider_ids[2],
                hygienists=(provider_ids[3], provider_ids[4]),
                operatories=chairs,
                staff=holders,
            )
        )

    def _leave(self) -> list[Period]:
        """A few days off for the first unit's front desk, around today."""
        timeline = self.timeline
        start = timeline.at(timeline.shift(timeline.day0, -1), 0)
        end = timeline.at(timeline.shift(timeline.day0, 2), 23, 59)
        return [Period(start=start, end=end)]

    def _blocks(self) -> Iterator[ScheduleBlock]:
        return self.day_blocks(self.timeline.window)

    def day_blocks(self, days: Sequence[date]) -> Iterator[ScheduleBlock]:
        """Yield who works in which chair when on ``days``, unit by unit, chair by chair."""
        for unit in self.units:
            for day in days:
                for chair, operatory_id in enumerate(unit.operatories):
                    provider_id = unit.provider_in(chair, day.weekday())
                    if provider_id is None:
                        continue
                    hours = HYGIENE_HOURS if chair >= 4 else DENTIST_HOURS
                    for first, last in block_minutes(hours[day.weekday()]):
                        yield ScheduleBlock(
                            provider_id=provider_id,
                            operatory_id=operatory_id,
                            start=self.timeline.at(day, first // 60, first % 60),
                            end=self.timeline.at(day, last // 60, last % 60),
                        )

    def unit_of(self, operatory_id: str) -> Unit:
        """Return the unit that holds chair ``operatory_id``."""
        return self.units[(int(operatory_id.removeprefix("op-")) - 1) // 6]

    def records(self) -> Iterator[tuple[str, BaseModel]]:
        """Yield ``(section, record)`` for the practice-wide sections, practice first."""
        yield "practice", self.practice
        for section, records in (
            ("staff", self.staff),
            ("providers", self.providers),
            ("operatories", self.operatories),
            ("schedule_blocks", self.blocks),
        ):
            for record in records:
                yield section, record


@dataclass(frozen=True, slots=True)
class Slot:
    """A stretch of one chair's schedule that a background patient will be booked into.

    Attributes:
        unit: The unit number.
        operatory_id: The chair.
        provider_id: The provider whose block holds it.
        start: Start.
        end: End.
        hygiene: Whether it is in a hygiene chair.
        status: What became of the booking as of ``as_of``.
        created_at: When it was booked.
        confirmed: Whether the patient confirmed.
        asap: Whether the patient asked for an earlier time.
        broken_kind: For broken bookings, cancelled or no-show.
        broken_at: For broken bookings, when they broke.
    """

    unit: int
    operatory_id: str
    provider_id: str
    start: datetime
    end: datetime
    hygiene: bool
    status: AppointmentStatus
    created_at: datetime
    confirmed: bool = False
    asap: bool = False
    broken_kind: BrokenKind | None = None
    broken_at: datetime | None = None


def _free(block: ScheduleBlock, taken: Sequence[Span]) -> Iterator[Span]:
    cursor = block.start
    for start, end in sorted(taken):
        if end <= cursor or start >= block.end:
            continue
        if start > cursor:
            yield cursor, start
        cursor = max(cursor, end)
    if cursor < block.end:
        yield cursor, block.end


def _cut(span: Span, lengths: Sequence[int], rng: random.Random) -> Iterator[Span]:
    """Cut ``span`` into visits of the given lengths (minutes) with nothing left over.

    A stretch shorter than 30 minutes becomes one short visit (a post-operative check), so
    that no sliver of free time is left to merge into a neighbouring opening.
    """
    start, end = span
    remaining = int((end - start).total_seconds() // 60)
    while remaining > 0:
        options = [m for m in lengths if m == remaining or m <= remaining - 30]
        minutes = rng.choice(options) if options else remaining
        yield start, start + timedelta(minutes=minutes)
        start += timedelta(minutes=minutes)
        remaining -= minutes


def _fate(
    timeline: Timeline, span: Span, rng: random.Random, *, protected: bool, arrive: bool
) -> tuple[AppointmentStatus, dict[str, object]] | None:
    """Decide what became of a booking: ``None`` leaves the time unbooked (an opening)."""
    start, end = span
    as_of = timeline.as_of
    draw = rng.random()
    if end <= as_of:
        if protected or draw < 0.90:
            return AppointmentStatus.COMPLETED, {"confirmed": rng.random() < 0.9}
        if draw < 0.95:
            return AppointmentStatus.BROKEN, {
                "broken_kind": BrokenKind.NO_SHOW,
                "broken_at": start + timedelta(minutes=15),
            }
        broken_at = start - timedelta(hours=rng.randint(2, 40))
        return AppointmentStatus.BROKEN, {"broken_kind": BrokenKind.CANCELLED, "broken_at": broken_at}
    if start - timedelta(minutes=30) <= as_of and (arrive or draw < 0.4):
        return AppointmentStatus.ARRIVED, {"confirmed": True}
    if not protected and draw > 0.94:
        return None
    if not protected and draw > 0.91:
        broken_at = as_of - timedelta(minutes=rng.randint(15, 36 * 60))
        return AppointmentStatus.BROKEN, {"broken_kind": BrokenKind.CANCELLED, "broken_at": broken_at}
    ahead = start - as_of
    chance = 0.85 if ahead <= timedelta(hours=24) else 0.7 if ahead <= timedelta(hours=72) else 0.35
    return AppointmentStatus.SCHEDULED, {"confirmed": rng.random() < chance, "asap": rng.random() < 0.03}


def build_slots(layout: Layout, reserved: Mapping[str, Sequence[Span]], rng: random.Random) -> list[list[Slot]]:
    """Cut the schedule (the history days and the window) into background bookings, per unit.

    Args:
        layout: The practice layout.
        reserved: Chair id -> spans that planted scenarios use (booked or kept open).
        rng: The random source for lengths and fates.

    Returns:
        The slots of each unit, in chair and time order. In unit 0, the protected days
        (:attr:`Timeline.protected`) have every slot booked, so that planted openings keep
        their exact start and length.
    """
    timeline = layout.timeline
    per_unit: list[list[Slot]] = [[] for _ in layout.units]
    first_of_day: set[tuple[str, object]] = set()
    for block in [*layout.day_blocks(timeline.history), *layout.blocks]:
        unit = layout.unit_of(block.operatory_id)
        hygiene = block.operatory_id in unit.operatories[4:]
        day = block.start.date()
        protected = unit.number == 0 and day in timeline.protected
        for free in _free(block, reserved.get(block.operatory_id, ())):
            for span in _cut(free, _HYGIENE if hygiene else _RESTORATIVE, rng):
                key = (block.operatory_id, day)
                arrive = unit.number == 0 and block.operatory_id == unit.operatories[4] and key not in first_of_day
                first_of_day.add(key)
                fate = _fate(timeline, span, rng, protected=protected, arrive=arrive and day == timeline.today)
                if fate is None:
                    continue
                status, extra = fate
                booked = span[0] - timedelta(days=rng.randint(3, 150), hours=rng.randint(0, 6))
                latest = extra.get("broken_at", timeline.as_of)
                assert isinstance(latest, datetime)
                per_unit[unit.number].append(
                    Slot(
                        unit=unit.number,
                        operatory_id=block.operatory_id,
                        provider_id=block.provider_id,
                        start=span[0],
                        end=span[1],
                        hygiene=hygiene,
                        status=status,
                        created_at=min(booked, latest - timedelta(hours=1)),
                        **extra,  # type: ignore[arg-type]
                    )
                )
    return per_unit

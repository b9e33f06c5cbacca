"""Writing one background patient's visits: appointments with their procedures and claims.

:class:`VisitWriter` books a visit (from a schedule slot or at a random time outside the
schedule window), puts the procedures on it and, when it is completed, bills it. The
patient's story (which visits, which treatment) is told by
:mod:`sophie.adapters.demo.background`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sophie.adapters.demo.calendar import DENTIST_HOURS, HYGIENE_HOURS, Timeline
from sophie.adapters.demo.catalog import CODES, MOLARS, POSTERIOR, money
from sophie.adapters.demo.followups import Followups, Visit
from sophie.adapters.demo.layout import Slot
from sophie.adapters.demo.records import FamilyRecords, Household
from sophie.model.enums import AppointmentStatus, BrokenKind, PatientStatus, ProcedureStatus
from sophie.model.records import Appointment, Patient, Procedure

__all__ = ["Member", "VisitWriter", "is_short"]


def is_short(slot: Slot) -> bool:
    """Return whether ``slot`` is too short for a cleaning or a filling (a post-operative check)."""
    return slot.end - slot.start < timedelta(minutes=30)


@dataclass(slots=True)
class Member:
    """One member of a family as first drawn, before the patient record exists.

    Attributes:
        first: First name.
        birth: Birth date.
        status: Patient status.
        adult: Whether 18 or older.
        slots: The schedule slots handed to this member.
    """

    first: str
    birth: date
    status: PatientStatus
    adult: bool
    slots: list[Slot] = field(default_factory=list)


class VisitWriter:
    """Books one background patient's visits and writes the procedures on them.

    Args:
        timeline: The practice calendar.
        rng: The family generator's random source.
        records: Where the family's records go.
        household: What the family shares.
        followups: Claims, recalls and contacts for the family.
        patient: The patient.
        member: The patient's member draw (status, age, slots).
    """

    def __init__(
        self,
        timeline: Timeline,
        rng: random.Random,
        records: FamilyRecords,
        household: Household,
        followups: Followups,
        patient: Patient,
        member: Member,
    ) -> None:
        self.timeline = timeline
        self.rng = rng
        self.records = records
        self.household = household
        self.followups = followups
        self.patient = patient
        self.member = member
        self.perio = member.adult and self.rng.random() < 0.1
        self.interval = timedelta(days=91 if self.perio else 182)
        self.next_hygiene: Appointment | None = None

    # -- visits ------------------------------------------------------------------

    def _hygiene_codes(self) -> tuple[str, ...]:
        if not self.member.adult:
            return ("D0120", "D1120", "D1206")
        if self.perio:
            return ("D4910", "D0120") if self.rng.random() < 0.5 else ("D4910",)
        return ("D0120", "D1110", "D0274") if self.rng.random() < 0.5 else ("D0120", "D1110")

    def _chair(self, start: datetime, hygiene: bool) -> tuple[str, str]:
        return self.rng.choice(self.household.unit.chairs(start.weekday(), hygiene=hygiene))

    def _visit(
        self,
        start: datetime,
        minutes: int,
        codes: tuple[str, ...],
        status: AppointmentStatus,
        *,
        hygiene: bool,
        plan_id: str | None = None,
        **extra: Any,
    ) -> Visit:
        operatory, provider = self._chair(start, hygiene)
        end = start + timedelta(minutes=minutes)
        appointment = self.records.add_appointment(
            patient_id=self.patient.id,
            status=status,
            start=start,
            end=end,
            provider_id=provider,
            operatory_id=operatory,
            hygiene=hygiene,
            created_at=extra.pop("created_at", None)
            or min(start - timedelta(days=30), self.timeline.as_of - timedelta(days=1)),
            **extra,
        )
        return self._attach(appointment, codes, plan_id)

    def _from_slot(self, slot: Slot, codes: tuple[str, ...], plan_id: str | None = None) -> Visit:
        appointment = self.records.add_appointment(
            patient_id=self.patient.id,
            status=slot.status,
            start=slot.start,
            end=slot.end,
            provider_id=slot.provider_id,
            operatory_id=slot.operatory_id,
            confirmed=slot.confirmed,
            asap=slot.asap,
            broken_kind=slot.broken_kind,
            broken_at=slot.broken_at,
            hygiene=slot.hygiene,
            created_at=slot.created_at,
        )
        return self._attach(appointment, codes, plan_id)

    def _attach(self, appointment: Appointment, codes: tuple[str, ...], plan_id: str | None) -> Visit:
        done = appointment.status == AppointmentStatus.COMPLETED
        procedures = [
            self._procedure(
                code,
                ProcedureStatus.COMPLETED if done else ProcedureStatus.PLANNED,
                appointment_id=appointment.id,
                treatment_plan_id=plan_id,
                completed_at=appointment.end if done else None,
                planned_at=None if done else appointment.created_at,
            )
            for code in codes
        ]
        visit = Visit(appointment, procedures)
        if done:
            self.followups.bill(self.patient, visit)
        elif appointment.status == AppointmentStatus.SCHEDULED:
            self.followups.confirm(self.patient, appointment)
        return visit

    def _procedure(self, code: str, status: ProcedureStatus, **fields: Any) -> Procedure:
        entry = CODES[code]
        if "tooth" not in fields and code.startswith(("D2", "D3", "D1351", "D7")):
            fields["tooth"] = self.rng.choice(MOLARS if code in ("D3330", "D2740", "D2950", "D1351") else POSTERIOR)
        return self.records.add_procedure(
            patient_id=self.patient.id,
            code=code,
            description=entry.description,
            fee=money(entry.fee_cents),
            status=status,
            **fields,
        )

    def _completed(self, day: date, *, hygiene: bool, codes: tuple[str, ...], plan_id: str | None = None) -> Visit:
        minutes = 60 if hygiene else self.rng.choice((30, 60, 90))
        start = self.timeline.random_start(day, minutes, self.rng, HYGIENE_HOURS if hygiene else DENTIST_HOURS)
        if self.rng.random() < 0.06:
            self._broken_before(start - timedelta(days=self.rng.randint(5, 14)), hygiene=hygiene)
        confirmed = self.rng.random() < 0.85
        return self._visit(
            start, minutes, codes, AppointmentStatus.COMPLETED, hygiene=hygiene, plan_id=plan_id, confirmed=confirmed
        )

    def _broken_before(self, around: datetime, *, hygiene: bool) -> None:
        day = self.timeline.snap(around.date(), "earlier")
        start = self.timeline.random_start(day, 60, self.rng, HYGIENE_HOURS)
        if self.rng.random() < 0.55:
            kind, broken_at = BrokenKind.CANCELLED, start - timedelta(hours=self.rng.randint(20, 70))
        else:
            kind, broken_at = BrokenKind.NO_SHOW, start + timedelta(minutes=15)
        self._visit(start, 60, (), AppointmentStatus.BROKEN, hygiene=hygiene, broken_kind=kind, broken_at=broken_at)
        self.followups.after_broken(self.patient, broken_at)

    def _future(self, day: date, codes: tuple[str, ...], *, hygiene: bool, plan_id: str | None = None) -> Visit:
        rng = self.rng
        minutes = 60 if hygiene else rng.choice((30, 60, 90))
        start = self.timeline.random_start(day, minutes, rng, HYGIENE_HOURS if hygiene else DENTIST_HOURS)
        booked = self.timeline.as_of - timedelta(days=rng.randint(1, 150), hours=rng.randint(0, 8))
        return self._visit(
            start,
            minutes,
            codes,
            AppointmentStatus.SCHEDULED,
            hygiene=hygiene,
            plan_id=plan_id,
            confirmed=rng.random() < 0.3,
            asap=rng.random() < 0.04,
            created_at=booked,
        )

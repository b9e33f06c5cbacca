"""Planted stalls: the ground truth the default rule pack is tested against.

Each planted family is an ordinary patient (a hygiene visit a few months ago, its claim
paid, a recall not yet due) plus one carefully timed situation: a stall that a rule of
the default pack (``dental-core``) must find, or a near-miss just on the
other side of that rule's threshold, which it must not. :class:`PlantKit` holds the
building blocks; the scenarios live in ``demo_plants_*`` modules, one per rule family.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sophie.adapters.demo.calendar import Timeline
from sophie.adapters.demo.catalog import CODES, FEMALE_NAMES, LAST_NAMES, MALE_NAMES, money
from sophie.adapters.demo.followups import Visit, expected_cents
from sophie.adapters.demo.layout import Layout
from sophie.adapters.demo.records import FamilyRecords, Ids
from sophie.model.enums import (
    AppointmentStatus,
    ClaimKind,
    ClaimStatus,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactTopic,
    PlanStatus,
    PreferredContact,
    ProcedureStatus,
    RecallKind,
)
from sophie.model.openings import opening_id
from sophie.model.records import Appointment, Claim, Contact, Patient, Procedure, TreatmentPlan

__all__ = ["HYGIENE", "RESTORATIVE", "Plant", "PlantKit", "Span"]

Span = tuple[datetime, datetime]
HYGIENE = (4, 5)
"""Chair numbers (0-based, within a unit) of the hygiene chairs."""
RESTORATIVE = (0, 1, 3, 2)
"""Chair numbers of the restorative chairs, in order of preference."""
_TEETH = {"D2740": "30", "D2950": "30", "D2392": "19", "D2391": "14", "D2393": "3", "D3330": "30", "D7140": "17"}


@dataclass(frozen=True)
class Plant:
    """One planted situation and what the default pack must make of it.

    Attributes:
        kind: The rule id in the default pack ``dental-core``, e.g. ``tx.unscheduled.first_touch``.
        subject_type: The entity type of the subject (``treatment_plan``, ``appointment``,
            ``claim``, ``recall``, ``patient``, ``procedure``, ``balance``, ``opening``).
        subject_id: The subject's id (a balance's is its guarantor's patient id).
        fires: ``True`` for a stall the rule must find; ``False`` for a near-miss it must not.
        note: One line: why, with the threshold.
    """

    kind: str
    subject_type: str
    subject_id: str
    fires: bool
    note: str


class PlantKit:
    """Builds planted families and records their ground truth.

    Args:
        timeline: The practice calendar.
        layout: The practice layout; planted visits use the first unit's chairs.
        ids: The id source (plants are built before the background, so they come first).
        rng: The random source for names and for the ordinary history.

    Attributes:
        families: The planted families, in the order they were built.
        plants: The ground truth.
        reserved: Chair id -> spans planted visits and openings take in the booked schedule
            (the history days and the window).
    """

    def __init__(self, timeline: Timeline, layout: Layout, ids: Ids, rng: random.Random) -> None:
        self.timeline = timeline
        self.unit = layout.units[0]
        self.ids = ids
        self.rng = rng
        self.families: list[FamilyRecords] = []
        self.plants: list[Plant] = []
        self.reserved: dict[str, list[Span]] = {}

    # -- people ------------------------------------------------------------------

    def family(self) -> FamilyRecords:
        """Start a new planted family."""
        records = FamilyRecords(self.ids)
        self.families.append(records)
        return records

    def patient(
        self, records: FamilyRecords, *, age: int = 45, guarantor: Patient | None = None, **fields: Any
    ) -> Patient:
        """Add an active, insured, reachable patient (override any field)."""
        rng = self.rng
        first = rng.choice(FEMALE_NAMES if rng.random() < 0.5 else MALE_NAMES)
        values: dict[str, Any] = {
            "first_name": first,
            "last_name": guarantor.last_name if guarantor else rng.choice(LAST_NAMES),
            "birth_date": self.timeline.today - timedelta(days=365 * age + rng.randint(0, 300)),
            "preferred_contact": rng.choice((PreferredContact.PHONE, PreferredContact.TEXT)),
            "guarantor_id": guarantor.id if guarantor else None,
            "primary_provider_id": self.unit.owner,
            "insured": True,
        }
        values.update(fields)
        return records.add_patient(**values)

    def single(self, *, ordinary: bool = True, **fields: Any) -> tuple[FamilyRecords, Patient]:
        """Start a one-patient family; with ``ordinary``, give the patient an unremarkable past."""
        records = self.family()
        patient = self.patient(records, **fields)
        if ordinary:
            self.ordinary(records, patient)
        return records, patient

    def plant(self, kind: str, subject_type: str, subject_id: str, *, fires: bool, note: str) -> None:
        """Record one ground-truth entry."""
        self.plants.append(Plant(kind, subject_type, subject_id, fires, note))

    # -- time --------------------------------------------------------------------

    def day(self, steps: int, hour: int, minute: int = 0) -> datetime:
        """Return ``hour:minute`` on the open day ``steps`` open days after ``day0``."""
        return self.timeline.at(self.timeline.shift(self.timeline.day0, steps), hour, minute)

    def hours_ahead(self, moment: datetime) -> float:
        """Return how many hours after ``as_of`` ``moment`` is (real hours, across DST too)."""
        return (moment.astimezone(UTC) - self.timeline.as_of.astimezone(UTC)).total_seconds() / 3600

    # -- the schedule ------------------------------------------------------------

    def _chair(self, start: datetime, end: datetime, chairs: Sequence[int]) -> tuple[str, str] | None:
        """Return the first of ``chairs`` free at that time, else any chair (same kind first)."""
        kinds = (HYGIENE + RESTORATIVE) if chairs[0] in HYGIENE else (RESTORATIVE + HYGIENE)
        for chair in (*chairs, *(c for c in kinds if c not in chairs)):
            operatory = self.unit.operatories[chair]
            provider = self.unit.provider_in(chair, start.weekday())
            if provider is None:
                if self.timeline.in_schedule(start):
                    continue
                provider = self.unit.hygienists[0] if chair >= 4 else self.unit.owner
            if all(end <= s or start >= e for s, e in self.reserved.get(operatory, ())):
                return operatory, provider
        return None

    def _reserve(self, operatory: str, start: datetime, end: datetime) -> None:
        if self.timeline.in_schedule(start):
            self.reserved.setdefault(operatory, []).append((start, end))

    def keep_open(self, chairs: Sequence[int], start: datetime, minutes: int) -> str:
        """Keep a gap free of background bookings and return the id of the opening it makes."""
        end = start + timedelta(minutes=minutes)
        found = self._chair(start, end, chairs)
        if found is None:
            raise AssertionError(f"no chair is free for an opening at {start:%Y-%m-%d %H:%M}")
        self._reserve(found[0], start, end)
        return opening_id(found[0], start, self.timeline.tz)

    def book(
        self,
        records: FamilyRecords,
        patient: Patient,
        start: datetime,
        minutes: int,
        *,
        chairs: Sequence[int],
        codes: Sequence[str] = (),
        plan_id: str | None = None,
        status: AppointmentStatus = AppointmentStatus.SCHEDULED,
        **fields: Any,
    ) -> Visit:
        """Add a visit in the first free chair of ``chairs``, with procedures for ``codes``.

        When every chair is taken at ``start`` (a short Friday), the visit moves by half
        hours, later first, to the nearest free time the same day.
        """
        for shift in (0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180, -180):
            moved = start + timedelta(minutes=shift)
            found = self._chair(moved, moved + timedelta(minutes=minutes), chairs)
            if found is not None and moved.date() == start.date():
                break
        else:
            raise AssertionError(f"no chair is free around {start:%Y-%m-%d %H:%M}")
        start, end = moved, moved + timedelta(minutes=minutes)
        operatory, provider = found
        self._reserve(operatory, start, end)
        fields.setdefault("created_at", min(start, self.timeline.as_of) - timedelta(days=14, hours=3))
        fields.setdefault("confirmed", status == AppointmentStatus.SCHEDULED)
        appointment = records.add_appointment(
            patient_id=patient.id,
            status=status,
            start=start,
            end=end,
            provider_id=provider,
            operatory_id=operatory,
            hygiene=any(CODES[code].hygiene for code in codes),
            **fields,
        )
        done = status == AppointmentStatus.COMPLETED
        procedures = self.procedures(
            records,
            patient,
            codes,
            ProcedureStatus.COMPLETED if done else ProcedureStatus.PLANNED,
            appointment=appointment,
            plan_id=plan_id,
        )
        return Visit(appointment, procedures)

    # -- charts ------------------------------------------------------------------

    def procedures(
        self,
        records: FamilyRecords,
        patient: Patient,
        codes: Sequence[str],
        status: ProcedureStatus,
        *,
        appointment: Appointment | None = None,
        plan_id: str | None = None,
        planned_at: datetime | None = None,
    ) -> list[Procedure]:
        """Add procedures for ``codes``, on ``appointment`` and plan ``plan_id`` when given."""
        done = status == ProcedureStatus.COMPLETED
        return [
            records.add_procedure(
                patient_id=patient.id,
                code=code,
                description=CODES[code].description,
                fee=money(CODES[code].fee_cents),
                status=status,
                planned_at=None if done else planned_at or (appointment.created_at if appointment else None),
                completed_at=appointment.end if done and appointment else None,
                appointment_id=appointment.id if appointment else None,
                treatment_plan_id=plan_id,
                tooth=_TEETH.get(code),
            )
            for code in codes
        ]

    def plan(
        self,
        records: FamilyRecords,
        patient: Patient,
        presented_at: datetime,
        codes: Sequence[str] = (),
        *,
        status: PlanStatus = PlanStatus.PRESENTED,
    ) -> tuple[TreatmentPlan, list[Procedure]]:
        """Add a treatment plan presented at ``presented_at`` with unscheduled ``codes``."""
        decided = presented_at + timedelta(hours=1) if status in (PlanStatus.ACCEPTED, PlanStatus.DECLINED) else None
        plan = records.add_plan(patient_id=patient.id, status=status, presented_at=presented_at, decided_at=decided)
        procedures = self.procedures(
            records, patient, codes, ProcedureStatus.PLANNED, plan_id=plan.id, planned_at=presented_at
        )
        return plan, procedures

    def claim(
        self,
        records: FamilyRecords,
        patient: Patient,
        procedures: Sequence[Procedure],
        *,
        status: ClaimStatus,
        kind: ClaimKind = ClaimKind.PRIMARY,
        sent_at: datetime | None = None,
        received_at: datetime | None = None,
        paid_percent: int | None = None,
    ) -> Claim:
        """Add a claim for ``procedures``; ``paid_percent`` of the expected amount was paid."""
        billed = sum(int(p.fee * 100) for p in procedures)
        expected = expected_cents(list(procedures))
        if kind == ClaimKind.PREAUTH:
            expected = billed // 2
        elif kind == ClaimKind.SECONDARY:
            expected = (billed - expected) // 2
        completed = procedures[0].completed_at if procedures else None
        return records.add_claim(
            patient_id=patient.id,
            kind=kind,
            status=status,
            carrier="Delta Dental" if kind != ClaimKind.SECONDARY else "Secondary: MetLife",
            service_date=None if completed is None else completed.date(),
            sent_at=sent_at,
            received_at=received_at,
            billed=money(billed),
            expected=money(expected),
            paid=None if paid_percent is None else money(expected * paid_percent // 100),
            procedure_ids=[p.id for p in procedures],
        )

    def contact(
        self,
        records: FamilyRecords,
        patient: Patient,
        at: datetime,
        topic: ContactTopic,
        outcome: ContactOutcome,
        **fields: Any,
    ) -> Contact:
        """Add an outbound phone call (override channel, direction or staff)."""
        fields.setdefault("channel", ContactChannel.PHONE)
        fields.setdefault("direction", ContactDirection.OUT)
        roles = {
            ContactTopic.TREATMENT: "treatment_coordinator",
            ContactTopic.INSURANCE: "insurance_coordinator",
            ContactTopic.BILLING: "financial_coordinator",
            ContactTopic.RECALL: "hygiene_coordinator",
        }
        fields.setdefault("staff_id", self.unit.staff[roles.get(topic, "scheduling_coordinator")])
        return records.add_contact(patient_id=patient.id, at=at, topic=topic, outcome=outcome, **fields)

    def hygiene_visit(self, records: FamilyRecords, patient: Patient, day: date, *, paid: bool = True) -> Visit:
        """Add a completed cleaning on ``day`` and, when insured, its paid claim."""
        start = self.timeline.at(day, self.rng.choice((8, 9, 10, 11)), self.rng.choice((0, 30)))
        visit = self.book(
            records,
            patient,
            start,
            60,
            chairs=HYGIENE,
            codes=self.cleaning(patient),
            status=AppointmentStatus.COMPLETED,
        )
        if paid and patient.insured:
            end = visit.appointment.end
            assert end is not None
            self.claim(
                records,
                patient,
                visit.procedures,
                status=ClaimStatus.CLOSED,
                sent_at=end + timedelta(hours=2),
                received_at=end + timedelta(days=16),
                paid_percent=100,
            )
        return visit

    def cleaning(self, patient: Patient) -> tuple[str, ...]:
        """Return the codes of a routine cleaning for ``patient`` (a child's under 14)."""
        born = patient.birth_date
        child = born is not None and (self.timeline.today - born).days < 14 * 365
        return ("D0120", "D1120") if child else ("D0120", "D1110")

    def ordinary(
        self, records: FamilyRecords, patient: Patient, *, recall_appointment: Appointment | None = None
    ) -> None:
        """Give a planted patient an unremarkable past: a paid cleaning months ago, a recall not yet due.

        With ``recall_appointment``, the recall is due around that visit and booked on it.
        """
        if recall_appointment is None or recall_appointment.start is None:
            ago = timedelta(days=self.rng.randint(95, 130))
            day = self.timeline.snap(self.timeline.today - ago, "earlier")
        else:
            day = self.timeline.snap(recall_appointment.start.date() - timedelta(days=182), "earlier")
        self.hygiene_visit(records, patient, day)
        records.add_recall(
            patient_id=patient.id,
            kind=RecallKind.PROPHY,
            due_date=day + timedelta(days=182),
            appointment_id=None if recall_appointment is None else recall_appointment.id,
        )

"""The background of the demo practice: ordinary families with ordinary histories.

Each family is a guarantor and dependents sharing a last name, an insurance carrier and a
unit (office). Each patient gets a hygiene cadence (regular, lapsing, lost), visits over the
past and coming months, treatment found at exams and what became of it, and the schedule
slots (:class:`~sophie.adapters.demo.layout.Slot`) the family was handed. Billing, recalls
and contacts are added by :mod:`sophie.adapters.demo.followups`.

The background is realistic, so it holds stalls of its own (an unconfirmed visit tomorrow,
a claim nobody chased); they are not part of the ground truth.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TypeVar

from sophie.adapters.demo.calendar import Timeline
from sophie.adapters.demo.catalog import CARRIERS, CHILD_NAMES, FEMALE_NAMES, LAST_NAMES, MALE_NAMES, RESTORATIVE_PLANS
from sophie.adapters.demo.followups import Followups
from sophie.adapters.demo.layout import Slot, Unit
from sophie.adapters.demo.records import FamilyRecords, Household, Ids
from sophie.adapters.demo.visits import Member, VisitWriter, is_short
from sophie.model.enums import AppointmentStatus, PatientStatus, PlanStatus, PreferredContact, ProcedureStatus
from sophie.model.records import Patient

__all__ = ["Background"]

_STATUSES = (
    (PatientStatus.ACTIVE, 0.835),
    (PatientStatus.INACTIVE, 0.08),
    (PatientStatus.ARCHIVED, 0.03),
    (PatientStatus.PROSPECTIVE, 0.04),
    (PatientStatus.DECEASED, 0.015),
)
_CONTACTS = (
    (PreferredContact.TEXT, 0.42),
    (PreferredContact.PHONE, 0.38),
    (PreferredContact.EMAIL, 0.12),
    (PreferredContact.MAIL, 0.05),
    (PreferredContact.NONE, 0.03),
)
_PLAN_FATES = (
    (PlanStatus.COMPLETED, 0.34),
    (PlanStatus.ACCEPTED, 0.20),
    (PlanStatus.PRESENTED, 0.26),
    (PlanStatus.DECLINED, 0.08),
    (PlanStatus.DRAFT, 0.04),
    (PlanStatus.INACTIVE, 0.08),
)
_CHILD_PLANS = (("D1351", "D1351"), ("D2391",), ("D2392",))


_T = TypeVar("_T")


def _pick(rng: random.Random, weighted: tuple[tuple[_T, float], ...]) -> _T:
    draw = rng.random()
    for value, weight in weighted:
        draw -= weight
        if draw < 0:
            return value
    return weighted[-1][0]


class Background:
    """Generates the background families, one at a time, from one random stream.

    Args:
        timeline: The practice calendar.
        rng: The random source; families must be generated in order for a repeatable result.
    """

    def __init__(self, timeline: Timeline, rng: random.Random) -> None:
        self.timeline = timeline
        self.rng = rng

    def family(self, ids: Ids, unit: Unit, size: int, slots: list[Slot]) -> FamilyRecords:
        """Return the records of one family of ``size`` patients holding ``slots``."""
        rng = self.rng
        insured = rng.random() < 0.7
        household = Household(
            unit=unit,
            last_name=rng.choice(LAST_NAMES),
            insured=insured,
            carrier=rng.choice(CARRIERS) if insured else None,
            secondary=insured and rng.random() < 0.08,
            contact=_pick(rng, _CONTACTS),
        )
        members = self._members(size)
        self._hand_out(members, slots)
        records = FamilyRecords(ids)
        followups = Followups(self.timeline, rng, records, household)
        guarantor: Patient | None = None
        for member in members:
            patient = self._patient(records, household, member, guarantor)
            guarantor = guarantor or patient
            _PatientHistory(self.timeline, self.rng, records, household, followups, patient, member).build()
        assert guarantor is not None
        followups.balance(guarantor)
        return records

    def _members(self, size: int) -> list[Member]:
        rng, today = self.rng, self.timeline.today
        age = rng.randint(22, 84) if size == 1 else rng.randint(26, 58)
        status = _pick(rng, _STATUSES)
        ages = [age]
        if size >= 2:
            ages.append(
                max(20, age + rng.randint(-5, 5)) if rng.random() < 0.7 else rng.randint(1, max(1, min(17, age - 20)))
            )
        ages += [rng.randint(1, max(1, min(17, age - 20))) for _ in range(size - len(ages))]
        members = []
        for position, years in enumerate(ages):
            adult = years >= 18
            names = (FEMALE_NAMES if rng.random() < 0.52 else MALE_NAMES) if adult else CHILD_NAMES
            own = status if position == 0 or rng.random() < 0.8 else _pick(rng, _STATUSES)
            if own == PatientStatus.DECEASED and not (adult and (position > 0 or size == 1)):
                own = PatientStatus.INACTIVE
            born = today - timedelta(days=365 * years + rng.randint(0, 364))
            members.append(Member(rng.choice(names), born, own, adult))
        return members

    @staticmethod
    def _hand_out(members: list[Member], slots: list[Slot]) -> None:
        """Give each slot to an active member, making the guarantor active if nobody is."""
        if not slots:
            return
        if not any(member.status == PatientStatus.ACTIVE for member in members):
            members[0].status = PatientStatus.ACTIVE
        active = [member for member in members if member.status == PatientStatus.ACTIVE]
        for slot in slots:
            min(active, key=lambda member: len(member.slots)).slots.append(slot)

    def _patient(
        self, records: FamilyRecords, household: Household, member: Member, guarantor: Patient | None
    ) -> Patient:
        rng = self.rng
        do_not_contact = rng.random() < 0.03
        preferred = household.contact
        if do_not_contact and rng.random() < 0.7:
            preferred = PreferredContact.NONE
        unit = household.unit
        return records.add_patient(
            first_name=member.first,
            last_name=household.last_name,
            birth_date=member.birth,
            status=member.status,
            preferred_contact=preferred,
            do_not_contact=do_not_contact,
            guarantor_id=None if guarantor is None else guarantor.id,
            primary_provider_id=unit.owner if rng.random() < 0.6 else unit.associate,
            insured=household.insured,
        )


class _PatientHistory(VisitWriter):
    """One background patient's story: cadence, visits, treatment, recalls, contacts."""

    def build(self) -> None:
        """Write the patient's visits, treatment, recalls and contacts."""
        status, rng, timeline = self.patient.status, self.rng, self.timeline
        hygiene_slots = [slot for slot in self.member.slots if slot.hygiene and not is_short(slot)]
        if status == PatientStatus.PROSPECTIVE:
            if rng.random() < 0.5:
                self._future(timeline.random_future_day(3, 40, rng), ("D0150", "D0210", "D1110"), hygiene=False)
            self.followups.inbound(self.patient)
            return
        for slot in self.member.slots:
            if is_short(slot):
                self._from_slot(slot, ("D0171",))
        last = self._last_hygiene(hygiene_slots)
        for slot in hygiene_slots:
            visit = self._from_slot(slot, self._hygiene_codes())
            if slot.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED) and self.next_hygiene is None:
                self.next_hygiene = visit.appointment
        if not hygiene_slots or hygiene_slots[0].status != AppointmentStatus.COMPLETED:
            self._completed(last, hygiene=True, codes=self._hygiene_codes())
        earlier = last - self.interval
        if status == PatientStatus.ACTIVE and earlier > timeline.today - timedelta(days=400):
            self._completed(timeline.snap(earlier, "earlier"), hygiene=True, codes=self._hygiene_codes())
        self._book_next(last)
        self._treatment(last)
        self._extras(last)
        self.followups.recalls(self.patient, last, self.interval, self.next_hygiene, perio=self.perio)
        self.followups.inbound(self.patient)

    def _last_hygiene(self, hygiene_slots: list[Slot]) -> date:
        rng, timeline = self.rng, self.timeline
        if hygiene_slots:
            first = hygiene_slots[0]
            if first.status == AppointmentStatus.COMPLETED:
                return first.start.date()
            return timeline.snap(first.start.date() - self.interval - timedelta(days=rng.randint(0, 14)), "earlier")
        interval = self.interval.days
        status = self.patient.status
        if status == PatientStatus.ACTIVE:
            cadence = rng.random()
            if cadence < 0.62 or self.member.slots:
                return timeline.random_past_day(7, interval - 5, rng)
            if cadence < 0.86:
                return timeline.random_past_day(interval + 7, 540, rng)
            return timeline.random_past_day(545, 900, rng)
        low, high = {
            PatientStatus.INACTIVE: (730, 1460),
            PatientStatus.ARCHIVED: (1095, 2500),
            PatientStatus.DECEASED: (365, 1800),
        }[status]
        return timeline.random_past_day(low, high, rng)

    def _book_next(self, last: date) -> None:
        rng, timeline = self.rng, self.timeline
        if self.next_hygiene is not None or self.patient.status != PatientStatus.ACTIVE:
            return
        due = last + self.interval
        regular = timeline.today - last < self.interval
        if regular and due > timeline.window[-1] and rng.random() < 0.82:
            day = timeline.snap(due, "later")
        elif not regular and rng.random() < 0.12:
            day = timeline.random_future_day(7, 60, rng)
        else:
            return
        self.next_hygiene = self._future(day, self._hygiene_codes(), hygiene=True).appointment
        self.followups.checkout(self.patient, timeline.at(last, 16, 30))

    def _treatment(self, last: date) -> None:
        rng, timeline = self.rng, self.timeline
        for slot in self.member.slots:
            if slot.hygiene or is_short(slot):
                continue
            presented = min(slot.start - timedelta(days=rng.randint(5, 40)), timeline.as_of - timedelta(days=1))
            done = slot.status == AppointmentStatus.COMPLETED
            plan = self.records.add_plan(
                patient_id=self.patient.id,
                status=PlanStatus.COMPLETED if done else PlanStatus.ACCEPTED,
                presented_at=presented,
                decided_at=presented + timedelta(hours=2),
            )
            self._from_slot(slot, self._plan_codes(), plan.id)
        active = self.patient.status == PatientStatus.ACTIVE
        chance = (0.35 if self.member.adult else 0.12) if active else 0.2
        if any(not slot.hygiene and not is_short(slot) for slot in self.member.slots) or rng.random() >= chance:
            return
        fate = _pick(rng, _PLAN_FATES) if active else PlanStatus.INACTIVE
        presented = timeline.at(last, 15, 40)
        if fate == PlanStatus.PRESENTED and timeline.today - last > timedelta(days=365):
            fate = PlanStatus.INACTIVE
        self._plan(fate, presented)

    def _plan_codes(self) -> tuple[str, ...]:
        if not self.member.adult:
            return self.rng.choice(_CHILD_PLANS)
        codes = [plan for plan, _ in RESTORATIVE_PLANS]
        weights = [weight for _, weight in RESTORATIVE_PLANS]
        chosen: tuple[str, ...] = self.rng.choices(codes, weights)[0]
        return chosen

    def _plan(self, fate: PlanStatus, presented: datetime) -> None:
        rng, timeline = self.rng, self.timeline
        codes = self._plan_codes()
        finish = timeline.snap(presented.date() + timedelta(days=rng.randint(7, 40)), "later")
        if fate == PlanStatus.COMPLETED and finish >= timeline.history[0]:
            fate = PlanStatus.ACCEPTED
        decided = presented + timedelta(days=rng.randint(0, 10), hours=1)
        decided_at = min(decided, timeline.as_of - timedelta(hours=2))
        plan = self.records.add_plan(
            patient_id=self.patient.id,
            status=fate,
            presented_at=None if fate == PlanStatus.DRAFT else presented,
            decided_at=decided_at if fate in (PlanStatus.ACCEPTED, PlanStatus.DECLINED, PlanStatus.COMPLETED) else None,
        )
        if fate == PlanStatus.COMPLETED:
            procedures = self._completed(finish, hygiene=False, codes=codes, plan_id=plan.id).procedures
        elif fate == PlanStatus.ACCEPTED and rng.random() < 0.55:
            day = timeline.random_future_day(5, 90, rng)
            procedures = self._future(day, codes, hygiene=False, plan_id=plan.id).procedures
        else:
            holder = None
            if fate == PlanStatus.ACCEPTED:
                holder = self.records.add_appointment(
                    patient_id=self.patient.id, status=AppointmentStatus.PLANNED, created_at=decided_at
                ).id
            procedures = [
                self._procedure(
                    code,
                    ProcedureStatus.PLANNED,
                    planned_at=presented,
                    appointment_id=holder,
                    treatment_plan_id=plan.id,
                )
                for code in codes
            ]
        if rng.random() < 0.04:
            self._procedure("D2391", ProcedureStatus.DELETED, planned_at=presented, treatment_plan_id=plan.id)
        self.followups.plan(self.patient, plan, procedures, presented)

    def _extras(self, last: date) -> None:
        """Existing and referred work, emergencies and the unscheduled list."""
        rng, timeline = self.rng, self.timeline
        if not self.member.adult:
            return
        if rng.random() < 0.15:
            self._procedure("D2750", ProcedureStatus.EXISTING)
        if rng.random() < 0.02:
            self._procedure("D7240", ProcedureStatus.REFERRED, planned_at=timeline.at(last, 15, 0), tooth="1")
        if self.patient.status != PatientStatus.ACTIVE:
            return
        if rng.random() < 0.03:
            self._completed(timeline.random_past_day(3, 170, rng), hygiene=False, codes=("D0140", "D9110"))
        if rng.random() < 0.02:
            was = timeline.at(timeline.random_past_day(10, 120, rng), 10, 0)
            self.records.add_appointment(
                patient_id=self.patient.id,
                status=AppointmentStatus.UNSCHEDULED,
                start=was,
                end=was + timedelta(hours=1),
                provider_id=self.household.unit.associate,
                operatory_id=self.household.unit.operatories[1],
                created_at=was - timedelta(days=rng.randint(7, 60)),
            )

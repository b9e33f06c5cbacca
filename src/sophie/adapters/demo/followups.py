"""What happens around a background patient's visits: claims, recalls, contacts, balances."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sophie.adapters.demo.catalog import coverage, money
from sophie.model.enums import (
    AppointmentStatus,
    ClaimKind,
    ClaimStatus,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactTopic,
    PatientStatus,
    PlanStatus,
    PreferredContact,
    RecallKind,
)
from sophie.model.records import Appointment, Patient, Procedure, TreatmentPlan

if TYPE_CHECKING:
    from sophie.adapters.demo.calendar import Timeline
    from sophie.adapters.demo.records import FamilyRecords, Household

__all__ = ["Followups", "Visit", "expected_cents"]

_CHANNELS = {
    PreferredContact.PHONE: ContactChannel.PHONE,
    PreferredContact.TEXT: ContactChannel.TEXT,
    PreferredContact.EMAIL: ContactChannel.EMAIL,
    PreferredContact.MAIL: ContactChannel.MAIL,
}
_CALL_OUTCOMES = (
    ContactOutcome.LEFT_MESSAGE,
    ContactOutcome.LEFT_MESSAGE,
    ContactOutcome.NO_ANSWER,
    ContactOutcome.REACHED,
    ContactOutcome.CALL_BACK,
)


@dataclass(frozen=True, slots=True)
class Visit:
    """An appointment and the procedures on it."""

    appointment: Appointment
    procedures: list[Procedure]


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def expected_cents(procedures: list[Procedure]) -> int:
    """Return what a typical plan pays for ``procedures``, in cents."""
    return sum(_cents(p.fee) * coverage(p.code) // 100 for p in procedures)


class Followups:
    """Adds the claims, recalls, contacts and balance of one family's patients.

    Args:
        timeline: The practice calendar.
        rng: The family generator's random source.
        records: Where the family's records go.
        household: What the family shares (carrier, office, contact preference).
    """

    def __init__(self, timeline: Timeline, rng: random.Random, records: FamilyRecords, household: Household) -> None:
        self.timeline = timeline
        self.rng = rng
        self.records = records
        self.household = household
        self.visits = 0

    def _staff(self, role: str) -> str:
        return self.household.unit.staff[role]

    def _reachable(self, patient: Patient) -> bool:
        return not patient.do_not_contact and patient.preferred_contact != PreferredContact.NONE

    def _contact(
        self, patient: Patient, at: datetime, topic: ContactTopic, outcome: ContactOutcome, **fields: object
    ) -> None:
        if at >= self.timeline.as_of:
            return
        fields.setdefault("channel", ContactChannel.PHONE)
        fields.setdefault("direction", ContactDirection.OUT)
        if outcome == ContactOutcome.CALL_BACK:
            fields["call_back_on"] = at.date() + timedelta(days=self.rng.randint(5, 30))
        self.records.add_contact(patient_id=patient.id, at=at, topic=topic, outcome=outcome, **fields)

    def _workday(self, moment: datetime, hour: int) -> datetime:
        return self.timeline.at(self.timeline.snap(moment.date(), "later"), hour, self.rng.randrange(0, 60, 5))

    # -- claims ------------------------------------------------------------------

    def bill(self, patient: Patient, visit: Visit) -> None:
        """Send (or not yet send) the insurance claims for a completed visit."""
        self.visits += 1
        billable = [p for p in visit.procedures if p.fee > 0]
        if not patient.insured or not billable:
            return
        rng, as_of = self.rng, self.timeline.as_of
        end = visit.appointment.end
        assert end is not None
        age = as_of - end
        draw = rng.random()
        received_at = None
        if age < timedelta(days=2):
            if draw < 0.15:
                return
            status = ClaimStatus.DRAFT if draw < 0.45 else ClaimStatus.READY if draw < 0.7 else ClaimStatus.SENT
            sent_at = min(end + timedelta(hours=1), as_of - timedelta(minutes=5))
        else:
            if draw < 0.015:
                return
            status = ClaimStatus.SENT
            sent_at = min(end + timedelta(hours=rng.randint(1, 30)), as_of - timedelta(hours=1))
            received = sent_at + timedelta(days=rng.randint(8, 40), hours=rng.randint(0, 8))
            if received < as_of and rng.random() >= 0.07:
                received_at = received
                settle = rng.random()
                status = (
                    ClaimStatus.DENIED
                    if settle < 0.04
                    else ClaimStatus.RECEIVED
                    if settle < 0.64
                    else ClaimStatus.CLOSED
                )
        billed = sum(_cents(p.fee) for p in billable)
        expected = expected_cents(billable)
        paid = None
        if status == ClaimStatus.DENIED:
            paid = 0
        elif status == ClaimStatus.CLOSED:
            paid = expected
        elif status == ClaimStatus.RECEIVED:
            paid = expected * rng.randint(55, 79) // 100 if rng.random() < 0.12 else expected
        self.records.add_claim(
            patient_id=patient.id,
            kind=ClaimKind.PRIMARY,
            status=status,
            carrier=self.household.carrier,
            service_date=end.date(),
            sent_at=None if status in (ClaimStatus.DRAFT, ClaimStatus.READY) else sent_at,
            received_at=received_at,
            billed=money(billed),
            expected=money(expected),
            paid=None if paid is None else money(paid),
            procedure_ids=[p.id for p in billable],
        )
        if status == ClaimStatus.SENT and age > timedelta(days=30) and rng.random() < 0.45:
            at = self._workday(as_of - timedelta(days=rng.randint(1, 20)), 10)
            self._contact(
                patient,
                at,
                ContactTopic.INSURANCE,
                ContactOutcome.REACHED,
                staff_id=self._staff("insurance_coordinator"),
            )
        if self.household.secondary and status not in (ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.DENIED):
            self._secondary(patient, billable, status, received_at, billed - expected)

    def _secondary(
        self,
        patient: Patient,
        billable: list[Procedure],
        primary: ClaimStatus,
        received_at: datetime | None,
        remaining: int,
    ) -> None:
        status, sent_at = ClaimStatus.ON_HOLD, None
        if primary != ClaimStatus.SENT and received_at is not None:
            sent_at = received_at + timedelta(days=self.rng.randint(1, 4))
            if sent_at >= self.timeline.as_of:
                status, sent_at = ClaimStatus.ON_HOLD, None
            else:
                status = ClaimStatus.CLOSED if self.rng.random() < 0.6 else ClaimStatus.SENT
        self.records.add_claim(
            patient_id=patient.id,
            kind=ClaimKind.SECONDARY,
            status=status,
            carrier="Secondary: " + (self.household.carrier or "other"),
            service_date=billable[0].completed_at.date() if billable[0].completed_at else None,
            sent_at=sent_at,
            billed=money(sum(_cents(p.fee) for p in billable)),
            expected=money(max(0, remaining) // 2),
            paid=money(max(0, remaining) // 2) if status == ClaimStatus.CLOSED else None,
            procedure_ids=[p.id for p in billable],
        )

    # -- treatment ---------------------------------------------------------------

    def plan(self, patient: Patient, plan: TreatmentPlan, procedures: list[Procedure], presented: datetime) -> None:
        """Add the pre-authorization and the follow-up calls of a treatment plan."""
        rng, timeline = self.rng, self.timeline
        total = sum(_cents(p.fee) for p in procedures)
        if (
            patient.insured
            and total >= 30000
            and plan.status in (PlanStatus.PRESENTED, PlanStatus.ACCEPTED, PlanStatus.COMPLETED)
            and rng.random() < 0.6
        ):
            sent_at = presented + timedelta(days=1, hours=1)
            if sent_at < timeline.as_of:
                received = sent_at + timedelta(days=rng.randint(4, 20))
                done = received < timeline.as_of
                self.records.add_claim(
                    patient_id=patient.id,
                    kind=ClaimKind.PREAUTH,
                    status=ClaimStatus.RECEIVED if done else ClaimStatus.SENT,
                    carrier=self.household.carrier,
                    sent_at=sent_at,
                    received_at=received if done else None,
                    billed=money(total),
                    expected=money(total // 2),
                    procedure_ids=[p.id for p in procedures],
                )
        if not self._reachable(patient) or plan.presented_at is None:
            return
        coordinator = self._staff("treatment_coordinator")
        if plan.status == PlanStatus.DECLINED and plan.decided_at is not None:
            self._contact(
                patient, plan.decided_at, ContactTopic.TREATMENT, ContactOutcome.DECLINED, staff_id=coordinator
            )
        elif plan.status == PlanStatus.PRESENTED:
            at = presented
            for gap, chance in ((timedelta(days=2), 0.65), (timedelta(days=12), 0.45), (timedelta(days=46), 0.35)):
                if rng.random() >= chance:
                    break
                at = self._workday(at + gap, 11)
                self._contact(patient, at, ContactTopic.TREATMENT, rng.choice(_CALL_OUTCOMES), staff_id=coordinator)

    # -- scheduling --------------------------------------------------------------

    def confirm(self, patient: Patient, appointment: Appointment) -> None:
        """Add the confirmation request sent a few days before an upcoming visit."""
        start = appointment.start
        if start is None or start - self.timeline.as_of > timedelta(days=7) or not self._reachable(patient):
            return
        outcome = ContactOutcome.REACHED if appointment.confirmed else ContactOutcome.NO_ANSWER
        channel = ContactChannel.TEXT if patient.preferred_contact == PreferredContact.TEXT else ContactChannel.PHONE
        self._contact(patient, start - timedelta(days=3, hours=2), ContactTopic.CONFIRMATION, outcome, channel=channel)

    def after_broken(self, patient: Patient, broken_at: datetime) -> None:
        """Add the call that rescheduled a broken appointment."""
        at = self._workday(broken_at + timedelta(days=1), 9)
        self._contact(
            patient,
            at,
            ContactTopic.SCHEDULING,
            ContactOutcome.SCHEDULED,
            staff_id=self._staff("scheduling_coordinator"),
        )

    def checkout(self, patient: Patient, at: datetime) -> None:
        """Record the next visit booked at the front desk on the way out."""
        self._contact(
            patient,
            at,
            ContactTopic.SCHEDULING,
            ContactOutcome.SCHEDULED,
            channel=ContactChannel.IN_PERSON,
            direction=ContactDirection.IN,
            staff_id=self._staff("front_desk"),
        )

    def inbound(self, patient: Patient) -> None:
        """Now and then a patient calls in."""
        rng = self.rng
        if patient.status != PatientStatus.ACTIVE or rng.random() >= 0.08:
            return
        at = self._workday(self.timeline.as_of - timedelta(days=rng.randint(1, 150)), rng.randint(8, 16))
        topic = rng.choice((ContactTopic.OTHER, ContactTopic.BILLING, ContactTopic.SCHEDULING, ContactTopic.INSURANCE))
        self._contact(
            patient,
            at,
            topic,
            ContactOutcome.REACHED,
            direction=ContactDirection.IN,
            staff_id=self._staff("front_desk"),
        )

    # -- recalls -----------------------------------------------------------------

    def recalls(
        self, patient: Patient, last: date, interval: timedelta, booked: Appointment | None, *, perio: bool
    ) -> None:
        """Add the patient's recalls and the reminders about them."""
        rng, timeline = self.rng, self.timeline
        born = patient.birth_date
        child = born is not None and (timeline.today - born).days < 14 * 365
        kind = RecallKind.CHILD if child else RecallKind.PERIO if perio else RecallKind.PROPHY
        status = patient.status
        disabled = status in (PatientStatus.ARCHIVED, PatientStatus.DECEASED) or rng.random() < (
            0.5 if status == PatientStatus.INACTIVE else 0.02
        )
        due = last + interval
        if booked is not None and booked.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED):
            booked = None
        self.records.add_recall(
            patient_id=patient.id,
            kind=kind,
            due_date=due,
            appointment_id=None if booked is None else booked.id,
            disabled=disabled,
        )
        if not child and rng.random() < 0.06:
            self.records.add_recall(patient_id=patient.id, kind=RecallKind.EXAM, due_date=last + timedelta(days=365))
        if rng.random() < 0.02:
            self.records.add_recall(patient_id=patient.id, kind=RecallKind.OTHER, due_date=last + timedelta(days=180))
        if disabled or not self._reachable(patient) or not -400 < (due - timeline.today).days <= 30:
            return
        channel = _CHANNELS.get(patient.preferred_contact, ContactChannel.TEXT)
        if channel == ContactChannel.PHONE:
            channel = ContactChannel.TEXT
        reminder = timeline.at(due - timedelta(days=25), 9)
        self._contact(patient, reminder, ContactTopic.RECALL, ContactOutcome.LEFT_MESSAGE, channel=channel)
        if booked is None and (timeline.today - due).days > 14 and rng.random() < 0.6:
            at = self._workday(timeline.at(due + timedelta(days=10), 10), 10)
            self._contact(
                patient,
                at,
                ContactTopic.RECALL,
                rng.choice(_CALL_OUTCOMES),
                staff_id=self._staff("hygiene_coordinator"),
            )

    # -- money -------------------------------------------------------------------

    def balance(self, guarantor: Patient) -> None:
        """Add the family account's balance, aged, and the statement that went out."""
        rng = self.rng
        if self.visits == 0 or rng.random() >= 0.38:
            return
        buckets = [
            rng.randint(2000, 40000),
            rng.randint(1500, 30000) if rng.random() < 0.3 else 0,
            rng.randint(2000, 30000) if rng.random() < 0.15 else 0,
            rng.randint(5000, 90000) if rng.random() < 0.12 else 0,
        ]
        current, over_30, over_60, over_90 = (money(cents) for cents in buckets)
        self.records.add_balance(
            patient_id=guarantor.id, current=current, over_30=over_30, over_60=over_60, over_90=over_90
        )
        if any(buckets[1:]) and self._reachable(guarantor) and rng.random() < 0.7:
            at = self._workday(self.timeline.as_of - timedelta(days=rng.randint(3, 50)), 9)
            self._contact(
                guarantor,
                at,
                ContactTopic.BILLING,
                ContactOutcome.LEFT_MESSAGE,
                channel=ContactChannel.MAIL,
                staff_id=self._staff("financial_coordinator"),
            )

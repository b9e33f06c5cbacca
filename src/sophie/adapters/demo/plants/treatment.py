"""Planted treatment stalls and near-misses: rules T1-T8 of the default pack.

Thresholds (the defaults of the ``dental-core`` pack): first touch 2 business days after presentation,
second at 14 days, third at 60 days; a planned appointment unscheduled for more than 7 days;
a patient on today's schedule with unscheduled treatment; a pre-authorization unanswered
for 15 days, answered without a call to the patient within 2 business days, or approved
and within 30 days of lapsing (valid 180 days from ``received_at``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sophie.adapters.demo.calendar import Snap
from sophie.adapters.demo.plants.planting import HYGIENE, RESTORATIVE, PlantKit
from sophie.adapters.demo.records import FamilyRecords
from sophie.model.enums import (
    AppointmentStatus,
    ClaimKind,
    ClaimStatus,
    ContactOutcome,
    ContactTopic,
    PlanStatus,
    ProcedureStatus,
)
from sophie.model.records import Patient, Procedure, TreatmentPlan

__all__ = ["SCENARIOS"]

T1 = "tx.unscheduled.first_touch"
T2 = "tx.unscheduled.second_touch"
T3 = "tx.unscheduled.third_touch"
T4 = "tx.planned_appt.not_scheduled"
T5 = "tx.huddle.patient_today_has_unscheduled_tx"
T6 = "tx.preauth.no_response"
T7 = "tx.preauth.returned_patient_not_contacted"
T8 = "tx.preauth.expiring"
_CROWN = ("D2950", "D2740")


def _touch(
    kit: PlantKit, records: FamilyRecords, patient: Patient, after: datetime, days: int, outcome: ContactOutcome
) -> None:
    """Call the patient about treatment on the open day ``days`` calendar days after ``after``."""
    day = kit.timeline.snap(after.date() + timedelta(days=days), "later")
    kit.contact(records, patient, kit.timeline.at(day, 11), ContactTopic.TREATMENT, outcome)


def _age(kit: PlantKit, moment: datetime) -> int:
    return (kit.timeline.today - moment.date()).days


def first_touch(kit: PlantKit) -> None:
    """T1: presented at least 2 business days ago, unscheduled, nobody has called."""
    timeline = kit.timeline
    for steps, codes in ((3, _CROWN), (6, ("D2392",))):
        records, patient = kit.single()
        plan, _ = kit.plan(records, patient, timeline.business_days_ago(steps, 10, 30), codes)
        note = (
            f"presented {steps} business days ago, unscheduled, no treatment contact since (threshold 2 business days)"
        )
        kit.plant(T1, "treatment_plan", plan.id, fires=True, note=note)
    records, patient = kit.single()
    plan, _ = kit.plan(records, patient, timeline.business_days_ago(1, 12), ("D2392",))
    kit.plant(
        T1,
        "treatment_plan",
        plan.id,
        fires=False,
        note="presented 1 business day ago: too early (threshold 2 business days)",
    )
    records, patient = kit.single()
    plan, _ = kit.plan(records, patient, timeline.business_days_ago(4, 11), ("D2740",))
    kit.contact(
        records, patient, timeline.business_days_ago(2, 10), ContactTopic.TREATMENT, ContactOutcome.LEFT_MESSAGE
    )
    kit.plant(
        T1, "treatment_plan", plan.id, fires=False, note="presented 4 business days ago, but called 2 business days ago"
    )
    records, patient = kit.single()
    plan, _ = kit.plan(records, patient, timeline.business_days_ago(5, 10))
    kit.book(records, patient, timeline.days_ahead(16, 10), 90, chairs=RESTORATIVE, codes=_CROWN, plan_id=plan.id)
    kit.plant(T1, "treatment_plan", plan.id, fires=False, note="presented 5 business days ago and already scheduled")


def second_touch(kit: PlantKit) -> None:
    """T2: still unscheduled 14 days after presentation, after a first touch."""
    timeline = kit.timeline
    for days, outcome in ((20, ContactOutcome.LEFT_MESSAGE), (30, ContactOutcome.NO_ANSWER)):
        records, patient = kit.single()
        presented = timeline.days_ago(days, 10, snap="earlier")
        plan, _ = kit.plan(records, patient, presented, ("D2740",))
        _touch(kit, records, patient, presented, 2, outcome)
        note = f"presented {_age(kit, presented)} days ago, one touch, still unscheduled (threshold 14 days)"
        kit.plant(T2, "treatment_plan", plan.id, fires=True, note=note)
    records, patient = kit.single()
    presented = timeline.days_ago(12, 10, snap="later")
    plan, _ = kit.plan(records, patient, presented, ("D2392",))
    _touch(kit, records, patient, presented, 2, ContactOutcome.LEFT_MESSAGE)
    note = f"presented {_age(kit, presented)} days ago: too early (threshold 14 days)"
    kit.plant(T2, "treatment_plan", plan.id, fires=False, note=note)
    records, patient = kit.single()
    presented = timeline.days_ago(20, 10, snap="earlier")
    plan, _ = kit.plan(records, patient, presented)
    _touch(kit, records, patient, presented, 2, ContactOutcome.SCHEDULED)
    kit.book(records, patient, timeline.days_ahead(15, 9), 60, chairs=RESTORATIVE, codes=("D2392",), plan_id=plan.id)
    kit.plant(T2, "treatment_plan", plan.id, fires=False, note="presented 20 days ago, scheduled at the first touch")


def third_touch(kit: PlantKit) -> None:
    """T3: still unscheduled 60 days after presentation."""
    timeline = kit.timeline
    cases: tuple[tuple[int, Snap, bool], ...] = ((75, "earlier", True), (100, "earlier", True), (55, "later", False))
    for days, snap, fires in cases:
        records, patient = kit.single()
        presented = timeline.days_ago(days, 14, snap=snap)
        plan, _ = kit.plan(records, patient, presented, _CROWN)
        _touch(kit, records, patient, presented, 2, ContactOutcome.LEFT_MESSAGE)
        _touch(kit, records, patient, presented, 14, ContactOutcome.CALL_BACK)
        age = _age(kit, presented)
        note = f"presented {age} days ago, two touches, still unscheduled (threshold 60 days)"
        kit.plant(
            T3,
            "treatment_plan",
            plan.id,
            fires=fires,
            note=note if fires else f"presented {age} days ago: too early (threshold 60 days)",
        )


def planned_appointment(kit: PlantKit) -> None:
    """T4: a planned appointment nobody turned into a scheduled one for more than 7 days."""
    timeline = kit.timeline
    for steps, fires in ((10, True), (25, True), (3, False)):
        records, patient = kit.single()
        made = timeline.business_days_ago(steps, 15)
        plan, _ = kit.plan(records, patient, made - timedelta(hours=1), status=PlanStatus.ACCEPTED)
        planned = records.add_appointment(patient_id=patient.id, status=AppointmentStatus.PLANNED, created_at=made)
        kit.procedures(records, patient, ("D2392",), ProcedureStatus.PLANNED, appointment=planned, plan_id=plan.id)
        age = _age(kit, made)
        note = f"planned {age} days ago, never scheduled (threshold more than 7 days)"
        kit.plant(
            T4,
            "appointment",
            planned.id,
            fires=fires,
            note=note if fires else f"planned {age} days ago: too early (threshold more than 7 days)",
        )


def huddle(kit: PlantKit) -> None:
    """T5: a patient on today's schedule has treatment that is not scheduled."""
    timeline = kit.timeline
    if not timeline.morning:
        return
    records, patient = kit.single(ordinary=False)
    visit = kit.book(records, patient, kit.day(0, 9), 60, chairs=(5, 4), codes=kit.cleaning(patient))
    kit.ordinary(records, patient, recall_appointment=visit.appointment)
    kit.plan(records, patient, timeline.days_ago(40, 10, snap="earlier"), _CROWN)
    kit.plant(
        T5,
        "appointment",
        visit.appointment.id,
        fires=True,
        note="cleaning today; a crown presented 40 days ago is unscheduled",
    )
    records, patient = kit.single()
    plan, _ = kit.plan(records, patient, timeline.days_ago(21, 14, snap="earlier"), _CROWN)
    visit = kit.book(
        records,
        patient,
        kit.day(0, 14 if kit.day(0, 0).weekday() < 4 else 11),
        60,
        chairs=(3, 0),
        codes=("D2392",),
        plan_id=plan.id,
    )
    kit.plant(
        T5,
        "appointment",
        visit.appointment.id,
        fires=True,
        note="filling today; the crown on the same plan is unscheduled",
    )
    records, patient = kit.single(ordinary=False)
    visit = kit.book(records, patient, kit.day(0, 10), 60, chairs=HYGIENE, codes=kit.cleaning(patient))
    kit.ordinary(records, patient, recall_appointment=visit.appointment)
    plan, _ = kit.plan(records, patient, timeline.days_ago(30, 10, snap="earlier"), status=PlanStatus.ACCEPTED)
    kit.book(records, patient, timeline.days_ahead(16, 9), 90, chairs=RESTORATIVE, codes=_CROWN, plan_id=plan.id)
    kit.plant(
        T5,
        "appointment",
        visit.appointment.id,
        fires=False,
        note="on today's schedule; all planned treatment is booked",
    )
    records, patient = kit.single()
    plan, _ = kit.plan(records, patient, timeline.days_ago(10, 10, snap="earlier"), status=PlanStatus.ACCEPTED)
    visit = kit.book(records, patient, kit.day(0, 8, 30), 60, chairs=(0, 3), codes=("D2392",), plan_id=plan.id)
    kit.plant(
        T5, "appointment", visit.appointment.id, fires=False, note="its only planned treatment is on today's visit"
    )


def _preauth_case(
    kit: PlantKit, received: datetime | None, sent: datetime, *, booked: bool = False
) -> tuple[FamilyRecords, Patient, TreatmentPlan, list[Procedure], str]:
    """A patient with a crown presented the day before its pre-authorization went out."""
    timeline = kit.timeline
    records, patient = kit.single()
    presented = timeline.at(timeline.shift(sent.date(), -1), 15)
    if booked:
        plan, _ = kit.plan(records, patient, presented, status=PlanStatus.ACCEPTED)
        procedures = kit.book(
            records, patient, timeline.days_ahead(12, 9), 90, chairs=RESTORATIVE, codes=_CROWN, plan_id=plan.id
        ).procedures
    else:
        plan, procedures = kit.plan(records, patient, presented, _CROWN)
    _touch(kit, records, patient, presented, 2, ContactOutcome.REACHED)
    status = ClaimStatus.SENT if received is None else ClaimStatus.RECEIVED
    claim = kit.claim(
        records, patient, procedures, kind=ClaimKind.PREAUTH, status=status, sent_at=sent, received_at=received
    )
    return records, patient, plan, procedures, claim.id


def preauth_no_response(kit: PlantKit) -> None:
    """T6: a pre-authorization sent 15 days ago or more with no answer."""
    timeline = kit.timeline
    cases: tuple[tuple[int, Snap, bool], ...] = ((22, "earlier", True), (26, "earlier", True), (13, "later", False))
    for days, snap, fires in cases:
        sent = timeline.days_ago(days, 16, snap=snap)
        claim_id = _preauth_case(kit, None, sent)[4]
        age = _age(kit, sent)
        note = f"pre-authorization sent {age} days ago, no answer (threshold 15 days)"
        kit.plant(
            T6,
            "claim",
            claim_id,
            fires=fires,
            note=note if fires else f"sent {age} days ago: too early (threshold 15 days)",
        )
    sent = timeline.days_ago(20, 16, snap="earlier")
    claim_id = _preauth_case(kit, sent + timedelta(days=6), sent)[4]
    kit.plant(T6, "claim", claim_id, fires=False, note="sent 20 days ago and answered 6 days later")


def preauth_returned(kit: PlantKit) -> None:
    """T7: a pre-authorization came back and nobody called the patient within 2 business days."""
    timeline = kit.timeline
    for steps, fires in ((4, True), (7, True), (1, False)):
        received = timeline.business_days_ago(steps, 10)
        sent = timeline.at(timeline.shift(received.date(), -7), 16)
        claim_id = _preauth_case(kit, received, sent)[4]
        note = f"came back {steps} business days ago; patient not called since (threshold 2 business days)"
        kit.plant(
            T7,
            "claim",
            claim_id,
            fires=fires,
            note=note if fires else "came back 1 business day ago: inside 2 business days",
        )
    received = timeline.business_days_ago(6, 10)
    records, patient, _, _, claim_id = _preauth_case(
        kit, received, timeline.at(timeline.shift(received.date(), -7), 16)
    )
    kit.contact(records, patient, timeline.business_days_ago(5, 11), ContactTopic.TREATMENT, ContactOutcome.REACHED)
    kit.plant(
        T7, "claim", claim_id, fires=False, note="came back 6 business days ago; patient called the next business day"
    )


def preauth_expiring(kit: PlantKit) -> None:
    """T8: an approved pre-authorization within 30 days of lapsing (valid 180 days), treatment unscheduled."""
    timeline = kit.timeline
    cases: tuple[tuple[int, Snap, bool, bool], ...] = (
        (160, "earlier", True, False),
        (172, "earlier", True, False),
        (145, "later", False, False),
        (165, "earlier", False, True),
    )
    for days, snap, fires, booked in cases:
        received = timeline.days_ago(days, 10, snap=snap)
        sent = timeline.at(timeline.shift(received.date(), -6), 16)
        records, patient, _, _, claim_id = _preauth_case(kit, received, sent, booked=booked)
        _touch(kit, records, patient, received, 1, ContactOutcome.CALL_BACK)
        left = 180 - _age(kit, received)
        if booked:
            note = f"approved {180 - left} days ago ({left} days left) but the treatment is scheduled"
        elif fires:
            note = f"approved {180 - left} days ago: {left} days left of 180, unscheduled (threshold 30 days)"
        else:
            note = f"approved {180 - left} days ago: {left} days left, too early (threshold 30 days)"
        kit.plant(T8, "claim", claim_id, fires=fires, note=note)


SCENARIOS = (
    first_touch,
    second_touch,
    third_touch,
    planned_appointment,
    huddle,
    preauth_no_response,
    preauth_returned,
    preauth_expiring,
)
"""The treatment scenarios, in the order they are planted."""

"""Planted scheduling stalls and near-misses: rules S1-S5 of the default pack.

Thresholds (the defaults of the ``dental-core`` pack): an opening of at least 30 minutes later today
(or tomorrow morning); a broken appointment not rebooked after 1 business day; a visit
within 48 hours or on the next open day, or within 24 hours, still unconfirmed; an appointment on the
unscheduled list for more than 30 days with no contact in the last 30 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sophie.adapters.demo.calendar import Snap
from sophie.adapters.demo.plants.planting import HYGIENE, RESTORATIVE, PlantKit
from sophie.adapters.demo.records import FamilyRecords
from sophie.model.enums import AppointmentStatus, BrokenKind, ContactOutcome, ContactTopic, PlanStatus
from sophie.model.openings import opening_id
from sophie.model.records import Appointment, Patient

__all__ = ["SCENARIOS"]

S1 = "sched.opening.today"
S2 = "sched.broken.not_rescheduled"
S3 = "sched.unconfirmed.72h"
S4 = "sched.unconfirmed.24h"
S5 = "sched.unscheduled_list.stale"


def _visit(
    kit: PlantKit, records: FamilyRecords, patient: Patient, start: datetime, chairs: tuple[int, ...], **fields: Any
) -> Appointment:
    """Book a cleaning (hygiene chairs) or a filling on an accepted plan (other chairs)."""
    if chairs[0] in HYGIENE:
        return kit.book(records, patient, start, 60, chairs=chairs, codes=kit.cleaning(patient), **fields).appointment
    presented = min(start, kit.timeline.as_of) - timedelta(days=12)
    plan, _ = kit.plan(records, patient, presented, status=PlanStatus.ACCEPTED)
    return kit.book(records, patient, start, 60, chairs=chairs, codes=("D2392",), plan_id=plan.id, **fields).appointment


def openings(kit: PlantKit) -> None:
    """S1: openings later today, among them the 11:40 cancellation; one two days out."""
    timeline = kit.timeline
    if not timeline.morning:
        return
    friday = timeline.day0.weekday() == 4
    records, patient = kit.single()
    cancelled_at = timeline.as_of - timedelta(minutes=25)
    start = kit.day(0, 11, 40)
    plan, _ = kit.plan(records, patient, timeline.days_ago(20, 15, snap="earlier"), status=PlanStatus.ACCEPTED)
    visit = kit.book(
        records,
        patient,
        start,
        50,
        chairs=(1, 0, 3),
        codes=("D2392",),
        plan_id=plan.id,
        status=AppointmentStatus.BROKEN,
        broken_kind=BrokenKind.CANCELLED,
        broken_at=cancelled_at,
        confirmed=True,
    )
    cancelled = visit.appointment
    assert cancelled.operatory_id is not None
    kit.plant(
        S1,
        "opening",
        opening_id(cancelled.operatory_id, start, timeline.tz),
        fires=True,
        note=f"the 11:40 case: cancelled at {cancelled_at:%H:%M} today, 50 minutes free later (threshold 30 minutes)",
    )
    kit.plant(
        S2,
        "appointment",
        cancelled.id,
        fires=False,
        note="cancelled this morning: too early (threshold 1 business day)",
    )
    hygiene_gap = kit.keep_open(HYGIENE, kit.day(0, 11 if friday else 13), 60)
    kit.plant(
        S1,
        "opening",
        hygiene_gap,
        fires=True,
        note="an hour free in a hygiene chair later today (threshold 30 minutes)",
    )
    late_gap = kit.keep_open((0, 3), kit.day(0, 11 if friday else 15, 30), 90)
    kit.plant(S1, "opening", late_gap, fires=True, note="90 minutes free at the end of a dentist's day today")
    tomorrow = kit.day(1, 9)
    if tomorrow.date() == timeline.today + timedelta(days=1):
        morning_gap = kit.keep_open((3, 0), tomorrow, 60)
        kit.plant(
            S1, "opening", morning_gap, fires=True, note="an hour free at 09:00 tomorrow morning (threshold 30 minutes)"
        )
    far_gap = kit.keep_open((2, 1), kit.day(2, 10), 60)
    kit.plant(
        S1, "opening", far_gap, fires=False, note="an hour free two open days ahead: not today or tomorrow morning"
    )


def broken(kit: PlantKit) -> None:
    """S2: broken appointments nobody rebooked after 1 business day (the near-miss is in :func:`openings`)."""
    timeline = kit.timeline
    records, patient = kit.single()
    start = timeline.business_days_ago(3, 10)
    missed = _visit(
        kit,
        records,
        patient,
        start,
        RESTORATIVE,
        status=AppointmentStatus.BROKEN,
        broken_kind=BrokenKind.NO_SHOW,
        broken_at=start + timedelta(minutes=15),
    )
    note = "no-show 3 business days ago, nothing rebooked (threshold 1 business day)"
    kit.plant(S2, "appointment", missed.id, fires=True, note=note)
    records, patient = kit.single()
    broken = _visit(
        kit,
        records,
        patient,
        timeline.business_days_ago(2, 9),
        HYGIENE,
        status=AppointmentStatus.BROKEN,
        broken_kind=BrokenKind.CANCELLED,
        broken_at=timeline.business_days_ago(4, 12),
    )
    note = "cancelled 4 business days ago for a visit 2 business days ago, not rebooked (threshold 1 business day)"
    kit.plant(S2, "appointment", broken.id, fires=True, note=note)
    records, patient = kit.single()
    start = timeline.business_days_ago(3, 11)
    missed = records.add_appointment(
        patient_id=patient.id,
        status=AppointmentStatus.BROKEN,
        start=start,
        end=start + timedelta(hours=1),
        provider_id=kit.unit.hygienists[0],
        operatory_id=kit.unit.operatories[4],
        broken_kind=BrokenKind.NO_SHOW,
        broken_at=start + timedelta(minutes=15),
        hygiene=True,
        created_at=start - timedelta(days=30),
    )
    kit.contact(records, patient, timeline.business_days_ago(2, 10), ContactTopic.SCHEDULING, ContactOutcome.SCHEDULED)
    _visit(kit, records, patient, timeline.days_ahead(10, 10), HYGIENE)
    kit.plant(S2, "appointment", missed.id, fires=False, note="no-show 3 business days ago, already rebooked")


def _unconfirmed(
    kit: PlantKit, kind: str, start: datetime, chairs: tuple[int, ...], fires: bool, note: str, **fields: Any
) -> None:
    records, patient = kit.single()
    fields.setdefault("confirmed", False)
    appointment = _visit(kit, records, patient, start, chairs, **fields)
    hours = kit.hours_ahead(start)
    kit.plant(kind, "appointment", appointment.id, fires=fires, note=f"starts in {hours:.1f} hours, {note}")


def unconfirmed(kit: PlantKit) -> None:
    """S3 and S4: unconfirmed visits within 48 hours or on the next open day, and within 24 hours; near-misses."""
    timeline = kit.timeline
    day0_afternoon = 15 if timeline.day0.weekday() < 4 else 12
    if timeline.morning:
        _unconfirmed(kit, S4, kit.day(0, 10), (0, 3), True, "unconfirmed (threshold 24 hours)")
        _unconfirmed(kit, S4, kit.day(0, day0_afternoon), (5, 4), True, "unconfirmed (threshold 24 hours)")
        _unconfirmed(kit, S4, kit.day(0, 11), (3, 0), False, "but confirmed", confirmed=True)
    tomorrow = kit.day(1, 10, 30)
    if kit.hours_ahead(tomorrow) > 25:
        _unconfirmed(kit, S4, tomorrow, (3, 0), False, "unconfirmed, but not within 24 hours")
    today = timeline.as_of.astimezone(kit.day(0, 0).tzinfo).date()
    step = next(k for k in range(4) if kit.day(k, 0).date() > today)  # the next open day after today
    next_day = kit.day(step, 14 if kit.day(step, 0).weekday() < 4 else 11)
    if kit.hours_ahead(next_day) >= 25:
        _unconfirmed(kit, S3, next_day, (1, 0, 3), True, "unconfirmed, on the next open day")
    late = kit.day(step, 16 if kit.day(step, 0).weekday() < 4 else 12)
    if kit.hours_ahead(late) >= 25:
        _unconfirmed(kit, S3, late, (4, 5), True, "unconfirmed, late on the next open day")
    second = kit.day(step + 1, 10)
    near_miss = kit.hours_ahead(second) >= 49
    if 25 <= kit.hours_ahead(second) <= 47:
        _unconfirmed(kit, S3, second, (1, 0), True, "unconfirmed (threshold 48 hours)")
    elif near_miss:
        _unconfirmed(kit, S3, second, (1, 0), False, "unconfirmed, but the second open day and more than 48 hours away")
    confirmed = kit.day(step, 9)
    if kit.hours_ahead(confirmed) >= 25:
        _unconfirmed(kit, S3, confirmed, (5, 4), False, "but confirmed", confirmed=True)
    if not near_miss:
        far = next(kit.day(k, 10) for k in range(step + 2, step + 8) if kit.hours_ahead(kit.day(k, 10)) >= 74)
        _unconfirmed(kit, S3, far, RESTORATIVE, False, "unconfirmed, but more than 48 hours and two open days away")


def unscheduled_list(kit: PlantKit) -> None:
    """S5: on the unscheduled list more than 30 days with no contact in the last 30 days."""
    timeline = kit.timeline
    cases = ((75, 40, 50, True), (120, 90, None, True), (75, 40, 9, False), (25, 15, None, False))
    for made_ago, was_ago, called_ago, fires in cases:
        records, patient = kit.single()
        snap: Snap = "earlier" if fires else "later"
        made = timeline.days_ago(made_ago, 10, snap=snap)
        was = timeline.days_ago(was_ago, 10, snap=snap)
        appointment = records.add_appointment(
            patient_id=patient.id,
            status=AppointmentStatus.UNSCHEDULED,
            start=was,
            end=was + timedelta(hours=1),
            provider_id=kit.unit.associate,
            operatory_id=kit.unit.operatories[1],
            created_at=made,
        )
        last = "never called"
        if called_ago is not None:
            called = timeline.days_ago(called_ago, 14, snap=snap)
            kit.contact(records, patient, called, ContactTopic.SCHEDULING, ContactOutcome.NO_ANSWER)
            last = f"last called {(timeline.today - called.date()).days} days ago"
        age = (timeline.today - made.date()).days
        if fires:
            note = f"on the list {age} days, {last} (thresholds 30 days, 30 days)"
        elif age > 30:
            note = f"on the list {age} days but {last}: contact within 30 days"
        else:
            note = f"on the list {age} days: too early (threshold 30 days)"
        kit.plant(S5, "appointment", appointment.id, fires=fires, note=note)


SCENARIOS = (openings, broken, unconfirmed, unscheduled_list)
"""The scheduling scenarios, in the order they are planted."""

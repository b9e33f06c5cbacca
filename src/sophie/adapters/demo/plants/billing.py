"""Planted claim and billing stalls and near-misses: rules C1-C7, B1 and B2 of the default pack.

Thresholds (the defaults of the ``dental-core`` pack): a completed procedure of an insured patient with
no claim after 1 business day; a draft or ready claim more than 1 business day after its
service date (a claim has no creation time); a secondary claim on hold more than 2 business
days after its primary was paid; a sent claim 30, 60 or 90 days old (at 30, with no
insurance contact in the last 14 days); a claim paid nothing or under 80% of what was
expected; a family balance more than $50 past 60 days with no billing contact in 30 days;
a family with a past-due balance on today's schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sophie.adapters.demo.calendar import Snap
from sophie.adapters.demo.followups import Visit
from sophie.adapters.demo.plants.planting import HYGIENE, RESTORATIVE, PlantKit
from sophie.adapters.demo.records import FamilyRecords
from sophie.model.enums import (
    AppointmentStatus,
    ClaimKind,
    ClaimStatus,
    ContactChannel,
    ContactOutcome,
    ContactTopic,
    PlanStatus,
)
from sophie.model.records import Patient

__all__ = ["SCENARIOS"]

C1 = "claims.completed_not_billed"
C2 = "claims.created_not_sent"
C3 = "claims.secondary_on_hold"
C4 = "claims.outstanding.30d"
C5 = "claims.outstanding.60d"
C6 = "claims.outstanding.90d"
C7 = "claims.received.underpaid_or_denied"
B1 = "billing.balance.aging"
B2 = "billing.past_due.patient_today"


def _done(kit: PlantKit, records: FamilyRecords, patient: Patient, start: datetime, codes: tuple[str, ...]) -> Visit:
    return kit.book(records, patient, start, 60, chairs=RESTORATIVE, codes=codes, status=AppointmentStatus.COMPLETED)


def not_billed(kit: PlantKit) -> None:
    """C1: completed work for an insured patient with no claim after 1 business day."""
    timeline = kit.timeline
    for steps, code in ((3, "D2392"), (5, "D2740")):
        records, patient = kit.single()
        visit = _done(kit, records, patient, timeline.business_days_ago(steps, 10), (code,))
        note = f"completed {steps} business days ago, insured, no claim (threshold 1 business day)"
        kit.plant(C1, "procedure", visit.procedures[0].id, fires=True, note=note)
    if timeline.morning:
        records, patient = kit.single()
        visit = _done(kit, records, patient, timeline.business_days_ago(1, 11), ("D2391",))
        note = "completed at 11:00 the previous business day: 1 business day not yet passed"
        kit.plant(C1, "procedure", visit.procedures[0].id, fires=False, note=note)
    records, patient = kit.single(insured=False)
    visit = _done(kit, records, patient, timeline.business_days_ago(5, 10), ("D2392",))
    kit.plant(
        C1, "procedure", visit.procedures[0].id, fires=False, note="completed 5 business days ago; patient uninsured"
    )
    records, patient = kit.single()
    visit = _done(kit, records, patient, timeline.business_days_ago(5, 10), ("D2392",))
    kit.claim(records, patient, visit.procedures, status=ClaimStatus.SENT, sent_at=timeline.business_days_ago(4, 9))
    kit.plant(C1, "procedure", visit.procedures[0].id, fires=False, note="completed 5 business days ago; claim sent")


def not_sent(kit: PlantKit) -> None:
    """C2: draft or ready claims more than 1 business day (so 2 or more) after the service date."""
    timeline = kit.timeline
    cases = [(4, ClaimStatus.READY, True), (7, ClaimStatus.DRAFT, True), (4, ClaimStatus.SENT, False)]
    if timeline.morning:
        cases.append((1, ClaimStatus.READY, False))
    for steps, status, fires in cases:
        records, patient = kit.single()
        visit = _done(kit, records, patient, timeline.business_days_ago(steps, 9), ("D2392",))
        sent = timeline.business_days_ago(steps - 1, 9) if status == ClaimStatus.SENT else None
        claim = kit.claim(records, patient, visit.procedures, status=status, sent_at=sent)
        if fires:
            note = f"{status} since the visit {steps} business days ago (threshold 1 business day)"
        elif status == ClaimStatus.SENT:
            note = "sent the business day after the visit"
        else:
            note = "ready; the service date was the previous business day: not more than 1 business day"
        kit.plant(C2, "claim", claim.id, fires=fires, note=note)


def secondary_on_hold(kit: PlantKit) -> None:
    """C3: a secondary claim on hold more than 2 business days after the primary was paid."""
    timeline = kit.timeline
    for steps, fires in ((5, True), (9, True), (1, False), (None, False)):
        records, patient = kit.single()
        visit = _done(kit, records, patient, timeline.business_days_ago(22, 10), ("D2950", "D2740"))
        end = visit.appointment.end
        assert end is not None
        if steps is None:
            kit.claim(records, patient, visit.procedures, status=ClaimStatus.SENT, sent_at=end + timedelta(hours=3))
            note = "primary sent, not paid yet"
        else:
            received = timeline.business_days_ago(steps, 11)
            kit.claim(
                records,
                patient,
                visit.procedures,
                status=ClaimStatus.RECEIVED,
                sent_at=end + timedelta(hours=3),
                received_at=received,
                paid_percent=100,
            )
            note = f"primary paid {steps} business days ago, secondary still on hold (threshold 2 business days)"
            if not fires:
                note = "primary paid 1 business day ago: inside 2 business days"
        secondary = kit.claim(records, patient, visit.procedures, kind=ClaimKind.SECONDARY, status=ClaimStatus.ON_HOLD)
        kit.plant(C3, "claim", secondary.id, fires=fires, note=note)


def outstanding(kit: PlantKit) -> None:
    """C4, C5 and C6: sent claims 30, 60 and 90 days old, each with a near-miss just younger."""
    timeline = kit.timeline
    cases: tuple[tuple[str, int, bool, bool], ...] = (
        (C4, 36, True, False),
        (C4, 50, True, False),
        (C4, 29, False, False),
        (C4, 45, False, True),
        (C5, 65, True, False),
        (C5, 80, True, False),
        (C5, 58, False, False),
        (C6, 95, True, False),
        (C6, 130, True, False),
        (C6, 88, False, False),
    )
    threshold = {C4: 30, C5: 60, C6: 90}
    for kind, days, fires, chased in cases:
        records, patient = kit.single()
        snap: Snap = "earlier" if fires else "later"
        sent = timeline.days_ago(days, 16, snap=snap)
        visit = _done(kit, records, patient, timeline.at(timeline.shift(sent.date(), -1), 10), ("D2392",))
        claim = kit.claim(records, patient, visit.procedures, status=ClaimStatus.SENT, sent_at=sent)
        age = (timeline.today - sent.date()).days
        note = f"sent {age} days ago, no answer (threshold {threshold[kind]} days)"
        if chased:
            called = timeline.business_days_ago(3, 10)
            kit.contact(records, patient, called, ContactTopic.INSURANCE, ContactOutcome.REACHED)
            note = f"sent {age} days ago, but the carrier was called 3 business days ago (threshold 14 days)"
        elif not fires:
            note = f"sent {age} days ago: not yet {threshold[kind]} days"
        kit.plant(kind, "claim", claim.id, fires=fires, note=note)


def underpaid(kit: PlantKit) -> None:
    """C7: claims denied or paid under 80% of what was expected."""
    timeline = kit.timeline
    cases = ((ClaimStatus.DENIED, 0, True), (ClaimStatus.RECEIVED, 55, True), (ClaimStatus.RECEIVED, 85, False))
    for status, percent, fires in (*cases, (ClaimStatus.RECEIVED, 100, False)):
        records, patient = kit.single()
        visit = _done(kit, records, patient, timeline.business_days_ago(20, 10), ("D2950", "D2740"))
        end = visit.appointment.end
        assert end is not None
        claim = kit.claim(
            records,
            patient,
            visit.procedures,
            status=status,
            sent_at=end + timedelta(hours=3),
            received_at=timeline.business_days_ago(4, 11),
            paid_percent=percent,
        )
        if status == ClaimStatus.DENIED:
            note = "denied: nothing paid"
        else:
            note = f"paid {percent}% of the expected amount (threshold 80%)"
        kit.plant(C7, "claim", claim.id, fires=fires, note=note)


def _account(
    records: FamilyRecords, guarantor: Patient, current: int, over_30: int, over_60: int, over_90: int
) -> None:
    records.add_balance(
        patient_id=guarantor.id,
        current=Decimal(current),
        over_30=Decimal(over_30),
        over_60=Decimal(over_60),
        over_90=Decimal(over_90),
    )


def aging(kit: PlantKit) -> None:
    """B1: more than $50 past 60 days and no billing contact in the last 30 days."""
    timeline = kit.timeline
    cases = (
        (40, 0, 180, 95, None, True),
        (0, 0, 0, 420, 45, True),
        (30, 200, 45, 0, None, False),
        (0, 0, 0, 300, 12, False),
    )
    for current, over_30, over_60, over_90, billed_ago, fires in cases:
        records, patient = kit.single()
        _account(records, patient, current, over_30, over_60, over_90)
        last = "no statement"
        if billed_ago is not None:
            at = timeline.days_ago(billed_ago, 9, snap="earlier" if fires else "later")
            kit.contact(
                records, patient, at, ContactTopic.BILLING, ContactOutcome.LEFT_MESSAGE, channel=ContactChannel.MAIL
            )
            last = f"last statement {(timeline.today - at.date()).days} days ago"
        late = over_60 + over_90
        if fires:
            note = f"${late} past 60 days, {last} (thresholds $50, 30 days)"
        elif late <= 50:
            note = f"${late} past 60 days: not over $50"
        else:
            note = f"${late} past 60 days, but {last} (threshold 30 days)"
        kit.plant(B1, "balance", patient.id, fires=fires, note=note)


def past_due_today(kit: PlantKit) -> None:
    """B2: a family with a past-due balance has someone on today's schedule."""
    timeline = kit.timeline
    if not timeline.morning:
        return
    afternoon = 15 if timeline.day0.weekday() < 4 else 12
    records, parent = kit.single()
    child = kit.patient(records, age=9, guarantor=parent)
    _account(records, parent, 60, 140, 0, 0)
    visit = kit.book(records, child, kit.day(0, afternoon), 60, chairs=HYGIENE, codes=kit.cleaning(child))
    kit.ordinary(records, child, recall_appointment=visit.appointment)
    note = "a child on today's schedule; the family account has $140 over 30 days"
    kit.plant(B2, "appointment", visit.appointment.id, fires=True, note=note)
    records, patient = kit.single()
    _account(records, patient, 0, 0, 0, 260)
    plan, _ = kit.plan(records, patient, timeline.days_ago(14, 10, snap="earlier"), status=PlanStatus.ACCEPTED)
    visit = kit.book(records, patient, kit.day(0, 9), 60, chairs=(1, 0, 3), codes=("D2392",), plan_id=plan.id)
    kit.plant(B2, "appointment", visit.appointment.id, fires=True, note="on today's schedule with $260 over 90 days")
    for current, over_30, steps, note in (
        (85, 0, 0, "on today's schedule; the balance is current, nothing past due"),
        (0, 200, 1, "$200 over 30 days, but the visit is on the next open day, not today"),
    ):
        records, patient = kit.single(ordinary=False)
        _account(records, patient, current, over_30, 0, 0)
        visit = kit.book(
            records,
            patient,
            kit.day(steps, 11 if steps == 0 else 10),
            60,
            chairs=HYGIENE[::-1],
            codes=kit.cleaning(patient),
        )
        kit.ordinary(records, patient, recall_appointment=visit.appointment)
        kit.plant(B2, "appointment", visit.appointment.id, fires=False, note=note)


SCENARIOS = (not_billed, not_sent, secondary_on_hold, outstanding, underpaid, aging, past_due_today)
"""The billing scenarios, in the order they are planted."""

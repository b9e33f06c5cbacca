"""Planted recall and reactivation stalls and near-misses: rules R1-R5 of the default pack.

Thresholds (the defaults of the ``dental-core`` pack): a hygiene visit (D1110, D1120, D4341, D4342,
D4910) completed today with no future hygiene visit; a recall due within 30 days, or past
due, or more than 180 days past due, with no appointment and not disabled; a patient last
seen more than 18 and less than 24 months ago with nothing booked and not do-not-contact.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sophie.adapters.demo.plants.planting import HYGIENE, RESTORATIVE, PlantKit
from sophie.model.enums import AppointmentStatus, PreferredContact, RecallKind

__all__ = ["SCENARIOS"]

R1 = "recall.left_without_next_visit"
R2 = "recall.due_soon.unscheduled"
R3 = "recall.overdue"
R4 = "recall.overdue.6mo"
R5 = "reactivation.before_inactive"


def left_without_next_visit(kit: PlantKit) -> None:
    """R1: early-morning cleanings finished before ``as_of`` today, nothing booked after them."""
    timeline = kit.timeline
    end = timeline.as_of - timedelta(minutes=10 + timeline.as_of.minute % 10)
    end = end.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=50)
    if not timeline.morning or start < timeline.at(timeline.today, 5):
        return
    done = AppointmentStatus.COMPLETED
    cases = (
        (
            ("D0120", "D1110"),
            HYGIENE + RESTORATIVE,
            None,
            True,
            "cleaning finished at {end}, no next hygiene visit booked",
        ),
        (
            ("D4910",),
            HYGIENE[::-1] + RESTORATIVE,
            None,
            True,
            "perio maintenance finished at {end}, no next visit booked",
        ),
        (("D0120", "D1110"), HYGIENE + RESTORATIVE, 182, False, "cleaning finished at {end}; next one booked"),
        (("D2392",), RESTORATIVE[::-1], None, False, "a filling finished at {end}: not a hygiene visit"),
    )
    for codes, chairs, next_in, fires, note in cases:
        records, patient = kit.single(ordinary=False)
        kit.hygiene_visit(records, patient, timeline.snap(timeline.today - timedelta(days=185), "earlier"))
        visit = kit.book(records, patient, start, 50, chairs=chairs, codes=codes, status=done).appointment
        booked = None
        if next_in is not None:
            booked = kit.book(
                records, patient, timeline.days_ahead(next_in, 9), 60, chairs=HYGIENE, codes=codes
            ).appointment
        kind = RecallKind.PERIO if "D4910" in codes else RecallKind.PROPHY
        due = timeline.today + timedelta(days=91 if kind == RecallKind.PERIO else 182)
        records.add_recall(
            patient_id=patient.id, kind=kind, due_date=due, appointment_id=None if booked is None else booked.id
        )
        kit.plant(R1, "appointment", visit.id, fires=fires, note=note.format(end=f"{end:%H:%M} today"))


def _recall(kit: PlantKit, due: date, *, booked: datetime | None = None, disabled: bool = False) -> str:
    """A patient whose last cleaning was six months before ``due``; returns the recall id."""
    timeline = kit.timeline
    records, patient = kit.single(ordinary=False)
    last = timeline.snap(due - timedelta(days=182), "earlier")
    kit.hygiene_visit(records, patient, last)
    appointment = None
    if booked is not None:
        appointment = kit.book(records, patient, booked, 60, chairs=HYGIENE, codes=kit.cleaning(patient)).appointment
    recall = records.add_recall(
        patient_id=patient.id,
        kind=RecallKind.PROPHY,
        due_date=due,
        appointment_id=None if appointment is None else appointment.id,
        disabled=disabled,
    )
    return recall.id


def recalls(kit: PlantKit) -> None:
    """R2, R3 and R4: recalls due soon, overdue and long overdue, with their near-misses."""
    timeline = kit.timeline
    today = timeline.today
    booked = timeline.days_ahead(16, 9)
    for days in (12, 25):
        recall = _recall(kit, today + timedelta(days=days))
        kit.plant(R2, "recall", recall, fires=True, note=f"due in {days} days, nothing booked (threshold 30 days)")
    recall = _recall(kit, today + timedelta(days=33))
    kit.plant(R2, "recall", recall, fires=False, note="due in 33 days: too early (threshold 30 days)")
    recall = _recall(kit, today + timedelta(days=10), booked=booked)
    kit.plant(R2, "recall", recall, fires=False, note="due in 10 days, already booked")
    recall = _recall(kit, today + timedelta(days=15), disabled=True)
    kit.plant(R2, "recall", recall, fires=False, note="due in 15 days, but the recall is disabled")
    for days in (20, 60):
        recall = _recall(kit, today - timedelta(days=days))
        kit.plant(R3, "recall", recall, fires=True, note=f"{days} days past due, nothing booked")
    recall = _recall(kit, today + timedelta(days=1))
    kit.plant(R3, "recall", recall, fires=False, note="due tomorrow: not past due yet")
    recall = _recall(kit, today - timedelta(days=20), booked=booked)
    kit.plant(R3, "recall", recall, fires=False, note="20 days past due, but booked")
    for days in (200, 300):
        recall = _recall(kit, today - timedelta(days=days))
        kit.plant(R4, "recall", recall, fires=True, note=f"{days} days past due (threshold 180 days)")
    recall = _recall(kit, today - timedelta(days=170))
    kit.plant(R4, "recall", recall, fires=False, note="170 days past due: not yet 180 days")


def reactivation(kit: PlantKit) -> None:
    """R5: last seen 18-24 months ago, nothing booked, reachable."""
    timeline = kit.timeline
    none = PreferredContact.NONE
    cases: tuple[tuple[int, dict[str, Any], bool, bool, str], ...] = (
        (608, {}, False, True, "last visit {days} days (about 20 months) ago, nothing booked (window 18-24 months)"),
        (670, {}, False, True, "last visit {days} days (about 22 months) ago, nothing booked (window 18-24 months)"),
        (
            640,
            {"do_not_contact": True, "preferred_contact": none},
            False,
            False,
            "last visit {days} days ago, but do not contact",
        ),
        (520, {}, False, False, "last visit {days} days (17 months) ago: not yet 18 months"),
        (608, {}, True, False, "last visit {days} days ago, but a visit is booked"),
    )
    for days_ago, fields, booked, fires, note in cases:
        records, patient = kit.single(ordinary=False, **fields)
        last = timeline.snap(timeline.today - timedelta(days=days_ago), "earlier" if fires else "later")
        kit.hygiene_visit(records, patient, last)
        records.add_recall(patient_id=patient.id, kind=RecallKind.PROPHY, due_date=last + timedelta(days=182))
        if booked:
            kit.book(records, patient, timeline.days_ahead(20, 9), 60, chairs=HYGIENE, codes=kit.cleaning(patient))
        days = (timeline.today - last).days
        kit.plant(R5, "patient", patient.id, fires=fires, note=note.format(days=days))


SCENARIOS = (left_without_next_visit, recalls, reactivation)
"""The recall scenarios, in the order they are planted."""

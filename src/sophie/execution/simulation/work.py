"""Simulated practice-management data that changes as staff work: the PMS side of a simulation.

:class:`PmsState` holds a practice's records and changes them the way doing the work
would in a real PMS — a plan's procedures booked on an appointment, a claim paid, a recall
booked, an opening filled, a balance paid, a broken appointment rebooked, a patient called
— and reads the practice at any moment as a fresh :class:`~sophie.model.Snapshot`.
Nothing here reads the clock: ``now`` is the moment the work is done.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from sophie.model.enums import AppointmentStatus, ClaimKind, ClaimStatus, ContactOutcome, ProcedureStatus
from sophie.model.records import Appointment, Claim, Contact
from sophie.model.snapshot import SECTIONS, Snapshot

__all__ = ["REAPPOINT_RATE", "REMINDER_ANSWERS", "WORKABLE", "PmsState"]

REAPPOINT_RATE = 0.85
"""Share of hygiene patients whose next visit is booked at checkout (Dental Intelligence's
"Hygiene Re-Appointment %" target is 85-90%)."""
REMINDER_ANSWERS = {1: 0.54, 2: 0.5}
"""Chance that a patient still unconfirmed confirms at the 72-hour (1) and 24-hour (2) reminder:
(0.70 - 0.35) / 0.65 and (0.85 - 0.70) / 0.30, the demo's confirmation curve."""
_BOOK_AHEAD = timedelta(days=60)  # beyond the schedule window, so no opening moves
_KEYS = {"balances": "patient_id"}


class PmsState:
    """A practice's records, changed by simulated work.

    Args:
        snapshot: The practice as first read.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.practice = snapshot.practice
        self.sections: dict[str, list[Any]] = {name: list(getattr(snapshot, name)) for name in SECTIONS}
        self._positions: dict[str, dict[str, int]] = {}
        self._plan_procedures: dict[str, list[int]] | None = None
        self._made = 0
        self._reminded = {
            a.id: _reminder_stage(a.start - snapshot.as_of) for a in snapshot.appointments if a.start is not None
        }

    def snapshot(self, as_of: datetime) -> Snapshot:
        """Return the practice as read at ``as_of``."""
        return Snapshot(practice=self.practice, as_of=as_of, **self.sections)

    def work(self, subject_type: str, subject_id: str, now: datetime) -> bool:
        """Do the work that clears a stall on one subject; return whether there was any to do.

        ``now`` must be in the practice's timezone (opening ids are practice-local).
        """
        action = WORKABLE.get(subject_type)
        return action is not None and action(self, subject_id, now)

    # -- helpers used by the work functions ----------------------------------------------------

    def find(self, section: str, record_id: str) -> int | None:
        """Return the position of a record in its section."""
        positions = self._positions.get(section)
        if positions is None:
            key = _KEYS.get(section, "id")
            positions = {getattr(r, key): n for n, r in enumerate(self.sections[section])}
            self._positions[section] = positions
        return positions.get(record_id)

    def update(self, section: str, position: int, **changes: Any) -> None:
        """Replace one record with a changed copy."""
        record: BaseModel = self.sections[section][position]
        self.sections[section][position] = record.model_copy(update=changes)

    def add(self, section: str, record: BaseModel) -> None:
        """Append a record."""
        self.sections[section].append(record)
        positions = self._positions.get(section)
        if positions is not None:
            positions[getattr(record, _KEYS.get(section, "id"))] = len(self.sections[section]) - 1

    def plan_procedures(self, plan_id: str) -> list[int]:
        """Return the positions of a plan's procedures."""
        if self._plan_procedures is None:
            found: dict[str, list[int]] = {}
            for number, procedure in enumerate(self.sections["procedures"]):
                if procedure.treatment_plan_id is not None:
                    found.setdefault(procedure.treatment_plan_id, []).append(number)
            self._plan_procedures = found
        return self._plan_procedures.get(plan_id, [])

    def new_id(self, prefix: str) -> str:
        """Return an id no generated record has."""
        self._made += 1
        return f"sim-{prefix}-{self._made}"

    def answer_reminders(self, now: datetime, rng: random.Random) -> int:
        """Let patients confirm by the automated reminders as their visits come closer; return how many.

        The demo draws a booking's confirmation once, for the first morning, from a curve:
        35 % of visits more than 72 hours out are confirmed, 70 % within 72 hours, 85 %
        within 24 hours (the automated requests go out at those points). A simulation that
        froze the first draw would leave every far visit unconfirmed when it comes close; so
        when a visit crosses one of those points, an unconfirmed patient confirms with the
        chance that keeps the curve (:data:`REMINDER_ANSWERS`).
        """
        done = 0
        for position, visit in enumerate(self.sections["appointments"]):
            if visit.status != AppointmentStatus.SCHEDULED or visit.start is None or visit.start <= now:
                continue
            stage = _reminder_stage(visit.start - now)
            before = self._reminded.get(visit.id, stage)
            self._reminded[visit.id] = max(stage, before)
            if visit.confirmed or stage <= before:
                continue
            if any(rng.random() < REMINDER_ANSWERS[step] for step in range(before + 1, stage + 1)):
                self.update("appointments", position, confirmed=True)
                done += 1
        return done

    def check_out(self, until: datetime, rng: random.Random) -> int:
        """Check out every visit that ended by ``until``, as the front desk does; return how many.

        The appointment becomes completed and its planned procedures completed at its end;
        for an insured patient the visit's primary claim is created and sent at checkout
        (what most practices do the same day; sophie looks for the visits where that did not
        happen), and a hygiene patient's next hygiene visit is booked with probability
        :data:`REAPPOINT_RATE` (the industry's re-appointment target; the others leave
        without one, which ``recall.left_without_next_visit`` catches). Without this a visit
        that has passed would stay "scheduled" forever, and its treatment plan would count as
        unscheduled again the next morning.
        """
        insured = {p.id for p in self.sections["patients"] if p.insured}
        on_visit: dict[str, list[int]] = {}
        for number, procedure in enumerate(self.sections["procedures"]):
            if procedure.appointment_id is not None and procedure.status == ProcedureStatus.PLANNED:
                on_visit.setdefault(procedure.appointment_id, []).append(number)
        done = 0
        for position, visit in enumerate(list(self.sections["appointments"])):
            if visit.status != AppointmentStatus.SCHEDULED or visit.end > until:
                continue
            self.update("appointments", position, status=AppointmentStatus.COMPLETED)
            done += 1
            billed: list[str] = []
            total = Decimal(0)
            for number in on_visit.get(visit.id, []):
                procedure = self.sections["procedures"][number]
                self.update("procedures", number, status=ProcedureStatus.COMPLETED, completed_at=visit.end)
                if procedure.fee > 0 and procedure.bill_insurance is not False:
                    billed.append(procedure.id)
                    total += procedure.fee
            if visit.hygiene and rng.random() < REAPPOINT_RATE:
                self.book_later(visit.patient_id, visit.end, hygiene=True)
            if billed and visit.patient_id in insured:
                claim = Claim(
                    id=self.new_id("cl"), patient_id=visit.patient_id, kind=ClaimKind.PRIMARY,
                    status=ClaimStatus.SENT, service_date=visit.end.date(), sent_at=visit.end,
                    billed=total, procedure_ids=billed,
                )  # fmt: skip
                self.add("claims", claim)
        return done

    def book_later(self, patient_id: str, now: datetime, *, hygiene: bool = False) -> str | None:
        """Book the patient two months out (past the schedule, so no opening changes)."""
        blocks = self.sections["schedule_blocks"]
        if not blocks:
            return None
        start = (now + _BOOK_AHEAD).replace(minute=0, second=0, microsecond=0)
        appointment = Appointment(
            id=self.new_id("a"),
            patient_id=patient_id,
            status=AppointmentStatus.SCHEDULED,
            start=start,
            end=start + timedelta(hours=1),
            provider_id=blocks[0].provider_id,
            operatory_id=blocks[0].operatory_id,
            confirmed=True,
            hygiene=hygiene,
        )
        self.add("appointments", appointment)
        return appointment.id


Work = Callable[[PmsState, str, datetime], bool]


def _reminder_stage(ahead: timedelta) -> int:
    """0: more than 72 hours before the visit; 1: within 72 hours; 2: within 24 hours."""
    return 2 if ahead <= timedelta(hours=24) else 1 if ahead <= timedelta(hours=72) else 0


def _plan(state: PmsState, plan_id: str, now: datetime) -> bool:
    position = state.find("treatment_plans", plan_id)
    if position is None:
        return False
    appointment_id = state.book_later(state.sections["treatment_plans"][position].patient_id, now)
    for number in state.plan_procedures(plan_id):
        if state.sections["procedures"][number].status == ProcedureStatus.PLANNED:
            state.update("procedures", number, appointment_id=appointment_id)
    state.update("treatment_plans", position, status="accepted", decided_at=now)
    return appointment_id is not None


def _claim(state: PmsState, claim_id: str, now: datetime) -> bool:
    position = state.find("claims", claim_id)
    if position is None:
        return False
    claim = state.sections["claims"][position]
    paid = claim.expected if claim.expected is not None else claim.billed
    state.update(
        "claims", position, status=ClaimStatus.CLOSED, sent_at=claim.sent_at or now, received_at=now, paid=paid
    )
    return True


def _procedure(state: PmsState, procedure_id: str, now: datetime) -> bool:
    """Create and send the primary claim for the procedure's visit (its patient's work done that day)."""
    position = state.find("procedures", procedure_id)
    if position is None:
        return False
    procedure = state.sections["procedures"][position]
    if procedure.completed_at is None:
        return False
    billed = {pid for claim in state.sections["claims"] for pid in claim.procedure_ids}
    day = procedure.completed_at.date()
    visit = [
        p for p in state.sections["procedures"]
        if p.patient_id == procedure.patient_id and p.status == ProcedureStatus.COMPLETED
        and p.completed_at is not None and p.completed_at.date() == day and p.id not in billed
    ]  # fmt: skip
    if not visit:
        return False
    claim = Claim(
        id=state.new_id("cl"), patient_id=procedure.patient_id, kind=ClaimKind.PRIMARY, status=ClaimStatus.SENT,
        service_date=day, sent_at=now, billed=sum((p.fee for p in visit), Decimal(0)),
        procedure_ids=[p.id for p in visit],
    )  # fmt: skip
    state.add("claims", claim)
    return True


def _recall(state: PmsState, recall_id: str, now: datetime) -> bool:
    position = state.find("recalls", recall_id)
    if position is None:
        return False
    appointment_id = state.book_later(state.sections["recalls"][position].patient_id, now)
    state.update("recalls", position, appointment_id=appointment_id)
    return appointment_id is not None


def _opening(state: PmsState, opening_id: str, now: datetime) -> bool:
    operatory, _, stamp = opening_id.rpartition("@")
    try:
        start = datetime.fromisoformat(stamp).replace(tzinfo=now.tzinfo)
    except ValueError:
        return False
    blocks = state.sections["schedule_blocks"]
    covering = [b for b in blocks if b.operatory_id == operatory and b.start <= start < b.end]
    if not covering or not state.sections["patients"]:
        return False
    appointment = Appointment(
        id=state.new_id("a"),
        patient_id=state.sections["patients"][0].id,
        status=AppointmentStatus.SCHEDULED,
        start=start,
        end=covering[0].end,
        provider_id=covering[0].provider_id,
        operatory_id=operatory,
        confirmed=True,
    )
    state.add("appointments", appointment)
    return True


def _balance(state: PmsState, patient_id: str, now: datetime) -> bool:
    position = state.find("balances", patient_id)
    if position is None:
        return False
    zero = Decimal(0)
    state.update("balances", position, current=zero, over_30=zero, over_60=zero, over_90=zero)
    return True


def _appointment(state: PmsState, appointment_id: str, now: datetime) -> bool:
    position = state.find("appointments", appointment_id)
    if position is None:
        return False
    appointment = state.sections["appointments"][position]
    if appointment.status == AppointmentStatus.SCHEDULED:
        state.update("appointments", position, confirmed=True)
        return True
    if appointment.status in (AppointmentStatus.COMPLETED, AppointmentStatus.ARRIVED):
        return state.book_later(appointment.patient_id, now) is not None  # the next visit
    blocks = state.sections["schedule_blocks"]
    if not blocks:
        return False
    start = (now + timedelta(days=60)).replace(minute=0, second=0, microsecond=0)
    state.update(
        "appointments",
        position,
        status=AppointmentStatus.SCHEDULED,
        start=start,
        end=start + timedelta(hours=1),
        provider_id=blocks[0].provider_id,
        operatory_id=blocks[0].operatory_id,
        confirmed=True,
        broken_kind=None,
        broken_at=None,
    )
    return True


def _patient(state: PmsState, patient_id: str, now: datetime) -> bool:
    if state.find("patients", patient_id) is None:
        return False
    contact = Contact(
        id=state.new_id("c"),
        patient_id=patient_id,
        at=now,
        channel="phone",
        direction="out",
        topic="scheduling",
        outcome=ContactOutcome.SCHEDULED,
    )
    state.add("contacts", contact)
    state.book_later(patient_id, now)
    return True


WORKABLE: dict[str, Work] = {
    "treatment_plan": _plan,
    "claim": _claim,
    "procedure": _procedure,
    "recall": _recall,
    "opening": _opening,
    "balance": _balance,
    "appointment": _appointment,
    "patient": _patient,
}
"""Subject type -> the PMS work that clears a stall on such a subject."""

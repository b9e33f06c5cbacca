"""The snapshot index: views of every record, relations both ways, derived values, openings.

Built once per snapshot (``snapshot.index``). Everything here is relative to the
snapshot's ``as_of``: "future" means after ``as_of``, and ages are taken on its
local date. Nothing reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from sophie.model.calendar import BusinessCalendar
from sophie.model.enums import AppointmentStatus, ClaimStatus, ProcedureStatus
from sophie.model.openings import Opening, find_openings
from sophie.model.views import VIEW_CLASSES, View, view_of

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sophie.model.snapshot_data import SnapshotData

__all__ = ["SnapshotIndex"]

_ZERO = Decimal(0)
_PATIENT_LISTS = ("dependents", "appointments", "procedures", "treatment_plans", "claims", "recalls", "contacts")
_OPEN_CLAIM = frozenset({ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.ON_HOLD, ClaimStatus.SENT})

# section name -> entity type
_SECTION_TYPES = {
    "staff": "staff",
    "providers": "provider",
    "operatories": "operatory",
    "patients": "patient",
    "appointments": "appointment",
    "procedures": "procedure",
    "treatment_plans": "treatment_plan",
    "claims": "claim",
    "recalls": "recall",
    "contacts": "contact",
    "balances": "balance",
}


def _years_between(born: date, on: date) -> int:
    return relativedelta(on, born).years


class SnapshotIndex:
    """Views of every record of a snapshot, linked both ways, with derived values.

    Attributes:
        snapshot: The snapshot indexed.
        tz: The practice timezone.
        practice: The practice view (``practice`` in rule expressions).
        openings: The openings, sorted by start and chair.
    """

    def __init__(self, snapshot: SnapshotData) -> None:
        self.snapshot = snapshot
        self.tz = ZoneInfo(snapshot.practice.timezone)
        self.as_of = snapshot.as_of
        self.practice = view_of("practice", snapshot.practice)
        self._by_type: dict[str, dict[str, View]] = {}
        for section, entity in _SECTION_TYPES.items():
            self._by_type[entity] = self._views(entity, getattr(snapshot, section))
        self._link_staff()
        self._link_patients()
        self._link_appointments()
        self._link_procedures()
        self._link_plans()
        self._link_claims()
        self._link_recalls_contacts_balances()
        self._derive_patients()
        self.openings = find_openings(
            snapshot.schedule_blocks,
            snapshot.appointments,
            tz=self.tz,
            min_minutes=snapshot.practice.min_opening_minutes,
        )
        self._by_type["opening"] = {o.id: self._opening_view(o) for o in self.openings}

    @staticmethod
    def _views(entity: str, records: Iterable[BaseModel]) -> dict[str, View]:
        key = "patient_id" if entity == "balance" else "id"
        return {getattr(record, key): view_of(entity, record) for record in records}

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """The practice's business calendar (hours, holidays, timezone)."""
        practice = self.snapshot.practice
        return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)

    def subjects(self, entity_type: str) -> Sequence[View]:
        """Return every view of ``entity_type`` (a key of ``ENTITY_TYPES``), in snapshot order."""
        return list(self._by_type[entity_type].values())

    def get(self, entity_type: str, record_id: str) -> View | None:
        """Return the view of one record, or ``None`` when there is none by that id."""
        return self._by_type[entity_type].get(record_id)

    def count(self, entity_type: str) -> int:
        """Return how many records of ``entity_type`` the snapshot holds."""
        return len(self._by_type[entity_type])

    # -- linking -------------------------------------------------------------

    def _ref(self, entity: str, record_id: str | None) -> View | None:
        return None if record_id is None else self._by_type[entity].get(record_id)

    def _link_staff(self) -> None:
        for member in self._by_type["staff"].values():
            member.manager = self._ref("staff", member.manager_id)
        for provider in self._by_type["provider"].values():
            provider.staff = self._ref("staff", provider.staff_id)

    def _link_patients(self) -> None:
        patients = self._by_type["patient"]
        for patient in patients.values():
            for name in _PATIENT_LISTS:
                setattr(patient, name, [])
            patient.balance = None
            patient.primary_provider = self._ref("provider", patient.primary_provider_id)
        for patient in patients.values():
            guarantor = self._ref("patient", patient.guarantor_id)
            patient.guarantor = guarantor if guarantor is not None else patient
            if guarantor is not None and guarantor is not patient:
                guarantor.dependents.append(patient)

    def _link_appointments(self) -> None:
        for appointment in self._by_type["appointment"].values():
            appointment.patient = self._by_type["patient"][appointment.patient_id]
            appointment.patient.appointments.append(appointment)
            appointment.provider = self._ref("provider", appointment.provider_id)
            appointment.operatory = self._ref("operatory", appointment.operatory_id)
            appointment.procedures = []
            appointment.recalls = []
            start, end = appointment.start, appointment.end
            appointment.duration = None if start is None or end is None else end - start

    def _link_procedures(self) -> None:
        for procedure in self._by_type["procedure"].values():
            procedure.patient = self._by_type["patient"][procedure.patient_id]
            procedure.patient.procedures.append(procedure)
            procedure.appointment = self._ref("appointment", procedure.appointment_id)
            if procedure.appointment is not None:
                procedure.appointment.procedures.append(procedure)
            procedure.treatment_plan = self._ref("treatment_plan", procedure.treatment_plan_id)
            procedure.claims = []

    def _booked_ahead(self, procedure: View) -> bool:
        appointment = procedure.appointment
        if appointment is None:
            return False
        if appointment.status == AppointmentStatus.ARRIVED:
            return True
        return bool(appointment.status == AppointmentStatus.SCHEDULED and appointment.start > self.as_of)

    def _link_plans(self) -> None:
        for plan in self._by_type["treatment_plan"].values():
            plan.patient = self._by_type["patient"][plan.patient_id]
            plan.patient.treatment_plans.append(plan)
            plan.procedures = []
        for procedure in self._by_type["procedure"].values():
            if procedure.treatment_plan is not None:
                procedure.treatment_plan.procedures.append(procedure)
        for plan in self._by_type["treatment_plan"].values():
            total = unscheduled = _ZERO
            scheduled = True
            for procedure in plan.procedures:
                if procedure.status == ProcedureStatus.DELETED:
                    continue
                total += procedure.fee
                if procedure.status == ProcedureStatus.PLANNED and not self._booked_ahead(procedure):
                    unscheduled += procedure.fee
                    scheduled = False
            plan.total = total
            plan.unscheduled_total = unscheduled
            plan.scheduled = scheduled

    def _link_claims(self) -> None:
        procedures = self._by_type["procedure"]
        for claim in self._by_type["claim"].values():
            claim.patient = self._by_type["patient"][claim.patient_id]
            claim.patient.claims.append(claim)
            claim.procedures = [procedures[pid] for pid in claim.procedure_ids]
            for procedure in claim.procedures:
                procedure.claims.append(claim)
            if claim.status in _OPEN_CLAIM:
                expected = claim.expected if claim.expected is not None else claim.billed
                claim.outstanding = max(_ZERO, expected - (claim.paid or _ZERO))
            else:
                claim.outstanding = _ZERO

    def _link_recalls_contacts_balances(self) -> None:
        patients = self._by_type["patient"]
        for recall in self._by_type["recall"].values():
            recall.patient = patients[recall.patient_id]
            recall.patient.recalls.append(recall)
            recall.appointment = self._ref("appointment", recall.appointment_id)
            if recall.appointment is not None:
                recall.appointment.recalls.append(recall)
        for contact in sorted(self._by_type["contact"].values(), key=lambda c: c.at):
            contact.patient = patients[contact.patient_id]
            contact.patient.contacts.append(contact)
            contact.staff = self._ref("staff", contact.staff_id)
        for balance in self._by_type["balance"].values():
            balance.patient = patients[balance.patient_id]
            balance.patient.balance = balance
            balance.past_due = balance.over_30 + balance.over_60 + balance.over_90
            balance.total = balance.current + balance.past_due

    def _derive_patients(self) -> None:
        on = self.as_of.astimezone(self.tz).date()
        for patient in self._by_type["patient"].values():
            patient.family_balance = patient.guarantor.balance
            patient.age = None if patient.birth_date is None else _years_between(patient.birth_date, on)
            upcoming = None
            last_visit = None
            for appointment in patient.appointments:
                status = appointment.status
                if status == AppointmentStatus.SCHEDULED and appointment.start > self.as_of:
                    if upcoming is None or appointment.start < upcoming.start:
                        upcoming = appointment
                elif (
                    status == AppointmentStatus.COMPLETED
                    and appointment.start is not None
                    and (last_visit is None or appointment.start > last_visit)
                ):
                    last_visit = appointment.start
            patient.next_appointment = upcoming
            patient.last_visit = last_visit

    def _opening_view(self, opening: Opening) -> View:
        view = VIEW_CLASSES["opening"].__new__(VIEW_CLASSES["opening"])
        view.record = None
        view.id = opening.id
        view.start = opening.start
        view.end = opening.end
        view.duration = opening.duration
        view.provider_id = opening.provider_id
        view.operatory_id = opening.operatory_id
        view.provider = self._by_type["provider"][opening.provider_id]
        view.operatory = self._by_type["operatory"][opening.operatory_id]
        view.hygiene = bool(view.operatory.hygiene)
        return view

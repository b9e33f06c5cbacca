"""What the staff pages need to know from a snapshot: names, roles, today's huddle.

``sophie run`` (and ``sophie serve --demo``) call :func:`record_directory` after a cycle;
the pages then never read the PMS themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sophie.model import Snapshot
from sophie.model.enums import AppointmentStatus
from sophie.web.site_store import HuddlePatient, SiteStore, StaffEntry

__all__ = ["display_name", "record_directory"]

_ZERO = Decimal(0)


def display_name(first: str, last: str) -> str:
    """Return a patient's first name and last initial (``Susan K.``)."""
    first, last = first.strip(), last.strip()
    return f"{first} {last[:1]}." if last else first


def record_directory(store: SiteStore, snapshot: Snapshot, patient_ids: Iterable[str | None]) -> None:
    """Record the snapshot's staff, the named patients' display names, and today's huddle."""
    practice = snapshot.practice
    zone = ZoneInfo(practice.timezone)
    today = snapshot.as_of.astimezone(zone).date()
    staff = [StaffEntry(s.id, s.name, tuple(str(r) for r in s.roles), s.active, practice.id) for s in snapshot.staff]
    names = {p.id: display_name(p.first_name, p.last_name) for p in snapshot.patients}
    index = snapshot.index
    providers = {p.id: p.name for p in snapshot.providers}
    huddle: list[HuddlePatient] = []
    wanted = {pid for pid in patient_ids if pid is not None}
    for appointment in snapshot.appointments:
        if appointment.start is None or appointment.status not in (
            AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED,
        ):  # fmt: skip
            continue
        if appointment.start.astimezone(zone).date() != today:
            continue
        patient = index.get("patient", appointment.patient_id)
        if patient is None:
            continue
        unscheduled = sum((Decimal(plan.unscheduled_total) for plan in patient.treatment_plans), _ZERO)
        balance_view = patient.family_balance
        balance = Decimal(balance_view.total) if balance_view is not None else _ZERO
        wanted.add(appointment.patient_id)
        if unscheduled > 0 or balance > 0:
            huddle.append(
                HuddlePatient(
                    appointment.start.astimezone(zone),
                    appointment.patient_id,
                    names.get(appointment.patient_id, "?"),
                    providers.get(appointment.provider_id or "", ""),
                    unscheduled,
                    balance,
                )
            )
    store.replace_directory(
        practice.id,
        staff=staff,
        patients=[(pid, names[pid]) for pid in sorted(wanted) if pid in names],
        huddle=huddle,
        day=today,
        read_at=snapshot.as_of if isinstance(snapshot.as_of, datetime) else datetime.fromisoformat(str(snapshot.as_of)),
    )

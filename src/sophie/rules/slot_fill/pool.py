"""The slot-fill candidate pool: every patient need that could fill an opening, scored once.

One need per record (see :mod:`sophie.rules.slot_fill.ranking` for the sources, filters and score):
ASAP appointments that could move up, unscheduled treatment on open plans, broken
appointments not rebooked, and overdue recalls. The pool is built once per snapshot index
and policy, as of the snapshot's ``as_of``, and kept in a weak memo, so that every opening
of a snapshot (and every event a watcher ranks from its last complete read) shares it.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from sophie.model.enums import AppointmentStatus, PatientStatus, PlanStatus, ProcedureStatus

if TYPE_CHECKING:
    from sophie.model import SnapshotIndex, View

__all__ = [
    "DEFAULT_POLICY",
    "Need",
    "OpeningCandidate",
    "PoolKey",
    "SlotFillPolicy",
    "candidate_pool",
    "need_order",
    "short_name",
]

_BOOKED = (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED)
_CONTACTABLE = frozenset({PatientStatus.ACTIVE, PatientStatus.PROSPECTIVE})
_PLAN_OPEN = frozenset({PlanStatus.PRESENTED, PlanStatus.ACCEPTED})
_HYGIENE_CODES = frozenset({"D1110", "D1120", "D4341", "D4342", "D4346", "D4355", "D4910"})
_CODE_MINUTES = {"D1110": 60, "D1120": 45, "D4341": 90, "D4342": 60, "D4910": 60, "D2950": 30, "D2740": 90}
_PREFIX_MINUTES = (("D3", 90), ("D27", 90), ("D62", 90), ("D7", 60), ("D2", 60))
_CODE_URGENCY = (("D434", 1.0), ("D4910", 0.9), ("D3", 0.9), ("D27", 0.8), ("D62", 0.7), ("D7", 0.7), ("D2", 0.5))
_SOURCE_URGENCY = {"asap": 0.6, "treatment": 0.4, "broken": 0.5, "recall": 0.3}
_SOURCE_ACCEPT = {"asap": 0.9, "treatment": 0.5, "broken": 0.6, "recall": 0.5}
_RECALL_MINUTES = {"perio": 60, "child": 45, "prophy": 60, "exam": 30, "other": 60}


@dataclass(frozen=True)
class SlotFillPolicy:
    """The weights and limits of the slot-fill score (see the module docstring).

    Attributes:
        value_weight / waiting_weight / urgency_weight / likelihood_weight: Points each
            part gives at its maximum.
        fee_cap: Fees at or above this give the whole value weight.
        waiting_cap_days: Waits this long or longer give the whole waiting weight.
        recall_value: The value of a recall visit (no fee is planned for it).
        broken_show_penalty: How much each broken appointment in the last year lowers the
            chance to show (floor 0.2).
        relax_within: Within this time of the start, preferred providers are no longer required.
        default_minutes: Minutes assumed for work whose length is not known.
    """

    value_weight: float = 40.0
    waiting_weight: float = 20.0
    urgency_weight: float = 25.0
    likelihood_weight: float = 15.0
    fee_cap: Decimal = Decimal(1500)
    waiting_cap_days: int = 180
    recall_value: Decimal = Decimal(150)
    broken_show_penalty: float = 0.25
    relax_within: timedelta = timedelta(hours=2)
    default_minutes: int = 60


DEFAULT_POLICY = SlotFillPolicy()
"""The documented default weights."""


@dataclass(frozen=True)
class OpeningCandidate:
    """One patient who could take an opening, and why they rank where they do.

    Attributes:
        patient_id: The patient.
        name: First name and last initial only (``Ana L.``), for the caller's list.
        source: ``asap``, ``treatment``, ``broken`` or ``recall``.
        record_id: The appointment, plan or recall the need comes from.
        need: What they need, briefly (codes, no notes).
        minutes: How long the work takes.
        minutes_from: Where ``minutes`` comes from: ``pms`` (the PMS's own chair time: the
            procedures' ``minutes`` or the appointment's length), ``estimate`` (sophie's
            built-in per-code or per-recall guesses) or ``pms+estimate`` (some of each).
        hygiene: Whether it is hygiene work.
        score: The total score (0 to 100).
        parts: The score's parts: ``value``, ``waiting``, ``urgency``, ``likelihood``.
    """

    patient_id: str
    name: str
    source: str
    record_id: str
    need: str
    minutes: int
    hygiene: bool
    score: float
    parts: Mapping[str, float] = field(default_factory=dict)
    minutes_from: str = "estimate"

    def as_evidence(self) -> dict[str, object]:
        """Return the candidate as JSON-ready evidence (ids, first name and initial, need, minutes, score)."""
        return {
            "patient_id": self.patient_id,
            "name": self.name,
            "source": self.source,
            "record_id": self.record_id,
            "need": self.need,
            "minutes": self.minutes,
            "minutes_from": self.minutes_from,
            "score": self.score,
        }


@dataclass(frozen=True)
class Need:
    """One patient need in the pool: the candidate it offers, and what the filters test.

    Attributes:
        patient: The patient's view.
        candidate: What the ranking returns if the need fits.
        busy: The patient's booked spans.
        blocked_span: The span of the record the need comes from (an ASAP appointment may
            only move up; a cancelled one is not offered back to its patient).
    """

    patient: View
    candidate: OpeningCandidate
    busy: tuple[tuple[datetime, datetime], ...]
    blocked_span: tuple[datetime, datetime] | None = None


_POOLS: weakref.WeakKeyDictionary[SnapshotIndex, dict[SlotFillPolicy, dict[PoolKey, list[Need]]]]
_POOLS = weakref.WeakKeyDictionary()  # a memo per snapshot index: the pool is built once per policy


def _minutes_for(code: str, default: int) -> int:
    if code in _CODE_MINUTES:
        return _CODE_MINUTES[code]
    return next((minutes for prefix, minutes in _PREFIX_MINUTES if code.startswith(prefix)), default)


def _minutes_source(planned: list[int | None]) -> str:
    """Name where a visit's length comes from: the PMS's procedure times, sophie's guesses, or both."""
    known = sum(1 for minutes in planned if minutes)
    return "pms" if known == len(planned) else "estimate" if known == 0 else "pms+estimate"


def _urgency_for(codes: Iterable[str]) -> float:
    best = 0.0
    for code in codes:
        best = max(best, next((value for prefix, value in _CODE_URGENCY if code.startswith(prefix)), 0.0))
    return best


def short_name(patient: View) -> str:
    """Return the first name and last initial (``Ana L.``): all a caller's list needs."""
    last = str(patient.last_name or "").strip()
    return f"{patient.first_name} {last[:1]}." if last else str(patient.first_name)


def _contactable(patient: View) -> bool:
    return bool(
        not patient.do_not_contact and patient.status in _CONTACTABLE and str(patient.preferred_contact) != "none"
    )


class _Builder:
    """Builds the candidate pool of one snapshot at ``now``."""

    def __init__(self, index: SnapshotIndex, now: datetime, policy: SlotFillPolicy) -> None:
        self.index = index
        self.now = now
        self.policy = policy
        self.today = now.astimezone(index.tz).date()
        self.needs: list[Need] = []
        self._show: dict[str, float] = {}

    def show_chance(self, patient: View) -> float:
        chance = self._show.get(patient.id)
        if chance is None:
            year_ago = self.now - timedelta(days=365)
            broken = sum(
                1
                for a in patient.appointments
                if a.status == AppointmentStatus.BROKEN and a.broken_at is not None and a.broken_at >= year_ago
            )
            chance = max(0.2, 1.0 - self.policy.broken_show_penalty * broken)
            self._show[patient.id] = chance
        return chance

    def add(
        self,
        patient: View,
        source: str,
        record_id: str,
        need: str,
        minutes: int,
        hygiene: bool,
        *,
        value: Decimal,
        waited_days: float,
        urgency: float,
        blocked_span: tuple[datetime, datetime] | None = None,
        minutes_from: str = "estimate",
    ) -> None:
        policy = self.policy
        value_part = policy.value_weight * float(min(max(value, Decimal(0)), policy.fee_cap) / policy.fee_cap)
        waited = min(max(waited_days, 0.0), float(policy.waiting_cap_days))
        waiting_part = policy.waiting_weight * waited / policy.waiting_cap_days
        urgency_part = policy.urgency_weight * max(urgency, _SOURCE_URGENCY[source])
        likelihood_part = policy.likelihood_weight * _SOURCE_ACCEPT[source] * self.show_chance(patient)
        parts = {
            "value": round(value_part, 2),
            "waiting": round(waiting_part, 2),
            "urgency": round(urgency_part, 2),
            "likelihood": round(likelihood_part, 2),
        }
        busy = tuple(
            (a.start, a.end)
            for a in patient.appointments
            if a.status in _BOOKED and a.start is not None and a.end is not None
        )
        score = round(sum(parts.values()), 2)
        candidate = OpeningCandidate(
            str(patient.id), short_name(patient), source, record_id, need, minutes, hygiene, score,
            MappingProxyType(parts), minutes_from,
        )  # fmt: skip
        self.needs.append(Need(patient, candidate, busy, blocked_span))

    def days_since(self, moment: datetime | date | None) -> float:
        if moment is None:
            return 0.0
        if isinstance(moment, datetime):
            return (self.now - moment).total_seconds() / 86400
        return float((self.today - moment).days)

    def asap_and_broken(self) -> None:
        year_ago = self.now - timedelta(days=365)
        for appointment in self.index.subjects("appointment"):
            patient = appointment.patient
            if not _contactable(patient):
                continue
            codes = [p.code for p in appointment.procedures if p.status == ProcedureStatus.PLANNED]
            fee = sum((p.fee for p in appointment.procedures if p.status == ProcedureStatus.PLANNED), Decimal(0))
            duration = appointment.duration
            minutes = int(duration.total_seconds() // 60) if duration else self.policy.default_minutes
            known = "pms" if duration else "estimate"
            label = ", ".join(codes) or ("hygiene visit" if appointment.hygiene else "visit")
            if appointment.status == AppointmentStatus.SCHEDULED and appointment.asap and appointment.start > self.now:
                self.add(patient, "asap", appointment.id, f"move up: {label}", minutes, bool(appointment.hygiene),
                         value=fee, waited_days=self.days_since(appointment.created_at), urgency=_urgency_for(codes),
                         blocked_span=(appointment.start, appointment.end), minutes_from=known)  # fmt: skip
            elif (
                appointment.status == AppointmentStatus.BROKEN
                and appointment.broken_at is not None
                and appointment.broken_at >= year_ago
                and patient.next_appointment is None
            ):
                span = (appointment.start, appointment.end) if appointment.start and appointment.end else None
                self.add(patient, "broken", appointment.id, f"rebook: {label}", minutes, bool(appointment.hygiene),
                         value=fee, waited_days=self.days_since(appointment.broken_at), urgency=_urgency_for(codes),
                         blocked_span=span, minutes_from=known)  # fmt: skip

    def _unbooked(self, procedure: View) -> bool:
        appointment = procedure.appointment
        if appointment is None:
            return True
        if appointment.status == AppointmentStatus.ARRIVED:
            return False
        return not (appointment.status == AppointmentStatus.SCHEDULED and appointment.start > self.now)

    def treatment(self) -> None:
        default = self.policy.default_minutes
        for plan in self.index.subjects("treatment_plan"):
            if plan.status not in _PLAN_OPEN or not _contactable(plan.patient):
                continue
            open_work = [p for p in plan.procedures if p.status == ProcedureStatus.PLANNED and self._unbooked(p)]
            if not open_work:
                continue
            open_work.sort(key=lambda p: (-p.fee, p.id))
            waited = self.days_since(plan.presented_at or plan.decided_at)
            visits = [open_work] if len(open_work) == 1 else [open_work, open_work[:1]]
            for visit in visits:
                codes = [p.code for p in visit]
                planned = [p.minutes for p in visit]
                self.add(
                    plan.patient,
                    "treatment",
                    plan.id,
                    "treatment: " + ", ".join(codes),
                    sum(known or _minutes_for(p.code, default) for p, known in zip(visit, planned, strict=True)),
                    all(code in _HYGIENE_CODES for code in codes),
                    value=sum((p.fee for p in visit), Decimal(0)),
                    waited_days=waited,
                    urgency=_urgency_for(codes),
                    minutes_from=_minutes_source(planned),
                )

    def recalls(self) -> None:
        for recall in self.index.subjects("recall"):
            if recall.disabled or (recall.due_date >= self.today and not recall.asap):
                continue
            patient = recall.patient
            if not _contactable(patient) or patient.next_appointment is not None:
                continue
            kind = str(recall.kind)
            overdue = self.days_since(recall.due_date)
            minutes = _RECALL_MINUTES.get(kind, self.policy.default_minutes)
            urgency = 0.9 if kind == "perio" else min(0.5, 0.3 + max(overdue, 0.0) / 365)
            if recall.asap:
                urgency = max(urgency, _SOURCE_URGENCY["asap"])
            self.add(patient, "recall", recall.id, f"{kind} recall", minutes, True,
                     value=self.policy.recall_value, waited_days=overdue, urgency=urgency)  # fmt: skip


PoolKey = tuple[bool, "str | None"]


def need_order(need: Need) -> tuple[float, str, str]:
    """Sort key: best score first, then patient id and record id."""
    return (-need.candidate.score, need.candidate.patient_id, need.candidate.record_id)


def candidate_pool(index: SnapshotIndex, policy: SlotFillPolicy) -> dict[PoolKey, list[Need]]:
    """Return the needs by (hygiene, primary provider or ``None``), each list best first; built once."""
    cached = _POOLS.setdefault(index, {})
    pool = cached.get(policy)
    if pool is None:
        builder = _Builder(index, index.as_of, policy)
        builder.asap_and_broken()
        builder.treatment()
        builder.recalls()
        pool = {}
        for need in sorted(builder.needs, key=need_order):
            pool.setdefault((need.candidate.hygiene, need.patient.primary_provider_id), []).append(need)
        cached[policy] = pool
    return pool

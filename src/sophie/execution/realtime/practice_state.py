"""The practice as a watcher holds it between complete reads, and the scope of a change.

:class:`PracticeState` keeps the latest complete snapshot as sections of records keyed by
id, with the indexes that turn a change into its :class:`Scope` (records by patient,
families, appointments and schedule blocks by chair and local day). Applying a delta costs
the size of the delta, not of the practice; :meth:`PracticeState.neighbourhood` builds the
small snapshot an incremental cycle evaluates (:mod:`sophie.execution.realtime.incremental`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from sophie.adapters.base import AdapterEvent, SnapshotChanges, record_key
from sophie.execution.reconcile import ChairDay
from sophie.execution.stores.task_cache import task_places
from sophie.model import SECTIONS, Snapshot

if TYPE_CHECKING:
    from sophie.execution.tasks import Task
    from sophie.model import SnapshotIndex

__all__ = ["SCOPED_TYPES", "PracticeState", "Scope"]

_BY_PATIENT = ("appointments", "procedures", "treatment_plans", "claims", "recalls", "contacts", "balances")
_PATIENT_TYPES = frozenset({"patient", "appointment", "procedure", "treatment_plan", "claim", "recall", "contact"})
SCOPED_TYPES = _PATIENT_TYPES | {"balance"}
"""Entity types whose subjects belong to one patient (an incremental scope holds them by family)."""
_EVENT_SECTIONS = {"appointments", "procedures", "claims", "contacts"}


@dataclass
class Scope:
    """What a change can affect: patients (with their families), chair-days, or everything.

    Attributes:
        patients: Patient ids whose records changed (families are added when read).
        chairs: ``(operatory_id, practice-local date)`` whose openings may have changed.
        full: The change can affect anything (staff, providers, the practice itself).
    """

    patients: set[str] = field(default_factory=set)
    chairs: set[ChairDay] = field(default_factory=set)
    full: bool = False

    def add(self, other: Scope) -> None:
        """Widen this scope by ``other``."""
        self.patients |= other.patients
        self.chairs |= other.chairs
        self.full = self.full or other.full

    def is_empty(self) -> bool:
        """Whether nothing is in scope."""
        return not (self.patients or self.chairs or self.full)


class PracticeState:
    """The latest complete snapshot, held as records by id with the indexes that scope a change.

    Args:
        snapshot: A complete snapshot (a full fetch).
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.practice = snapshot.practice
        self.as_of = snapshot.as_of
        self.tz = ZoneInfo(snapshot.practice.timezone)
        self.sections: dict[str, dict[str, BaseModel]] = {
            section: {record_key(section, r): r for r in getattr(snapshot, section)} for section in SECTIONS
        }
        self._by_patient: dict[str, dict[str, set[str]]] = {s: defaultdict(set) for s in _BY_PATIENT}
        self._dependents: dict[str, set[str]] = defaultdict(set)
        self._chair_records: dict[str, dict[ChairDay, set[str]]] = {
            "appointments": defaultdict(set),
            "schedule_blocks": defaultdict(set),
        }
        self._snapshot: Snapshot | None = snapshot
        self._full = snapshot  # the last complete read: its index ranks slot-fill candidates
        for section, records in self.sections.items():
            for key, record in records.items():
                self._index(section, key, record, +1)

    def _chair_day(self, record: BaseModel) -> ChairDay | None:
        operatory = getattr(record, "operatory_id", None)
        start = getattr(record, "start", None)
        if operatory is None or start is None:
            return None
        return operatory, start.astimezone(self.tz).date()

    def _index(self, section: str, key: str, record: BaseModel, sign: int) -> None:
        def mark(bucket: set[str]) -> None:
            if sign > 0:
                bucket.add(key)
            else:
                bucket.discard(key)

        if section in self._by_patient:
            mark(self._by_patient[section][str(getattr(record, "patient_id"))])  # noqa: B009
        if section == "patients" and getattr(record, "guarantor_id", None):
            mark(self._dependents[str(getattr(record, "guarantor_id"))])  # noqa: B009
        if section in self._chair_records:
            chair = self._chair_day(record)
            if chair is not None:
                mark(self._chair_records[section][chair])

    def scope_of(self, section: str, record: BaseModel | None) -> Scope:
        """Return what a record of ``section`` can affect."""
        scope = Scope()
        if record is None:
            return scope
        if section == "patients":
            scope.patients.add(str(getattr(record, "id")))  # noqa: B009
        elif section in self._by_patient:
            scope.patients.add(str(getattr(record, "patient_id")))  # noqa: B009
        elif section != "schedule_blocks":
            scope.full = True  # staff, providers, operatories: anything may read them
        if section in self._chair_records:
            chair = self._chair_day(record)
            if chair is not None:
                scope.chairs.add(chair)
        return scope

    def apply(self, changes: SnapshotChanges) -> Scope:
        """Merge ``changes`` into the state and return their scope (old and new versions of each record)."""
        scope = Scope(full=changes.practice is not None)
        if changes.practice is not None:
            self.practice = changes.practice
        for section in SECTIONS:
            records = self.sections[section]
            upserts = [(record_key(section, r), r) for r in getattr(changes, section)]
            gone = [(key, None) for key in changes.deleted.get(section, ())]
            for key, record in [*upserts, *gone]:
                old = records.pop(key, None)
                if old is not None:
                    self._index(section, key, old, -1)
                    scope.add(self.scope_of(section, old))
                if record is not None:
                    records[key] = record
                    self._index(section, key, record, +1)
                    scope.add(self.scope_of(section, record))
        self.as_of = changes.as_of
        self._snapshot = None
        return scope

    def scope_of_event(self, event: AdapterEvent) -> Scope:
        """Return what an event's record can affect, as the state knows it (plus its patient)."""
        section = event.kind.section
        record = self.sections[section].get(event.record_id) if section in _EVENT_SECTIONS else None
        scope = self.scope_of(section, record)
        if event.patient_id is not None:
            scope.patients.add(event.patient_id)
        return scope

    def scope_of_tasks(self, tasks: Iterable[Task]) -> Scope:
        """Return the scope that re-evaluates the subjects of ``tasks`` (for time-based escalation)."""
        scope = Scope()
        for task in tasks:
            places = task_places(task)
            if not places:
                scope.full = True
            for place in places:
                if isinstance(place, str):
                    scope.patients.add(place)
                else:
                    scope.chairs.add(place)
        return scope

    @property
    def snapshot(self) -> Snapshot:
        """The whole practice as a snapshot (built again after each :meth:`apply`)."""
        if self._snapshot is None:
            lists = {section: list(self.sections[section].values()) for section in SECTIONS}
            self._snapshot = Snapshot(practice=self.practice, as_of=self.as_of, **lists)
        return self._snapshot

    @property
    def ranking_index(self) -> SnapshotIndex:
        """The index of the last complete read, for slot-fill candidates from the whole practice."""
        return self._full.index

    def family_heads(self) -> list[str]:
        """Return the id of each family's head (a patient's guarantor, or the patient), sorted."""
        heads = {str(getattr(p, "guarantor_id", None) or key) for key, p in self.sections["patients"].items()}
        return sorted(heads)

    def chair_days(self, since: date) -> list[ChairDay]:
        """Return the chair-days from ``since`` on that hold appointments or schedule blocks, sorted."""
        found = {chair for by_chair in self._chair_records.values() for chair, keys in by_chair.items() if keys}
        return sorted(chair for chair in found if chair[1] >= since)

    def family(self, patient_ids: Iterable[str]) -> set[str]:
        """Return the patients with their guarantors and the guarantors' dependents."""
        patients = self.sections["patients"]
        found: set[str] = set()
        for patient_id in patient_ids:
            patient = patients.get(patient_id)
            head = str(getattr(patient, "guarantor_id", None) or patient_id)
            found |= {patient_id, head, *self._dependents.get(head, ())}
        return found

    def neighbourhood(self, scope: Scope) -> tuple[Snapshot, dict[str, set[str]]]:
        """Return a snapshot of just the records ``scope`` needs, and the subject ids to evaluate by type.

        Records of other patients that the scope's chairs hold (their appointments) come
        along so that openings are right, but they are not subjects.
        """
        family = self.family(scope.patients)
        picked: dict[str, dict[str, BaseModel]] = {section: {} for section in SECTIONS}
        for section in ("staff", "providers", "operatories"):
            picked[section] = self.sections[section]
        for section in _BY_PATIENT:
            keys = self._by_patient[section]
            for patient_id in family:
                for key in keys.get(patient_id, ()):
                    picked[section][key] = self.sections[section][key]
        for section, by_chair in self._chair_records.items():
            for chair in scope.chairs:
                for key in by_chair.get(chair, ()):
                    picked[section][key] = self.sections[section][key]
        self._close_references(picked)
        patients = self.sections["patients"]
        picked["patients"].update({pid: patients[pid] for pid in family if pid in patients})
        lists = {section: list(records.values()) for section, records in picked.items()}
        snapshot = Snapshot(practice=self.practice, as_of=self.as_of, **lists)
        subjects: dict[str, set[str]] = defaultdict(set)
        for patient_id in family:
            if patient_id in patients:
                subjects["patient"].add(patient_id)
        for section, entity in (("appointments", "appointment"), ("procedures", "procedure"),
                                ("treatment_plans", "treatment_plan"), ("claims", "claim"), ("recalls", "recall"),
                                ("contacts", "contact"), ("balances", "balance")):  # fmt: skip
            for key, record in picked[section].items():
                if str(getattr(record, "patient_id")) in family:  # noqa: B009
                    subjects[entity].add(key)
        tz = self.tz
        for opening in snapshot.index.openings:
            if (opening.operatory_id, opening.start.astimezone(tz).date()) in scope.chairs:
                subjects["opening"].add(opening.id)
        return snapshot, dict(subjects)

    def _close_references(self, picked: dict[str, dict[str, BaseModel]]) -> None:
        """Add the records that picked records name (claims' procedures, procedures' visits, patients)."""
        for claim in list(picked["claims"].values()):
            for procedure_id in getattr(claim, "procedure_ids", ()):
                if procedure_id in self.sections["procedures"]:
                    picked["procedures"][procedure_id] = self.sections["procedures"][procedure_id]
        for section, field_name, target in (("procedures", "appointment_id", "appointments"),
                                            ("procedures", "treatment_plan_id", "treatment_plans"),
                                            ("recalls", "appointment_id", "appointments")):  # fmt: skip
            for record in list(picked[section].values()):
                ref = getattr(record, field_name, None)
                if ref is not None and ref in self.sections[target]:
                    picked[target][ref] = self.sections[target][ref]
        patients = self.sections["patients"]
        for section in _BY_PATIENT:
            for record in picked[section].values():
                pid = str(getattr(record, "patient_id"))  # noqa: B009
                picked["patients"][pid] = patients[pid]

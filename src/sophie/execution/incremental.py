"""Incremental cycles: a change (an event, a delta, a timer) re-evaluates only what it can affect.

An event is a hint, never the truth. The path is::

    event / delta / due task -> Scope (families of patients, chair-days)
        -> neighbourhood: a small snapshot holding just those records (from PracticeState)
        -> the rules of the entity types in scope, on the subjects in scope only
        -> reconcile: only subjects that were seen (or seen gone) are resolved

:class:`PracticeState` keeps the latest complete snapshot as sections of records keyed by
id, with the indexes that turn a change into its scope (records by patient, families,
appointments and schedule blocks by chair and local day). Applying a delta costs the size
of the delta, not of the practice.

Safety: an incremental evaluation is recorded as not ``complete`` (it saw only its scope),
so reconcile resolves a task only when its subject was evaluated cleanly, or is listed as
gone from a scope that was re-read in full. Duplicate, late or out-of-order events only
widen the scope of a re-read; they never carry data themselves. A re-read that fails
raises before anything is reconciled.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from sophie.adapters.base import AdapterEvent, SnapshotChanges, record_key
from sophie.execution.engine import CycleResult, apply_evaluation, rules_by_id
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.model import SECTIONS, Snapshot
from sophie.rules.context import EvalContext
from sophie.rules.evaluation import Evaluation, Finding, SubjectError, finding_for, subject_id
from sophie.rules.opening_evidence import EVIDENCE_CANDIDATES
from sophie.rules.params import resolve_params
from sophie.rules.slot_fill import rank_for_opening

if TYPE_CHECKING:
    from sophie.execution.ledger import Ledger
    from sophie.execution.tasks import Task
    from sophie.model import SnapshotIndex, View
    from sophie.rules import CompiledPack
    from sophie.rules.compiled_pack import CompiledRule

__all__ = ["PracticeState", "Scope", "evaluate_scope", "run_incremental_cycle"]

_BY_PATIENT = ("appointments", "procedures", "treatment_plans", "claims", "recalls", "contacts", "balances")
_PATIENT_TYPES = frozenset({"patient", "appointment", "procedure", "treatment_plan", "claim", "recall", "contact"})
_SCOPED_TYPES = _PATIENT_TYPES | {"balance"}
_EVENT_SECTIONS = {"appointments", "procedures", "claims", "contacts"}

ChairDay = tuple[str, date]


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
            if task.subject_type == "opening":
                chair, _, stamp = task.subject_id.rpartition("@")
                try:
                    scope.chairs.add((chair, datetime.fromisoformat(stamp).date()))
                except ValueError:
                    scope.full = True
            elif task.patient_id is not None:
                scope.patients.add(task.patient_id)
            else:
                scope.full = True
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


def evaluate_scope(
    packs: Sequence[CompiledPack],
    snapshot: Snapshot,
    subjects: Mapping[str, set[str]],
    now: datetime,
    params: Mapping[str, object] | None = None,
    *,
    gone: Mapping[str, set[str]] | None = None,
) -> Evaluation:
    """Evaluate the enabled rules whose entity type is in ``subjects``, on those subjects only.

    ``gone`` lists, by entity type, subjects of open tasks that the re-read scope no longer
    holds: they count as seen (cleared). The result is never ``complete``.
    """
    resolved = resolve_params(packs, params)
    index = snapshot.index
    findings: list[Finding] = []
    errors: list[SubjectError] = []
    evaluated: dict[str, frozenset[str]] = {}
    seconds: dict[str, float] = {}
    for pack, pack_params in zip(packs, resolved, strict=True):
        context = EvalContext.build(index, now, pack_params)
        groups: dict[str, list[CompiledRule]] = {}
        for rule in pack.rules:
            if rule.enabled and (rule.entity_type in subjects or rule.entity_type in (gone or {})):
                groups.setdefault(rule.entity_type, []).append(rule)
        for entity, members in groups.items():
            rules = tuple(members)
            wanted = sorted(subjects.get(entity, ()))
            views = [v for v in (index.get(entity, sid) for sid in wanted) if v is not None]
            started = time.perf_counter()
            results = pack.batch(entity, rules)(context, views)
            failed: list[set[int]] = [set() for _ in rules]
            for number, view, message in results.errors:
                failed[number].add(id(view))
                errors.append(SubjectError(rules[number].id, pack.name, entity, subject_id(view), message))
            for number, rule in enumerate(rules):
                matched = _findings(pack, rule, context, results.matches[number], failed[number], errors)
                findings.extend(matched)
                seen = {subject_id(v) for v in views if id(v) not in failed[number]}
                evaluated[rule.id] = frozenset(seen | (gone or {}).get(entity, set()))
                seconds[rule.id] = (time.perf_counter() - started) / len(rules)
    return Evaluation(tuple(findings), tuple(errors), False, seconds, now, evaluated)


def _findings(
    pack: CompiledPack,
    rule: CompiledRule,
    context: EvalContext,
    matches: Iterable[View],
    failed: set[int],
    errors: list[SubjectError],
) -> list[Finding]:
    found: list[Finding] = []
    for view in sorted(matches, key=subject_id):
        try:
            found.append(finding_for(pack, rule, context, view, with_evidence=True))
        except Exception as err:  # one bad record never stops a cycle
            failed.add(id(view))
            errors.append(SubjectError(rule.id, pack.name, rule.entity_type, subject_id(view), str(err)))
    return found


def _gone(
    tasks: Iterable[Task], state: PracticeState, scope: Scope, subjects: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Open tasks whose subject lies in the re-read scope but is no longer there."""
    family = state.family(scope.patients)
    chairs = {chair for chair, _ in scope.chairs}
    gone: dict[str, set[str]] = defaultdict(set)
    for task in tasks:  # cheap tests first: a large practice has tens of thousands of open tasks
        kind = task.subject_type
        if kind == "opening":
            chair, _, stamp = task.subject_id.rpartition("@")
            if chair not in chairs:
                continue
            try:
                inside = (chair, datetime.fromisoformat(stamp).date()) in scope.chairs
            except ValueError:
                inside = False
        else:
            inside = task.patient_id in family and kind in _SCOPED_TYPES
        if inside and task.subject_id not in subjects.get(kind, ()):
            gone[kind].add(task.subject_id)
    return dict(gone)


def _with_practice_candidates(
    evaluation: Evaluation, state: PracticeState, snapshot: Snapshot, scope: Scope, now: datetime
) -> Evaluation:
    """Rank opening candidates from the whole practice, not just the scope's small snapshot.

    Patients in scope are ranked from the fresh small snapshot; everyone else from the last
    complete read (their records did not change since, or they would be in scope).
    """
    if not any(f.subject_type == "opening" for f in evaluation.findings):
        return evaluation
    family = state.family(scope.patients)
    findings = []
    for finding in evaluation.findings:
        view = snapshot.index.get("opening", finding.subject_id) if finding.subject_type == "opening" else None
        if view is None or "candidates" not in finding.evidence:
            findings.append(finding)
            continue
        wide = rank_for_opening(state.ranking_index, view, now, limit=EVIDENCE_CANDIDATES + len(family))
        fresh = rank_for_opening(snapshot.index, view, now, limit=EVIDENCE_CANDIDATES)
        merged = [c for c in wide if c.patient_id not in family] + fresh
        merged.sort(key=lambda c: (-c.score, c.patient_id))
        evidence = {**finding.evidence, "candidates": [c.as_evidence() for c in merged[:EVIDENCE_CANDIDATES]]}
        findings.append(replace(finding, evidence=evidence))
    return replace(evaluation, findings=tuple(findings))


def run_incremental_cycle(
    state: PracticeState,
    scope: Scope,
    packs: Sequence[CompiledPack],
    ledger: Ledger,
    *,
    now: datetime,
    params: Mapping[str, object] | None = None,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
) -> CycleResult:
    """Re-evaluate what ``scope`` can affect in ``state`` at ``now`` and reconcile it into ``ledger``.

    A ``full`` scope evaluates the whole practice (the cached snapshot, no re-read).

    Raises:
        ConfigurationError: A bad parameter or a naive ``now``.
        LedgerError: The ledger cannot be written.
    """
    from sophie.execution.engine import run_cycle

    versions = {pack.name: pack.version for pack in packs}
    if scope.full:
        return run_cycle(state.snapshot, packs, ledger, now=now, params=params, settings=settings)
    snapshot, subjects = state.neighbourhood(scope)
    gone = _gone(ledger.open_tasks(state.practice.id), state, scope, subjects)
    evaluation = evaluate_scope(packs, snapshot, subjects, now, params, gone=gone)
    evaluation = _with_practice_candidates(evaluation, state, snapshot, scope, now)
    rules = rules_by_id(packs)
    return apply_evaluation(ledger, snapshot, evaluation, rules=rules, now=now, settings=settings, packs=versions)

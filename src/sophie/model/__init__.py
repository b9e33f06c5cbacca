"""The pure core: domain records, the snapshot and its index, the business calendar.

Nothing in this package does I/O or reads the clock.
"""

from __future__ import annotations

from sophie.model.enums import (
    BUILTIN_ROLES,
    AppointmentStatus,
    BrokenKind,
    ClaimKind,
    ClaimStatus,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactTopic,
    PatientStatus,
    PlanStatus,
    PreferredContact,
    Priority,
    ProcedureStatus,
    ProviderKind,
    RecallKind,
)
from sophie.model.fields import ENTITY_TYPES, SUBJECT_TYPES, FieldSpec, FieldType
from sophie.model.index import SnapshotIndex
from sophie.model.openings import Opening, find_openings
from sophie.model.records import (
    Appointment,
    Balance,
    Claim,
    Contact,
    Operatory,
    Patient,
    Period,
    Practice,
    Procedure,
    Provider,
    Recall,
    ScheduleBlock,
    StaffMember,
    TreatmentPlan,
)
from sophie.model.snapshot import SECTIONS, Snapshot, check_references, parse_snapshot
from sophie.model.views import View

__all__ = [
    "BUILTIN_ROLES",
    "ENTITY_TYPES",
    "SECTIONS",
    "SUBJECT_TYPES",
    "Appointment",
    "AppointmentStatus",
    "Balance",
    "BrokenKind",
    "Claim",
    "ClaimKind",
    "ClaimStatus",
    "Contact",
    "ContactChannel",
    "ContactDirection",
    "ContactOutcome",
    "ContactTopic",
    "FieldSpec",
    "FieldType",
    "Opening",
    "Operatory",
    "Patient",
    "PatientStatus",
    "Period",
    "PlanStatus",
    "Practice",
    "PreferredContact",
    "Priority",
    "Procedure",
    "ProcedureStatus",
    "Provider",
    "ProviderKind",
    "Recall",
    "RecallKind",
    "ScheduleBlock",
    "Snapshot",
    "SnapshotIndex",
    "StaffMember",
    "TreatmentPlan",
    "View",
    "check_references",
    "find_openings",
    "parse_snapshot",
]

"""The closed vocabularies of the domain model.

Every enum is a ``StrEnum`` whose values are the lower-case words used in snapshot
JSON and in rule expressions (``appointment.status == "broken"``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BUILTIN_ROLES",
    "AppointmentStatus",
    "BrokenKind",
    "ClaimKind",
    "ClaimStatus",
    "ContactChannel",
    "ContactDirection",
    "ContactOutcome",
    "ContactTopic",
    "PatientStatus",
    "PlanStatus",
    "PreferredContact",
    "Priority",
    "ProcedureStatus",
    "ProviderKind",
    "RecallKind",
]

BUILTIN_ROLES: tuple[str, ...] = (
    "owner_dentist",
    "associate_dentist",
    "hygienist",
    "assistant",
    "office_manager",
    "treatment_coordinator",
    "scheduling_coordinator",
    "hygiene_coordinator",
    "front_desk",
    "insurance_coordinator",
    "financial_coordinator",
)
"""The built-in staff roles. Roles are an open set: practices and packs may add more."""


class ProviderKind(StrEnum):
    """What kind of clinician a provider is."""

    DENTIST = "dentist"
    HYGIENIST = "hygienist"
    SPECIALIST = "specialist"


class PatientStatus(StrEnum):
    """Where a patient stands with the practice."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ARCHIVED = "archived"
    DECEASED = "deceased"
    PROSPECTIVE = "prospective"


class PreferredContact(StrEnum):
    """How a patient prefers to be reached."""

    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    MAIL = "mail"
    NONE = "none"


class AppointmentStatus(StrEnum):
    """The life of an appointment, from planned to completed or broken."""

    PLANNED = "planned"
    UNSCHEDULED = "unscheduled"
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    BROKEN = "broken"


class BrokenKind(StrEnum):
    """Why a broken appointment broke."""

    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class ProcedureStatus(StrEnum):
    """The state of one procedure on a patient's chart."""

    PLANNED = "planned"
    COMPLETED = "completed"
    EXISTING = "existing"
    REFERRED = "referred"
    DELETED = "deleted"


class PlanStatus(StrEnum):
    """The state of a treatment plan."""

    DRAFT = "draft"
    PRESENTED = "presented"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    INACTIVE = "inactive"


class ClaimKind(StrEnum):
    """Primary and secondary claims, and pre-authorizations."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    PREAUTH = "preauth"


class ClaimStatus(StrEnum):
    """Where an insurance claim is in its life."""

    DRAFT = "draft"
    READY = "ready"
    ON_HOLD = "on_hold"
    SENT = "sent"
    RECEIVED = "received"
    DENIED = "denied"
    CLOSED = "closed"


class RecallKind(StrEnum):
    """The kind of periodic visit a recall is for."""

    PROPHY = "prophy"
    PERIO = "perio"
    CHILD = "child"
    EXAM = "exam"
    OTHER = "other"


class ContactChannel(StrEnum):
    """How a contact with a patient happened."""

    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    MAIL = "mail"
    IN_PERSON = "in_person"


class ContactDirection(StrEnum):
    """Who reached out: the practice (out) or the patient (in)."""

    OUT = "out"
    IN = "in"


class ContactTopic(StrEnum):
    """What a contact was about."""

    TREATMENT = "treatment"
    RECALL = "recall"
    SCHEDULING = "scheduling"
    CONFIRMATION = "confirmation"
    BILLING = "billing"
    INSURANCE = "insurance"
    OTHER = "other"


class ContactOutcome(StrEnum):
    """What came of a contact."""

    REACHED = "reached"
    LEFT_MESSAGE = "left_message"
    NO_ANSWER = "no_answer"
    SCHEDULED = "scheduled"
    DECLINED = "declined"
    CALL_BACK = "call_back"


class Priority(StrEnum):
    """Task priority, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

"""The records of a snapshot, one pydantic model per section.

These are the boundary types: they validate what an adapter or a file hands in
(unknown fields rejected, naive datetimes rejected, enums checked) and are frozen
afterwards. Relations and derived values live on the views that
:class:`~sophie.model.index.SnapshotIndex` builds from them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from sophie.model.enums import (
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
    ProcedureStatus,
    ProviderKind,
    RecallKind,
)

__all__ = [
    "Appointment",
    "Balance",
    "Claim",
    "Contact",
    "Instant",
    "Money",
    "Operatory",
    "Patient",
    "Period",
    "Practice",
    "Procedure",
    "Provider",
    "Recall",
    "Record",
    "RecordId",
    "ScheduleBlock",
    "StaffMember",
    "TreatmentPlan",
    "decimal_number",
]

_ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\Z")
_CLOCK_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z|^24:00\Z")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

def _fixed_offset(value: datetime) -> datetime:
    # Python compares and subtracts two datetimes that share one tzinfo object by wall
    # clock, which is wrong across a DST change for zone-aware values. A fixed offset
    # per value keeps every comparison and difference between instants.
    offset = value.utcoffset()
    if offset is None or isinstance(value.tzinfo, timezone):
        return value
    return value.astimezone(timezone(offset))


Instant = Annotated[AwareDatetime, AfterValidator(_fixed_offset)]
"""A timezone-aware datetime, held with a fixed UTC offset so arithmetic is between instants."""

RecordId = Annotated[str, Field(min_length=1, max_length=200)]
"""An identifier: any non-empty string, unique within its section."""

def _money_json(value: Decimal) -> float:
    # Money is a JSON number in snapshots and output. Two decimal places below 10**12 survive the trip
    # through a float exactly (its shortest repr is the decimal text).
    return float(value)


def decimal_number(value: Decimal) -> int | float:
    """Return a decimal as a JSON number: an integer when it is whole (``1535``), else a float (``12.5``)."""
    return int(value) if value == value.to_integral_value() else float(value)


Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(_money_json, return_type=float, when_used="json"),
]
"""An amount of money: an exact decimal with at most two places; a number in JSON."""


def _check_role(value: str) -> str:
    if not _ROLE_PATTERN.match(value):
        raise ValueError(f"role {value!r} must be lower_snake_case")
    return value


Role = Annotated[str, AfterValidator(_check_role)]


class Record(BaseModel):
    """Base of every snapshot record: frozen, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


def _check_hours(hours: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    problems = []
    for day, intervals in hours.items():
        if day not in _WEEKDAYS:
            problems.append(f"unknown weekday {day!r}; use one of {', '.join(_WEEKDAYS)}")
        for start, end in intervals:
            bad = [clock for clock in (start, end) if not _CLOCK_PATTERN.match(clock)]
            if bad:
                problems.extend(f"{day}: {clock!r} is not a HH:MM time" for clock in bad)
            elif end != "24:00" and end <= start:
                problems.append(f"{day}: interval {start}-{end} ends before it starts")
    if problems:
        raise ValueError("; ".join(problems))
    return hours


class Practice(Record):
    """The practice itself: where it is, when it is open."""

    id: RecordId
    name: str
    timezone: str = Field(description="IANA timezone, e.g. America/New_York")
    hours: Annotated[dict[str, list[tuple[str, str]]], AfterValidator(_check_hours)] = Field(
        description='Open intervals per weekday, e.g. {"mon": [["08:00","12:00"],["13:00","17:00"]]}'
    )
    holidays: list[date] = Field(default_factory=list)
    country: str | None = None
    min_opening_minutes: int = Field(default=30, ge=5, le=600)

    @model_validator(mode="after")
    def _known_timezone(self) -> Self:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown timezone {self.timezone!r} (use an IANA name such as America/New_York)") from err
        return self


class Period(Record):
    """A span of time, such as a staff member's leave; ``end`` must come after ``start``."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class StaffMember(Record):
    """A person who can own tasks."""

    id: RecordId
    name: str
    roles: list[Role] = Field(min_length=1)
    active: bool = True
    manager_id: RecordId | None = None
    out_of_office: list[Period] = Field(default_factory=list)
    capacity: int | None = Field(
        default=None, ge=0, le=10_000, description="Tasks a business day this person can act on (default: practice's)."
    )


class Provider(Record):
    """A clinician whose time fills the schedule."""

    id: RecordId
    name: str
    kind: ProviderKind
    staff_id: RecordId | None = None


class Operatory(Record):
    """A chair (treatment room)."""

    id: RecordId
    name: str
    hygiene: bool = False


class ScheduleBlock(Period):
    """When a provider works in a chair (``start`` to ``end``)."""

    provider_id: RecordId
    operatory_id: RecordId


class Patient(Record):
    """A patient of the practice."""

    id: RecordId
    first_name: str
    last_name: str
    birth_date: date | None = None
    status: PatientStatus = PatientStatus.ACTIVE
    preferred_contact: PreferredContact = PreferredContact.PHONE
    do_not_contact: bool = False
    guarantor_id: RecordId | None = None
    primary_provider_id: RecordId | None = None
    insured: bool = False


class Appointment(Record):
    """A visit: planned, on the unscheduled list, booked, or done."""

    id: RecordId
    patient_id: RecordId
    status: AppointmentStatus
    start: Instant | None = None
    end: Instant | None = None
    provider_id: RecordId | None = None
    operatory_id: RecordId | None = None
    confirmed: bool = False
    asap: bool = False
    broken_kind: BrokenKind | None = None
    broken_at: Instant | None = None
    hygiene: bool = False
    created_at: Instant | None = None

    @model_validator(mode="after")
    def _consistent_times(self) -> Self:
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end must be given together")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if self.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.ARRIVED) and self.start is None:
            raise ValueError(f"a {self.status} appointment needs start and end")
        return self


class Procedure(Record):
    """One procedure (CDT code) on a patient's chart."""

    id: RecordId
    patient_id: RecordId
    code: str = Field(min_length=1, max_length=20)
    description: str | None = None
    fee: Money
    status: ProcedureStatus
    planned_at: Instant | None = None
    completed_at: Instant | None = None
    appointment_id: RecordId | None = None
    treatment_plan_id: RecordId | None = None
    tooth: str | None = None
    minutes: int | None = Field(default=None, ge=1, le=1440, description="The chair time the PMS plans for it")
    bill_insurance: bool | None = Field(
        default=None, description="Whether the PMS would bill it to insurance; omitted when the PMS does not say"
    )


class TreatmentPlan(Record):
    """A set of procedures presented to a patient."""

    id: RecordId
    patient_id: RecordId
    status: PlanStatus
    presented_at: Instant | None = None
    decided_at: Instant | None = None


class Claim(Record):
    """An insurance claim or pre-authorization."""

    id: RecordId
    patient_id: RecordId
    kind: ClaimKind
    status: ClaimStatus
    carrier: str | None = None
    service_date: date | None = None
    sent_at: Instant | None = None
    received_at: Instant | None = None
    billed: Money
    expected: Money | None = None
    paid: Money | None = None
    procedure_ids: list[RecordId] = Field(default_factory=list)


class Recall(Record):
    """A patient's due date for a periodic visit."""

    id: RecordId
    patient_id: RecordId
    kind: RecallKind
    due_date: date
    appointment_id: RecordId | None = None
    disabled: bool = False
    asap: bool = Field(default=False, description="The patient asked for the first slot that opens, even before due")


class Contact(Record):
    """One touch with a patient: a call, a text, a letter, a conversation."""

    id: RecordId
    patient_id: RecordId
    at: Instant
    channel: ContactChannel
    direction: ContactDirection
    topic: ContactTopic
    outcome: ContactOutcome
    call_back_on: date | None = None
    staff_id: RecordId | None = None


class Balance(Record):
    """A guarantor's account balance, aged."""

    patient_id: RecordId
    current: Money = Decimal(0)
    over_30: Money = Decimal(0)
    over_60: Money = Decimal(0)
    over_90: Money = Decimal(0)

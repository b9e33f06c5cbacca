"""The sections of a snapshot: the practice, ``as_of`` and one list of records per section.

:class:`SnapshotData` is what the snapshot index reads; :class:`~sophie.model.snapshot.Snapshot`
adds the index on top and is what everything else takes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sophie.model.records import (
    Appointment,
    Balance,
    Claim,
    Contact,
    Instant,
    Operatory,
    Patient,
    Practice,
    Procedure,
    Provider,
    Recall,
    ScheduleBlock,
    StaffMember,
    TreatmentPlan,
)

__all__ = ["SECTIONS", "SnapshotData"]


class SnapshotData(BaseModel):
    """One practice's records at one moment, without the index (see :class:`~sophie.model.snapshot.Snapshot`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    practice: Practice
    as_of: Instant = Field(description="When the data was read from the PMS (freshness).")
    staff: list[StaffMember] = Field(default_factory=list)
    providers: list[Provider] = Field(default_factory=list)
    operatories: list[Operatory] = Field(default_factory=list)
    schedule_blocks: list[ScheduleBlock] = Field(default_factory=list)
    patients: list[Patient] = Field(default_factory=list)
    appointments: list[Appointment] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    treatment_plans: list[TreatmentPlan] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    recalls: list[Recall] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    balances: list[Balance] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the number of records in each section."""
        return {name: len(getattr(self, name)) for name in SECTIONS}


SECTIONS: tuple[str, ...] = (
    "staff",
    "providers",
    "operatories",
    "schedule_blocks",
    "patients",
    "appointments",
    "procedures",
    "treatment_plans",
    "claims",
    "recalls",
    "contacts",
    "balances",
)
"""The list sections of a snapshot, in dependency order."""

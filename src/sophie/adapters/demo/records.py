"""Record building for the demo practice: readable ids and one family's records at a time.

The generator builds a family (a guarantor and dependents, with everything that hangs off
them) in a :class:`FamilyRecords`, then emits it section by section and forgets it. Ids
come from one :class:`Ids` per generation run, so the same run gives the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sophie.adapters.demo.layout import Unit
from sophie.model.enums import PreferredContact
from sophie.model.records import (
    Appointment,
    Balance,
    Claim,
    Contact,
    Patient,
    Procedure,
    Recall,
    TreatmentPlan,
)
from sophie.model.snapshot import SECTIONS

__all__ = ["FAMILY_SECTIONS", "FamilyRecords", "Household", "Ids"]

FAMILY_SECTIONS: tuple[str, ...] = SECTIONS[SECTIONS.index("patients") :]
"""The sections a family contributes to, in snapshot order."""


@dataclass(frozen=True, slots=True)
class Household:
    """What the members of one family share.

    Attributes:
        unit: The office the family goes to.
        last_name: The family name.
        insured: Whether the family has dental insurance.
        carrier: The primary carrier, when insured.
        secondary: Whether a second plan covers them (secondary claims).
        contact: How the family prefers to be reached.
    """

    unit: Unit
    last_name: str
    insured: bool
    carrier: str | None
    secondary: bool
    contact: PreferredContact


class Ids:
    """Sequential, readable ids per prefix: ``p-1``, ``a-1``, ``proc-1`` and so on."""

    __slots__ = ("_next",)

    def __init__(self, start: dict[str, int] | None = None) -> None:
        self._next: dict[str, int] = dict(start or {})

    def new(self, prefix: str) -> str:
        """Return the next id with ``prefix``."""
        number = self._next.get(prefix, 0) + 1
        self._next[prefix] = number
        return f"{prefix}-{number}"

    def state(self) -> dict[str, int]:
        """Return the last number used per prefix, to start another :class:`Ids` from."""
        return dict(self._next)


class FamilyRecords:
    """The records of one family, held per section until they are emitted.

    Each ``add_*`` method validates a new record (the pydantic models check every field),
    gives it the next id and keeps it. Fields are passed through as keyword arguments.
    """

    __slots__ = ("ids", "sections")

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.sections: dict[str, list[BaseModel]] = {name: [] for name in FAMILY_SECTIONS}

    def add_patient(self, **fields: Any) -> Patient:
        """Add a patient."""
        record = Patient(id=self.ids.new("p"), **fields)
        self.sections["patients"].append(record)
        return record

    def add_appointment(self, **fields: Any) -> Appointment:
        """Add an appointment."""
        record = Appointment(id=self.ids.new("a"), **fields)
        self.sections["appointments"].append(record)
        return record

    def add_procedure(self, **fields: Any) -> Procedure:
        """Add a procedure."""
        record = Procedure(id=self.ids.new("proc"), **fields)
        self.sections["procedures"].append(record)
        return record

    def add_plan(self, **fields: Any) -> TreatmentPlan:
        """Add a treatment plan."""
        record = TreatmentPlan(id=self.ids.new("tp"), **fields)
        self.sections["treatment_plans"].append(record)
        return record

    def add_claim(self, **fields: Any) -> Claim:
        """Add a claim or pre-authorization."""
        record = Claim(id=self.ids.new("cl"), **fields)
        self.sections["claims"].append(record)
        return record

    def add_recall(self, **fields: Any) -> Recall:
        """Add a recall."""
        record = Recall(id=self.ids.new("rc"), **fields)
        self.sections["recalls"].append(record)
        return record

    def add_contact(self, **fields: Any) -> Contact:
        """Add a contact."""
        record = Contact(id=self.ids.new("ct"), **fields)
        self.sections["contacts"].append(record)
        return record

    def add_balance(self, **fields: Any) -> Balance:
        """Add a guarantor's balance."""
        record = Balance(**fields)
        self.sections["balances"].append(record)
        return record

    def records(self) -> Iterator[tuple[str, BaseModel]]:
        """Yield ``(section, record)`` for every record, section by section."""
        for section, records in self.sections.items():
            for record in records:
                yield section, record

"""What a rule can read: every entity type, its fields and derived values, with types.

The rule compiler resolves names and infers types against :data:`ENTITY_TYPES`;
``sophie functions`` prints it for analysts. Stored fields are read off the
pydantic records in :mod:`sophie.model.records`; relations and derived values are
declared here and computed by :class:`~sophie.model.index.SnapshotIndex`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from sophie.model import records
from sophie.model.field_docs import FIELD_DOCS

__all__ = [
    "ENTITY_TYPES",
    "READABLE_NAMES",
    "RECORD_TYPES",
    "SUBJECT_TYPES",
    "FieldSpec",
    "FieldType",
]

Kind = Literal["str", "int", "decimal", "bool", "date", "datetime", "duration", "entity", "list"]


@dataclass(frozen=True)
class FieldType:
    """The type of a value a rule can read.

    Attributes:
        kind: The value's kind; ``entity`` for a related record, ``list`` for many.
        entity: For ``entity`` (and lists of entities), the entity type name.
        item: For lists of plain values, the item type.
        choices: For closed vocabularies (enums), the allowed string values.
        optional: Whether the value may be ``None``.
    """

    kind: Kind
    entity: str | None = None
    item: FieldType | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False

    def __str__(self) -> str:
        if self.kind == "entity":
            text = str(self.entity)
        elif self.kind == "list":
            text = f"list[{self.entity or self.item}]"
        else:
            text = self.kind
        return text + ("?" if self.optional else "")


@dataclass(frozen=True)
class FieldSpec:
    """One readable attribute of an entity type.

    Attributes:
        name: The attribute name as written in rules.
        type: Its type.
        doc: One line for analysts.
        derived: ``True`` for relations and values computed from the snapshot.
    """

    name: str
    type: FieldType
    doc: str
    derived: bool = False


RECORD_TYPES: dict[str, type[BaseModel]] = {
    "practice": records.Practice,
    "staff": records.StaffMember,
    "provider": records.Provider,
    "operatory": records.Operatory,
    "patient": records.Patient,
    "appointment": records.Appointment,
    "procedure": records.Procedure,
    "treatment_plan": records.TreatmentPlan,
    "claim": records.Claim,
    "recall": records.Recall,
    "contact": records.Contact,
    "balance": records.Balance,
}
"""The stored record model behind each entity type (``opening`` is derived only)."""

SUBJECT_TYPES: tuple[str, ...] = (
    "patient",
    "appointment",
    "procedure",
    "treatment_plan",
    "claim",
    "recall",
    "contact",
    "balance",
    "opening",
)
"""Entity types a rule may be written ``for``."""

_SCALARS: dict[Any, Kind] = {
    str: "str",
    int: "int",
    bool: "bool",
    Decimal: "decimal",
    date: "date",
    datetime: "datetime",
    AwareDatetime: "datetime",
    timedelta: "duration",
}


def _field_type(annotation: Any) -> FieldType | None:
    """Map a record field annotation to a :class:`FieldType`; ``None`` if rules cannot read it."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _field_type(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            inner = _field_type(members[0])
            return None if inner is None else replace(inner, optional=True)
        return None
    if origin is list:
        item = _field_type(get_args(annotation)[0])
        return None if item is None or item.kind in ("entity", "list") else FieldType("list", item=item)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return FieldType("str", choices=tuple(str(member.value) for member in annotation))
    kind = _SCALARS.get(annotation)
    return None if kind is None else FieldType(kind)


def _stored_fields(model: type[BaseModel]) -> dict[str, FieldSpec]:
    fields = {}
    for name, info in model.model_fields.items():
        field_type = _field_type(info.annotation)
        if field_type is not None:
            doc = info.description or FIELD_DOCS.get(model.__name__, {}).get(name) or name.replace("_", " ")
            if field_type.choices and not all(choice in doc for choice in field_type.choices):
                doc += f" (one of: {', '.join(field_type.choices)})"
            fields[name] = FieldSpec(name, field_type, doc)
    return fields


def _one(entity: str, doc: str, *, optional: bool = True) -> tuple[FieldType, str]:
    return FieldType("entity", entity=entity, optional=optional), doc


def _many(entity: str, doc: str) -> tuple[FieldType, str]:
    return FieldType("list", entity=entity), doc


_DERIVED: dict[str, dict[str, tuple[FieldType, str]]] = {
    "staff": {
        "manager": _one("staff", "the staff member's manager"),
    },
    "provider": {
        "staff": _one("staff", "the staff member who is this provider"),
    },
    "patient": {
        "guarantor": _one(
            "patient", "the patient responsible for the account (the patient if none is named)", optional=False
        ),
        "primary_provider": _one("provider", "the patient's primary provider"),
        "dependents": _many("patient", "patients whose guarantor this patient is"),
        "appointments": _many("appointment", "the patient's appointments"),
        "procedures": _many("procedure", "the patient's procedures"),
        "treatment_plans": _many("treatment_plan", "the patient's treatment plans"),
        "claims": _many("claim", "the patient's claims"),
        "recalls": _many("recall", "the patient's recalls"),
        "contacts": _many("contact", "contacts with the patient, oldest first"),
        "balance": _one("balance", "the patient's own account balance, if the patient is a guarantor"),
        "family_balance": _one("balance", "the balance of the patient's guarantor (the family account)"),
        "next_appointment": _one("appointment", "earliest scheduled appointment starting after as_of"),
        "last_visit": (FieldType("datetime", optional=True), "start of the latest completed appointment"),
        "age": (FieldType("int", optional=True), "age in whole years on the snapshot's date"),
    },
    "appointment": {
        "patient": _one("patient", "the patient", optional=False),
        "provider": _one("provider", "the appointment's provider"),
        "operatory": _one("operatory", "the chair it is booked in"),
        "procedures": _many("procedure", "procedures attached to this appointment"),
        "recalls": _many("recall", "recalls this appointment satisfies"),
        "duration": (FieldType("duration", optional=True), "end - start"),
    },
    "procedure": {
        "patient": _one("patient", "the patient", optional=False),
        "appointment": _one("appointment", "the appointment the procedure is attached to"),
        "treatment_plan": _one("treatment_plan", "the treatment plan the procedure belongs to"),
        "claims": _many("claim", "claims that bill this procedure"),
    },
    "treatment_plan": {
        "patient": _one("patient", "the patient", optional=False),
        "procedures": _many("procedure", "procedures on this plan"),
        "total": (FieldType("decimal"), "sum of fees of the plan's procedures that are not deleted"),
        "unscheduled_total": (
            FieldType("decimal"),
            "sum of fees of planned procedures not on a scheduled appointment after as_of",
        ),
        "scheduled": (
            FieldType("bool"),
            "every planned procedure sits on a scheduled appointment after as_of",
        ),
    },
    "claim": {
        "patient": _one("patient", "the patient", optional=False),
        "procedures": _many("procedure", "procedures the claim bills"),
        "outstanding": (
            FieldType("decimal"),
            "money still expected: (expected or billed) - paid while draft/ready/on_hold/sent, else 0",
        ),
    },
    "recall": {
        "patient": _one("patient", "the patient", optional=False),
        "appointment": _one("appointment", "the appointment booked for this recall"),
    },
    "contact": {
        "patient": _one("patient", "the patient", optional=False),
        "staff": _one("staff", "the staff member who made or took the contact"),
    },
    "balance": {
        "patient": _one("patient", "the guarantor", optional=False),
        "total": (FieldType("decimal"), "current + over_30 + over_60 + over_90"),
        "past_due": (FieldType("decimal"), "over_30 + over_60 + over_90"),
    },
}

_OPENING: dict[str, tuple[FieldType, str]] = {
    "id": (FieldType("str"), "<operatory_id>@<local start as YYYY-MM-DDTHH:MM>"),
    "start": (FieldType("datetime"), "when the opening starts"),
    "end": (FieldType("datetime"), "when the opening ends"),
    "duration": (FieldType("duration"), "end - start"),
    "provider_id": (FieldType("str"), "the provider scheduled in the chair"),
    "operatory_id": (FieldType("str"), "the chair"),
    "provider": _one("provider", "the provider scheduled in the chair", optional=False),
    "operatory": _one("operatory", "the chair", optional=False),
    "hygiene": (FieldType("bool"), "whether the chair is a hygiene chair"),
}


def _build() -> dict[str, dict[str, FieldSpec]]:
    registry: dict[str, dict[str, FieldSpec]] = {}
    for entity, model in RECORD_TYPES.items():
        fields = _stored_fields(model)
        for name, (field_type, doc) in _DERIVED.get(entity, {}).items():
            fields[name] = FieldSpec(name, field_type, doc, derived=True)
        registry[entity] = fields
    registry["opening"] = {
        name: FieldSpec(name, field_type, doc, derived=True) for name, (field_type, doc) in _OPENING.items()
    }
    return registry


ENTITY_TYPES: Mapping[str, Mapping[str, FieldSpec]] = _build()
"""Entity type name -> attribute name -> :class:`FieldSpec`."""


READABLE_NAMES: Mapping[str, frozenset[str]] = {entity: frozenset(fields) for entity, fields in ENTITY_TYPES.items()}
"""Entity type name -> the only attribute names a rule may read on it (fields and derived values).

The interpreter and the code generator resolve attributes against this allow-list and
nothing else, whatever the checker let through.
"""

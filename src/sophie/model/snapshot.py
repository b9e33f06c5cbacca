"""The snapshot: the state of one practice as read from its PMS at ``as_of``.

A :class:`Snapshot` is the interchange format (its JSON Schema is what
``sophie schema snapshot`` prints). :func:`parse_snapshot` turns untrusted data
into one, reporting every problem with its record and field, and checking that
every id a record names exists.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from sophie.errors import IntegrityError, RecordProblem, SnapshotError
from sophie.model.index import SnapshotIndex
from sophie.model.snapshot_data import SECTIONS, SnapshotData

__all__ = ["SECTIONS", "Snapshot", "parse_snapshot"]


class Snapshot(SnapshotData):
    """One practice's data at one moment.

    Build one with :func:`parse_snapshot` (which reports every problem at once) or
    directly with ``Snapshot(...)`` in trusted code. The relations and derived
    values that rules read are in :attr:`index`, built on first use.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @cached_property
    def index(self) -> SnapshotIndex:
        """The relations, derived values and openings of this snapshot, built once."""
        return SnapshotIndex(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Return a copy with ``update`` applied (say, the next cycle's records); its index is built afresh.

        The copy is not validated again: records come from trusted code. To check untrusted
        records, pass ``snapshot.model_dump()`` with the changes to :func:`parse_snapshot`.
        """
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("index", None)  # the cached index describes the original's records
        return copied

    def counts(self) -> dict[str, int]:
        """Return the number of records in each section."""
        return {name: len(getattr(self, name)) for name in SECTIONS}


# (section, field, target section) for every field that names another record.
_REFERENCES: tuple[tuple[str, str, str], ...] = (
    ("staff", "manager_id", "staff"),
    ("providers", "staff_id", "staff"),
    ("schedule_blocks", "provider_id", "providers"),
    ("schedule_blocks", "operatory_id", "operatories"),
    ("patients", "guarantor_id", "patients"),
    ("patients", "primary_provider_id", "providers"),
    ("appointments", "patient_id", "patients"),
    ("appointments", "provider_id", "providers"),
    ("appointments", "operatory_id", "operatories"),
    ("procedures", "patient_id", "patients"),
    ("procedures", "appointment_id", "appointments"),
    ("procedures", "treatment_plan_id", "treatment_plans"),
    ("treatment_plans", "patient_id", "patients"),
    ("claims", "patient_id", "patients"),
    ("claims", "procedure_ids", "procedures"),
    ("recalls", "patient_id", "patients"),
    ("recalls", "appointment_id", "appointments"),
    ("contacts", "patient_id", "patients"),
    ("contacts", "staff_id", "staff"),
    ("balances", "patient_id", "patients"),
)


def _record_id(data: Any, collection: str, index: int) -> str | None:
    """Best-effort id of a raw record, for error messages."""
    try:
        record = data[collection][index]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(record, Mapping):
        value = record.get("id", record.get("patient_id"))
        return None if value is None else str(value)
    return None


def _field_hint(collection: str | None, loc: list[Any]) -> str:
    """Return `` (did you mean 'x'?)`` for a misspelt field of a section's record, or nothing."""
    model: Any = Snapshot
    for part in [collection, *loc[2:-1]] if collection else loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(str(part))
        annotation = getattr(info, "annotation", None)
        inner = getattr(annotation, "__args__", (annotation,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    close = difflib.get_close_matches(str(loc[-1]), list(getattr(model, "model_fields", {})), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: Mapping[str, Any], collection: str | None = None) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field" + _field_hint(collection, list(error.get("loc", ())))
    if kind == "missing":
        return "required field is missing"
    if kind == "timezone_aware":
        return "datetime has no timezone (write e.g. 2026-03-05T11:40:00-05:00)"
    message = str(error.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = error.get("input")
    if kind not in ("model_type", "list_type", "dict_type") and isinstance(value, str | int | float | bool):
        message += f" (got {_prefix(value)})"
    return message


_SHOWN_CHARACTERS = 40


def _prefix(value: object) -> str:
    """Return ``repr(value)``, or for long text a short prefix and its length: data is echoed, not copied."""
    if isinstance(value, str) and len(value) > _SHOWN_CHARACTERS:
        return f"{value[:_SHOWN_CHARACTERS]!r}... ({len(value)} characters)"
    return repr(value)


def _problems_from_validation(error: ValidationError, data: Any) -> list[RecordProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        if loc and loc[0] in SECTIONS and len(loc) >= 2 and isinstance(loc[1], int):
            collection, index = str(loc[0]), int(loc[1])
            field = ".".join(str(part) for part in loc[2:])
            problems.append(
                RecordProblem(
                    _describe(item, collection),
                    collection=collection,
                    index=index,
                    record_id=_record_id(data, collection, index),
                    field=field,
                )
            )
        else:
            problems.append(RecordProblem(_describe(item), field=".".join(str(p) for p in loc)))
    return problems


def _reference_problems(snapshot: Snapshot) -> Iterator[RecordProblem]:
    ids: dict[str, set[str]] = {}
    for section in SECTIONS:
        if section == "schedule_blocks":
            continue
        seen: set[str] = set()
        key = "patient_id" if section == "balances" else "id"
        for position, record in enumerate(getattr(snapshot, section)):
            record_id = getattr(record, key)
            if record_id in seen:
                yield RecordProblem(
                    f"duplicate {key} {record_id!r}", collection=section, index=position, record_id=record_id, field=key
                )
            seen.add(record_id)
        ids[section] = seen
    for section, field, target in _REFERENCES:
        known = ids[target]
        for position, record in enumerate(getattr(snapshot, section)):
            value = getattr(record, field)
            names = value if isinstance(value, list) else [value]
            for name in names:
                if name is not None and name not in known:
                    yield RecordProblem(
                        f"{field} {name!r} names no record in {target}",
                        collection=section,
                        index=position,
                        record_id=getattr(record, "id", getattr(record, "patient_id", None)),
                        field=field,
                    )


def check_references(snapshot: Snapshot, *, source: str | None = None) -> None:
    """Check that ids are unique per section and that every id a record names exists.

    Raises:
        IntegrityError: listing every duplicate or dangling id, each with both ids.
    """
    problems = list(_reference_problems(snapshot))
    if problems:
        raise IntegrityError(problems, source=source)


def parse_snapshot(data: Any, *, source: str | None = None) -> Snapshot:
    """Validate untrusted data (parsed JSON or YAML) into a :class:`Snapshot`.

    Args:
        data: A mapping with ``practice``, ``as_of`` and the section lists.
        source: Where the data came from (a file name), used in error messages.

    Returns:
        The snapshot, with referential integrity checked.

    Raises:
        SnapshotError: every problem found, each naming its record and field.
        IntegrityError: a record names an id that does not exist (a ``SnapshotError``).
    """
    if not isinstance(data, Mapping):
        raise SnapshotError(
            [RecordProblem(f"a snapshot must be a mapping of sections, not {type(data).__name__}")], source=source
        )
    try:
        snapshot = Snapshot.model_validate(data)
    except ValidationError as err:
        raise SnapshotError(_problems_from_validation(err, data), source=source) from err
    check_references(snapshot, source=source)
    return snapshot

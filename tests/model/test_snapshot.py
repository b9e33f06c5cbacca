"""Snapshot validation: every bad record is reported with its section, index, id and field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from snapshot_data import minimal_snapshot
from sophie.errors import IntegrityError, SnapshotError
from sophie.model import Snapshot, parse_snapshot

PATIENT = {"id": "p-1", "first_name": "Ana", "last_name": "Lima"}


def problems_of(data: object) -> list[str]:
    with pytest.raises(SnapshotError) as caught:
        parse_snapshot(data, source="snap.json")
    return [str(p) for p in caught.value.problems]


def test_minimal_snapshot_loads_with_empty_sections() -> None:
    snapshot = parse_snapshot(minimal_snapshot())
    assert snapshot.counts() == dict.fromkeys(snapshot.counts(), 0)
    assert snapshot.practice.min_opening_minutes == 30


def test_money_is_exact_decimal() -> None:
    data = minimal_snapshot(patients=[PATIENT], balances=[{"patient_id": "p-1", "current": 0.1, "over_30": "19.99"}])
    balance = parse_snapshot(data).balances[0]
    assert balance.current == Decimal("0.1")
    assert balance.over_30 == Decimal("19.99")


def test_naive_datetime_is_rejected_naming_record_and_field() -> None:
    data = minimal_snapshot(
        patients=[PATIENT],
        appointments=[{"id": "a-9", "patient_id": "p-1", "status": "planned", "created_at": "2026-03-01T10:00:00"}],
    )
    assert problems_of(data) == [
        "appointments[0] (id=a-9).created_at: datetime has no timezone (write e.g. 2026-03-05T11:40:00-05:00)"
    ]


def test_unknown_field_is_rejected() -> None:
    data = minimal_snapshot(patients=[{**PATIENT, "shoe_size": 9}])
    assert problems_of(data) == ["patients[0] (id=p-1).shoe_size: unknown field"]


def test_unknown_enum_value_lists_the_allowed_values() -> None:
    [problem] = problems_of(minimal_snapshot(patients=[{**PATIENT, "status": "alive"}]))
    assert problem.startswith("patients[0] (id=p-1).status: ")
    assert "'active'" in problem and "'alive'" in problem


def test_wrong_type_and_missing_field_are_both_reported() -> None:
    data = minimal_snapshot(patients=[{"id": "p-1", "first_name": "Ana", "insured": "maybe"}])
    found = problems_of(data)
    assert "patients[0] (id=p-1).last_name: required field is missing" in found
    assert any(p.startswith("patients[0] (id=p-1).insured: Input should be a valid boolean") for p in found)


def test_every_problem_in_the_file_is_reported_at_once() -> None:
    data = minimal_snapshot(
        as_of="2026-03-05T11:45:00",
        patients=[{**PATIENT, "status": "x"}, {**PATIENT, "id": "p-2", "colour": "red"}],
    )
    assert len(problems_of(data)) == 3


def test_unknown_top_level_section_is_rejected() -> None:
    assert problems_of(minimal_snapshot(patientz=[])) == ["patientz: unknown field (did you mean 'patients'?)"]


def test_not_a_mapping_is_rejected() -> None:
    assert problems_of([1, 2]) == ["a snapshot must be a mapping of sections, not list"]


def test_dangling_id_names_both_ids() -> None:
    data = minimal_snapshot(
        patients=[PATIENT], appointments=[{"id": "a-1", "patient_id": "p-404", "status": "planned"}]
    )
    with pytest.raises(IntegrityError) as caught:
        parse_snapshot(data)
    [problem] = caught.value.problems
    assert (problem.collection, problem.index, problem.record_id, problem.field) == ("appointments", 0, "a-1", "patient_id")
    assert "'p-404'" in problem.message


def test_dangling_id_inside_a_list_field() -> None:
    data = minimal_snapshot(
        patients=[PATIENT],
        claims=[{"id": "c-1", "patient_id": "p-1", "kind": "primary", "status": "sent", "billed": 10, "procedure_ids": ["x"]}],
    )
    assert problems_of(data) == ["claims[0] (id=c-1).procedure_ids: procedure_ids 'x' names no record in procedures"]


def test_duplicate_ids_are_errors() -> None:
    data = minimal_snapshot(patients=[PATIENT, PATIENT])
    assert problems_of(data) == ["patients[1] (id=p-1).id: duplicate id 'p-1'"]


def test_end_before_start_and_unknown_timezone() -> None:
    data = minimal_snapshot(
        patients=[PATIENT],
        appointments=[{
            "id": "a-1", "patient_id": "p-1", "status": "scheduled",
            "start": "2026-03-05T11:00:00-05:00", "end": "2026-03-05T10:00:00-05:00",
        }],
    )
    data["practice"]["timezone"] = "Mars/Olympus"
    found = problems_of(data)
    assert any("unknown timezone 'Mars/Olympus'" in p for p in found)
    assert any(p.startswith("appointments[0] (id=a-1): end must be after start") for p in found)


def test_scheduled_appointment_needs_times() -> None:
    data = minimal_snapshot(patients=[PATIENT], appointments=[{"id": "a-1", "patient_id": "p-1", "status": "scheduled"}])
    assert problems_of(data) == ["appointments[0] (id=a-1): a scheduled appointment needs start and end"]


def test_practice_hours_are_checked() -> None:
    data = minimal_snapshot()
    data["practice"]["hours"] = {"mon": [["17:00", "08:00"]], "funday": []}
    found = problems_of(data)
    assert any("unknown weekday 'funday'" in p and "mon: interval 17:00-08:00 ends before it starts" in p for p in found)


def test_snapshot_json_round_trips(example_snapshot_path) -> None:
    from sophie.adapters import load_snapshot_file

    snapshot = load_snapshot_file(example_snapshot_path)
    again = Snapshot.model_validate_json(snapshot.model_dump_json())
    assert again == snapshot

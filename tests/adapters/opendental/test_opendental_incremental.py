"""Incremental fetches by DateTStamp, merged into the previous snapshot, equal a full fetch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sophie.adapters.opendental import OpenDentalAdapter
from sophie.testing import assert_same_practice

if TYPE_CHECKING:
    from conftest import SeededDatabase


STAMPS = (("patient", "DateTStamp"), ("appointment", "DateTStamp"), ("histappointment", "HistDateTStamp"),
          ("procedurelog", "DateTStamp"), ("treatplan", "SecDateTEdit"), ("claim", "SecDateTEdit"),
          ("claimproc", "SecDateTEdit"), ("recall", "DateTStamp"), ("commlog", "DateTStamp"))  # fmt: skip


def _after(adapter: OpenDentalAdapter, seeded: SeededDatabase, *statements: str) -> tuple[object, object]:
    """Fetch, change the rows (after the seed's stamps are an hour old), fetch since; compare with a full fetch."""
    seeded.execute(*(f"UPDATE {table} SET {stamp} = {stamp} - INTERVAL 1 HOUR" for table, stamp in STAMPS))
    first = adapter.fetch_since(None)
    base = first.apply(None)
    seeded.execute(*statements)
    second = adapter.fetch_since(first.watermark)
    assert not second.complete
    merged = second.apply(base)
    assert_same_practice(adapter.fetch(), merged, context="incremental vs full fetch")
    return second, merged


def test_moving_a_procedure_between_appointments(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    second, merged = _after(adapter, seeded, "UPDATE procedurelog SET AptNum = 23 WHERE ProcNum = 110")
    assert second.changes is not None
    assert {p.id for p in second.changes.procedures} >= {"110"}
    assert next(p for p in merged.procedures if p.id == "110").appointment_id == "23"  # type: ignore[attr-defined]


def test_breaking_an_appointment_and_charting_the_missed_code(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    _, merged = _after(
        adapter,
        seeded,
        "UPDATE appointment SET AptStatus = 5 WHERE AptNum = 14",
        "INSERT INTO histappointment (HistApptAction, AptNum, PatNum, AptStatus) VALUES (2, 14, 4, 5)",
    )
    broken = next(a for a in merged.appointments if a.id == "14")  # type: ignore[attr-defined]
    assert (broken.status, broken.broken_kind) == ("broken", "no_show")


def test_deleted_rows_and_deleted_patients_disappear(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    second, merged = _after(
        adapter,
        seeded,
        "UPDATE procedurelog SET ProcStatus = 6 WHERE ProcNum = 100",  # procedure deleted in Open Dental
        "DELETE FROM commlog WHERE CommlogNum = 300",
        "UPDATE treatplan SET Heading = 'edited' WHERE TreatPlanNum = 52",  # stamps patient 17 (the commlog's)
        "UPDATE patient SET PatStatus = 4 WHERE PatNum = 13",  # the patient deleted
        "UPDATE provider SET IsHidden = 1 WHERE ProvNum = 2",
    )
    assert second.changes is not None
    deleted = second.changes.deleted
    assert "100" in deleted["procedures"]
    assert "300" in deleted["contacts"]
    assert "13" in deleted["patients"] and "62" in deleted["claims"]
    assert "2" in deleted["providers"]
    assert "13" not in {p.id for p in merged.patients}  # type: ignore[attr-defined]


def test_a_guarantor_change_reaches_the_family(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    _, merged = _after(adapter, seeded, "UPDATE patient SET PatStatus = 4 WHERE PatNum = 1")
    assert next(p for p in merged.patients if p.id == "2").guarantor_id is None  # type: ignore[attr-defined]


def test_new_rows_arrive_and_unchanged_patients_are_not_re_read(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    second, _ = _after(
        adapter,
        seeded,
        "INSERT INTO patient (PatNum, LName, FName, Guarantor, ClinicNum) VALUES (30, 'New', 'Nell', 30, 1)",
        "INSERT INTO appointment (AptNum, PatNum, AptStatus, Pattern, Op, ProvNum, AptDateTime, ClinicNum)"
        " VALUES (40, 30, 1, 'XXXXXX', 1, 1, '2026-03-05 14:00:00', 1)",
    )
    assert second.changes is not None
    assert {p.id for p in second.changes.patients} == {"30"}
    assert {a.id for a in second.changes.appointments} == {"40"}


def test_an_unknown_watermark_gets_a_full_snapshot(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    result = adapter.fetch_since("2026-03-01T00:00:00+00:00")
    assert result.complete


def test_a_history_row_stamped_on_the_office_clock_is_seen(seeded: SeededDatabase) -> None:
    # HistDateTStamp is the office's local time (New York, west of UTC): compared as UTC it would look hours old
    adapter = seeded.adapter()
    second, merged = _after(
        adapter,
        seeded,
        "UPDATE appointment SET AptStatus = 5, DateTStamp = DateTStamp WHERE AptNum = 14",
        "UPDATE appointment SET DateTStamp = NOW() - INTERVAL 1 HOUR WHERE AptNum = 14",
        "INSERT INTO histappointment (HistApptAction, HistDateTStamp, AptNum, PatNum, AptStatus)"
        " VALUES (2, NOW(), 14, 4, 5)",
    )
    assert second.changes is not None
    assert "14" in {a.id for a in second.changes.appointments}
    assert next(a for a in merged.appointments if a.id == "14").broken_kind == "no_show"  # type: ignore[attr-defined]


def test_an_opt_out_without_a_stamp_is_seen(seeded: SeededDatabase) -> None:
    adapter = seeded.adapter()
    second, merged = _after(adapter, seeded, "INSERT INTO commoptout (PatNum, OptOutSms) VALUES (3, 1)")
    assert second.changes is not None
    assert {p.id for p in second.changes.patients} == {"3"}
    assert next(p for p in merged.patients if p.id == "3").preferred_contact == "phone"  # type: ignore[attr-defined]

"""Open Dental rows map onto sophie's model as docs/opendental.md says (on the seeded database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sophie.adapters.opendental.records_mapping import recall_kind
from sophie.adapters.opendental.settings import Interpretation
from sophie.model import Snapshot

if TYPE_CHECKING:
    from conftest import SeededDatabase

Find = Callable[[str, str], Any]


def ids(snapshot: Snapshot, section: str) -> set[str]:
    return {record.id for record in getattr(snapshot, section)}


def test_practice_comes_from_preferences_settings_and_holiday_schedules(od_snapshot: Snapshot) -> None:
    practice = od_snapshot.practice
    assert practice.name == "Main Street Dental Group"
    assert practice.timezone == "America/New_York"
    assert practice.holidays == [date(2026, 5, 25), date(2026, 7, 3), date(2026, 12, 24)]  # clinics off: every one
    assert od_snapshot.as_of == datetime.fromisoformat("2026-03-05T11:45:00-05:00")


def test_hidden_and_deleted_rows_are_left_out(od_snapshot: Snapshot) -> None:
    assert ids(od_snapshot, "providers") == {"1", "2"}  # 3 hidden, 4 ProvStatus Deleted
    assert ids(od_snapshot, "operatories") == {"1", "2", "3"}  # 4 hidden
    assert "6" not in ids(od_snapshot, "staff")  # hidden user
    assert "19" not in ids(od_snapshot, "patients")  # PatStatus Deleted
    assert "19" not in ids(od_snapshot, "appointments")  # ... and its appointment
    assert "25" not in ids(od_snapshot, "appointments")  # patient note
    assert {"141", "142", "171"}.isdisjoint(ids(od_snapshot, "procedures"))  # deleted, condition, TPi
    assert "64" not in ids(od_snapshot, "claims")  # capitation


def test_staff_roles_come_from_user_groups_then_the_linked_provider(find_staff: Callable[[str], Any]) -> None:
    assert find_staff("1").roles == ["associate_dentist", "owner_dentist"]
    assert find_staff("1").name == "Ada Stone"
    assert find_staff("2").roles == ["hygienist"]
    assert find_staff("3").roles == ["front_desk"]
    assert find_staff("4").roles == ["office_manager"]
    assert find_staff("5").roles == ["insurance_coordinator"]
    assert find_staff("7").roles == ["treatment_coordinator"]


def test_role_mapping_is_configurable() -> None:
    interpretation = Interpretation(roles={"Front Desk": ("front_desk", "scheduling_coordinator")})
    assert interpretation.roles_for("front desk") == ("front_desk", "scheduling_coordinator")
    assert interpretation.roles_for("Billing Team") == ("financial_coordinator",)
    assert interpretation.roles_for("Volunteers") == ()


def test_providers_are_dentists_or_hygienists_linked_to_their_user(by_id: Find) -> None:
    assert by_id("providers", "1").kind == "dentist"
    assert by_id("providers", "2").kind == "hygienist"
    assert by_id("providers", "2").staff_id == "2"


def test_schedule_blocks_come_from_provider_schedules_per_operatory(od_snapshot: Snapshot) -> None:
    blocks = {(b.operatory_id, b.start.isoformat(), b.end.isoformat()) for b in od_snapshot.schedule_blocks}
    assert ("1", "2026-03-05T13:00:00-05:00", "2026-03-05T17:00:00-05:00") in blocks
    assert ("3", "2026-03-09T08:00:00-04:00", "2026-03-09T12:00:00-04:00") in blocks  # after the DST change
    assert len(blocks) == 8  # the blockout, the holiday and the hidden provider's block are not working time


def test_appointment_status_priority_and_confirmation(by_id: Find) -> None:
    assert by_id("appointments", "13").confirmed is False  # "Unconfirmed"
    assert by_id("appointments", "14").confirmed is False  # "Left Msg"
    assert by_id("appointments", "15").confirmed is True  # "Confirmed"
    assert by_id("appointments", "16").asap is True  # Priority = ASAP
    assert by_id("appointments", "15").asap is False
    assert by_id("appointments", "21").status == "planned"
    assert by_id("appointments", "21").start is None
    assert by_id("appointments", "23").status == "unscheduled"
    assert by_id("appointments", "23").start is None  # Open Dental keeps the old time; sophie does not
    assert by_id("appointments", "12").status == "completed"
    assert by_id("appointments", "12").hygiene is True
    assert by_id("appointments", "12").provider_id == "2"  # the hygienist on a hygiene visit


def test_confirmation_names_are_configurable() -> None:
    assert not Interpretation().is_confirmed("Confirmed")  # no names: Open Dental's preferences decide
    assert not Interpretation(confirmed=frozenset({"confirmed"})).is_confirmed("Texted")
    assert Interpretation(confirmed=frozenset({"texted"})).is_confirmed("Texted")


def test_appointment_length_comes_from_the_pattern(by_id: Find) -> None:
    appointment = by_id("appointments", "13")
    assert appointment.end - appointment.start == timedelta(hours=4)


def test_broken_appointments_tell_missed_from_cancelled(by_id: Find) -> None:
    missed = by_id("appointments", "17")  # histappointment Missed (and D9986)
    assert (missed.status, missed.broken_kind) == ("broken", "no_show")
    assert missed.broken_at == datetime(2026, 3, 2, 15, 20, tzinfo=UTC)
    cancelled = by_id("appointments", "18")  # only D9987 charted
    assert (cancelled.status, cancelled.broken_kind) == ("broken", "cancelled")
    assert cancelled.broken_at == datetime.fromisoformat("2026-03-03T09:00:00-05:00")


def test_a_procedure_moved_between_appointments_follows_its_aptnum(by_id: Find) -> None:
    assert by_id("procedures", "110").appointment_id == "22"
    assert by_id("procedures", "103").appointment_id == "21"  # only on a planned appointment


def test_procedure_status_fee_and_dates(by_id: Find) -> None:
    assert by_id("procedures", "100").status == "planned"
    assert by_id("procedures", "100").fee == Decimal("1250.00")
    assert by_id("procedures", "170").status == "existing"
    done = by_id("procedures", "120")
    assert (done.status, done.code) == ("completed", "D2740")
    assert done.completed_at == datetime.fromisoformat("2026-02-10T10:00:00-05:00")


def test_treatment_plans_presented_is_inferred_from_saved_and_signed_plans(by_id: Find) -> None:
    presented = by_id("treatment_plans", "50")
    assert presented.status == "presented"
    assert presented.presented_at == datetime.fromisoformat("2026-03-02T00:00:00-05:00")
    accepted = by_id("treatment_plans", "52")
    assert accepted.status == "accepted"
    assert accepted.decided_at == datetime.fromisoformat("2026-02-25T15:10:00-05:00")
    assert by_id("treatment_plans", "54").status == "presented"  # never saved, holds planned work
    assert by_id("treatment_plans", "55").status == "inactive"
    assert by_id("procedures", "100").treatment_plan_id == "50"


def test_claims_kind_status_and_procedures(by_id: Find) -> None:
    primary, secondary = by_id("claims", "60"), by_id("claims", "61")
    assert (primary.kind, primary.status, primary.paid) == ("primary", "received", Decimal("800.00"))
    assert primary.received_at == datetime.fromisoformat("2026-02-25T00:00:00-05:00")
    assert (secondary.kind, secondary.status, secondary.sent_at) == ("secondary", "on_hold", None)
    assert secondary.procedure_ids == ["120"]
    assert by_id("claims", "62").status == "sent"
    assert by_id("claims", "63").status == "draft"


def test_recalls_kind_disabled_and_booked_appointment(by_id: Find) -> None:
    assert by_id("recalls", "201").disabled is True
    assert by_id("recalls", "202").kind == "child"
    assert by_id("recalls", "202").appointment_id == "11"
    assert by_id("recalls", "204").kind == "perio"
    assert by_id("recalls", "200").appointment_id is None
    assert recall_kind("Exam", "D0120") == "exam"
    assert recall_kind("Fluoride", "D1208") == "other"


def test_commlogs_become_contacts(by_id: Find) -> None:
    call = by_id("contacts", "300")
    assert (call.channel, call.direction, call.topic, call.staff_id) == ("phone", "out", "treatment", "7")
    reminder = by_id("contacts", "301")
    assert (reminder.channel, reminder.topic, reminder.outcome) == ("text", "scheduling", "left_message")
    assert by_id("contacts", "303").direction == "in"
    assert by_id("contacts", "302").topic == "billing"


def test_patients_and_family_balances(by_id: Find, od_snapshot: Snapshot) -> None:
    assert by_id("patients", "2").guarantor_id == "1"
    assert by_id("patients", "1").guarantor_id is None
    assert by_id("patients", "1").insured is True
    assert by_id("patients", "3").preferred_contact == "text"
    assert by_id("patients", "23").do_not_contact is True  # DoNotCall
    assert by_id("patients", "16").status == "inactive"
    [balance] = od_snapshot.balances
    assert (balance.patient_id, balance.over_60, balance.current) == ("18", Decimal("120.00"), Decimal("40.00"))


def test_times_are_local_across_dst_changes(by_id: Find) -> None:
    assert by_id("appointments", "20").start.isoformat() == "2026-03-09T09:00:00-04:00"
    ambiguous = by_id("appointments", "24")  # 01:30 happens twice on 2026-11-01: the first one is read
    assert ambiguous.start.isoformat() == "2026-11-01T01:30:00-04:00"
    assert ambiguous.end - ambiguous.start == timedelta(hours=1)
    assert ambiguous.end.isoformat() == "2026-11-01T01:30:00-05:00"


def test_one_clinic_can_be_read_on_its_own(seeded_shared: SeededDatabase) -> None:
    snapshot = seeded_shared.adapter(clinic=2).fetch()
    assert snapshot.practice.id.endswith("-clinic-2")
    assert snapshot.practice.name == "Hillside Dental"
    assert ids(snapshot, "patients") == {"1", "20"}  # 1 is registered at clinic 1, seen at clinic 2
    assert ids(snapshot, "operatories") == {"3"}
    assert ids(snapshot, "appointments") == {"20", "28"}

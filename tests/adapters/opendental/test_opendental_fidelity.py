"""Open Dental's own conventions, each read on its real 24.3 tables as Open Dental itself reads them.

Each test names the Open Dental source file the convention comes from (public repository,
branch 24_3); docs/opendental.md lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

from sophie.adapters.opendental import Interpretation
from sophie.errors import ConfigurationError
from sophie.model import Snapshot

if TYPE_CHECKING:
    from conftest import SeededDatabase

Find = Callable[[str, str], Any]


def test_midnight_in_date_time_arrived_means_not_arrived(by_id: Find) -> None:
    # FormApptEdit.cs / Appointments.cs: 00:00 is "no arrival time"
    assert by_id("appointments", "10").status == "scheduled"
    assert by_id("appointments", "12").status == "completed"


def test_provider_schedules_without_scheduleop_rows_cover_the_providers_chairs(od_snapshot: Snapshot) -> None:
    # Schedules.cs GetProvSchedsForOp: ProvDentist (ProvHygienist on hygiene chairs), else ScheduleProvUnassigned
    blocks = {(b.provider_id, b.operatory_id, b.start.isoformat()) for b in od_snapshot.schedule_blocks
              if b.start.date() == date(2026, 3, 10)}  # fmt: skip
    assert blocks == {
        ("2", "2", "2026-03-10T13:00:00-04:00"),  # the hygienist's chair
        ("1", "1", "2026-03-10T08:00:00-04:00"),  # the dentist's chair
        ("1", "3", "2026-03-10T08:00:00-04:00"),  # a chair with no provider: ScheduleProvUnassigned = 1
    }


def test_history_stamps_are_office_local_time(by_id: Find) -> None:
    # histappointment.HistDateTStamp is a DATETIME of the office's clock
    missed = by_id("appointments", "17")
    assert missed.broken_at == datetime(2026, 3, 2, 15, 20, tzinfo=UTC)


def test_a_planned_appointment_another_appointment_was_booked_from_is_not_waiting(od_snapshot: Snapshot) -> None:
    # Appointments.cs RefreshPlannedTracker: planned appointments named by another's NextAptNum are left out
    ids = {a.id for a in od_snapshot.appointments}
    assert "26" not in ids
    assert {"21", "27"} <= ids


def test_recalls_open_dental_hides_are_disabled(by_id: Find) -> None:
    # Recalls.cs DoIncludeRecall and the RecallTypesShowingInList preference
    assert by_id("recalls", "205").disabled is True  # DisableUntilDate 2026-04-01
    assert by_id("recalls", "206").disabled is True  # DisableUntilBalance 100, family owes 160
    assert by_id("recalls", "207").disabled is True  # recall type not shown in the recall list
    assert by_id("recalls", "200").disabled is False


def test_an_asap_recall_is_flagged(by_id: Find) -> None:
    # recall.Priority 1 (RecallPriority.ASAP) puts the recall on Open Dental's ASAP list (Recalls.cs)
    assert by_id("recalls", "208").asap is True
    assert by_id("recalls", "200").asap is False


def test_recalls_disabled_until_a_passed_date_or_a_lower_balance_are_shown(seeded: SeededDatabase) -> None:
    seeded.execute("UPDATE recall SET DisableUntilDate = '2026-03-01' WHERE RecallNum = 205",
                   "UPDATE patient SET BalTotal = 80 WHERE PatNum = 18")  # fmt: skip
    recalls = {r.id: r for r in seeded.adapter().fetch().recalls}
    assert recalls["205"].disabled is False
    assert recalls["206"].disabled is False


def test_only_an_estimate_open_dental_would_bill_makes_work_billable(by_id: Find) -> None:
    # RpProcNotBilledIns.cs: an Estimate claimproc (Status 6) with NoBillIns = 0
    assert by_id("procedures", "121").bill_insurance is False  # "do not bill insurance"
    assert by_id("procedures", "122").bill_insurance is True
    assert by_id("procedures", "120").bill_insurance is True  # already on a claim


def test_confirmed_is_what_open_dentals_preferences_name(by_id: Find) -> None:
    # ApptEConfirmStatusAccepted and the AppointmentTime*Trigger preferences
    assert by_id("appointments", "15").confirmed is True  # AppointmentConfirmed (eConfirmation accepted)
    assert by_id("appointments", "22").confirmed is False  # "Confirmed" typed by hand: no preference names it
    assert by_id("appointments", "13").confirmed is False


def test_confirmed_names_override_the_preferences(seeded_shared: SeededDatabase) -> None:
    adapter = seeded_shared.adapter(interpretation=Interpretation(confirmed=frozenset({"confirmed"})))
    appointments = {a.id: a for a in adapter.fetch().appointments}
    assert appointments["22"].confirmed is True
    assert appointments["15"].confirmed is False


def test_outstanding_claims_date_from_the_first_send(by_id: Find) -> None:
    # Claims.cs: a resend resets DateSent; DateSentOrig keeps the first
    assert by_id("claims", "66").sent_at == datetime.fromisoformat("2026-01-20T00:00:00-05:00")
    assert by_id("claims", "62").sent_at == datetime.fromisoformat("2026-01-26T00:00:00-05:00")


def test_an_active_plan_never_saved_is_unscheduled_treatment(by_id: Find) -> None:
    # The Treatment Finder: treatment-planned procedures with no future appointment, whatever the plan state
    plan = by_id("treatment_plans", "54")
    assert plan.status == "presented"
    assert plan.presented_at == datetime.fromisoformat("2026-03-01T00:00:00-05:00")


def test_claims_name_their_carrier(by_id: Find) -> None:
    # claim.PlanNum -> insplan.CarrierNum -> carrier.CarrierName
    assert by_id("claims", "62").carrier == "Delta Dental of Testland"
    assert by_id("claims", "61").carrier == "Acme Mutual"
    assert by_id("claims", "66").carrier is None


def test_comm_opt_outs_close_the_channel(by_id: Find) -> None:
    # CommOptOut.cs: OptOutSms / OptOutEmail with the All flag
    assert by_id("patients", "25").preferred_contact == "phone"  # prefers email, takes none
    assert by_id("patients", "3").preferred_contact == "text"  # only eConfirm texts refused


def test_procedure_minutes_come_from_the_code_time_pattern(by_id: Find) -> None:
    # procedurecode.ProcTime, one character per AppointmentTimeIncrement (Appointments.cs ConvertPatternTo5)
    assert by_id("procedures", "100").minutes == 60  # '/XXXX/' at 10 minutes
    assert by_id("procedures", "102").minutes is None  # no pattern set


def test_a_multi_clinic_database_read_without_a_clinic_names_its_clinics(seeded: SeededDatabase) -> None:
    seeded.execute("UPDATE preference SET ValueString = '0' WHERE PrefName = 'EasyNoClinics'")
    with pytest.raises(ConfigurationError) as error:
        seeded.adapter().fetch()
    message = str(error.value)
    assert "clinic=1" in message and "Main Street Dental" in message
    assert "clinic=2" in message and "Hillside Dental" in message


def test_a_clinic_owns_the_visits_claims_and_holidays_booked_there(seeded: SeededDatabase) -> None:
    seeded.execute("UPDATE preference SET ValueString = '0' WHERE PrefName = 'EasyNoClinics'")
    hillside = seeded.adapter(clinic=2).fetch()
    assert {a.id for a in hillside.appointments} == {"20", "28"}  # 28: a clinic-1 patient seen at clinic 2
    assert "1" in {p.id for p in hillside.patients}
    assert "65" not in {c.id for c in hillside.claims}  # billed by clinic 1
    assert hillside.practice.holidays == [date(2026, 7, 3)]
    main = seeded.adapter(clinic=1).fetch()
    assert "28" not in {a.id for a in main.appointments}
    assert "65" in {c.id for c in main.claims}  # clinic 1 billed it, for a patient of clinic 2
    assert "20" in {p.id for p in main.patients}
    assert main.practice.holidays == [date(2026, 12, 24)]  # Memorial Day (ClinicNum 0) is headquarters'

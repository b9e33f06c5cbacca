from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from snapshot_data import OTHER_DEMO_MORNINGS
from sophie.adapters.demo.practice import DEFAULT_AS_OF, DemoPractice, DemoSettings, Plant
from sophie.errors import ConfigurationError
from sophie.model import (
    BUILTIN_ROLES,
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
    Snapshot,
    View,
    parse_snapshot,
)
from sophie.model.calendar import BusinessCalendar, business_days
from sophie.model.summary import PracticeSummary

NEW_YORK = ZoneInfo("America/New_York")
RULES = (
    "tx.unscheduled.first_touch",
    "tx.unscheduled.second_touch",
    "tx.unscheduled.third_touch",
    "tx.planned_appt.not_scheduled",
    "tx.huddle.patient_today_has_unscheduled_tx",
    "tx.preauth.no_response",
    "tx.preauth.returned_patient_not_contacted",
    "tx.preauth.expiring",
    "sched.opening.today",
    "sched.broken.not_rescheduled",
    "sched.unconfirmed.72h",
    "sched.unconfirmed.24h",
    "sched.unscheduled_list.stale",
    "recall.left_without_next_visit",
    "recall.due_soon.unscheduled",
    "recall.overdue",
    "recall.overdue.6mo",
    "reactivation.before_inactive",
    "claims.completed_not_billed",
    "claims.created_not_sent",
    "claims.secondary_on_hold",
    "claims.outstanding.30d",
    "claims.outstanding.60d",
    "claims.outstanding.90d",
    "claims.received.underpaid_or_denied",
    "billing.balance.aging",
    "billing.past_due.patient_today",
)


@cache
def practice(seed: int = 1, patients: int = 2000, as_of: datetime = DEFAULT_AS_OF) -> DemoPractice:
    return DemoPractice(DemoSettings(seed=seed, patients=patients, as_of=as_of))


@cache
def snapshot(seed: int = 1, patients: int = 2000, as_of: datetime = DEFAULT_AS_OF) -> Snapshot:
    return practice(seed, patients, as_of).snapshot()


# -- determinism and validity ---------------------------------------------------------------


def test_same_settings_give_byte_identical_json() -> None:
    first = DemoPractice(DemoSettings(seed=3, patients=600)).snapshot().model_dump_json()
    second = DemoPractice(DemoSettings(seed=3, patients=600)).snapshot().model_dump_json()
    assert first == second


def test_default_practice_is_repeatable() -> None:
    assert DemoPractice().snapshot().model_dump_json() == snapshot().model_dump_json()


def test_different_seeds_give_different_practices() -> None:
    assert snapshot(seed=1, patients=400).model_dump_json() != snapshot(seed=2, patients=400).model_dump_json()


@pytest.mark.parametrize(("seed", "patients"), [(1, 2000), (2, 300), (11, 4500)])
def test_snapshot_survives_full_validation_and_referential_checks(seed: int, patients: int) -> None:
    data = json.loads(snapshot(seed, patients).model_dump_json())
    parsed = parse_snapshot(data, source="demo")
    assert len(parsed.patients) == patients
    assert parsed.counts() == snapshot(seed, patients).counts()


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        DemoSettings(as_of=datetime(2026, 3, 2, 7, 30))
    with pytest.raises(ConfigurationError, match="at least"):
        DemoSettings(patients=10)
    with pytest.raises(ConfigurationError, match="timezone"):
        DemoSettings(timezone="Mars/Olympus")


# -- realism ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field", "enum"),
    [
        ("patients", "status", PatientStatus),
        ("patients", "preferred_contact", PreferredContact),
        ("providers", "kind", ProviderKind),
        ("appointments", "status", AppointmentStatus),
        ("appointments", "broken_kind", BrokenKind),
        ("procedures", "status", ProcedureStatus),
        ("treatment_plans", "status", PlanStatus),
        ("claims", "kind", ClaimKind),
        ("claims", "status", ClaimStatus),
        ("recalls", "kind", RecallKind),
        ("contacts", "channel", ContactChannel),
        ("contacts", "direction", ContactDirection),
        ("contacts", "topic", ContactTopic),
        ("contacts", "outcome", ContactOutcome),
    ],
)
@pytest.mark.parametrize("seed", [1, 5])
def test_every_value_of_every_vocabulary_appears(seed: int, section: str, field: str, enum: type[StrEnum]) -> None:
    seen = {getattr(record, field) for record in getattr(snapshot(seed), section)}
    assert set(enum) <= seen


def test_the_practice_has_the_shape_of_a_small_office() -> None:
    demo = snapshot()
    assert Counter(p.kind for p in demo.providers) == {"dentist": 2, "hygienist": 2, "specialist": 1}
    assert len(demo.staff) == 8
    assert len(demo.operatories) == 6
    assert sum(op.hygiene for op in demo.operatories) == 2
    assert {role for member in demo.staff for role in member.roles} == set(BUILTIN_ROLES)
    assert sum(bool(member.out_of_office) for member in demo.staff) == 1
    staff_ids = {member.id for member in demo.staff}
    linked = [p for p in demo.providers if p.staff_id is not None]
    assert {p.kind for p in linked} == {"dentist", "hygienist"}
    assert all(p.staff_id in staff_ids for p in linked)
    assert demo.practice.hours["fri"] == [("08:00", "13:00")]
    assert date(2025, 12, 25) in demo.practice.holidays


def test_bigger_practices_are_groups_of_offices() -> None:
    demo = snapshot(11, 4500)
    assert len(demo.operatories) == 12
    assert len(demo.providers) == 10
    assert len(demo.staff) == 16


def test_population_is_plausible() -> None:
    demo = snapshot()
    patients = demo.patients
    active = sum(p.status == "active" for p in patients) / len(patients)
    insured = sum(p.insured for p in patients) / len(patients)
    no_contact = sum(p.do_not_contact for p in patients) / len(patients)
    assert 0.75 < active < 0.92
    assert 0.6 < insured < 0.8
    assert 0.01 < no_contact < 0.06
    assert sum(p.guarantor_id is not None for p in patients) > 300
    starts = [a.start for a in demo.appointments if a.start is not None]
    assert min(starts) < demo.as_of - timedelta(days=180)
    assert max(starts) > demo.as_of + timedelta(days=150)
    sent = [c.sent_at for c in demo.claims if c.sent_at is not None]
    assert max(demo.as_of - t for t in sent) > timedelta(days=120)
    assert min(demo.as_of - t for t in sent) < timedelta(days=3)


def test_codes_fees_and_links_are_consistent() -> None:
    demo = snapshot()
    codes = Counter(p.code for p in demo.procedures)
    for code in ("D0120", "D1110", "D2740", "D2392", "D4341", "D3330", "D7140"):
        assert codes[code] > 0, code
    crowns = {p.fee for p in demo.procedures if p.code == "D2740"}
    assert crowns == {Decimal("1250.00")}
    index = demo.index
    for claim in demo.claims:
        assert all(p.patient_id == claim.patient_id for p in index.get("claim", claim.id).procedures)


# -- the schedule ------------------------------------------------------------------------


def test_openings_today_include_the_1140_cancellation() -> None:
    demo = snapshot()
    today = DEFAULT_AS_OF.date()
    openings = [o for o in demo.index.openings if o.start.date() == today]
    assert len(openings) >= 3
    gap = demo.index.get("opening", "op-2@2026-03-02T11:40")
    assert gap is not None
    assert gap.duration == timedelta(minutes=50)
    cancelled = [
        a
        for a in demo.appointments
        if a.status == "broken" and a.start is not None and a.start.astimezone(NEW_YORK) == gap.start
    ]
    assert len(cancelled) == 1
    assert cancelled[0].broken_kind == "cancelled"
    assert cancelled[0].broken_at is not None and cancelled[0].broken_at < demo.as_of
    assert all(timedelta(minutes=30) <= o.duration <= timedelta(minutes=120) for o in openings)


def test_booked_visits_never_overlap_in_a_chair_inside_the_schedule_window() -> None:
    demo, window = snapshot(), practice().timeline
    booked = sorted(
        (a.operatory_id, a.start, a.end)
        for a in demo.appointments
        if a.status in ("scheduled", "arrived") and a.start and window.window_start <= a.start < window.window_end
    )
    for (chair, _, end), (next_chair, next_start, _) in itertools.pairwise(booked):
        if chair == next_chair:
            assert next_start >= end


def test_someone_has_arrived_for_the_first_visit() -> None:
    assert any(a.status == "arrived" for a in snapshot().appointments)


# -- the ground truth --------------------------------------------------------------------


def test_every_rule_has_two_stalls_and_a_near_miss() -> None:
    kinds = Counter((plant.kind, plant.fires) for plant in practice().plants())
    for rule in RULES:
        assert kinds[rule, True] >= 2, rule
        assert kinds[rule, False] >= 1, rule
    assert {plant.kind for plant in practice().plants()} == set(RULES)


def test_every_plant_subject_exists() -> None:
    index = snapshot().index
    for plant in practice().plants():
        assert index.get(plant.subject_type, plant.subject_id) is not None, plant
        assert plant.note


def test_plants_do_not_depend_on_the_seed_or_size_except_for_ids() -> None:
    def shape(plants: list[Plant]) -> list[tuple[str, str, bool]]:
        return [(p.kind, p.subject_type, p.fires) for p in plants]

    assert shape(practice(1).plants()) == shape(practice(9, 300).plants())


class Reference:
    """A plain reading of the default pack's thresholds, as documented in docs/demo-practice.md."""

    def __init__(self, demo: Snapshot) -> None:
        practice = demo.practice
        self.calendar = BusinessCalendar.from_strings(practice.timezone, practice.hours, practice.holidays)
        self.now = demo.as_of
        self.tz = ZoneInfo(practice.timezone)
        self.today = self.now.astimezone(self.tz).date()
        self.index = demo.index

    def bd(self, since: datetime | None, n: int) -> bool:
        return since is not None and self.calendar.business_age_reached(since, self.now, business_days(n))

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    @staticmethod
    def touches(patient: View, topic: str, since: datetime) -> list[View]:
        return [c for c in patient.contacts if c.topic == topic and c.at > since]

    def open_plan(self, plan: View) -> bool:
        return plan.status in ("presented", "accepted") and plan.presented_at is not None and not plan.scheduled

    def booked_ahead(self, procedure: View) -> bool:
        appointment = procedure.appointment
        return (
            appointment is not None and appointment.status in ("scheduled", "arrived") and appointment.start > self.now
        )

    def unscheduled(self, procedures: list[View]) -> bool:
        return any(p.status == "planned" and not self.booked_ahead(p) for p in procedures)

    def today_visit(self, appointment: View) -> bool:
        return appointment.status in ("scheduled", "arrived") and self.local(appointment.start) == self.today

    def fires(self, kind: str, subject: View) -> bool:
        rule: Callable[[View], bool] = getattr(self, kind.replace(".", "_"))
        return bool(rule(subject))

    def tx_unscheduled_first_touch(self, plan: View) -> bool:
        return (
            self.open_plan(plan)
            and self.bd(plan.presented_at, 2)
            and not self.touches(plan.patient, "treatment", plan.presented_at)
        )

    def tx_unscheduled_second_touch(self, plan: View) -> bool:
        old = self.open_plan(plan) and self.now - plan.presented_at >= timedelta(days=14)
        return old and len(self.touches(plan.patient, "treatment", plan.presented_at)) >= 1

    def tx_unscheduled_third_touch(self, plan: View) -> bool:
        return self.open_plan(plan) and self.now - plan.presented_at >= timedelta(days=60)

    def tx_planned_appt_not_scheduled(self, appointment: View) -> bool:
        old = appointment.status == "planned" and self.now - appointment.created_at > timedelta(days=7)
        return old and appointment.patient.next_appointment is None

    def tx_huddle_patient_today_has_unscheduled_tx(self, appointment: View) -> bool:
        return self.today_visit(appointment) and self.unscheduled(appointment.patient.procedures)

    def tx_preauth_no_response(self, claim: View) -> bool:
        return claim.kind == "preauth" and claim.status == "sent" and self.now - claim.sent_at >= timedelta(days=15)

    def tx_preauth_returned_patient_not_contacted(self, claim: View) -> bool:
        returned = claim.kind == "preauth" and claim.status == "received" and self.bd(claim.received_at, 2)
        quiet = not self.touches(claim.patient, "treatment", claim.received_at)
        return returned and quiet and self.unscheduled(claim.procedures)

    def tx_preauth_expiring(self, claim: View) -> bool:
        if claim.kind != "preauth" or claim.status != "received" or not claim.expected:
            return False
        lapses = claim.received_at + timedelta(days=180)
        return lapses - timedelta(days=30) <= self.now < lapses and self.unscheduled(claim.procedures)

    def sched_opening_today(self, opening: View) -> bool:
        day = self.local(opening.start)
        soon = day == self.today or (
            day == self.today + timedelta(days=1) and opening.start.astimezone(self.tz).hour < 12
        )
        return opening.duration >= timedelta(minutes=30) and opening.start > self.now and soon

    def sched_broken_not_rescheduled(self, appointment: View) -> bool:
        broken = appointment.status == "broken" and self.bd(appointment.broken_at, 1)
        return broken and appointment.patient.next_appointment is None

    def _unconfirmed(self, appointment: View, hours: int) -> bool:
        ahead = appointment.status == "scheduled" and timedelta(0) < appointment.start - self.now <= timedelta(
            hours=hours
        )
        return ahead and not appointment.confirmed

    def sched_unconfirmed_72h(self, appointment: View) -> bool:
        after = (self.today + timedelta(days=k) for k in range(1, 15))
        next_open = next(day for day in after if self.calendar.is_business_day(day))
        on_next_open_day = self._unconfirmed(appointment, 24 * 15) and self.local(appointment.start) <= next_open
        return self._unconfirmed(appointment, 48) or on_next_open_day

    def sched_unconfirmed_24h(self, appointment: View) -> bool:
        return self._unconfirmed(appointment, 24)

    def sched_unscheduled_list_stale(self, appointment: View) -> bool:
        month = timedelta(days=30)
        listed = appointment.status == "unscheduled" and self.now - appointment.created_at > month
        return listed and not any(self.now - c.at <= month for c in appointment.patient.contacts)

    def recall_left_without_next_visit(self, appointment: View) -> bool:
        hygiene = appointment.hygiene or any(
            p.code in {"D1110", "D1120", "D4341", "D4342", "D4910"} for p in appointment.procedures
        )
        done_today = appointment.status == "completed" and hygiene and self.local(appointment.start) == self.today
        later = [
            a for a in appointment.patient.appointments if a.status == "scheduled" and a.hygiene and a.start > self.now
        ]
        return done_today and not later

    def _recall_open(self, recall: View) -> bool:
        return not recall.disabled and recall.appointment is None

    def recall_due_soon_unscheduled(self, recall: View) -> bool:
        return self._recall_open(recall) and 0 <= (recall.due_date - self.today).days <= 30

    def recall_overdue(self, recall: View) -> bool:
        return self._recall_open(recall) and recall.due_date < self.today

    def recall_overdue_6mo(self, recall: View) -> bool:
        return self._recall_open(recall) and (self.today - recall.due_date).days > 180

    def reactivation_before_inactive(self, patient: View) -> bool:
        if patient.status != "active" or patient.do_not_contact or patient.last_visit is None:
            return False
        away = (self.today - self.local(patient.last_visit)).days
        return 548 < away < 730 and patient.next_appointment is None

    def claims_completed_not_billed(self, procedure: View) -> bool:
        done = procedure.status == "completed" and procedure.patient.insured and procedure.fee > 0
        return done and not procedure.claims and self.bd(procedure.completed_at, 1)

    def claims_created_not_sent(self, claim: View) -> bool:
        midnight = datetime.combine(claim.service_date, time(), tzinfo=self.tz)
        return claim.status in ("draft", "ready") and self.bd(midnight, 2)

    def claims_secondary_on_hold(self, claim: View) -> bool:
        if claim.kind != "secondary" or claim.status != "on_hold":
            return False
        primaries = {c for p in claim.procedures for c in p.claims if c.kind == "primary"}
        return any(c.status in ("received", "closed") and self.bd(c.received_at, 2) for c in primaries)

    def _outstanding(self, claim: View, days: int) -> bool:
        return claim.kind != "preauth" and claim.status == "sent" and self.now - claim.sent_at >= timedelta(days=days)

    def claims_outstanding_30d(self, claim: View) -> bool:
        chased = self.touches(claim.patient, "insurance", self.now - timedelta(days=14))
        return self._outstanding(claim, 30) and not chased

    def claims_outstanding_60d(self, claim: View) -> bool:
        return self._outstanding(claim, 60)

    def claims_outstanding_90d(self, claim: View) -> bool:
        return self._outstanding(claim, 90)

    def claims_received_underpaid_or_denied(self, claim: View) -> bool:
        if claim.kind == "preauth" or claim.status not in ("received", "denied") or claim.paid is None:
            return False
        return bool(claim.paid == 0 or claim.paid < Decimal("0.8") * claim.expected)

    def billing_balance_aging(self, balance: View) -> bool:
        billed = self.touches(balance.patient, "billing", self.now - timedelta(days=30))
        return balance.over_60 + balance.over_90 > 50 and not billed

    def billing_past_due_patient_today(self, appointment: View) -> bool:
        family = appointment.patient.family_balance
        return self.today_visit(appointment) and family is not None and family.past_due > 0


AS_OF_CASES = [DEFAULT_AS_OF, *OTHER_DEMO_MORNINGS]


@pytest.mark.parametrize("as_of", AS_OF_CASES, ids=lambda t: t.strftime("%a-%Y-%m-%dT%H%M"))
def test_plants_agree_with_a_plain_reading_of_the_thresholds(as_of: datetime) -> None:
    demo = snapshot(4, 600, as_of)
    reference = Reference(demo)
    wrong = []
    for plant in practice(4, 600, as_of).plants():
        subject = demo.index.get(plant.subject_type, plant.subject_id)
        assert subject is not None, plant
        if reference.fires(plant.kind, subject) != plant.fires:
            wrong.append(plant)
    assert wrong == []


def test_afternoon_practices_leave_out_the_plants_about_today() -> None:
    kinds = {p.kind for p in practice(4, 600, AS_OF_CASES[5]).plants()}
    assert "sched.opening.today" not in kinds
    assert "claims.outstanding.90d" in kinds


# -- streaming ---------------------------------------------------------------------------


def test_streamed_records_are_the_snapshot() -> None:
    demo = practice(6, 400)
    streamed: dict[str, int] = Counter(section for section, _ in demo.iter_records())
    assert streamed.pop("practice") == 1
    assert streamed == {k: v for k, v in snapshot(6, 400).counts().items() if v}


def test_summary_matches_the_snapshot() -> None:
    summary = practice(6, 400).summary(max_openings=5)
    expected = PracticeSummary.of(snapshot(6, 400), max_openings=5)
    assert summary == expected


@pytest.mark.slow
def test_streaming_summary_keeps_memory_flat() -> None:
    script = """
import resource, sys
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
summary = DemoPractice(DemoSettings(patients=int(sys.argv[1]))).summary()
assert summary.counts["patients"] == int(sys.argv[1])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak // 1024 if sys.platform == "darwin" else peak)  # bytes on macOS, KiB on Linux
"""

    def peak_kib(patients: int) -> int:
        result = subprocess.run(
            [sys.executable, "-c", script, str(patients)], capture_output=True, text=True, check=True
        )
        return int(result.stdout.strip())

    small, large = peak_kib(2000), peak_kib(20000)
    # A snapshot of 20,000 patients holds ~300,000 records (~400 MB); the stream holds one family.
    assert large - small < 120 * 1024, (small, large)


def test_the_past_is_past_and_the_future_is_booked() -> None:
    demo = snapshot()
    now = demo.as_of
    for a in demo.appointments:
        if a.status == "completed":
            assert a.end is not None and a.end <= now, a
        if a.status == "scheduled":
            assert a.start is not None and a.start > now, a
        if a.status == "arrived":
            assert a.start is not None and a.start - timedelta(minutes=30) <= now < a.end, a
        if a.status == "broken":
            assert a.broken_kind is not None and a.broken_at is not None and a.broken_at <= now, a
        assert a.created_at is None or a.created_at <= now, a
    assert all(c.at <= now for c in demo.contacts)
    for claim in demo.claims:
        assert claim.sent_at is None or claim.sent_at <= now, claim
        assert claim.received_at is None or (claim.sent_at is not None and claim.sent_at < claim.received_at <= now), (
            claim
        )
        assert (claim.sent_at is None) == (claim.status in ("draft", "ready", "on_hold")), claim
    for plan in demo.treatment_plans:
        assert plan.presented_at is None or plan.presented_at <= now, plan
        assert plan.decided_at is None or plan.decided_at <= now, plan
    for procedure in demo.procedures:
        assert procedure.completed_at is None or procedure.completed_at <= now, procedure
        assert (procedure.completed_at is not None) == (
            procedure.status == "completed" and procedure.appointment_id is not None
        )


# -- the documentation -------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "demo-practice.md"


def test_the_documented_example_runs() -> None:
    text = DOC.read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    names: dict[str, object] = {}
    exec(compile(example, str(DOC), "exec"), names)
    snapshot, truth, summary = names["snapshot"], names["truth"], names["summary"]
    assert isinstance(snapshot, Snapshot) and len(snapshot.patients) == 2000
    assert truth == practice().plants()  # the planted families do not depend on the size
    assert isinstance(summary, PracticeSummary) and summary.counts["patients"] == 2000
    *_, (section, record) = DemoPractice(DemoSettings(seed=1, patients=2000)).iter_records()
    assert (names["section"], names["record"]) == (section, record)  # the loop ran to the end


def test_the_documented_plants_are_the_plants() -> None:
    text = DOC.read_text()
    for plant in practice().plants():
        fires = "**yes**" if plant.fires else "no"
        assert f"| {plant.subject_type} `{plant.subject_id}` | {fires} | {plant.note} |" in text, plant
    for rule in RULES:
        assert f"`{rule}`" in text

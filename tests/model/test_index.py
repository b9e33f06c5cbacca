"""Derived values and relations, read off the hand-written example practice."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from sophie.adapters import load_snapshot_file
from sophie.model import SnapshotIndex


@pytest.fixture(scope="module")
def index() -> SnapshotIndex:
    from snapshot_data import EXAMPLE_SNAPSHOT

    return load_snapshot_file(EXAMPLE_SNAPSHOT).index


def test_index_is_built_once(index: SnapshotIndex) -> None:
    assert index.snapshot.index is index


def test_relations_both_ways(index: SnapshotIndex) -> None:
    plan = index.get("treatment_plan", "tp-1")
    assert plan.patient is index.get("patient", "p-1")
    assert plan in plan.patient.treatment_plans
    assert [p.id for p in plan.procedures] == ["proc-1", "proc-2"]
    appointment = index.get("appointment", "a-1")
    assert [p.id for p in appointment.procedures] == ["proc-3"]
    assert appointment.provider.staff.name == "Dr. Maria Reyes"
    claim = index.get("claim", "cl-2")
    assert [p.id for p in claim.procedures] == ["proc-3"]
    assert claim in index.get("procedure", "proc-3").claims
    recall = index.get("recall", "rc-1")
    assert recall.appointment.id == "a-6" and recall in recall.appointment.recalls
    assert index.get("contact", "ct-1").staff.id == "s-3"
    assert index.get("staff", "s-3").manager.id == "s-4"


def test_family_and_balances(index: SnapshotIndex) -> None:
    parent, child = index.get("patient", "p-2"), index.get("patient", "p-3")
    assert child.guarantor is parent
    assert parent.guarantor is parent
    assert parent.dependents == [child]
    assert child.balance is None
    assert child.family_balance is parent.balance
    assert parent.balance.past_due == Decimal("185.50")
    assert parent.balance.total == Decimal("225.50")


def test_plan_totals_and_scheduled(index: SnapshotIndex) -> None:
    plan = index.get("treatment_plan", "tp-1")
    # The crown's appointment was cancelled and the buildup's is only planned: nothing is booked.
    assert plan.total == Decimal("1535.00")
    assert plan.unscheduled_total == Decimal("1535.00")
    assert plan.scheduled is False


def test_next_appointment_and_last_visit(index: SnapshotIndex) -> None:
    ana = index.get("patient", "p-1")
    assert ana.next_appointment.id == "a-7"
    ben = index.get("patient", "p-2")
    assert ben.next_appointment.id == "a-4"  # a-6 began at 09:20, before as_of
    assert ben.last_visit == datetime.fromisoformat("2026-03-05T08:00:00-05:00")
    assert ana.last_visit is None
    assert index.get("patient", "p-4").next_appointment is None


def test_age_on_the_snapshot_date(index: SnapshotIndex) -> None:
    assert index.get("patient", "p-1").age == 41
    assert index.get("patient", "p-3").age == 10
    assert index.get("patient", "p-4").age is None


def test_claim_outstanding(index: SnapshotIndex) -> None:
    assert index.get("claim", "cl-1").outstanding == Decimal("384.00")
    assert index.get("claim", "cl-2").outstanding == Decimal("115.00")


def test_appointment_duration(index: SnapshotIndex) -> None:
    assert index.get("appointment", "a-3").duration == timedelta(hours=1)
    assert index.get("appointment", "a-8").duration is None


def test_openings_are_where_the_cancellation_left_a_gap(index: SnapshotIndex) -> None:
    assert [o.id for o in index.openings] == ["op-1@2026-03-05T13:00", "op-2@2026-03-05T16:00"]
    opening = index.get("opening", "op-1@2026-03-05T13:00")
    assert opening.duration == timedelta(hours=1)
    assert opening.provider.id == "prov-1"
    assert opening.operatory.id == "op-1"
    assert opening.hygiene is False
    assert index.get("opening", "op-2@2026-03-05T16:00").hygiene is True

"""The simulated weeks: the loop moves (tasks open, escalate, resolve, reopen) and is reproducible."""

from __future__ import annotations

import pytest

from sophie.execution.simulation.loop import simulate


@pytest.fixture(scope="module")
def report():
    return simulate(days=9, patients=200, seed=3, pack="example")


def test_the_simulation_shows_every_part_of_the_loop(report):
    # seeded, so exact: a change in how the loop moves shows here
    assert report.totals() == {"created": 23, "resolved": 22, "touched": 2, "reopened": 4, "escalated": 6}
    assert [day.day.weekday() for day in report.days] == [0, 1, 2, 3, 4, 0, 1]  # closed days skipped
    assert [day.open_tasks for day in report.days] == [15, 11, 7, 5, 3, 1, 1]
    assert sum(day.staff.get("work", 0) for day in report.days) == 22
    assert sum(day.staff.get("mark_done", 0) for day in report.days) == 4
    assert report.packs == {"example": "1.0.0"}


def test_changes_are_counted_per_role(report):
    roles = {role for day in report.days for role in day.changes}
    assert roles <= {"treatment_coordinator", "office_manager", "owner_dentist"} and roles


def test_the_final_queue_is_ranked_and_matches_the_last_day(report):
    # The queue is people's day; the rest of the open tasks wait in backlogs.
    assert len(report.queue) + report.days[-1].backlog == report.days[-1].open_tasks
    ranks = [("low", "normal", "high", "urgent").index(str(t.priority)) for t in report.queue]
    assert ranks == sorted(ranks, reverse=True)


def test_the_same_arguments_give_the_same_report(report, tmp_path):
    again = simulate(days=9, patients=200, seed=3, pack="example", db=f"sqlite:///{tmp_path / 'sim.db'}")
    assert again.as_dict() == report.as_dict()
    assert (tmp_path / "sim.db").exists()


def test_the_default_pack_runs_in_the_simulation():
    from sophie.rules import load_pack

    report = simulate(days=2, patients=200, seed=1)
    assert report.packs == {"dental-core": "1.0.0"}
    # The queue is people's day; the rest of the open tasks wait in backlogs.
    assert len(report.queue) + report.days[-1].backlog == report.days[-1].open_tasks
    rules = {rule.id for rule in load_pack("dental-core").rules}
    assert report.queue and {task.rule for task in report.queue} <= rules
    assert report.totals()["created"] >= report.days[0].open_tasks  # every open task was created by a cycle


@pytest.fixture(scope="module")
def demo_state():
    from sophie.adapters.demo.practice import DEFAULT_AS_OF, DemoPractice, DemoSettings
    from sophie.execution.simulation.work import PmsState

    return PmsState(DemoPractice(DemoSettings(seed=2, patients=200)).snapshot()), DEFAULT_AS_OF


def test_simulated_work_clears_each_kind_of_stall(demo_state):
    state, now = demo_state
    before = state.snapshot(now).index
    plan = next(p for p in before.subjects("treatment_plan") if not p.scheduled and p.procedures)
    claim = next(c for c in before.subjects("claim") if c.status == "sent")
    recall = next(r for r in before.subjects("recall") if r.appointment_id is None)
    opening = before.subjects("opening")[0]
    balance = next(b for b in before.subjects("balance") if b.total > 0)
    patient = before.subjects("patient")[0]
    for subject_type, subject in [("treatment_plan", plan), ("claim", claim), ("recall", recall),
                                  ("opening", opening), ("balance", balance), ("patient", patient)]:  # fmt: skip
        subject_id = subject.patient_id if subject_type == "balance" else subject.id
        assert state.work(subject_type, subject_id, now.astimezone(before.tz)), subject_type
    after = state.snapshot(now).index
    assert after.get("treatment_plan", plan.id).scheduled
    assert after.get("claim", claim.id).status == "closed"
    assert after.get("recall", recall.id).appointment is not None
    assert after.get("opening", opening.id) is None
    assert after.get("balance", balance.patient_id).total == 0
    assert len(after.get("patient", patient.id).contacts) == len(patient.contacts) + 1
    assert not state.work("procedure", "x", now) and not state.work("claim", "no-such-claim", now)


def test_visits_that_ended_are_checked_out_with_their_claim_and_most_next_visits(demo_state):
    import random
    from datetime import timedelta

    from sophie.execution.simulation.work import PmsState

    state, now = demo_state
    state = PmsState(state.snapshot(now))
    later = now + timedelta(days=1)
    due = [a for a in state.sections["appointments"] if a.status == "scheduled" and a.end <= later]
    insured = {p.id for p in state.sections["patients"] if p.insured}
    claims_before = len(state.sections["claims"])
    index = state.snapshot(now).index
    billed = [a for a in due if a.patient_id in insured and any(
        p.fee > 0 and p.status == "planned" for p in index.get("appointment", a.id).procedures
    )]  # fmt: skip
    assert due and billed and state.check_out(later, random.Random(1)) == len(due)
    after = state.snapshot(later).index
    assert all(after.get("appointment", a.id).status == "completed" for a in due)
    assert len(state.sections["claims"]) - claims_before == len(billed)
    assert state.check_out(later, random.Random(1)) == 0  # once only


def test_patients_answer_reminders_as_their_visits_come_closer(demo_state):
    import random
    from datetime import timedelta

    from sophie.execution.simulation.work import PmsState

    state, now = demo_state
    state = PmsState(state.snapshot(now))
    far = [a for a in state.sections["appointments"]
           if a.status == "scheduled" and not a.confirmed and a.start - now > timedelta(hours=80)]  # fmt: skip
    assert far
    assert state.answer_reminders(now, random.Random(1)) == 0  # nothing crossed a reminder yet
    close = min(a.start for a in far) - timedelta(hours=12)

    def stage(ahead: timedelta) -> int:
        return 2 if ahead <= timedelta(hours=24) else 1 if ahead <= timedelta(hours=72) else 0

    crossed = [
        a for a in state.sections["appointments"]
        if a.status == "scheduled" and not a.confirmed and a.start > close and stage(a.start - close) > stage(a.start - now)
    ]  # fmt: skip
    confirmed = state.answer_reminders(close, random.Random(1))
    assert 0 < confirmed < len(crossed)  # some confirm at a reminder, never all: the rest are the calls
    assert state.answer_reminders(close, random.Random(1)) == 0  # each reminder is answered once


def test_the_work_on_a_completed_procedure_sends_its_visits_claim(demo_state):
    state, now = demo_state
    index = state.snapshot(now).index
    unbilled = next(
        p for p in index.subjects("procedure")
        if p.status == "completed" and p.completed_at is not None and not p.claims and p.fee > 0
    )  # fmt: skip
    assert state.work("procedure", unbilled.id, now)
    assert state.snapshot(now).index.get("procedure", unbilled.id).claims
    assert not state.work("procedure", unbilled.id, now)  # billed: nothing left to do


def test_each_business_morning_releases_backlog_into_the_days_people_closed():
    from sophie.execution.settings import ExecutionSettings

    report = simulate(days=5, patients=300, seed=1, settings=ExecutionSettings(capacity=3), closing=True)
    released = [sum(c.get("released", 0) for c in day.changes.values()) for day in report.days]
    assert all(count > 0 for count in released[1:]), released  # people closed their day: it is refilled
    waiting = [day.day_one_waiting for day in report.days]
    assert waiting == sorted(waiting, reverse=True) and waiting[-1] < waiting[0]
    assert all(day.day_max <= 3 for day in report.days)


@pytest.mark.parametrize(("patients", "seed"), [(300, 1), (300, 2), (600, 3)])
def test_one_patient_two_visits_is_one_call_not_a_duplicate_pair(patients, seed):
    """Small demo practices have patients with two visits close together (two confirmations, two
    next-visit calls): dental-core groups them per patient, so no duplicate pair opens (9, 5 and 1
    pairs before the grouping)."""
    targets = simulate(days=5, patients=patients, seed=seed, closing=True).targets
    assert targets.duplicate_pairs == []

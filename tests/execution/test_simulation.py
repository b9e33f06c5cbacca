"""The simulated weeks: the loop moves (tasks open, escalate, resolve, reopen) and is reproducible."""

from __future__ import annotations

import pytest

from sophie.execution.simulation.loop import simulate


@pytest.fixture(scope="module")
def report():
    return simulate(days=9, patients=200, seed=3, pack="example")


def test_the_simulation_shows_every_part_of_the_loop(report):
    # seeded, so exact: a change in how the loop moves shows here
    assert report.totals() == {"created": 23, "resolved": 22, "touched": 2, "reopened": 3, "escalated": 6}
    assert [day.day.weekday() for day in report.days] == [0, 1, 2, 3, 4, 0, 1]  # closed days skipped
    assert [day.open_tasks for day in report.days] == [15, 9, 9, 5, 5, 3, 1]
    assert sum(day.staff.get("work", 0) for day in report.days) == 22
    assert sum(day.staff.get("mark_done", 0) for day in report.days) == 3
    assert report.packs == {"example": "1.0.0"}


def test_changes_are_counted_per_role(report):
    roles = {role for day in report.days for role in day.changes}
    assert roles <= {"treatment_coordinator", "office_manager", "owner_dentist"} and roles


def test_the_final_queue_is_ranked_and_matches_the_last_day(report):
    assert len(report.queue) == report.days[-1].open_tasks
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
    assert len(report.queue) == report.days[-1].open_tasks
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

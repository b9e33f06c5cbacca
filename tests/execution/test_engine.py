"""One cycle end to end (snapshot -> evaluate -> reconcile -> SQLite) with a real YAML pack."""

from __future__ import annotations

import json
import logging

import pytest
from execution_fakes import PACK, at
from execution_fakes import clinic as snapshot

from sophie.errors import ConfigurationError
from sophie.execution import SqliteLedger, TaskStatus, run_cycle
from sophie.rules import load_pack

THURSDAY = "2026-03-05T10:00"


@pytest.fixture
def pack():
    return load_pack(PACK)


@pytest.fixture
def ledger(tmp_path):
    with SqliteLedger(str(tmp_path / "sophie.db")) as store:
        yield store


def cycle(ledger, pack, now=THURSDAY, **state):
    return run_cycle(snapshot(now, **state), [pack], ledger, now=at(now))


def kinds(result):
    return [(str(c.kind), c.task.rule) for c in result.changes]


def test_the_first_cycle_creates_tasks_and_the_same_cycle_again_changes_nothing(ledger, pack):
    first = cycle(ledger, pack)
    assert kinds(first) == [("created", "plan.unscheduled"), ("created", "opening.unfilled")]
    plan, opening = (c.task for c in first.changes)
    assert (plan.owner_id, plan.due_at, plan.rule_version) == ("tc", at("2026-03-06T10:00"), "2.1.0")
    assert plan.title == "Call Ana about unscheduled treatment ($1,200.00)" and plan.patient_id == "pat-1"
    assert (opening.subject_id, opening.owner_id, opening.expires_at) == (
        "op-1@2026-03-05T13:00",
        "sc",
        at("2026-03-05T13:00"),
    )
    assert first.summary()["created"] == 2 and first.open_tasks == 2
    second = cycle(ledger, pack)
    assert second.changes == () and second.open_tasks == 2
    assert ledger._db.execute("SELECT count(*) FROM cycle").fetchone()[0] == 2


def test_a_snapshot_where_the_stall_cleared_resolves_the_task(ledger, pack):
    cycle(ledger, pack)
    result = cycle(ledger, pack, "2026-03-05T11:00", plan_scheduled=True, opening_filled=True)
    assert sorted(kinds(result)) == [("resolved", "opening.unfilled"), ("resolved", "plan.unscheduled")]
    assert ledger.open_tasks() == []


def test_the_opening_task_expires_when_its_start_passes(ledger, pack):
    cycle(ledger, pack)
    result = cycle(ledger, pack, "2026-03-05T13:00")
    assert kinds(result) == [("expired", "opening.unfilled")]


def test_moving_now_forward_escalates_exactly_as_the_rule_declares(ledger, pack):
    cycle(ledger, pack)
    cycle(ledger, pack, "2026-03-05T14:00")  # the opening expires
    assert cycle(ledger, pack, "2026-03-10T09:59").changes == ()  # due Fri 10:00 + 2 business days
    step1 = cycle(ledger, pack, "2026-03-10T10:00")
    assert kinds(step1) == [("escalated", "plan.unscheduled")]
    task = step1.changes[0].task
    assert (task.escalation_level, task.owner_role, task.owner_id, str(task.priority)) == (
        1,
        "office_manager",
        "om",
        "urgent",
    )
    assert cycle(ledger, pack, "2026-03-12T17:00").changes == ()
    assert cycle(ledger, pack, "2026-03-13T09:59").changes == ()
    step2 = cycle(ledger, pack, "2026-03-13T10:00")  # due + 5 business days
    assert [(c.task.escalation_level, c.task.owner_id) for c in step2.changes] == [(2, "dr")]
    assert cycle(ledger, pack, "2026-03-20T10:00").changes == ()  # no third step
    trail = [(e.kind, e.actor) for e in ledger.audit(task.id)]
    assert trail == [("created", "sophie"), ("escalated", "sophie"), ("escalated", "sophie")]
    assert [m.kind for m in ledger.pending_outbox() if m.task_id == task.id] == ["created", "escalated", "escalated"]


def test_done_while_the_pms_still_shows_the_stall_reopens_after_an_hour(ledger, pack):
    plan = cycle(ledger, pack).changes[0].task
    ledger.transition(plan.id, "done", actor="staff:tc", now=at("2026-03-05T10:30"))
    assert [c.kind for c in cycle(ledger, pack, "2026-03-05T11:29").changes] == []
    reopened = [c for c in cycle(ledger, pack, "2026-03-05T11:30").changes if c.task.id == plan.id]
    assert [str(c.kind) for c in reopened] == ["reopened"]
    assert ledger.get(plan.id).status is TaskStatus.OPEN


def test_a_bad_parameter_writes_nothing(ledger, pack):
    with pytest.raises(ConfigurationError):
        run_cycle(snapshot(), [pack], ledger, now=at(THURSDAY), params={"nope": 1})
    assert ledger.open_tasks() == [] and ledger._db.execute("SELECT count(*) FROM cycle").fetchone()[0] == 0


def test_no_patient_data_reaches_logs_or_notifications(ledger, pack, caplog):
    caplog.set_level(logging.DEBUG, logger="sophie")
    first = cycle(ledger, pack)
    task = first.changes[0].task
    ledger.transition(task.id, "block", actor="staff:tc", now=at("2026-03-05T10:05"), reason="Ana Lima's insurer")
    cycle(ledger, pack, "2026-03-12T10:00")
    assert "Ana" in task.title  # the task itself may name the patient ...
    sent = json.dumps([m.payload for m in ledger.pending_outbox()])
    for canary in ("Ana", "Lima", "D2740", "pat-1", "1,200", "insurer"):
        assert canary not in caplog.text and canary not in sent  # ... logs and notifications never do
    assert task.id in caplog.text  # ids are logged

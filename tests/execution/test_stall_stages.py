"""One task per stall across its stages: rules chained by ``task.continues`` carry one task on."""

from __future__ import annotations

from execution_fakes import STAFF, Finding, Rule, Step, after, at, member, run

from sophie.execution.reconcile import stall_key
from sophie.execution.tasks import TaskStatus
from sophie.model.calendar import business_days
from sophie.model.enums import Priority

FIRST = Rule(id="confirm.72h", entity_type="appointment", escalate=(Step(business_days(1), "office_manager"),))
SECOND = Rule(
    id="confirm.24h",
    entity_type="appointment",
    stall="confirm.72h",
    stall_type="appointment",
    stage=2,
    escalate=(Step(business_days(1), "office_manager", "high"),),
)
RULES = (FIRST, SECOND)
STAFF_SC = (*STAFF, member("sc", "scheduling_coordinator"))
KEY = "p1:confirm.72h:appointment:ap-1"


def early(**kwargs):
    return Finding(
        "ap-1", at("2026-03-10T12:00"), rule_id="confirm.72h", subject_type="appointment",
        owner="scheduling_coordinator", title="Call to confirm", **kwargs,
    )  # fmt: skip


def late(**kwargs):
    values = {"owner": "scheduling_coordinator", "priority": "high", "title": "Last call to confirm"}
    values.update(kwargs)
    return Finding(
        "ap-1", at("2026-03-10T11:00"), rule_id="confirm.24h", subject_type="appointment",
        stall="confirm.72h", stall_type="appointment", stage=2, **values,
    )  # fmt: skip


def opened(now="2026-03-09T09:00"):
    result = run([], [early()], now, rules=RULES, staff=STAFF_SC)
    return after([], result)


def test_the_next_stage_carries_the_open_task_on_instead_of_opening_a_new_one():
    tasks = opened()
    assert tasks[0].key == KEY
    result = run(tasks, [late()], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC, seen={"confirm.72h": ["ap-1"]})
    assert [str(c.kind) for c in result.changes] == ["touched"]
    task = result.changes[0].task
    assert task.id == tasks[0].id and task.key == KEY and task.version == 2
    assert (task.rule, task.title, task.priority) == ("confirm.24h", "Last call to confirm", Priority.HIGH)
    assert task.due_at == at("2026-03-10T11:00")
    assert "stall moved from rule confirm.72h to its stage confirm.24h" in result.changes[0].why
    assert not result.changes[0].owner_changed  # same role, same person: nobody is notified


def test_the_stage_that_fires_is_not_resolved_as_the_earlier_one_clearing():
    tasks = opened()
    # the 72-hour rule saw the appointment cleanly (it left its window) while the 24-hour one fires
    seen = {"confirm.72h": ["ap-1"], "confirm.24h": ["ap-1"]}
    result = run(tasks, [late()], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC, seen=seen)
    assert [c.task.status for c in result.changes] == [TaskStatus.OPEN]


def test_a_stage_owned_by_another_role_re_owns_the_task_and_restarts_its_ladder():
    tasks = opened()
    escalated = after(tasks, run(tasks, [early()], "2026-03-11T13:00", rules=RULES, staff=STAFF_SC))
    assert escalated[0].escalation_level == 1 and escalated[0].owner_id == "om"
    result = run(escalated, [late(owner="treatment_coordinator")], "2026-03-11T14:00", rules=RULES, staff=STAFF_SC)
    change = result.changes[0]
    assert change.task.id == tasks[0].id
    assert (change.task.owner_role, change.task.owner_id, change.task.escalation_level) == (
        "treatment_coordinator", "tc1", 0,
    )  # fmt: skip
    assert change.owner_changed  # the new owner is told
    assert change.task.due_at >= at("2026-03-11T14:00")  # never born overdue


def test_two_stages_firing_for_one_stall_make_one_task_of_the_later_stage():
    result = run([], [early(), late()], "2026-03-09T09:00", rules=RULES, staff=STAFF_SC)
    assert [str(c.kind) for c in result.changes] == ["created"]
    assert result.changes[0].task.rule == "confirm.24h" and result.changes[0].task.key == KEY
    reversed_order = run([], [late(), early()], "2026-03-09T09:00", rules=RULES, staff=STAFF_SC)
    assert reversed_order.changes[0].task.rule == "confirm.24h"


def test_the_task_resolves_only_when_no_stage_fires():
    tasks = opened()
    moved = after(tasks, run(tasks, [late()], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC))
    seen = {"confirm.72h": ["ap-1"], "confirm.24h": ["ap-1"]}
    result = run(moved, [], "2026-03-10T10:00", rules=RULES, staff=STAFF_SC, seen=seen)
    assert [c.task.status for c in result.changes] == [TaskStatus.RESOLVED]
    # a later stage that failed on the subject (not seen) keeps the task open
    kept = run(
        moved, [], "2026-03-10T10:00", rules=RULES, staff=STAFF_SC, seen={"confirm.24h": [], "confirm.72h": ["ap-1"]}
    )
    assert kept.changes == ()


def test_a_task_opened_before_the_chain_existed_is_carried_over_to_the_stalls_key():
    legacy = replace_key(opened()[0], "p1:confirm.24h:appointment:ap-1", rule="confirm.24h")
    assert stall_key("p1", legacy, {r.id: r for r in RULES}) == KEY
    result = run([legacy], [late()], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC)
    assert [str(c.kind) for c in result.changes] == ["touched"]
    assert result.changes[0].task.key == KEY and result.changes[0].task.id == legacy.id


def test_two_open_tasks_of_one_stall_from_before_the_chain_become_one():
    first = opened()[0]
    second = replace_key(first, "p1:confirm.24h:appointment:ap-1", rule="confirm.24h", id="t-0000000002")
    result = run([first, second], [late()], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC)
    by_id = {c.task.id: c.task for c in result.changes}
    assert by_id[first.id].status is TaskStatus.RESOLVED
    assert by_id[second.id].key == KEY and by_id[second.id].is_open
    assert result.changes[0].task.id == first.id  # closed before the other takes the key


def test_a_done_task_whose_stall_moved_on_reopens_at_the_new_stage():
    from sophie.execution import apply_action

    tasks = opened()
    done = apply_action(tasks[0], "done", now=at("2026-03-09T10:00"))
    result = run([done.task], [late()], "2026-03-11T09:00", rules=RULES, staff=STAFF_SC)
    assert [str(c.kind) for c in result.changes] == ["reopened"]
    assert result.changes[0].task.rule == "confirm.24h" and result.changes[0].task.key == KEY


def replace_key(task, key, **changes):
    from dataclasses import replace

    return replace(task, key=key, **changes)


def test_priority_follows_the_stage():
    tasks = opened()
    result = run(tasks, [late(priority="low")], "2026-03-10T09:00", rules=RULES, staff=STAFF_SC)
    assert result.changes[0].task.priority is Priority.LOW
    assert at("2026-03-10T09:00") <= result.changes[0].task.due_at

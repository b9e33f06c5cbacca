"""Reconcile, change kind by change kind: created, touched, escalated, resolved, reopened, expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from execution_fakes import LADDER_RULE, STAFF, Finding, Rule, Step, after, at, member, run, watched

from sophie.execution import ExecutionSettings, TaskStatus, apply_action
from sophie.execution.tasks import task_key
from sophie.model.calendar import business_days, business_hours
from sophie.model.enums import Priority

DUE = at("2026-03-10T10:00")  # Tuesday


def created(findings=None, now="2026-03-09T10:00", **kwargs):
    findings = findings or [Finding("tp-1", DUE)]
    result = run([], findings, now, **kwargs)
    return after([], result), result


def kinds(result):
    return [str(change.kind) for change in result.changes]


# -- created ------------------------------------------------------------------------------------


def test_a_new_finding_creates_one_owned_task_with_the_findings_due_time():
    tasks, result = created([Finding("tp-1", DUE, evidence={"plan.total": 1200, "at": at("2026-03-02T10:00")})])
    assert kinds(result) == ["created"]
    task = tasks[0]
    assert task.key == "p1:plan.unscheduled:treatment_plan:tp-1"
    assert task.id.startswith("t-") and len(task.id) == 12
    assert (task.status, task.owner_role, task.owner_id) == (TaskStatus.OPEN, "treatment_coordinator", "tc1")
    assert task.due_at == DUE and task.created_at == at("2026-03-09T10:00")
    assert task.rule_version == "1.0.0" and task.content_hash == "abc123"
    assert task.evidence == {"at": "2026-03-02T10:00:00-05:00", "plan.total": 1200}


def test_the_stall_identity_becomes_the_episode_of_the_key_when_it_differs_from_the_subject():
    assert task_key("p", "r", "recall", "rc-1:2026-06") == "p:r:recall:rc-1:2026-06"
    assert task_key("p", "r", "recall", "rc-1") == "p:r:recall:rc-1"


def test_two_findings_with_one_key_make_one_task():
    _, result = created([Finding("tp-1", DUE), Finding("tp-1", DUE, title="other")])
    assert kinds(result) == ["created"]


def test_reconciling_the_result_again_changes_nothing():
    tasks, _ = created([Finding("tp-1", DUE), Finding("tp-2", DUE)])
    again = run(tasks, [Finding("tp-1", DUE), Finding("tp-2", DUE)])
    assert again.changes == ()


def test_an_already_closed_key_fires_a_new_task():
    tasks, _ = created()
    resolved = after(tasks, run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["tp-1"]}))
    result = run(watched(resolved), [Finding("tp-1", DUE)], "2026-03-09T12:00")
    assert kinds(result) == ["created"] and result.changes[0].task.id != tasks[0].id


# -- touched ------------------------------------------------------------------------------------


def test_changed_stall_details_touch_the_task_and_unchanged_ones_do_not():
    tasks, _ = created([Finding("tp-1", DUE, evidence={"total": 100})])
    assert run(tasks, [Finding("tp-1", DUE, evidence={"total": 100})]).changes == ()
    result = run(tasks, [Finding("tp-1", DUE, evidence={"total": 900}, priority="high")])
    assert kinds(result) == ["touched"]
    task = result.changes[0].task
    assert task.evidence == {"total": 900} and task.priority is Priority.HIGH and task.version == 2
    assert task.due_at == DUE  # the due time is fixed when the task opens


def test_evidence_alone_does_not_touch_but_is_refreshed_with_the_next_change():
    tasks, _ = created([Finding("tp-1", DUE, evidence={"now": "10:00"})])
    assert run(tasks, [Finding("tp-1", DUE, evidence={"now": "11:00"})], "2026-03-09T11:00").changes == ()
    result = run(tasks, [Finding("tp-1", DUE, evidence={"now": "12:00"}, title="Call again")], "2026-03-09T12:00")
    assert kinds(result) == ["touched"] and result.changes[0].task.evidence == {"now": "12:00"}


def test_a_later_findings_due_time_does_not_move_the_task():
    tasks, _ = created()
    assert run(tasks, [Finding("tp-1", DUE + timedelta(days=3))]).changes == ()


def test_an_owner_who_becomes_unavailable_is_replaced():
    tasks, _ = created()
    away = (member("tc1", "treatment_coordinator", active=False), *STAFF[1:])
    result = run(tasks, [Finding("tp-1", DUE)], staff=away)
    assert kinds(result) == ["touched"]
    change = result.changes[0]
    assert change.task.owner_id == "tc2" and change.owner_changed and "tc1 unavailable" in change.why


# -- resolved -----------------------------------------------------------------------------------


def test_a_stall_the_evaluation_saw_cleared_resolves():
    tasks, _ = created()
    result = run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["tp-1"]})
    assert kinds(result) == ["resolved"]
    task = result.changes[0].task
    assert (task.status, task.resolution, task.resolved_at) == (TaskStatus.RESOLVED, "resolved", at("2026-03-09T11:00"))


def test_a_subject_the_rule_did_not_evaluate_cleanly_is_not_resolved():
    tasks, _ = created()
    assert run(tasks, [], seen={"plan.unscheduled": ["tp-2"]}).changes == ()  # errored on tp-1
    assert run(tasks, [], seen={}).changes == ()  # the rule did not run
    assert run(tasks, [], seen={"plan.unscheduled": []}, complete=False).changes == ()


def test_a_subject_gone_from_the_data_resolves_only_on_a_complete_evaluation():
    tasks, _ = created()
    gone = lambda subject_type, subject_id: False  # noqa: E731
    assert run(tasks, [], seen={"plan.unscheduled": []}, subject_exists=gone, complete=False).changes == ()
    assert kinds(run(tasks, [], seen={"plan.unscheduled": []}, subject_exists=gone)) == ["resolved"]


def test_a_manual_rule_never_resolves_by_itself():
    manual = replace(LADDER_RULE, resolve="manual")
    tasks, _ = created(rules=(manual,))
    assert run(tasks, [], seen={"plan.unscheduled": ["tp-1"]}, rules=(manual,)).changes == ()


def test_a_blocked_task_resolves_and_keeps_its_blocked_time():
    tasks, _ = created()
    blocked = apply_action(tasks[0], "block", now=at("2026-03-09T10:00"), reason="insurer").task
    result = run([blocked], [], "2026-03-09T12:30", seen={"plan.unscheduled": ["tp-1"]})
    task = result.changes[0].task
    assert task.status is TaskStatus.RESOLVED and task.blocked_time == timedelta(hours=2)  # lunch excluded


# -- escalated ----------------------------------------------------------------------------------


def test_each_escalation_step_fires_once_at_its_business_time_after_due():
    tasks, _ = created()
    first = at("2026-03-12T10:00")  # due Tue 10:00 + 2 business days
    assert run(tasks, [Finding("tp-1", DUE)], first - timedelta(minutes=1)).changes == ()
    result = run(tasks, [Finding("tp-1", DUE)], first)
    assert kinds(result) == ["escalated"]
    task = result.changes[0].task
    assert (task.escalation_level, task.owner_role, task.owner_id, task.priority) == (
        1,
        "office_manager",
        "om",
        Priority.URGENT,
    )
    tasks = after(tasks, result)
    assert run(tasks, [Finding("tp-1", DUE)], first + timedelta(hours=3)).changes == ()
    second = run(tasks, [Finding("tp-1", DUE)], "2026-03-17T10:00")  # + 5 business days
    assert kinds(second) == ["escalated"]
    assert (second.changes[0].task.escalation_level, second.changes[0].task.owner_id) == (2, "dr")
    assert second.changes[0].task.priority is Priority.URGENT  # a step never lowers priority


def test_a_late_cycle_fires_every_step_that_came_due_once_each_in_order():
    tasks, _ = created()
    result = run(tasks, [Finding("tp-1", DUE)], "2026-03-20T10:00")
    assert kinds(result) == ["escalated", "escalated"]
    assert [c.level for c in result.changes] == [1, 2]
    assert [c.task.version for c in result.changes] == [2, 3]
    assert run(after(tasks, result), [Finding("tp-1", DUE)], "2026-03-20T10:00").changes == ()


def test_a_step_without_a_target_keeps_the_owner_and_raises_priority():
    rule = Rule(escalate=(Step(business_hours(4), None, "high"),))
    tasks, _ = created(rules=(rule,))
    result = run(tasks, [Finding("tp-1", DUE)], "2026-03-10T15:00", rules=(rule,))
    task = result.changes[0].task
    assert (task.owner_id, task.priority, task.escalation_level) == ("tc1", Priority.HIGH, 1)
    assert not result.changes[0].owner_changed


def test_a_blocked_task_does_not_escalate_and_its_due_time_moves_by_the_blocked_business_time():
    tasks, _ = created()
    blocked = apply_action(tasks[0], "block", now=at("2026-03-09T10:00"), until=at("2026-03-11T10:00")).task
    assert run([blocked], [Finding("tp-1", DUE)], "2026-03-11T09:00").changes == ()
    woke = run([blocked], [Finding("tp-1", DUE)], "2026-03-11T10:00")
    assert kinds(woke) == ["touched"]
    task = woke.changes[0].task
    assert task.status is TaskStatus.OPEN and task.blocked_time == timedelta(hours=16)  # two business days
    assert task.due_at == at("2026-03-12T10:00")
    # the first step now fires 2 business days after the moved due time, not before
    assert run([task], [Finding("tp-1", DUE)], "2026-03-16T09:59").changes == ()
    assert kinds(run([task], [Finding("tp-1", DUE)], "2026-03-16T10:00")) == ["escalated"]


def test_a_blocked_task_does_not_escalate_even_when_every_step_would_be_due():
    tasks, _ = created()
    blocked = apply_action(tasks[0], "block", now=at("2026-03-09T10:00"), until=at("2026-03-30T10:00")).task
    # unblocked, both steps would fire by now (due Tue 03-10 10:00: +2 bd Thu 03-12, +5 bd Tue 03-17)
    assert kinds(run(tasks, [Finding("tp-1", DUE)], "2026-03-20T10:00")) == ["escalated", "escalated"]
    assert run([blocked], [Finding("tp-1", DUE)], "2026-03-12T10:00").changes == ()
    assert run([blocked], [Finding("tp-1", DUE)], "2026-03-20T10:00").changes == ()


def test_a_snoozed_task_keeps_its_clock_and_escalation_wakes_it():
    tasks, _ = created()
    snoozed = apply_action(tasks[0], "snooze", now=at("2026-03-09T10:00"), until=at("2026-03-30T08:00")).task
    result = run([snoozed], [Finding("tp-1", DUE)], "2026-03-12T10:00")
    assert kinds(result) == ["escalated"]
    assert result.changes[0].task.status is TaskStatus.OPEN and result.changes[0].task.snoozed_until is None


def test_a_snooze_that_ended_reopens_the_task_for_its_owner():
    tasks, _ = created()
    snoozed = apply_action(tasks[0], "snooze", now=at("2026-03-09T10:00"), until=at("2026-03-09T15:00")).task
    assert run([snoozed], [Finding("tp-1", DUE)], "2026-03-09T14:59").changes == ()
    result = run([snoozed], [Finding("tp-1", DUE)], "2026-03-09T15:00")
    assert kinds(result) == ["touched"] and result.changes[0].task.status is TaskStatus.OPEN


def test_a_stall_seen_but_unknown_this_cycle_does_not_escalate():
    tasks, _ = created()
    assert run(tasks, [], "2026-03-20T10:00", seen={}).changes == ()


# -- reopened and verified --------------------------------------------------------------------------


def test_a_task_marked_done_while_its_rule_still_fires_reopens_after_the_grace_period():
    tasks, _ = created()
    done = apply_action(tasks[0], "done", now=at("2026-03-09T11:30")).task
    assert run([done], [Finding("tp-1", DUE)], "2026-03-09T13:29").changes == ()  # lunch is not business time
    result = run([done], [Finding("tp-1", DUE)], "2026-03-09T13:30")
    assert kinds(result) == ["reopened"]
    task = result.changes[0].task
    assert (task.status, task.reopen_count, task.done_at, task.resolution) == (TaskStatus.OPEN, 1, None, None)
    assert run([task], [Finding("tp-1", DUE)], "2026-03-09T13:30").changes == ()


def test_the_grace_period_is_configurable():
    tasks, _ = created()
    done = apply_action(tasks[0], "done", now=at("2026-03-09T11:00")).task
    settings = ExecutionSettings(reopen_grace=business_days(1))
    assert run([done], [Finding("tp-1", DUE)], "2026-03-10T10:59", settings=settings).changes == ()
    assert kinds(run([done], [Finding("tp-1", DUE)], "2026-03-10T11:00", settings=settings)) == ["reopened"]


def test_a_done_task_whose_stall_is_seen_cleared_is_verified_and_no_longer_watched():
    tasks, _ = created()
    done = apply_action(tasks[0], "done", now=at("2026-03-09T11:00")).task
    result = run([done], [], "2026-03-09T12:00", seen={"plan.unscheduled": ["tp-1"]})
    assert kinds(result) == ["verified"]
    assert watched(after([done], result)) == []
    assert run([done], [], "2026-03-09T12:00", seen={}).changes == ()  # unseen: keep waiting


def test_a_reopened_task_keeps_its_escalation_level_and_escalates_on():
    tasks, _ = created()
    escalated = after(tasks, run(tasks, [Finding("tp-1", DUE)], "2026-03-12T10:00"))
    done = apply_action(escalated[0], "done", now=at("2026-03-16T09:00")).task
    result = run([done], [Finding("tp-1", DUE)], "2026-03-17T10:00")
    assert kinds(result) == ["reopened", "escalated"]
    assert result.changes[-1].task.escalation_level == 2


# -- expired ------------------------------------------------------------------------------------


def opening(start: str) -> Finding:
    return Finding(
        f"op-1@{start}", at(start), rule_id="opening.fill", subject_type="opening", owner="front_desk", patient_id=None
    )


def test_an_opening_task_expires_when_the_opening_starts():
    rule = Rule(id="opening.fill")
    tasks, _ = created([opening("2026-03-09T14:00")], rules=(rule,))
    assert tasks[0].expires_at == at("2026-03-09T14:00") and tasks[0].owner_id == "fd"
    assert run(tasks, [opening("2026-03-09T14:00")], "2026-03-09T13:59", rules=(rule,)).changes == ()
    result = run(tasks, [opening("2026-03-09T14:00")], "2026-03-09T14:00", rules=(rule,))
    assert kinds(result) == ["expired"]
    assert result.changes[0].task.resolution == "expired"


def test_an_opening_that_already_started_opens_no_task():
    rule = Rule(id="opening.fill")
    assert run([], [opening("2026-03-09T09:00")], "2026-03-09T10:00", rules=(rule,)).changes == ()


def test_a_filled_opening_resolves_rather_than_expires():
    rule = Rule(id="opening.fill")
    tasks, _ = created([opening("2026-03-09T14:00")], rules=(rule,))
    gone = lambda subject_type, subject_id: False  # noqa: E731
    result = run(tasks, [], "2026-03-09T11:00", rules=(rule,), seen={"opening.fill": []}, subject_exists=gone)
    assert kinds(result) == ["resolved"]


def test_a_done_task_is_left_waiting_while_a_reopened_older_task_covers_its_stall():
    tasks, _ = created()
    older = after(tasks, run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["tp-1"]}))[0]
    newer = after([], run([], [Finding("tp-1", DUE)], "2026-03-09T12:00"))[0]
    newer = apply_action(newer, "done", now=at("2026-03-09T13:00")).task
    older = apply_action(older, "reopen", now=at("2026-03-09T13:00")).task
    assert run([older, newer], [Finding("tp-1", DUE)], "2026-03-09T16:00").changes == ()
    cleared = run([older, newer], [], "2026-03-09T16:00", seen={"plan.unscheduled": ["tp-1"]})
    assert [str(c.kind) for c in cleared.changes] == ["resolved", "verified"]

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
    # the first stage saw it clear, but the next stage failed on it (did not see it): the task stays open
    seen = {"confirm.24h": [], "confirm.72h": ["ap-1"]}
    assert run(tasks, [], "2026-03-10T10:00", rules=RULES, staff=STAFF_SC, seen=seen).changes == ()
    assert run(moved, [], "2026-03-10T10:00", rules=RULES, staff=STAFF_SC, seen=seen).changes == ()


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


# -- end to end: a full cycle and the real-time path, on a SQLite ledger ---------------------------

STAGE_PACK = """\
pack: stages
version: 1.0.0
rules:
  - id: claims.outstanding.30d
    title: Claim unpaid 30 days
    for: claim
    when: claim.status == "sent" and age(claim.sent_at) >= days(30) and age(claim.sent_at) < days(60)
    task:
      title: "Check {claim.patient.first_name}'s claim"
      owner: insurance_coordinator
      priority: normal
      due: 3 business_days
    escalate:
      - after: 1 business_day
        priority: high
  - id: claims.outstanding.60d
    title: Claim unpaid 60 days
    for: claim
    when: claim.status == "sent" and age(claim.sent_at) >= days(60)
    task:
      title: "Appeal {claim.patient.first_name}'s claim"
      owner: office_manager
      priority: high
      due: 2 business_days
      continues: claims.outstanding.30d
"""


def stage_snapshot(now: str, *, status: str = "sent", sent: str = "2026-01-30T10:00"):
    from execution_fakes import CLINIC_STAFF, HOURS, NY, PRACTICE_ID

    from sophie.model import Snapshot

    return Snapshot.model_validate(
        {
            "practice": {"id": PRACTICE_ID, "name": "Test Dental", "timezone": NY, "hours": HOURS},
            "as_of": at(now).isoformat(),
            "staff": [s.model_dump(mode="json") for s in CLINIC_STAFF]
            + [{"id": "ic", "name": "Ines", "roles": ["insurance_coordinator"]}],
            "patients": [{"id": "pat-1", "first_name": "Ana", "last_name": "Lima"}],
            "claims": [
                {"id": "c-1", "patient_id": "pat-1", "kind": "primary", "status": status, "billed": 400,
                 "sent_at": at(sent).isoformat(), "service_date": "2026-01-29"},
            ],
        }
    )  # fmt: skip


def stage_pack():
    from sophie.rules import compile_pack, parse_yaml

    return compile_pack(parse_yaml(STAGE_PACK, file="stages.yaml"))


def test_a_full_cycle_carries_the_task_into_the_next_stage_with_its_history(tmp_path):
    from sophie.execution import SqliteLedger, run_cycle

    pack = stage_pack()
    with SqliteLedger(str(tmp_path / "sophie.db")) as ledger:
        run_cycle(stage_snapshot("2026-03-03T10:00"), [pack], ledger, now=at("2026-03-03T10:00"))
        (first,) = ledger.open_tasks()
        run_cycle(stage_snapshot("2026-03-10T10:00"), [pack], ledger, now=at("2026-03-10T10:00"))
        (escalated,) = ledger.open_tasks()
        assert escalated.escalation_level == 1 and escalated.priority is Priority.HIGH
        result = run_cycle(stage_snapshot("2026-04-01T10:00"), [pack], ledger, now=at("2026-04-01T10:00"))
        assert [str(c.kind) for c in result.changes] == ["touched"]
        (task,) = ledger.open_tasks()
        assert task.id == first.id and task.key == first.key == "p1:claims.outstanding.30d:claim:c-1"
        assert (task.rule, task.title, task.owner_id, task.escalation_level) == (
            "claims.outstanding.60d", "Appeal Ana's claim", "om", 0,
        )  # fmt: skip
        trail = ledger.audit(task.id)
        assert [e.kind for e in trail] == ["created", "escalated", "touched"]
        assert trail[-1].rule_id == "claims.outstanding.60d" and "moved from rule claims.outstanding.30d" in trail[-1].why
        # the owner changed, so the new owner is told, once
        kinds = [m.kind for m in ledger.pending_outbox() if m.task_id == task.id]
        assert kinds.count("reassigned") == 1
        done = run_cycle(stage_snapshot("2026-04-02T10:00", status="received"), [pack], ledger, now=at("2026-04-02T10:00"))
        assert [str(c.kind) for c in done.changes] == ["resolved"]


def test_the_real_time_path_carries_the_task_into_the_next_stage(tmp_path):
    from sophie.execution import SqliteLedger, run_cycle
    from sophie.execution.realtime.incremental import PracticeState, Scope, run_incremental_cycle
    from sophie.execution.stores.task_cache import CachedTaskLedger

    pack = stage_pack()
    with SqliteLedger(str(tmp_path / "sophie.db")) as store:
        ledger = CachedTaskLedger(store, str(tmp_path / "sophie.db"))
        run_cycle(stage_snapshot("2026-03-03T10:00"), [pack], ledger, now=at("2026-03-03T10:00"))
        (first,) = store.open_tasks()
        state = PracticeState(stage_snapshot("2026-04-01T10:00"))
        result = run_incremental_cycle(state, Scope(patients={"pat-1"}), [pack], ledger, now=at("2026-04-01T10:00"))
        assert [str(c.kind) for c in result.changes] == ["touched"]
        (task,) = store.open_tasks()
        assert (task.id, task.key, task.rule) == (first.id, first.key, "claims.outstanding.60d")
        state = PracticeState(stage_snapshot("2026-04-02T10:00", status="received"))
        result = run_incremental_cycle(state, Scope(patients={"pat-1"}), [pack], ledger, now=at("2026-04-02T10:00"))
        assert [str(c.kind) for c in result.changes] == ["resolved"]
        assert store.open_tasks() == []

"""Groups end to end: findings of one rule that render the same key are one task."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from execution_fakes import CLINIC_STAFF, HOURS, NY, PRACTICE_ID, Finding, Member, after, at, run

from sophie.errors import RuleError
from sophie.execution import SqliteLedger, TaskStatus, run_cycle
from sophie.execution.realtime.incremental import PracticeState, Scope, run_incremental_cycle
from sophie.execution.stores.schema import LATEST_VERSION, STEPS
from sophie.execution.stores.task_cache import CachedTaskLedger
from sophie.model import Snapshot
from sophie.rules import compile_pack, evaluate, parse_yaml

PACK = """\
pack: groups
version: 1.0.0
rules:
  - id: claims.not_sent
    title: Claim not sent
    for: claim
    when: claim.status == "ready" and claim.billed > 0
    task:
      title: 'Send {claim.patient.first_name}''s claim of {claim.service_date|date}: {group.count("procedure")}, {group.sum(claim.billed)|money}'
      owner: insurance_coordinator
      priority: '"high" if claim.billed >= 500 else "normal"'
      due: 1 business_day
      key: "{claim.patient_id}:{claim.service_date}"
"""


def claim(claim_id: str, patient: str = "pat-1", billed: float = 100, day: str = "2026-03-02", **more: Any) -> dict:
    return {"id": claim_id, "patient_id": patient, "kind": "primary", "status": "ready", "service_date": day,
            "billed": billed, **more}  # fmt: skip


def snapshot(claims: list[dict], now: str = "2026-03-05T10:00") -> Snapshot:
    return Snapshot.model_validate(
        {
            "practice": {"id": PRACTICE_ID, "name": "Test Dental", "timezone": NY, "hours": HOURS},
            "as_of": at(now).isoformat(),
            "staff": [s.model_dump(mode="json") for s in CLINIC_STAFF] + [
                {"id": "ic", "name": "Ines", "roles": ["insurance_coordinator"]}],
            "patients": [
                {"id": "pat-1", "first_name": "Ana", "last_name": "Lima"},
                {"id": "pat-2", "first_name": "Ben", "last_name": "Osei"},
            ],
            "claims": claims,
        }
    )  # fmt: skip


@pytest.fixture
def pack():
    return compile_pack(parse_yaml(PACK, file="groups.yaml"))


@pytest.fixture
def ledger(tmp_path):
    with SqliteLedger(str(tmp_path / "sophie.db")) as store:
        yield store


def test_findings_that_render_one_key_are_one_finding_with_the_group_in_title_and_evidence(pack):
    claims = [claim("c-10", billed=65), claim("c-9", billed=115), claim("c-3", patient="pat-2"),
              claim("c-4", day="2026-03-03", billed=600)]  # fmt: skip
    found = evaluate([pack], snapshot(claims), at("2026-03-05T10:00")).findings
    assert [(f.key, f.member_ids) for f in found] == [
        ("pat-1:2026-03-02", ("c-9", "c-10")),
        ("pat-2:2026-03-02", ("c-3",)),
        ("pat-1:2026-03-03", ("c-4",)),
    ]
    visit = found[0]
    assert visit.subject_id == "c-9"
    assert visit.title == "Send Ana's claim of Mar 2: 2 procedures, $180.00"
    assert found[1].title == "Send Ben's claim of Mar 2: 1 procedure, $100.00"
    assert visit.evidence["count"] == 2
    assert [m["id"] for m in visit.evidence["members"]] == ["c-9", "c-10"]
    assert visit.evidence["members"][1]["evidence"]["claim.billed"] == "65"
    assert visit.evidence["group.sum(claim.billed)"] == "180"
    assert found[2].priority == "high"


def test_a_member_joining_or_leaving_touches_the_one_task_and_it_resolves_when_none_fires(pack, ledger):
    def cycle(claims: list[dict], now: str) -> list[tuple[str, str]]:
        result = run_cycle(snapshot(claims, now), [pack], ledger, now=at(now))
        return [(str(c.kind), c.task.title) for c in result.changes]

    assert cycle([claim("c-1")], "2026-03-05T10:00") == [("created", "Send Ana's claim of Mar 2: 1 procedure, $100.00")]
    (task,) = ledger.open_tasks()
    assert task.key == f"{PRACTICE_ID}:claims.not_sent:claim:pat-1:2026-03-02"
    assert cycle([claim("c-1"), claim("c-2", billed=50)], "2026-03-05T11:00") == [
        ("touched", "Send Ana's claim of Mar 2: 2 procedures, $150.00")
    ]
    (task,) = ledger.open_tasks()
    assert task.member_ids == ("c-1", "c-2")
    assert cycle([claim("c-1", status="sent"), claim("c-2", billed=50)], "2026-03-05T12:00") == [
        ("touched", "Send Ana's claim of Mar 2: 1 procedure, $50.00")
    ]
    (task,) = ledger.open_tasks()
    assert (task.subject_id, task.member_ids, task.status) == ("c-2", ("c-2",), TaskStatus.OPEN)
    assert cycle([claim("c-1", status="sent"), claim("c-2", status="sent")], "2026-03-05T13:00") == [
        ("resolved", "Send Ana's claim of Mar 2: 1 procedure, $50.00")
    ]


def test_an_event_on_one_member_re_evaluates_its_whole_group_and_never_resolves_it_from_part(pack, tmp_path):
    cross = PACK.replace('key: "{claim.patient_id}:{claim.service_date}"', 'key: "{claim.service_date}"')
    pack = compile_pack(parse_yaml(cross, file="groups.yaml"))
    claims = [claim("c-1"), claim("c-2", patient="pat-2", billed=40)]
    with SqliteLedger(str(tmp_path / "sophie.db")) as store:
        ledger = CachedTaskLedger(store, str(tmp_path / "sophie.db"))
        run_cycle(snapshot(claims), [pack], ledger, now=at("2026-03-05T10:00"))
        state = PracticeState(snapshot([claim("c-1", status="sent"), claims[1]], "2026-03-05T11:00"))
        result = run_incremental_cycle(state, Scope(patients={"pat-1"}), [pack], ledger, now=at("2026-03-05T11:00"))
        assert [(str(c.kind), c.task.title) for c in result.changes] == [
            ("touched", "Send Ben's claim of Mar 2: 1 procedure, $40.00")
        ]
        (task,) = store.open_tasks()
        assert task.member_ids == ("c-2",)
        state = PracticeState(snapshot([claim("c-1", status="sent"), claim("c-2", "pat-2", status="sent")]))
        result = run_incremental_cycle(state, Scope(patients={"pat-2"}), [pack], ledger, now=at("2026-03-05T12:00"))
        assert [str(c.kind) for c in result.changes] == ["resolved"]


def test_an_evaluation_that_saw_some_members_cleared_and_not_the_others_keeps_the_group_open():
    group = (Member("c-1"), Member("c-2", "pat-2"))
    tasks = after([], run([], [Finding("c-1", at("2026-03-10T10:00"), key="k", members=group)], "2026-03-09T10:00"))
    result = run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["c-1"]}, complete=False)
    assert [(str(c.kind), c.task.member_ids, c.task.subject_id) for c in result.changes] == [
        ("touched", ("c-2",), "c-2")
    ]
    result = run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["c-1", "c-2"]}, complete=False)
    assert [str(c.kind) for c in result.changes] == ["resolved"]


def test_a_ledger_written_with_the_schema_before_groups_opens_with_its_tasks_about_their_subject(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for statement in (*STEPS[0].sqlite, *STEPS[1].sqlite):
            db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO task (id, key, practice_id, rule_id, pack, rule_version, content_hash, subject_type, "
            "subject_id, patient_id, title, priority, status, created_at, updated_at, due_at, evidence_json, version, "
            "timezone) VALUES ('t-1', 'p1:claims.not_sent:claim:c-1', 'p1', 'claims.not_sent', 'groups', '1.0.0', "
            "'h', 'claim', 'c-1', 'pat-1', 'Send it', 'normal', 'open', '2026-03-05T15:00:00+00:00', "
            "'2026-03-05T15:00:00+00:00', '2026-03-06T15:00:00+00:00', '{}', 1, 'America/New_York')"
        )
    with SqliteLedger(str(path)) as ledger:
        (task,) = ledger.open_tasks()
        assert (task.key, task.members, task.member_ids) == ("p1:claims.not_sent:claim:c-1", (), ("c-1",))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("{group.total(claim.billed)}", "unknown group value 'total'"),
        ("{group.sum(claim.carrier)}", "group.sum needs a number or money"),
        ("{group.sum(claim.bild)}", "claim has no field 'bild' (did you mean 'billed'?)"),
        ("{group.count(claim)}", "group.count takes a quoted noun"),
    ],
)
def test_group_placeholders_are_checked_when_the_pack_loads(title, message):
    text = PACK.replace(PACK.split("\n")[8].split(": ", 1)[1], f'"{title}"')
    with pytest.raises(RuleError) as err:
        compile_pack(parse_yaml(text, file="groups.yaml"))
    assert message in str(err.value)
    assert "groups.yaml:9:" in str(err.value)


def test_a_key_template_cannot_use_group_values():
    text = PACK.replace('key: "{claim.patient_id}:{claim.service_date}"', 'key: "{group.count}"')
    with pytest.raises(RuleError, match="can only be used in a task title"):
        compile_pack(parse_yaml(text, file="groups.yaml"))


def test_a_member_joining_touches_the_task_even_when_its_title_stays_the_same():
    due = at("2026-03-10T10:00")
    tasks = after([], run([], [Finding("c-1", due, key="k", members=(Member("c-1"),))], "2026-03-09T10:00"))
    joined = Finding("c-1", due, key="k", members=(Member("c-1"), Member("c-2")))
    result = run(tasks, [joined], "2026-03-09T11:00")
    assert [(str(c.kind), c.task.member_ids, c.why) for c in result.changes] == [
        ("touched", ("c-1", "c-2"), "group members changed")
    ]
    assert run(after(tasks, result), [joined], "2026-03-09T12:00").changes == ()


GROUP_TESTS = """\
    tests:
      - name: two procedures of one visit are one claim task
        now: 2026-03-05T10:00:00-05:00
        given:
          patients: [{id: pat-1, first_name: Ana, last_name: Lima}]
          claims:
            - {id: c-1, patient_id: pat-1, kind: primary, status: ready, service_date: 2026-03-02, billed: 100}
            - {id: c-2, patient_id: pat-1, kind: primary, status: ready, service_date: 2026-03-02, billed: 50}
        expect: [{group: "pat-1:2026-03-02", members: [MEMBERS], owner: insurance_coordinator}]
"""


@pytest.mark.parametrize(("members", "passed"), [("c-2, c-1", True), ("c-1", False), ("c-1, c-2, c-3", False)])
def test_a_pack_test_can_expect_a_group_by_its_key_and_members(members, passed):
    from sophie.rules import run_pack_tests

    pack = compile_pack(parse_yaml(PACK + GROUP_TESTS.replace("MEMBERS", members), file="groups.yaml"))
    (result,) = run_pack_tests([pack]).results
    assert result.passed is passed
    assert result.actual == (("group pat-1:2026-03-02 [c-1, c-2]", "insurance_coordinator"),)


def test_an_expectation_names_a_subject_or_a_group_not_both():
    text = PACK + GROUP_TESTS.replace('group: "pat-1:2026-03-02", members: [MEMBERS]', "subject: c-1, members: [c-1]")
    with pytest.raises(RuleError, match="members: goes with group"):
        compile_pack(parse_yaml(text, file="groups.yaml"))


def test_explain_shows_the_group_a_subject_belongs_to_and_its_members(pack):
    from sophie.rules.explain import explain_rule

    claims = [claim("c-1"), claim("c-2", billed=50), claim("c-3", patient="pat-2")]
    shown = explain_rule([pack], snapshot(claims), "claims.not_sent", "c-2", at("2026-03-05T10:00"))
    assert "  group: 'pat-1:2026-03-02', 2 member(s): c-1, c-2" in shown.lines()
    assert shown.as_dict()["finding"]["group"] == {"key": "pat-1:2026-03-02", "members": ["c-1", "c-2"]}
    assert shown.finding is not None and shown.finding.title == "Send Ana's claim of Mar 2: 2 procedures, $150.00"


def test_a_due_time_before_the_task_opens_is_moved_to_one_business_hour_after_and_check_warns():
    early = PACK.replace("due: 1 business_day", "due: claim.sent_at")
    pack = compile_pack(parse_yaml(early.replace('"ready"', '"ready" and claim.sent_at != null'), file="g.yaml"))
    assert [str(w) for w in pack.warnings] == [
        "g.yaml:12:12: warning: this due time can be before the task opens; such a task is due one business hour "
        "after it opens instead (write max(now, ...) or now + ... to say when)"
    ]
    given = snapshot([claim("c-1", sent_at="2026-03-05T09:00:00-05:00")])
    (found,) = evaluate([pack], given, at("2026-03-05T11:50")).findings
    assert found.due_at == at("2026-03-05T13:50")  # the practice closes 12:00-13:00
    for due in ("max(now, claim.sent_at)", "now + hours(4)", "hours(4) + now", "now + business_days(1)"):
        fine = compile_pack(parse_yaml(early.replace("due: claim.sent_at", f"due: {due}"), file="g.yaml"))
        assert fine.warnings == (), due
    for due in ("now - hours(1)", "claim.sent_at + hours(4)"):
        late = compile_pack(parse_yaml(early.replace("due: claim.sent_at", f"due: {due}"), file="g.yaml"))
        assert len(late.warnings) == 1, due

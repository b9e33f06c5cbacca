"""The headline story, end to end: a cancellation opens a slot, a task with ranked candidates follows.

At 11:38 Ana Lima cancels her 14:00 crown seat; the 11:40 snapshot shows the opening. The
scheduling coordinator gets one task listing the best patients to call (never the
do-not-contact one); booking Eva Green into the slot resolves it. If nobody acts, the task
escalates at the time the rule declares and expires when 14:00 passes.

Replayed twice: through the public API, and through the CLI as a user drives it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from sophie.adapters import load_snapshot_file
from sophie.cli import cli
from sophie.execution import ChangeKind, SqliteLedger, TaskStatus, run_cycle
from sophie.rules import load_pack
from sophie.rules.slot_fill.ranking import rank_candidates

STORY = Path(__file__).parent / "fixtures" / "opening_story"
BEFORE, AFTER, BOOKED = (STORY / name for name in ("before.yaml", "after-cancellation.yaml", "after-booking.yaml"))
NY = ZoneInfo("America/New_York")
RULE = "sched.opening.today"
OPENING = "op-1@2026-03-02T14:00"
DO_NOT_CONTACT = "p-8"
EXPECTED_ORDER = ["p-5", "p-6", "p-7"]  # ASAP crown, unscheduled filling, broken visit


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=NY)


# Worked out by hand from the rule's text, not by sophie's calendar: the opening is seen at
# 11:40 on Monday (hours 08:00-17:00, no break); due = max(now, min(start - 15 min, now + 1
# business hour)) = min(13:45, 12:40) = 12:40; the first step comes 30 minutes after due.
DUE = at(12, 40)
ESCALATES = at(13, 10)


@pytest.fixture(scope="module")
def packs():
    return [load_pack("dental-core")]


def opening_changes(result):
    return [change for change in result.changes if change.task.rule == RULE]


def test_ranking_api_lists_fitting_contactable_patients_best_first():
    index = load_snapshot_file(AFTER).index
    ranked = rank_candidates(index, OPENING, at(11, 40))
    assert [c.patient_id for c in ranked] == EXPECTED_ORDER
    assert DO_NOT_CONTACT not in {c.patient_id for c in ranked}
    assert ranked[0].name == "Eva G." and ranked[0].source == "asap"
    assert all(c.minutes <= 60 and not c.hygiene for c in ranked)


def test_story_through_the_api(packs, tmp_path):
    with SqliteLedger(str(tmp_path / "story.db")) as ledger:
        before = run_cycle(load_snapshot_file(BEFORE), packs, ledger, now=at(11, 30))
        assert opening_changes(before) == []

        after = run_cycle(load_snapshot_file(AFTER), packs, ledger, now=at(11, 40))
        created = opening_changes(after)
        assert [c.kind for c in created] == [ChangeKind.CREATED]
        task = created[0].task
        assert (task.subject_type, task.subject_id) == ("opening", OPENING)
        assert (task.owner_role, task.owner_id) == ("scheduling_coordinator", "s-3")
        candidates = task.evidence["candidates"]
        assert [c["patient_id"] for c in candidates] == EXPECTED_ORDER
        assert DO_NOT_CONTACT not in json.dumps(task.evidence)
        assert "Green" not in json.dumps(candidates)  # first name and last initial only
        assert task.expires_at == at(14)

        again = run_cycle(load_snapshot_file(AFTER), packs, ledger, now=at(11, 41))
        assert [c.kind for c in opening_changes(again)] == []  # level-triggered: nothing new

        booked = run_cycle(load_snapshot_file(BOOKED), packs, ledger, now=at(12, 5))
        assert [(c.kind, c.task.id) for c in opening_changes(booked)] == [(ChangeKind.RESOLVED, task.id)]
        assert ledger.get(task.id).status is TaskStatus.RESOLVED


def test_story_nobody_acts_escalates_at_the_declared_time_then_expires(packs, tmp_path):
    rule = packs[0].rule(RULE)
    snapshot = load_snapshot_file(AFTER)
    with SqliteLedger(str(tmp_path / "idle.db")) as ledger:
        task = opening_changes(run_cycle(snapshot, packs, ledger, now=at(11, 40)))[0].task
        assert task.due_at == DUE

        just_before = run_cycle(snapshot, packs, ledger, now=at(13, 9))
        assert ChangeKind.ESCALATED not in [c.kind for c in opening_changes(just_before)]  # touched: now urgent
        assert ledger.get(task.id).escalation_level == 0

        escalated = run_cycle(snapshot, packs, ledger, now=ESCALATES)
        kinds = [c.kind for c in opening_changes(escalated)]
        assert kinds == [ChangeKind.ESCALATED]
        assert opening_changes(escalated)[0].task.owner_role == rule.escalate[0].to
        assert ledger.get(task.id).escalation_level == 1

        expired = run_cycle(snapshot, packs, ledger, now=at(14))
        assert [c.kind for c in opening_changes(expired)] == [ChangeKind.EXPIRED]
        assert ledger.get(task.id).status is TaskStatus.EXPIRED


def sophie(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def cli_run(db: Path, snapshot: Path, now: datetime) -> list[dict]:
    out = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", "dental-core",
                 "--db", f"sqlite:///{db}", "--now", now.isoformat(), "--format", "json")  # fmt: skip
    return [change for change in out["changes"] if change["task"]["rule"] == RULE]


def test_story_through_the_cli(tmp_path):
    db = tmp_path / "sophie.db"
    assert cli_run(db, BEFORE, at(11, 30)) == []

    created = cli_run(db, AFTER, at(11, 40))
    assert [c["change"] for c in created] == ["created"]
    task = created[0]["task"]
    assert task["subject"] == {"type": "opening", "id": OPENING}
    assert task["owner_role"] == "scheduling_coordinator"
    assert [c["patient_id"] for c in task["evidence"]["candidates"]] == EXPECTED_ORDER

    explained = sophie("explain", "--pack", "dental-core", "--source", str(AFTER), "--rule", RULE,
                       "--subject", OPENING, "--now", at(11, 40).isoformat(), "--format", "json")  # fmt: skip
    ranked = explained["finding"]["evidence"]["candidates"]
    assert [c["patient_id"] for c in ranked] == EXPECTED_ORDER
    assert DO_NOT_CONTACT not in json.dumps(explained["finding"])

    text = CliRunner().invoke(cli, ["explain", "--pack", "dental-core", "--source", str(AFTER), "--rule", RULE,
                                    "--subject", OPENING, "--now", at(11, 40).isoformat()])  # fmt: skip
    assert "1. p-5 Eva G." in text.stdout

    resolved = cli_run(db, BOOKED, at(12, 5))
    assert [(c["change"], c["task"]["id"]) for c in resolved] == [("resolved", task["id"])]


def test_story_through_the_cli_nobody_acts(tmp_path):
    db = tmp_path / "sophie.db"
    task = cli_run(db, AFTER, at(11, 40))[0]["task"]
    assert datetime.fromisoformat(task["due_at"]) == DUE
    assert "escalated" not in [c["change"] for c in cli_run(db, AFTER, at(12, 0))]
    assert "escalated" not in [c["change"] for c in cli_run(db, AFTER, at(13, 9))]
    escalated = cli_run(db, AFTER, ESCALATES)
    assert [c["change"] for c in escalated] == ["escalated"]
    assert escalated[0]["task"]["owner_role"] == "office_manager"
    expired = cli_run(db, AFTER, at(14, 0))
    assert [c["change"] for c in expired] == ["expired"]

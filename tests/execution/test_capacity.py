"""Capacity and backlog: a person's day holds their capacity; the rest waits, ordered, and is released."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from execution_fakes import Finding, Rule, at, evaluation, member, practice_snapshot

from sophie.errors import TransitionError
from sophie.execution import ExecutionSettings, SqliteLedger, apply_evaluation, open_ledger
from sophie.execution.capacity import money_at_stake
from sophie.execution.stores.schema import LATEST_VERSION, STEPS
from sophie.execution.tasks import TaskStatus

RULE = Rule()
NOW = at("2026-03-09T09:00")
SNAPSHOT = practice_snapshot(
    staff=(member("tc1", "treatment_coordinator"), member("om", "office_manager"), member("dr", "owner_dentist"))
)
SETTINGS = ExecutionSettings(capacity=2)


def cycle(ledger, findings, now=NOW, seen=None):
    seen = seen if seen is not None else {RULE.id: [f.subject_id for f in findings]}
    return apply_evaluation(
        ledger, SNAPSHOT, evaluation(findings, seen), rules={RULE.id: RULE}, now=now, settings=SETTINGS
    )


def test_money_at_stake_reads_money_fields_only():
    from execution_fakes import run

    result = run([], [Finding("tp-1", NOW, evidence={"claim.billed": "120.50", "age(claim.sent_at)": 400})])
    task = result.changes[0].task
    assert money_at_stake(task) == 120.5
    result = run([], [Finding("tp-1", NOW, evidence={"sum(visit.fee)": 80, "days": 900, "balance.over_90": "x"})])
    assert money_at_stake(result.changes[0].task) == 80


def test_the_day_holds_capacity_and_the_rest_waits_by_priority_money_then_age(ledger_url):
    findings = [
        Finding("tp-1", NOW + timedelta(days=1)),
        Finding("tp-2", NOW + timedelta(days=1), evidence={"plan.unscheduled_total": 900}),
        Finding("tp-3", NOW + timedelta(days=1), priority="high"),
        Finding("tp-4", NOW + timedelta(days=1), evidence={"plan.unscheduled_total": 50}),
        Finding("tp-5", NOW + timedelta(days=1), priority="urgent"),
    ]
    with open_ledger(ledger_url) as ledger:
        result = cycle(ledger, findings)
        status = {c.task.subject_id: c.task.status for c in result.changes}
        # urgent apart; high first, then the most money
        assert status == {
            "tp-5": TaskStatus.OPEN, "tp-3": TaskStatus.OPEN, "tp-2": TaskStatus.OPEN,
            "tp-4": TaskStatus.BACKLOG, "tp-1": TaskStatus.BACKLOG,
        }  # fmt: skip
        assert result.summary()["backlogged"] == 2
        assert [c.as_dict().get("backlogged") for c in result.changes if c.task.subject_id == "tp-1"] == [True]
        outbox = {m.task_id for m in ledger.pending_outbox()}
        assert outbox == {c.task.id for c in result.changes if c.task.status is TaskStatus.OPEN}
        assert [t.subject_id for t in ledger.queue(backlog=True)] == ["tp-4", "tp-1"]
        assert len(ledger.queue()) == 3

        # tp-2 resolves at 11:00: tp-4 (more money) is released, its clock starting then
        later = NOW + timedelta(hours=2)
        firing = [f for f in findings if f.subject_id != "tp-2"]
        firing = [Finding(f.subject_id, later + timedelta(days=1), priority=f.priority, evidence=f.evidence)
                  for f in firing]  # fmt: skip
        result = cycle(ledger, firing, now=later, seen={RULE.id: [f.subject_id for f in findings]})
        kinds = [(str(c.kind), c.task.subject_id) for c in result.changes]
        assert kinds == [("resolved", "tp-2"), ("released", "tp-4")]
        released = result.changes[1].task
        assert released.status is TaskStatus.OPEN and released.due_at == later + timedelta(days=1)
        assert [m.kind for m in ledger.pending_outbox() if m.task_id == released.id] == ["released"]
        # the same cycle again changes nothing
        assert cycle(ledger, firing, now=later, seen={RULE.id: [f.subject_id for f in findings]}).changes == ()


def test_actions_on_backlog_tasks_and_release_when_a_person_closes_one(ledger_url):
    findings = [Finding(f"tp-{n}", NOW + timedelta(days=1)) for n in range(1, 5)]
    with open_ledger(ledger_url) as ledger:
        cycle(ledger, findings)  # a day of two, a backlog of two (same age: ordered by id)
        waiting = ledger.queue(backlog=True)
        assert len(waiting) == 2 and waiting[0].id < waiting[1].id
        with pytest.raises(TransitionError, match="acknowledge it first"):
            ledger.transition(waiting[0].id, "snooze", actor="cli", now=NOW)
        with pytest.raises(TransitionError):
            ledger.transition(waiting[0].id, "block", actor="cli", now=NOW)
        # done on a day task releases the oldest waiting one, in the same transaction
        later = NOW + timedelta(hours=1)
        day = ledger.queue()
        ledger.transition(day[0].id, "done", actor="staff:tc1", now=later)
        released = ledger.get(waiting[0].id)
        assert released.status is TaskStatus.OPEN and released.due_at >= later
        assert [e.kind for e in ledger.audit(released.id)] == ["created", "released"]
        # ack pulls a backlog task into the day, its clock starting now
        acked = ledger.transition(waiting[1].id, "ack", actor="staff:tc1", now=later).task
        assert acked.status is TaskStatus.ACKNOWLEDGED and acked.due_at > later
        # done on a backlog task frees no room: nothing is released
        assert ledger.queue(backlog=True) == []


def test_a_version_2_ledger_migrates_its_tasks_into_the_backlog_schema(tmp_path):
    path = tmp_path / "old.db"
    with SqliteLedger(str(path)) as ledger:
        cycle(ledger, [Finding("tp-1", NOW + timedelta(days=1))])
    db = sqlite3.connect(path)
    rows = db.execute("SELECT * FROM task").fetchall()
    events = db.execute("SELECT * FROM task_event").fetchall()
    outbox = db.execute("SELECT * FROM outbox").fetchall()
    # rebuild a version-2 ledger holding the same rows
    old = tmp_path / "v2.db"
    v2 = sqlite3.connect(old)
    for step in STEPS[:2]:
        for statement in step.sqlite:
            assert isinstance(statement, str)
            v2.execute(statement)
    v2.execute("PRAGMA user_version = 2")
    columns = [row[1] for row in v2.execute("PRAGMA table_info(task)")]  # later columns (members) left out
    rows = db.execute(f"SELECT {', '.join(columns)} FROM task").fetchall()
    v2.executemany(f"INSERT INTO task VALUES ({', '.join('?' * len(rows[0]))})", rows)
    v2.executemany(f"INSERT INTO task_event VALUES ({', '.join('?' * len(events[0]))})", events)
    v2.executemany(f"INSERT INTO outbox VALUES ({', '.join('?' * len(outbox[0]))})", outbox)
    v2.commit()
    with pytest.raises(sqlite3.IntegrityError):  # version 2 refuses a backlog status
        v2.execute("UPDATE task SET status = 'backlog'")
    v2.close()
    with SqliteLedger(str(old)) as ledger:
        assert ledger.verify_audit() == len(events)
        migrated = sqlite3.connect(old)
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert migrated.execute(f"SELECT {', '.join(columns)} FROM task").fetchall() == rows
        migrated.execute("UPDATE task SET status = 'backlog'")
        migrated.commit()
        assert [t.status for t in ledger.open_tasks()] == [TaskStatus.BACKLOG]
        with pytest.raises(sqlite3.IntegrityError):  # one open-ish task per key still holds, backlog included
            migrated.execute("INSERT INTO task SELECT 't-x', key, " + ", ".join(
                c[1] for c in migrated.execute("PRAGMA table_info(task)").fetchall()[2:]) + " FROM task")
        migrated.close()
        assert ledger._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_run_with_capacity_and_the_queue_shows_the_day_and_the_backlog(tmp_path):
    import json

    from click.testing import CliRunner

    from sophie.cli import cli

    db = f"sqlite:///{tmp_path / 'cap.db'}"
    runner = CliRunner()
    now = ["--now", "2026-03-02T07:30:00-05:00"]
    ran = runner.invoke(cli, ["run", "--adapter", "demo", "--db", db, "--capacity", "5", "--format", "json", *now])
    assert ran.exit_code == 0, ran.output
    summary = json.loads(ran.output)["summary"]
    assert summary["backlogged"] > 0
    queue = json.loads(runner.invoke(cli, ["queue", "--db", db, "--format", "json"]).output)
    assert queue["backlog"]["count"] == summary["backlogged"]
    day: dict[str, int] = {}
    for task in queue["tasks"]:
        if task["priority"] != "urgent":
            day[task["owner_id"]] = day.get(task["owner_id"], 0) + 1
    assert max(day.values()) == 5
    table = runner.invoke(cli, ["queue", "--db", db])
    assert f"Backlog: {summary['backlogged']} more waiting" in table.output
    bad = runner.invoke(cli, ["run", "--adapter", "demo", "--db", db, "--capacity", "-1"])
    assert bad.exit_code == 2


def test_the_configured_capacity_reaches_the_cycle_and_the_flag_overrides_it(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from sophie.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sophie.toml").write_text('[practice]\nadapter = "demo"\n[practice.capacity]\ndefault = 4\n')
    runner = CliRunner()
    now = ["--now", "2026-03-02T07:30:00-05:00", "--format", "json"]
    first = runner.invoke(cli, ["run", "--db", "sqlite:///a.db", *now])
    assert first.exit_code == 0, first.output
    queue = json.loads(runner.invoke(cli, ["queue", "--db", "sqlite:///a.db", "--format", "json"]).output)
    counts: dict[str, int] = {}
    for task in queue["tasks"]:
        if task["priority"] != "urgent":
            counts[task["owner_id"]] = counts.get(task["owner_id"], 0) + 1
    assert max(counts.values()) == 4
    second = runner.invoke(cli, ["run", "--db", "sqlite:///b.db", "--capacity", "6", *now])
    assert second.exit_code == 0, second.output
    queue = json.loads(runner.invoke(cli, ["queue", "--db", "sqlite:///b.db", "--format", "json"]).output)
    counts = {}
    for task in queue["tasks"]:
        if task["priority"] != "urgent":
            counts[task["owner_id"]] = counts.get(task["owner_id"], 0) + 1
    assert max(counts.values()) == 6

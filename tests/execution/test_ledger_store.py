"""The ledger stores (SQLite and PostgreSQL): schema and migrations, atomic writes, dedup, audit, outbox, queue, actions."""

from __future__ import annotations

import sqlite3

import pytest
from execution_fakes import Finding, Member, after, at, run

from ledger_stores import raw
from sophie.errors import ConfigurationError, UnknownNameError
from sophie.execution import (
    LedgerConflictError,
    LedgerError,
    SqliteLedger,
    TaskStatus,
    TransitionError,
    open_ledger,
    sqlite_path,
)
from sophie.execution.stores.audit import event_for_change
from sophie.execution.stores.outbox import message_for_change
from sophie.execution.stores.schema import LATEST_VERSION

DUE = at("2026-03-10T10:00")


def write(ledger, result, title="Presented treatment is not scheduled"):
    events = [event_for_change(c) for c in result.changes]
    outbox = [m for c in result.changes if (m := message_for_change(c, title)) is not None]
    ledger.apply(result.changes, events, outbox)


def seeded(ledger, n=3, title="Call Ana Lima about her crown"):
    result = run([], [Finding(f"tp-{i}", DUE, title=title, patient_id=f"pat-{i}") for i in range(n)])
    write(ledger, result)
    return after([], result)


@pytest.fixture
def ledger(ledger_url):
    with open_ledger(ledger_url) as store:
        yield store


def test_a_new_ledger_has_the_latest_schema_in_wal_mode(tmp_path):
    path = tmp_path / "new.db"
    SqliteLedger(str(path)).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {row[0]: row[1] for row in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert "WHERE status IN ('open', 'acknowledged', 'snoozed', 'blocked', 'backlog')" in indexes["task_open_key"]


def test_a_ledger_from_a_newer_sophie_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    SqliteLedger(str(path)).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="newer than this sophie"):
        SqliteLedger(str(path))


def test_a_database_that_is_not_a_ledger_is_refused(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE patients (id TEXT)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not a sophie ledger"):
        SqliteLedger(str(path))


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "text.db"
    path.write_text("hello, this is not a database" * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        SqliteLedger(str(path))


def test_an_empty_ledger_file_is_refused_not_taken_for_a_new_ledger(tmp_path):
    # An emptied file (a failed restore, a truncating copy) must not start a new ledger:
    # every open task would be created, and notified, again.
    path = tmp_path / "sophie.db"
    path.write_bytes(b"")
    with pytest.raises(LedgerError, match=r"ledger file is empty: .*sophie\.db; restore it or remove it"):
        SqliteLedger(str(path))
    assert path.read_bytes() == b""


def test_run_on_an_empty_ledger_file_exits_2_and_leaves_it(tmp_path):
    from click.testing import CliRunner
    from execution_fakes import PACK

    from sophie.cli import cli

    path = tmp_path / "sophie.db"
    path.write_bytes(b"")
    result = CliRunner().invoke(cli, ["run", "--adapter", "demo", "--pack", str(PACK), "--db", f"sqlite:///{path}"])
    assert result.exit_code == 2, result.output
    assert "ledger file is empty" in result.stderr
    assert path.read_bytes() == b""


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///sophie.db", "sophie.db"),
        ("sqlite:////tmp/x.db", "/tmp/x.db"),
        (":memory:", ":memory:"),
        ("sqlite://", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("ledger.db", "ledger.db"),
    ],
)
def test_db_urls(url, path):
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["postgresql://localhost/sophie", "sqlite:///", "", "mysql://x"])
def test_bad_db_urls_are_configuration_errors(url):
    with pytest.raises(ConfigurationError):
        sqlite_path(url)


def test_tasks_round_trip_exactly(ledger):
    tasks = seeded(ledger)
    assert ledger.open_tasks() == tasks
    assert ledger.open_tasks("p1") == tasks and ledger.open_tasks("other") == []
    assert ledger.get(tasks[0].id) == tasks[0]
    assert ledger.get(tasks[0].id[:8]) == tasks[0] or len({t.id[:8] for t in tasks}) < 3


def test_a_group_tasks_members_round_trip_and_follow_its_updates(ledger):
    group = (Member("c-1", "pat-1"), Member("c-2", None), Member("c-10", "pat-2"))
    first = run([], [Finding("c-1", DUE, key="pat-1:2026-03-02", members=group)])
    write(ledger, first)
    [task] = after([], first)
    assert {(m.subject_id, m.patient_id) for m in task.members} == {("c-1", "pat-1"), ("c-10", "pat-2"), ("c-2", None)}
    assert ledger.open_tasks() == [task] and ledger.get(task.id).members == task.members
    grown = run([task], [Finding("c-1", DUE, key="pat-1:2026-03-02", members=(*group, Member("c-3")))])
    write(ledger, grown)
    [stored] = ledger.open_tasks()
    assert stored == after([task], grown)[0] and set(stored.member_ids) == {"c-1", "c-10", "c-2", "c-3"}
    assert ledger.queue()[0].members == stored.members


def test_memory_ledgers_work():
    with open_ledger(":memory:") as ledger:
        assert len(seeded(ledger)) == 3


def test_a_stale_update_conflicts_and_writes_nothing(ledger):
    tasks = seeded(ledger)
    ledger.transition(tasks[0].id, "ack", actor="cli", now=at("2026-03-09T10:30"))
    stale = run(
        tasks,
        [Finding("tp-0", DUE, title="Call again"), Finding("tp-1", DUE), Finding("tp-2", DUE), Finding("tp-9", DUE)],
    )
    before = (ledger.open_tasks(), len(ledger.pending_outbox()), ledger.verify_audit())
    with pytest.raises(LedgerConflictError):
        write(ledger, stale)
    assert (ledger.open_tasks(), len(ledger.pending_outbox()), ledger.verify_audit()) == before


def test_a_second_open_task_for_one_key_conflicts(ledger):
    seeded(ledger, 1)
    with pytest.raises(LedgerConflictError, match="already open"):
        write(ledger, run([], [Finding("tp-0", DUE)], "2026-03-09T10:05"))
    assert len(ledger.open_tasks()) == 1


def test_audit_events_are_append_only_and_hash_chained(ledger):
    tasks = seeded(ledger)
    assert ledger.verify_audit() == 3
    with pytest.raises(Exception, match="append-only"):  # sqlite3 or psycopg raises it
        raw(ledger, "UPDATE task_event SET why = 'x'")
    with pytest.raises(Exception, match="append-only"):
        raw(ledger, "DELETE FROM task_event")
    suffix = "" if isinstance(ledger, SqliteLedger) else " ON task_event"
    raw(ledger, f"DROP TRIGGER task_event_append_only_update{suffix}")
    raw(ledger, "UPDATE task_event SET why = 'edited' WHERE task_id = ?", (tasks[1].id,))
    with pytest.raises(LedgerError, match="audit chain broken"):
        ledger.verify_audit()


def test_every_change_is_audited_with_actor_reason_and_rule_version(ledger):
    tasks = seeded(ledger, 1)
    (event,) = ledger.audit(tasks[0].id)
    assert (event.actor, event.kind, event.from_status, event.to_status) == ("sophie", "created", None, "open")
    assert (event.rule_id, event.rule_version, event.content_hash) == ("plan.unscheduled", "1.0.0", "abc123")
    assert "owner treatment_coordinator: tc1" in event.why


def test_outbox_rows_carry_no_patient_data(ledger):
    seeded(ledger, 2, title="Call Ana Lima about her crown D2740")
    rows = ledger.pending_outbox()
    assert [row.kind for row in rows] == ["created", "created"]
    assert {row.recipient_id for row in rows} == {"tc1", "tc2"}
    text = repr([row.payload for row in rows]) + repr(raw(ledger, "SELECT * FROM outbox"))
    for secret in ("Ana", "Lima", "D2740", "pat-0", "crown"):
        assert secret not in text
    assert rows[0].payload["rule_title"] == "Presented treatment is not scheduled"
    assert rows[0].key.endswith(":created")


def test_the_queue_ranks_by_priority_then_due(ledger):
    result = run([], [
        Finding("tp-a", at("2026-03-12T10:00"), priority="normal"),
        Finding("tp-b", at("2026-03-11T10:00"), priority="normal"),
        Finding("tp-c", at("2026-03-13T10:00"), priority="urgent"),
        Finding("tp-d", at("2026-03-10T10:00"), priority="low", owner="front_desk"),
    ])  # fmt: skip
    write(ledger, result)
    assert [t.subject_id for t in ledger.queue()] == ["tp-c", "tp-b", "tp-a", "tp-d"]
    assert [t.subject_id for t in ledger.queue(role="front_desk")] == ["tp-d"]
    assert {t.owner_id for t in ledger.queue(staff_id="tc1")} == {"tc1"}


def test_actions_move_tasks_and_are_audited_with_the_actor(ledger):
    task = seeded(ledger, 1)[0]
    now = at("2026-03-09T11:00")
    assert ledger.transition(task.id, "ack", actor="staff:tc1", now=now).task.status is TaskStatus.ACKNOWLEDGED
    blocked = ledger.transition(task.id, "block", actor="staff:tc1", now=now, reason="waiting on the lab").task
    assert blocked.blocked_reason == "waiting on the lab"
    snoozed = ledger.transition(
        task.id, "snooze", actor="cli", now=at("2026-03-09T16:00"), until=at("2026-03-10T09:00")
    ).task
    assert snoozed.status is TaskStatus.SNOOZED and snoozed.blocked_since is None
    done = ledger.transition(task.id, "done", actor="cli", now=at("2026-03-10T09:30")).task
    assert (done.status, done.resolution) == (TaskStatus.DONE, "done")
    reopened = ledger.transition(task.id, "reopen", actor="cli", now=at("2026-03-10T10:00")).task
    assert reopened.status is TaskStatus.OPEN and reopened.reopen_count == 1
    trail = ledger.audit(task.id)
    assert [e.kind for e in trail] == ["created", "acknowledged", "blocked", "snoozed", "done", "reopened"]
    assert [e.actor for e in trail][1:3] == ["staff:tc1", "staff:tc1"]
    assert trail[2].data["blocked_reason"] == "waiting on the lab"
    assert ledger.verify_audit() == 6


def test_a_refused_action_writes_nothing(ledger, tmp_path):
    task = seeded(ledger, 1)[0]
    ledger.transition(task.id, "done", actor="cli", now=at("2026-03-09T11:00"))
    with pytest.raises(TransitionError, match=r"cannot ack task .* it is done; reopen it first"):
        ledger.transition(task.id, "ack", actor="cli", now=at("2026-03-09T11:05"))
    with pytest.raises(TransitionError, match="not after now"):
        ledger.transition(task.id, "reopen", actor="cli", now=at("2026-03-09T11:05"), until=at("2026-03-09T11:00"))
    assert [e.kind for e in ledger.audit(task.id)] == ["created", "done"]


def test_reopening_a_closed_task_whose_stall_has_a_new_task_is_refused(ledger):
    tasks = seeded(ledger, 1)
    resolved = run(tasks, [], "2026-03-09T11:00", seen={"plan.unscheduled": ["tp-0"]})
    write(ledger, resolved)
    write(ledger, run([], [Finding("tp-0", DUE)], "2026-03-09T12:00"))
    with pytest.raises(TransitionError, match="already open for the same stall"):
        ledger.transition(tasks[0].id, "reopen", actor="cli", now=at("2026-03-09T12:30"))


def test_an_unknown_task_id_is_a_lookup_error(ledger):
    seeded(ledger, 1)
    with pytest.raises(UnknownNameError, match="unknown task 'nope'"):
        ledger.get("nope")
    with pytest.raises(UnknownNameError):
        ledger.transition("nope", "ack", actor="cli", now=at("2026-03-09T11:00"))


def test_without_autocheckpoint_commits_stay_in_the_log_until_checkpoint(tmp_path):
    from sophie.adapters.demo.practice import DemoPractice, DemoSettings
    from sophie.execution import run_cycle
    from sophie.rules import load_pack

    snapshot = DemoPractice(DemoSettings(seed=1, patients=1000)).snapshot()
    path = tmp_path / "quiet.db"
    with SqliteLedger(str(path), autocheckpoint=False) as quiet:
        assert quiet._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        run_cycle(snapshot, [load_pack("dental-core")], quiet, now=snapshot.as_of)
        log, before = (path.with_name("quiet.db-wal")).stat().st_size, path.stat().st_size
        assert log > 100_000  # the cycle's pages wait in the log
        quiet.checkpoint()
        assert path.stat().st_size > before + log // 4
        assert len(quiet.open_tasks()) > 100


def test_a_ledger_written_with_an_audit_key_is_keyed_and_refuses_other_keys(ledger_url):
    key = b"k" * 32
    with open_ledger(ledger_url, audit_key=key) as keyed:
        seeded(keyed)
        assert keyed.verify_audit() == 3
        assert str(keyed.chain_scheme) == "hmac-sha256"
    with open_ledger(ledger_url, audit_key=None) as plain, pytest.raises(LedgerError, match="keyed; set SOPHIE"):
        plain.verify_audit()
    with open_ledger(ledger_url, audit_key=b"x" * 32) as other, pytest.raises(LedgerError, match="not the key"):
        other.verify_audit()


def test_a_note_is_audited_with_its_text_and_changes_nothing_else(ledger):
    task = seeded(ledger, n=1)[0]
    ledger.transition(task.id, "note", actor="staff:s-6", now=DUE, reason="left a voicemail")
    last = ledger.audit(task.id)[-1]
    assert (last.kind, last.actor, last.data["note"]) == ("noted", "staff:s-6", "left a voicemail")
    assert ledger.get(task.id).status is TaskStatus.OPEN
    assert ledger.verify_audit() == 2


def test_owner_loads_count_each_persons_day_and_backlog_from_one_covering_index(tmp_path, monkeypatch):
    """The board's loads equal a count over the tasks, and SQLite answers them without reading the table."""
    from datetime import datetime

    from click.testing import CliRunner

    from sophie.cli import cli
    from sophie.execution import SqliteLedger

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    assert runner.invoke(cli, ["run", "--capacity", "5", "--now", "2026-03-03T10:30:00-05:00"]).exit_code == 0
    now, day_end = datetime.fromisoformat("2026-03-03T10:30:00-05:00"), datetime.fromisoformat("2026-03-04T00:00:00-05:00")
    with SqliteLedger(str(tmp_path / "sophie.db")) as ledger:
        sent: list[str] = []
        ledger._db.set_trace_callback(sent.append)  # the statement as SQLite runs it, values bound
        loads = ledger.owner_loads(now=now, day_end=day_end)
        ledger._db.set_trace_callback(None)
        every = ledger.find_tasks(statuses=["open", "acknowledged", "snoozed", "blocked", "backlog"])
    expected: dict[str, list[int]] = {}
    for task in every:
        counts = expected.setdefault(task.owner_id or "", [0, 0, 0, 0])
        in_day = task.status != "backlog"  # the day's counts leave the backlog out; it is counted apart
        counts[0] += in_day
        counts[1] += in_day and task.due_at < now
        counts[2] += in_day and now <= task.due_at < day_end
        counts[3] += not in_day
    assert sum(c[3] for c in expected.values()) > 0
    assert {owner: [load.open, load.overdue, load.due_today, load.backlog] for owner, load in loads.items()} == expected
    query = next(statement for statement in sent if "GROUP BY owner_id" in statement)
    db = sqlite3.connect(tmp_path / "sophie.db")
    plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query))
    db.close()
    assert "COVERING INDEX task_open_owner_load" in plan, plan


def test_two_people_acting_on_one_task_at_once_act_one_after_the_other_on_postgres():
    """The second action waits for the first to commit, then acts on the task as the first left it."""
    import threading
    import time

    import psycopg

    from ledger_stores import postgres_schema
    from sophie.execution.stores.verify import verify_ledger

    with postgres_schema() as url:
        with open_ledger(url) as ledger:
            [task] = seeded(ledger, n=1)
        reached, release = threading.Event(), threading.Event()

        def pause(sql: str) -> None:  # the first action holds its transaction open after changing the task
            if sql.startswith("INSERT INTO task_event"):
                reached.set()
                assert release.wait(60)

        done: dict[str, object] = {}
        with open_ledger(url, statement_hook=pause) as first, open_ledger(url) as second:
            acting = threading.Thread(
                target=lambda: done.setdefault("ack", first.transition(task.id, "ack", actor="staff:a", now=DUE))
            )
            acting.start()
            assert reached.wait(60)
            noting = threading.Thread(
                target=lambda: done.setdefault(
                    "note", second.transition(task.id, "note", actor="staff:b", now=DUE, reason="called")
                )
            )
            noting.start()
            with psycopg.connect(url) as watcher:  # the second action is waiting on the first's lock
                waiting = "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'"
                while not watcher.execute(waiting, (second.connection.info.backend_pid,)).fetchall():
                    assert noting.is_alive()
                    time.sleep(0.01)
            release.set()
            acting.join()
            noting.join()
            stored = second.get(task.id)
            assert (stored.version, str(stored.status)) == (3, "acknowledged")
            assert [event.actor for event in second.audit(task.id)][-2:] == ["staff:a", "staff:b"]
            assert verify_ledger(second, audit_key=None).clean


def test_ledgers_in_two_schemas_of_one_database_do_not_wait_for_each_others_audit_lock():
    import threading

    from ledger_stores import postgres_schema

    with postgres_schema() as one, postgres_schema() as other:
        reached, release = threading.Event(), threading.Event()

        def pause(sql: str) -> None:  # the first writer holds its audit lock until released
            if sql.startswith("INSERT INTO task_event"):
                reached.set()
                assert release.wait(60)

        with open_ledger(one, statement_hook=pause) as first, open_ledger(other) as second:
            writing = threading.Thread(target=lambda: seeded(first, n=1))
            writing.start()
            try:
                assert reached.wait(60)
                second.connection.execute("SET lock_timeout = '5s'")  # waiting for the other ledger would fail
                assert len(seeded(second, n=2)) == 2
            finally:
                release.set()
                writing.join()
            assert len(first.open_tasks()) == 1


def test_the_cycle_span_is_the_first_and_last_cycle_of_a_practice_or_of_all(ledger):
    from sophie.execution.stores.ledger import CycleRecord

    assert ledger.cycle_span() is None and ledger.cycle_span("p1") is None
    for practice_id, moment in (("p1", "2026-03-03T07:30"), ("p1", "2026-03-02T07:30"), ("p2", "2026-04-01T12:00"),
                                ("p1", "2026-03-05T12:00")):  # fmt: skip
        ledger.apply([], [], [], cycle=CycleRecord(practice_id, at(moment), True, 0))
    assert ledger.cycle_span("p1") == (at("2026-03-02T07:30"), at("2026-03-05T12:00"))
    assert ledger.cycle_span("p2") == (at("2026-04-01T12:00"), at("2026-04-01T12:00"))
    assert ledger.cycle_span() == (at("2026-03-02T07:30"), at("2026-04-01T12:00"))
    assert ledger.cycle_span("p3") is None

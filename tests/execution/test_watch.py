"""``sophie watch``: events re-evaluate only what changed, timers escalate without a poll, one watcher per ledger."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from sophie.adapters import load_snapshot_file
from sophie.adapters.event_files import EventFilesAdapter, diff_snapshots
from sophie.cli import cli
from sophie.cli.commands.watch_command import watch_command
from sophie.execution import ChangeKind, SqliteLedger, TaskStatus
from sophie.execution.realtime.watch import SimulatedClock, Watcher, WatchLock, WatchLockedError, WatchTick
from sophie.notifiers.delivery import DeliveryWorker
from sophie.notifiers.sqlite_outbox import SqliteOutbox
from sophie.rules import load_pack

STORY = Path(__file__).parents[1] / "fixtures" / "opening_story"
NY = ZoneInfo("America/New_York")
RULE = "sched.opening.today"
OPENING = "op-1@2026-03-02T14:00"
CANCELLED = {"kind": "appointment_cancelled", "record_id": "a-3", "at": "2026-03-02T11:38:00-05:00", "patient_id": "p-1"}
BOOKED = {"kind": "appointment_rescheduled", "record_id": "a-6", "at": "2026-03-02T12:04:00-05:00", "patient_id": "p-5"}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=NY)


@pytest.fixture(scope="module")
def packs():
    return [load_pack("dental-core")]


class Practice:
    """A snapshot file the 'PMS' rewrites, and an events file it appends to."""

    def __init__(self, root: Path) -> None:
        self.snapshot = root / "practice.yaml"
        self.events = root / "events.jsonl"
        self.events.write_text("")

    def show(self, name: str) -> None:
        shutil.copyfile(STORY / name, self.snapshot)

    def emit(self, event: dict) -> None:
        with self.events.open("a") as out:
            out.write(json.dumps(event) + "\n")


def opening_changes(tick: WatchTick) -> list:
    assert tick.result is not None, tick.error
    return [c for c in tick.result.changes if c.task.rule == RULE]


def make_watcher(tmp_path, packs, ledger, start, **kwargs) -> tuple[Practice, Watcher]:
    practice = Practice(tmp_path)
    adapter = EventFilesAdapter(practice.snapshot, practice.events)
    watcher = Watcher(adapter, packs, ledger, clock=SimulatedClock(start), interval=timedelta(hours=12), **kwargs)
    return practice, watcher


def test_events_drive_the_story_incrementally(tmp_path, packs):
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 30))
        practice.show("before.yaml")
        first = watcher.tick(at(11, 30))
        assert first.trigger == "poll" and opening_changes(first) == []

        practice.show("after-cancellation.yaml")
        practice.emit(CANCELLED)
        created = watcher.tick(at(11, 40))
        assert (created.trigger, created.events) == ("events", 1)
        [change] = opening_changes(created)
        assert change.kind is ChangeKind.CREATED and change.task.owner_id == "s-3"
        assert [c["patient_id"] for c in change.task.evidence["candidates"]] == ["p-5", "p-6", "p-7"]

        practice.emit(CANCELLED)  # a duplicate, late event: a re-read that changes nothing
        duplicate = watcher.tick(at(11, 41))
        assert duplicate.trigger == "events" and opening_changes(duplicate) == []

        practice.show("after-booking.yaml")
        practice.emit(BOOKED)
        booked = watcher.tick(at(12, 5))
        assert [(c.kind, c.task.id) for c in opening_changes(booked)] == [(ChangeKind.RESOLVED, change.task.id)]


def test_incremental_and_full_cycles_agree(tmp_path, packs):
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 30))
        practice.show("before.yaml")
        watcher.tick(at(11, 30))
        practice.show("after-cancellation.yaml")
        practice.emit(CANCELLED)
        watcher.tick(at(11, 40))
        watcher._next_poll = at(11, 40)  # force a complete read now
        full = watcher.tick(at(11, 40))
        assert full.trigger == "poll"
        assert full.result is not None and full.result.listed_changes == ()


def test_nobody_acts_timers_escalate_then_expire_without_a_poll(tmp_path, packs):
    ticks: list[WatchTick] = []
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 40), on_tick=ticks.append, event_poll=None)
        practice.show("after-cancellation.yaml")
        watcher.run(until=at(14, 5))
        task = next(t for t in ledger.queue() + [ledger.get(c.task.id) for tk in ticks if tk.result
                                                  for c in tk.result.changes] if t.rule == RULE)  # fmt: skip
        final = ledger.get(task.id)
    rule = packs[0].rule(RULE)
    declared = final.due_at + rule.escalate[0].after
    timers = [(tick.at, [c.kind for c in opening_changes(tick)]) for tick in ticks if tick.trigger == "timer"]
    assert any(moment == declared and ChangeKind.ESCALATED in kinds for moment, kinds in timers)
    assert len(ticks) <= 4, [(t.at, t.trigger) for t in ticks]
    assert (at(14), [ChangeKind.EXPIRED]) in timers
    assert [tick.trigger for tick in ticks].count("poll") == 1
    assert final.status is TaskStatus.EXPIRED and final.escalation_level == 1


def test_events_go_first_and_timers_due_then_run_next_even_with_more_events(tmp_path, packs):
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 40))
        practice.show("after-cancellation.yaml")
        [created] = opening_changes(watcher.tick(at(11, 40)))
        declared = created.task.due_at + packs[0].rule(RULE).escalate[0].after
        elsewhere = {"kind": "contact_logged", "record_id": "c-new", "at": declared.isoformat(), "patient_id": "p-9"}
        practice.emit(elsewhere)  # an event about someone else, at the escalation's minute
        first = watcher.tick(declared)
        assert (first.trigger, opening_changes(first)) == ("events", [])
        assert first.next_wake == declared  # the timer is due: wake at once
        practice.emit(elsewhere)  # and another event is already waiting
        second = watcher.tick(declared)
        assert second.trigger == "timer"
        assert ChangeKind.ESCALATED in [c.kind for c in opening_changes(second)]
        third = watcher.tick(declared)
        assert (third.trigger, third.events) == ("events", 1)
        assert ledger.get(created.task.id).escalation_level == 1


def test_a_failed_reread_never_resolves(tmp_path, packs):
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 40))
        practice.show("after-cancellation.yaml")
        [created] = opening_changes(watcher.tick(at(11, 40)))
        practice.snapshot.write_text("patients: [unclosed")
        practice.emit(BOOKED)
        failed = watcher.tick(at(11, 45))
        assert failed.error is not None and failed.result is None
        assert ledger.get(created.task.id).status is TaskStatus.OPEN
        practice.show("after-booking.yaml")  # the PMS export recovers; the event is still pending
        recovered = watcher.tick(at(12, 5))
        assert [c.kind for c in opening_changes(recovered)] == [ChangeKind.RESOLVED]


def test_outbox_is_drained_each_tick(tmp_path, packs):
    sent = []

    class Recorder:
        def send(self, message, *, now):
            sent.append(message)

    db = tmp_path / "w.db"
    with SqliteLedger(str(db)) as ledger:
        delivery = DeliveryWorker(SqliteOutbox(str(db)), {"test": Recorder()})  # type: ignore[dict-item]
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 40), delivery=delivery)
        practice.show("after-cancellation.yaml")
        tick = watcher.tick(at(11, 40))
    assert tick.delivered >= 1 and len(sent) == tick.delivered


def test_stop_finishes_the_current_tick_then_returns(tmp_path, packs):
    stop = threading.Event()
    ticks: list[WatchTick] = []

    def on_tick(tick: WatchTick) -> None:
        ticks.append(tick)
        stop.set()

    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 40), on_tick=on_tick)
        practice.show("after-cancellation.yaml")
        assert watcher.run(stop) == 1
    assert ticks[0].result is not None


def test_two_watchers_on_one_ledger_never_both_run(tmp_path):
    db = str(tmp_path / "w.db")
    with WatchLock(db):
        with pytest.raises(WatchLockedError, match=str(os.getpid())):
            WatchLock(db).acquire()
        practice = Practice(tmp_path)
        practice.show("after-cancellation.yaml")
        result = CliRunner().invoke(watch_command, ["--adapter", "files", "--source", str(practice.snapshot),
                                                    "--db", f"sqlite:///{db}", "--once"])  # fmt: skip
        assert isinstance(result.exception, WatchLockedError)
    with WatchLock(db):  # released: the next watcher may take it
        pass


def test_cli_once_prints_json_lines_with_ids_not_names(tmp_path):
    practice = Practice(tmp_path)
    practice.show("after-cancellation.yaml")
    result = CliRunner().invoke(watch_command, [
        "--adapter", "files", "--source", str(practice.snapshot), "--db", f"sqlite:///{tmp_path / 'w.db'}",
        "--once", "--clock-start", "2026-03-02T11:40:00-05:00", "--clock-speed", "0", "--output", "json",
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    [line] = result.stdout.strip().splitlines()
    record = json.loads(line)
    assert record["trigger"] == "poll" and record["changes"]["created"] >= 1
    assert "Eva" not in line and "Lima" not in line


def test_cli_simulated_clock_runs_until_expiry(tmp_path):
    practice = Practice(tmp_path)
    practice.show("after-cancellation.yaml")
    result = CliRunner().invoke(watch_command, [
        "--adapter", "files", "--source", str(practice.snapshot), "--db", f"sqlite:///{tmp_path / 'w.db'}",
        "--interval", "86400", "--clock-start", "2026-03-02T11:40:00-05:00", "--clock-speed", "0",
        "--until", "2026-03-02T14:05:00-05:00", "--output", "json",
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    changes = [(r["trigger"], r.get("changes", {})) for r in records]
    assert any(trigger == "timer" and "escalated" in c for trigger, c in changes)
    assert any(trigger == "timer" and "expired" in c for trigger, c in changes)


@pytest.mark.slow
def test_sigterm_finishes_the_cycle_and_exits_zero(tmp_path):
    practice = Practice(tmp_path)
    practice.show("after-cancellation.yaml")
    code = "import sys; from sophie.cli.commands.watch_command import watch_command; watch_command(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--adapter", "files", "--source", str(practice.snapshot),
         "--db", f"sqlite:///{tmp_path / 'w.db'}", "--interval", "3600", "--output", "json"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["trigger"] == "poll"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    with WatchLock(str(tmp_path / "w.db")):  # released with the process
        pass


def test_diff_of_identical_snapshots_is_empty():
    snapshot = load_snapshot_file(STORY / "before.yaml")
    assert diff_snapshots(snapshot, load_snapshot_file(STORY / "before.yaml")).is_empty()


def test_events_file_skips_bad_lines_and_waits_for_a_partial_one(tmp_path):
    practice = Practice(tmp_path)
    practice.show("before.yaml")
    practice.events.write_text(json.dumps(CANCELLED) + "\nnot json\n" + json.dumps(BOOKED)[:20])
    adapter = EventFilesAdapter(practice.snapshot, practice.events)
    events = list(adapter.events(None))
    assert [(e.record_id, e.watermark) for e in events] == [("a-3", "lines:1")]
    assert list(adapter.events("lines:2")) == []


def test_demo_day_of_events_replays_through_the_watcher(tmp_path, packs):
    from sophie.adapters.demo.events import DemoEventsAdapter, day_of_events
    from sophie.adapters.demo.practice import DemoPractice, DemoSettings

    snapshot = DemoPractice(DemoSettings(seed=3, patients=300)).snapshot()
    day = day_of_events(snapshot, seed=3, count=12)
    assert day == day_of_events(snapshot, seed=3, count=12)  # deterministic
    assert [item.event.at for item in day] == sorted(item.event.at for item in day)
    clock = SimulatedClock(snapshot.as_of)
    ticks: list[WatchTick] = []
    with SqliteLedger(str(tmp_path / "demo.db")) as ledger:
        adapter = DemoEventsAdapter(snapshot, clock.now, seed=3, count=12)
        watcher = Watcher(adapter, packs, ledger, clock=clock, interval=timedelta(days=2),
                          event_poll=timedelta(minutes=1), on_tick=ticks.append)  # fmt: skip
        watcher.run(until=day[-1].event.at + timedelta(minutes=2))
        assert sum(t.events for t in ticks) == len(day)
        assert all(t.error is None for t in ticks)
        state = watcher.state
        assert state is not None
        from sophie.execution import run_cycle

        # A sweep after the events finds only what time alone changed elsewhere (a visit now
        # inside 72 hours, say): nothing for the patients the events touched, nothing to resolve.
        sweep = run_cycle(state.snapshot, packs, ledger, now=day[-1].event.at)
        touched = {item.event.patient_id for item in day}
        assert sweep.counts()["resolved"] == 0
        assert not [c for c in sweep.listed_changes if c.task.patient_id in touched and c.task.subject_type != "opening"]


def test_cli_demo_simulates_a_day_of_events(tmp_path):
    result = CliRunner().invoke(watch_command, [
        "--adapter", "demo", "--events", "simulate", "--db", f"sqlite:///{tmp_path / 'w.db'}",
        "--interval", "86400", "--event-poll", "300", "--clock-start", "2026-03-02T07:30:00-05:00",
        "--clock-speed", "0", "--until", "2026-03-02T09:00:00-05:00", "--output", "json",
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["trigger"] == "poll"
    # an events tick consumed events, a timer tick none; the seeded demo day sends 26 before 09:00
    assert all((r["trigger"] == "events") == (r["events"] > 0) for r in records[1:]), records
    assert sum(r["events"] for r in records) == 26


def test_cached_open_tasks_notice_another_writer(tmp_path, packs):
    from sophie.execution import run_cycle
    from sophie.execution.stores.task_cache import CachedTaskLedger

    db = str(tmp_path / "w.db")
    with SqliteLedger(db) as store:
        run_cycle(load_snapshot_file(STORY / "after-cancellation.yaml"), packs, store, now=at(11, 40))
        cached = CachedTaskLedger(store, db)
        task = next(t for t in cached.open_tasks("story-dental") if t.rule == RULE)
        with SqliteLedger(db) as person:  # `sophie task ack` in another process
            person.transition(task.id, "ack", actor="staff:s-3", now=at(11, 45))
        seen = {t.id: t for t in cached.open_tasks("story-dental")}
        assert seen[task.id].status is TaskStatus.ACKNOWLEDGED
        cached.close()


def test_the_watcher_checkpoints_the_ledger_log_when_idle(tmp_path, packs):
    calls: list[str] = []

    class Spy(SqliteLedger):
        def checkpoint(self) -> None:
            calls.append("checkpoint")
            super().checkpoint()

    with Spy(str(tmp_path / "w.db"), autocheckpoint=False) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 30))
        practice.show("after-cancellation.yaml")
        assert watcher.tick(at(11, 30)).trigger == "poll"
        assert calls == ["checkpoint"]
        practice.emit(CANCELLED)
        assert watcher.tick(at(11, 40)).trigger == "events"
        assert calls == ["checkpoint"]  # a busy tick: no checkpoint
        assert watcher.tick(at(11, 41)).trigger == "idle"
        assert calls == ["checkpoint", "checkpoint"]


def test_a_failed_complete_read_is_retried_soon_backing_off(tmp_path, packs):
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 30), event_poll=None)
        practice.snapshot.write_text("patients: [unclosed")  # the PMS export is half-written
        waits = []
        moment = at(11, 30)
        for _ in range(4):
            tick = watcher.tick(moment)
            assert (tick.trigger, tick.result) == ("poll", None)
            assert tick.error is not None and tick.next_wake is not None
            waits.append(tick.next_wake - moment)
            moment = tick.next_wake
        assert waits == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
        practice.show("after-cancellation.yaml")
        recovered = watcher.tick(moment)
        assert recovered.trigger == "poll" and recovered.error is None
        assert [c.kind for c in opening_changes(recovered)] == [ChangeKind.CREATED]


def test_cli_once_exits_2_when_the_read_fails(tmp_path):
    broken = tmp_path / "practice.yaml"
    broken.write_text("patients: [unclosed")
    result = CliRunner().invoke(cli, [
        "watch", "--adapter", "files", "--source", str(broken), "--db", f"sqlite:///{tmp_path / 'w.db'}", "--once",
        "--output", "json",
    ])  # fmt: skip
    assert result.exit_code == 2
    assert "the read failed: SnapshotError" in result.output
    assert "Traceback" not in result.output


def test_every_change_a_watcher_commits_reaches_the_observers(tmp_path, packs):
    from sophie.plugins import Plugins, hookimpl

    seen: list[tuple[str, str]] = []

    class Observer:
        @hookimpl
        def sophie_task_changed(self, change):
            seen.append((str(change.kind), change.task.id))

    plugins = Plugins(entry_points_enabled=False, extra=[Observer()])
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(tmp_path, packs, ledger, at(11, 30), plugins=plugins)
        practice.show("before.yaml")
        ticks = [watcher.tick(at(11, 30))]
        practice.show("after-cancellation.yaml")
        practice.emit(CANCELLED)
        ticks.append(watcher.tick(at(11, 40)))
        practice.show("after-booking.yaml")
        practice.emit(BOOKED)
        ticks.append(watcher.tick(at(12, 5)))
    written = [(str(c.kind), c.task.id) for tick in ticks if tick.result is not None for c in tick.result.changes]
    assert [tick.trigger for tick in ticks] == ["poll", "events", "events"]
    assert ("resolved", opening_changes(ticks[2])[0].task.id) in written
    assert seen == written


def test_cli_watch_once_with_a_config_keeps_the_staff_directory_fresh(tmp_path, monkeypatch):
    """``watch --config --once`` runs one cycle and records names, roles and the huddle as ``run`` does."""
    import sqlite3

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    site = tmp_path / "sophie.site.db"
    assert not site.exists()
    result = runner.invoke(cli, ["watch", "--config", "sophie.toml", "--once", "--output", "json"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "sophie.db") as db:
        assert db.execute("SELECT count(*) FROM task").fetchone()[0] > 0
    with sqlite3.connect(site) as store:
        names = {row[0] for row in store.execute("SELECT name FROM staff")}
    assert len(names) >= 5 and all(name.strip() for name in names)


def test_cli_watch_takes_digest_windows_from_the_config(tmp_path, monkeypatch):
    """``[practice.digests]`` holds non-urgent notifications for the window, as ``--digests`` does."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    args = ["watch", "--config", "sophie.toml", "--once", "--notify-console", "--clock-start",
            "2026-03-03T10:00:00-05:00", "--output", "json"]  # fmt: skip

    def delivered() -> int:
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        tick = json.loads(next(line for line in reversed(result.output.splitlines()) if '"delivered"' in line))
        for name in ("sophie.db", "sophie.db-wal", "sophie.db-shm", "sophie.site.db"):
            (tmp_path / name).unlink(missing_ok=True)
        return int(tick["delivered"])

    at_once = delivered()
    with open("sophie.toml", "a") as config:
        config.write('\n[practice.digests]\nat = ["23:00"]\n')
    held = delivered()
    assert 0 < held < at_once  # the urgent ones still go at once; the rest wait for 23:00


def test_the_backlog_is_released_when_room_appears_and_its_clock_starts_at_the_next_opening(tmp_path, packs):
    """Capacity under ``sophie watch``: room freed by a timer or a person releases the backlog at once.

    With a day of one task, the scheduling coordinator's opening fills it and two tasks wait.
    When the opening turns urgent (a timer, no poll), it stops counting against the day and the
    best waiting task is released in that same cycle. A release after hours (a task closed in
    the evening) starts the released task's clock at the next opening: its due time is counted
    in business time from the release.
    """
    from sophie.execution import ExecutionSettings

    ticks: list[WatchTick] = []
    with SqliteLedger(str(tmp_path / "w.db")) as ledger:
        practice, watcher = make_watcher(
            tmp_path, packs, ledger, at(11, 40), on_tick=ticks.append, event_poll=None,
            settings=ExecutionSettings(capacity=1),
        )  # fmt: skip
        practice.show("after-cancellation.yaml")
        watcher.run(until=at(14, 5))
        first = ticks[0].result
        assert first is not None
        waiting = [c.task for c in first.changes if c.task.owner_id == "s-3" and c.task.status is TaskStatus.BACKLOG]
        assert len(waiting) == 2
        urgent = next(tk for tk in ticks if tk.trigger == "timer" and any(
            str(c.task.priority) == "urgent" for c in opening_changes(tk)))  # fmt: skip
        assert urgent.result is not None
        released = [c.task for c in urgent.result.changes if c.kind is ChangeKind.RELEASED]
        assert [t.owner_id for t in released] == ["s-3"] and released[0].id in {t.id for t in waiting}
        assert [tk.trigger for tk in ticks].count("poll") == 1  # released by a timer cycle
        evening = at(19, 0)
        ledger.transition(released[0].id, "done", actor="staff:s-3", now=evening)
        (last,) = [t for t in ledger.open_tasks() if t.owner_id == "s-3" and t.rule != RULE and t.is_open]
        assert last.status is TaskStatus.OPEN and last.id in {t.id for t in waiting} - {released[0].id}
        assert watcher.state is not None
        calendar = watcher.state.snapshot.index.calendar
        rule = packs[0].rule(last.rule)
        assert last.due_at == calendar.add(evening, rule.due.duration)
        assert last.due_at > datetime(2026, 3, 3, 8, 0, tzinfo=NY)  # its clock did not run overnight

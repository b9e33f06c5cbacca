"""Sweeps: a whole round over the slices does what a poll's full cycle would, on the same data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from sophie.adapters.demo.events import DemoEventsAdapter
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.cli.commands.watch_command import watch_command
from sophie.execution import SqliteLedger, run_cycle
from sophie.execution.realtime.practice_state import PracticeState
from sophie.execution.realtime.sweep import Sweep
from sophie.execution.realtime.watch import SimulatedClock, Watcher
from sophie.rules import load_pack


@pytest.fixture(scope="module")
def packs():
    return [load_pack("dental-core")]


@pytest.fixture(scope="module")
def snapshot():
    return DemoPractice(DemoSettings(seed=4, patients=500)).snapshot()


def test_slices_cover_every_family_and_chair_day_once(snapshot):
    state = PracticeState(snapshot)
    sweep = Sweep(timedelta(minutes=5), families_per_step=60)
    sweep.plan(state, snapshot.as_of)
    heads = state.family_heads()
    chairs = state.chair_days(snapshot.as_of.astimezone(state.tz).date())
    assert heads and chairs
    seen_patients: list[str] = []
    seen_chairs: list = []
    steps = 0
    while sweep.rounds == 0:
        scope = sweep.take(snapshot.as_of)
        seen_patients += scope.patients
        seen_chairs += scope.chairs
        steps += 1
        assert len(scope.patients) <= 60
    assert sorted(seen_patients) == heads and sorted(seen_chairs) == chairs
    assert steps == -(-len(heads) // 60)
    assert sweep.step == timedelta(minutes=5) / steps


def test_a_whole_round_leaves_nothing_for_a_full_cycle(tmp_path, snapshot, packs):
    later = snapshot.as_of + timedelta(days=3, hours=2)  # time alone makes new stalls true
    with SqliteLedger(str(tmp_path / "s.db")) as ledger:
        clock = SimulatedClock(snapshot.as_of)
        adapter = DemoEventsAdapter(snapshot, clock.now, count=0)
        watcher = Watcher(adapter, packs, ledger, clock=clock, interval=timedelta(days=30),
                          sweep=Sweep(timedelta(0), families_per_step=40))  # fmt: skip
        assert watcher.tick(snapshot.as_of).trigger == "poll"
        triggers: list[str] = []
        changed = 0
        assert watcher.sweep is not None
        while watcher.sweep.rounds == 0:
            tick = watcher.tick(later)
            assert tick.error is None
            triggers.append(tick.trigger)
            changed += len(tick.result.changes) if tick.result else 0
        assert triggers.count("sweep") > 5 and changed > 0
        assert watcher.state is not None
        full = run_cycle(watcher.state.snapshot, packs, ledger, now=later)
        assert [(c.kind, c.task.key) for c in full.listed_changes] == []


class SetClock:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at

    def sleep(self, seconds, stop):
        self.at += timedelta(seconds=seconds)


def test_events_go_before_a_sweep_step_that_is_due(tmp_path, snapshot, packs):
    with SqliteLedger(str(tmp_path / "e.db")) as ledger:
        clock = SetClock(snapshot.as_of)
        adapter = DemoEventsAdapter(snapshot, clock.now, seed=4, count=5)
        sweep = Sweep(timedelta(minutes=1))
        watcher = Watcher(adapter, packs, ledger, clock=clock, interval=timedelta(days=30), sweep=sweep)
        poll = watcher.tick(snapshot.as_of)
        assert poll.next_wake is not None and poll.next_wake <= snapshot.as_of + sweep.step
        clock.at = adapter.day[0].event.at
        assert sweep.due(clock.at)  # both an event and a sweep step are waiting
        assert watcher.tick(clock.at).trigger == "events"
        following = [watcher.tick(clock.at).trigger for _ in range(4)]
        assert "sweep" in following and "events" not in following


def test_cli_sweep_ticks_show_in_the_json_lines(tmp_path):
    result = CliRunner().invoke(watch_command, [
        "--adapter", "demo", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--interval", "86400", "--sweep", "60",
        "--clock-start", "2026-03-02T07:30:00-05:00", "--clock-speed", "0", "--until", "2026-03-02T07:32:00-05:00",
        "--output", "json",
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    triggers = [json.loads(line)["trigger"] for line in result.stdout.splitlines()]
    assert triggers[0] == "poll" and "sweep" in triggers

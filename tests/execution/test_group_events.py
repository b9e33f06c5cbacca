"""A group's workers process a practice's adapter events: incremental cycles on a real events file,
under the practice's lock, continuing from the mark another worker left.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ledger_stores import POSTGRES_ENV, postgres_schema
from sophie.config.models import PracticeConfig
from sophie.execution.group.cycles import practice_lock, run_practice_cycle
from sophie.execution.group.events import (
    PracticeEvents,
    install_event_marks,
    run_practice_events,
    start_event_stream,
    stream_end,
    without_events,
)
from sophie.execution.group.jobs import (
    QUEUE,
    defer_cycles,
    defer_events,
    due_practices,
    group_app,
    install_job_schema,
    practices_with_new_events,
)
from sophie.execution.practice_setup import practice_setup
from sophie.execution.stores.postgres.ledger import PostgresLedger

pytestmark = [
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

STORY = Path(__file__).parents[1] / "fixtures" / "opening_story"
NY = ZoneInfo("America/New_York")
RULE = "sched.opening.today"
CANCELLED = {
    "kind": "appointment_cancelled",
    "record_id": "a-3",
    "at": "2026-03-02T11:38:00-05:00",
    "patient_id": "p-1",
}
BOOKED = {"kind": "appointment_rescheduled", "record_id": "a-6", "at": "2026-03-02T12:04:00-05:00", "patient_id": "p-5"}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=NY)


class Files:
    """The practice's snapshot file (the 'PMS' rewrites it) and its events file (appended to)."""

    def __init__(self, root: Path) -> None:
        self.snapshot = root / "practice.yaml"
        self.events = root / "events.jsonl"
        self.events.write_text("")

    def show(self, name: str) -> None:
        shutil.copyfile(STORY / name, self.snapshot)

    def emit(self, event: dict) -> None:
        with self.events.open("a") as out:
            out.write(json.dumps(event) + "\n")

    def practice(self) -> PracticeConfig:
        return PracticeConfig(
            id="north", adapter="files", source=str(self.snapshot), packs=("dental-core",),
            adapter_settings={"events": str(self.events)},
        )  # fmt: skip


def openings(ledger: PostgresLedger) -> list[str]:
    return sorted(task.id for task in ledger.open_tasks("north") if task.rule == RULE)


def cycles(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as db:
        return db.execute("SELECT at, complete FROM cycle WHERE practice_id = 'north' ORDER BY at").fetchall()


def run_worker(app) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            with app.open():
                app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0


def test_workers_turn_events_into_incremental_cycles_from_the_mark_the_last_worker_left(tmp_path):
    files = Files(tmp_path)
    files.show("before.yaml")
    practice = files.practice()
    with postgres_schema() as url:
        app = group_app(url, [practice], every=timedelta(minutes=5), periodic=False)
        with PostgresLedger(url) as ledger:
            install_job_schema(app, ledger)
            files.emit(CANCELLED)  # before the first cycle: that cycle reads what it points at
            assert practices_with_new_events(ledger, {"north": str(files.events)}) == []  # no stream yet
        with app.open():
            defer_cycles(app, ["north"], at=int(at(11, 30).timestamp()))
        run_worker(app)  # the first complete cycle starts the stream after the event already read
        with PostgresLedger(url) as ledger:
            assert practices_with_new_events(ledger, {"north": str(files.events)}) == []
            assert openings(ledger) == []  # before.yaml: no opening yet

        files.show("after-cancellation.yaml")
        files.emit(CANCELLED)
        with app.open(), PostgresLedger(url) as ledger:
            waiting = practices_with_new_events(ledger, {"north": str(files.events)})
            assert waiting == ["north"]
            assert defer_events(app, waiting, at=int(at(11, 40).timestamp())) == 1
            assert defer_events(app, waiting) == 0  # one waits at most
        run_worker(app)
        with PostgresLedger(url) as ledger:
            [opening] = openings(ledger)
            assert practices_with_new_events(ledger, {"north": str(files.events)}) == []

        files.show("after-booking.yaml")
        files.emit(BOOKED)
        with app.open():
            defer_events(app, ["north"], at=int(at(12, 5).timestamp()))
        run_worker(app)  # another worker process: it reads the file afresh and continues from the mark
        with PostgresLedger(url) as ledger:
            assert openings(ledger) == []
            assert ledger.get(opening).status.value == "resolved"
        assert [complete for _, complete in cycles(url)] == [1, 0, 0]  # one complete cycle, two incremental
        with PostgresLedger(url) as ledger:  # incremental cycles are not complete ones: the 5-minute cycle is due
            assert due_practices(ledger, [practice], at(12, 6), timedelta(minutes=5)) == ["north"]
            assert due_practices(ledger, [practice], at(11, 34), timedelta(minutes=5)) == []
            full = run_practice_cycle(ledger, without_events(practice), now=at(12, 5))  # same time as an event's
        assert full is not None
        assert sorted(complete for _, complete in cycles(url)) == [0, 0, 1, 1]


def test_events_wait_for_the_practices_lock_and_apply_changes_to_the_workers_last_read(tmp_path):
    files = Files(tmp_path)
    files.show("before.yaml")
    practice = files.practice()
    setup = practice_setup(without_events(practice))
    hold = PracticeEvents.of(setup, str(files.events))
    with postgres_schema() as url, PostgresLedger(url) as ledger, PostgresLedger(url) as other:
        install_event_marks(ledger)
        files.emit(CANCELLED)
        assert run_practice_events(ledger, setup, hold, now=at(11, 35)) is None  # no complete cycle yet
        start = stream_end(str(files.events))
        assert run_practice_cycle(ledger, practice, now=at(11, 30), setup=setup) is not None
        start_event_stream(ledger, "north", start)
        assert run_practice_events(ledger, setup, hold, now=at(11, 35)) is None  # nothing after the mark

        files.show("after-cancellation.yaml")
        files.emit(CANCELLED)
        with practice_lock(other, "north") as taken:  # another worker holds the practice
            assert taken
            assert run_practice_events(ledger, setup, hold, now=at(11, 40)) is None
        created = run_practice_events(ledger, setup, hold, now=at(11, 40))
        assert created is not None and [c.task.rule for c in created.changes if c.task.rule == RULE] == [RULE]
        assert hold.state is not None and hold.state.practice.id == "north"  # the group's id, not the file's

        files.show("after-booking.yaml")
        files.emit(BOOKED)
        booked = run_practice_events(ledger, setup, hold, now=at(12, 5))  # a delta on this worker's last read
        assert booked is not None
        assert [c.kind.value for c in booked.changes if c.task.rule == RULE] == ["resolved"]
        assert run_practice_events(ledger, setup, hold, now=at(12, 6)) is None  # the mark moved on

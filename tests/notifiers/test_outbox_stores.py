"""Both Outbox implementations (in memory, and over the SQLite ledger's table) behave the same."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sophie.notifiers.base import Message, NotifierError
from sophie.notifiers.delivery import DeliveryWorker, InMemoryOutbox, OutboxCounts
from sophie.notifiers.sqlite_outbox import SqliteOutbox

from .loopback import T0, Recorder

Add = Callable[[str, datetime], None]


def ledger_file(path: Path) -> Path:
    from sophie.execution import SqliteLedger

    SqliteLedger(str(path)).close()  # the ledger's migrations add the delivery columns
    return path


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[object, Add]]:
    if request.param == "memory":
        memory = InMemoryOutbox()
        yield memory, lambda key, now: memory.add(Message(key=key, task_id=key.split(":")[0]), now=now) and None
        return
    path = ledger_file(tmp_path / "ledger.db")
    writer = sqlite3.connect(path, isolation_level=None)

    def add(key: str, now: datetime) -> None:
        stamp = now.astimezone(UTC).isoformat(timespec="microseconds")
        payload = {"task_id": key.split(":")[0], "change": "created", "rule_title": "Recall overdue",
                   "patient_name": "Zebediah Canary"}
        writer.execute("INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
                       "VALUES (?, ?, NULL, 'created', ?, ?, ?)", (key, key.split(":")[0], json.dumps(payload),
                                                                    stamp, stamp))

    with SqliteOutbox(str(path)) as outbox:
        yield outbox, add
    writer.close()


def test_rows_are_delivered_once_in_order(store: tuple[object, Add]) -> None:
    outbox, add = store
    for number in (2, 1, 3):
        add(f"t-{number}:created", T0 + timedelta(seconds=number))
    recorder = Recorder()
    worker = DeliveryWorker(outbox, {"r": recorder})  # type: ignore[arg-type]
    assert worker.run_once(T0).sent == 0  # not due yet
    report = worker.run_once(T0 + timedelta(minutes=1))
    assert (report.sent, report.next_due) == (3, None)
    assert recorder.sent == ["t-1:created", "t-2:created", "t-3:created"]
    assert worker.run_once(T0 + timedelta(hours=1)).sent == 0
    assert outbox.counts(T0) == OutboxCounts(sent=3)  # type: ignore[attr-defined]


def test_a_lease_hides_a_claimed_row_until_it_runs_out(store: tuple[object, Add]) -> None:
    outbox, add = store
    add("t-1:created", T0)
    [entry] = outbox.claim_due(T0, limit=10, lease=timedelta(minutes=5))  # type: ignore[attr-defined]
    assert entry.key == "t-1:created"
    assert outbox.claim_due(T0 + timedelta(minutes=4), limit=10, lease=timedelta(minutes=5)) == []  # type: ignore[attr-defined]
    assert outbox.counts(T0 + timedelta(minutes=1)) == OutboxCounts(pending=1, in_flight=1)  # type: ignore[attr-defined]
    assert outbox.next_due() == T0 + timedelta(minutes=5)  # type: ignore[attr-defined]
    [again] = outbox.claim_due(T0 + timedelta(minutes=5), limit=10, lease=timedelta(minutes=5))  # type: ignore[attr-defined]
    assert again.key == "t-1:created"


def test_failures_dead_letters_channels_and_requeue(store: tuple[object, Add]) -> None:
    from sophie.notifiers.base import DeliveryError
    from sophie.notifiers.delivery import RetryPolicy

    outbox, add = store
    add("t-1:created", T0)
    good, bad = Recorder(), Recorder([DeliveryError("down")] * 2)
    worker = DeliveryWorker(outbox, {"good": good, "bad": bad}, policy=RetryPolicy(max_attempts=2, jitter=0))  # type: ignore[arg-type]
    assert worker.run_once(T0).retried == 1
    assert outbox.counts(T0) == OutboxCounts(pending=1, retrying=1)  # type: ignore[attr-defined]
    assert worker.run_once(T0 + timedelta(seconds=30)).dead_lettered == 1
    assert outbox.counts(T0 + timedelta(minutes=1)) == OutboxCounts(dead=1)  # type: ignore[attr-defined]
    assert outbox.next_due() is None  # type: ignore[attr-defined]
    assert outbox.requeue_dead(now=T0 + timedelta(hours=1)) == 1  # type: ignore[attr-defined]
    assert worker.run_once(T0 + timedelta(hours=1)).sent == 1
    assert good.sent == ["t-1:created"]  # the channel that succeeded first was not repeated
    assert bad.sent == ["t-1:created"]


def test_the_sqlite_outbox_reads_only_allow_listed_payload_fields(tmp_path: Path) -> None:
    path = ledger_file(tmp_path / "ledger.db")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO outbox (key, task_id, kind, payload_json, created_at, not_before) VALUES "
                   "('t-1:created', 't-1', 'created', '{\"patient_name\": \"Zebediah Canary\"}', ?, ?)",
                   (T0.isoformat(), T0.isoformat()))
    with SqliteOutbox(str(path)) as outbox:
        [entry] = outbox.claim_due(T0, limit=1, lease=timedelta(minutes=1))
    assert "Zebediah" not in entry.message.model_dump_json()


def test_a_ledger_without_the_delivery_columns_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE outbox (key TEXT PRIMARY KEY, payload_json TEXT, not_before TEXT, attempts INTEGER, "
                   "claimed_until TEXT, sent_at TEXT, last_error TEXT)")
    with pytest.raises(NotifierError, match="lacks dead_at, delivered_json; upgrade the ledger schema"):
        SqliteOutbox(str(path))

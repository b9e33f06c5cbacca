"""Digests: one message per person at each window, gathered in one transaction; urgent goes at once; no PHI."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.delivery import DeliveryWorker
from sophie.notifiers.digests import DigestSettings, next_window, window_at
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.sqlite_outbox import SqliteOutbox
from sophie.notifiers.webhook import WebhookNotifier
from sophie.testing import canned_practice_data

from .loopback import MailSink, WebhookSink

CANARIES = ("Zebediah", "Canary", "D9999")
PACK = """
pack: canary
version: 1.0.0
rules:
  - id: canary.unscheduled
    title: Presented treatment is not scheduled
    for: treatment_plan as plan
    when: plan.status == "presented" and not plan.scheduled
    task:
      title: "Call {plan.patient.first_name} {plan.patient.last_name} about {plan.unscheduled_total|money}"
      owner: treatment_coordinator
      priority: PRIORITY
      due: 2 business_hours
"""
ZONE = "America/New_York"
NOW = datetime.fromisoformat("2026-03-05T10:00:00-05:00")
WINDOWS = DigestSettings(ZONE, (time(8, 0), time(13, 0)))


def ledger_with_task(tmp_path: Path, priority: str) -> tuple[Path, str]:
    from sophie.execution import SqliteLedger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack

    data = canned_practice_data()
    data["patients"][0].update(first_name="Zebediah", last_name="Canary")
    data["procedures"][0].update(code="D9999", description="canary procedure D9999")
    pack_file = tmp_path / "canary.yaml"
    pack_file.write_text(textwrap.dedent(PACK).replace("PRIORITY", priority))
    db = tmp_path / "sophie.db"
    with SqliteLedger(str(db)) as ledger:
        result = run_cycle(parse_snapshot(data), [load_pack(pack_file)], ledger, now=NOW)
    [created] = result.changes
    assert "Zebediah" in created.task.title
    return db, created.task.id


def test_windows_are_practice_local():
    previous, current = window_at(NOW, WINDOWS)
    assert (previous.hour, current.hour, current.date().day) == (13, 8, 5)
    assert next_window(NOW, WINDOWS).hour == 13
    assert next_window(NOW.replace(hour=14), WINDOWS) == datetime.fromisoformat("2026-03-06T08:00:00-05:00")


def test_a_digest_gathers_new_and_overdue_tasks_once_and_carries_no_patient_data(
    tmp_path: Path, webhook_sink: WebhookSink, mail_sink: MailSink
) -> None:
    db, task_id = ledger_with_task(tmp_path, "high")
    console = io.StringIO()
    with SqliteOutbox(str(db), digests=WINDOWS) as outbox:
        worker = DeliveryWorker(outbox, {
            "webhook": WebhookNotifier(webhook_sink.url, timeout=5),
            "email": EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port,
                                   security="none", to=["desk@smile.example"], timeout=5),
            "console": ConsoleNotifier(console),
        })  # fmt: skip
        assert worker.run_once(NOW + timedelta(minutes=5)).sent == 0  # waits for the 13:00 window
        assert outbox.next_due() == datetime.fromisoformat("2026-03-05T13:00:00-05:00")
        report = worker.run_once(datetime.fromisoformat("2026-03-05T13:00:01-05:00"))
        assert report.sent == 1
        again = worker.run_once(datetime.fromisoformat("2026-03-05T13:30:00-05:00"))
        assert again.sent == 0  # nothing twice
    [request] = webhook_sink.received
    [mail] = mail_sink.messages
    data = request.json()["data"]
    assert data["change"] == "digest"
    assert any(task_id in line and "new (high)" in line for line in data["items"])
    assert any(task_id in line and "overdue" in line for line in data["items"])  # due 12:00, before 13:00
    texts = {"webhook": request.body.decode(), "email": mail.as_string(), "console": console.getvalue()}
    for where, text in texts.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {where}"
    assert "Digest for staff" in mail["Subject"]


def test_urgent_tasks_go_at_once(tmp_path: Path) -> None:
    db, task_id = ledger_with_task(tmp_path, "urgent")
    console = io.StringIO()
    with SqliteOutbox(str(db), digests=WINDOWS) as outbox:
        report = DeliveryWorker(outbox, {"console": ConsoleNotifier(console)}).run_once(NOW + timedelta(minutes=1))
    assert report.sent == 1 and task_id in console.getvalue() and "Digest" not in console.getvalue()


class Crash(Exception):
    pass


class CrashingOutbox(SqliteOutbox):
    """Dies inside the digest transaction, after the digest row is written, before its rows are marked."""

    @contextmanager
    def _write(self) -> Iterator[Callable[..., object]]:
        with super()._write() as execute:

            def dying(sql: str, params: object = ()) -> object:
                if sql.startswith("UPDATE outbox SET sent_at") and "delivered_json" in sql:
                    raise Crash(sql)
                return execute(sql, params)

            yield dying


def test_a_crash_while_gathering_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    db, task_id = ledger_with_task(tmp_path, "normal")
    at = datetime.fromisoformat("2026-03-05T13:00:01-05:00")
    with CrashingOutbox(str(db), digests=WINDOWS) as outbox, pytest.raises(Crash):
        outbox.roll_digests(at)
    console = io.StringIO()
    with SqliteOutbox(str(db), digests=WINDOWS) as outbox:
        assert outbox.counts(at).pending == 1  # the digest row rolled back with everything else
        worker = DeliveryWorker(outbox, {"console": ConsoleNotifier(console)})
        assert worker.run_once(at).sent == 1
        assert worker.run_once(at + timedelta(minutes=1)).sent == 0
        assert outbox.roll_digests(at) == 0  # this window's digest exists: nothing gathered twice
    assert console.getvalue().count(task_id) == 2  # once as new, once as overdue, in the one digest

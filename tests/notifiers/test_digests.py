"""Digests on both ledger stores: one message per person at each window, gathered in one transaction; urgent goes
at once; no PHI; deliverers running at once never send one twice."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.delivery import DeliveryWorker
from sophie.notifiers.digests import DigestSettings, next_window, window_at
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.postgres_outbox import PostgresOutbox
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


def ledger_with_task(url: str, tmp_path: Path, priority: str) -> str:
    """Write one task about a patient whose name and procedure are canaries; return its id."""
    from sophie.execution import open_ledger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack

    data = canned_practice_data()
    data["patients"][0].update(first_name="Zebediah", last_name="Canary")
    data["procedures"][0].update(code="D9999", description="canary procedure D9999")
    pack_file = tmp_path / "canary.yaml"
    pack_file.write_text(textwrap.dedent(PACK).replace("PRIORITY", priority))
    with open_ledger(url) as ledger:
        result = run_cycle(parse_snapshot(data), [load_pack(pack_file)], ledger, now=NOW)
    [created] = result.changes
    assert "Zebediah" in created.task.title
    return created.task.id


def open_outbox(url: str, digests: DigestSettings, kind: type | None = None) -> SqliteOutbox | PostgresOutbox:
    """The outbox of either store, with digests (``kind``: a subclass to use instead)."""
    if url.startswith("postgresql://"):
        return (kind or PostgresOutbox)(url, digests=digests)
    return (kind or SqliteOutbox)(url.removeprefix("sqlite:///"), digests=digests)


def test_windows_are_practice_local():
    previous, current = window_at(NOW, WINDOWS)
    assert (previous.hour, current.hour, current.date().day) == (13, 8, 5)
    assert next_window(NOW, WINDOWS).hour == 13
    assert next_window(NOW.replace(hour=14), WINDOWS) == datetime.fromisoformat("2026-03-06T08:00:00-05:00")


def test_a_digest_gathers_new_and_overdue_tasks_once_and_carries_no_patient_data(
    ledger_url: str, tmp_path: Path, webhook_sink: WebhookSink, mail_sink: MailSink
) -> None:
    task_id = ledger_with_task(ledger_url, tmp_path, "high")
    console = io.StringIO()
    with open_outbox(ledger_url, WINDOWS) as outbox:
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


def test_urgent_tasks_go_at_once(ledger_url: str, tmp_path: Path) -> None:
    task_id = ledger_with_task(ledger_url, tmp_path, "urgent")
    console = io.StringIO()
    with open_outbox(ledger_url, WINDOWS) as outbox:
        report = DeliveryWorker(outbox, {"console": ConsoleNotifier(console)}).run_once(NOW + timedelta(minutes=1))
    assert report.sent == 1 and task_id in console.getvalue() and "Digest" not in console.getvalue()


class Crash(Exception):
    pass


def dying(execute: Callable[..., object]) -> Callable[..., object]:
    """``execute`` that dies inside the digest transaction, after the digest row is written, before its rows are marked."""

    def run(sql: str, params: object = ()) -> object:
        if sql.startswith("UPDATE outbox SET sent_at") and "delivered_json" in sql:
            raise Crash(sql)
        return execute(sql, params)

    return run


class CrashingOutbox(SqliteOutbox):
    @contextmanager
    def _write(self) -> Iterator[Callable[..., object]]:
        with super()._write() as execute:
            yield dying(execute)


class CrashingPostgresOutbox(PostgresOutbox):
    @contextmanager
    def _write(self) -> Iterator[Callable[..., object]]:
        with super()._write() as execute:
            yield dying(execute)


def test_a_crash_while_gathering_loses_nothing_and_sends_nothing_twice(ledger_url: str, tmp_path: Path) -> None:
    task_id = ledger_with_task(ledger_url, tmp_path, "normal")
    at = datetime.fromisoformat("2026-03-05T13:00:01-05:00")
    crashing = CrashingPostgresOutbox if ledger_url.startswith("postgresql://") else CrashingOutbox
    with open_outbox(ledger_url, WINDOWS, crashing) as outbox, pytest.raises(Crash):
        outbox.roll_digests(at)
    console = io.StringIO()
    with open_outbox(ledger_url, WINDOWS) as outbox:
        assert outbox.counts(at).pending == 1  # the digest row rolled back with everything else
        worker = DeliveryWorker(outbox, {"console": ConsoleNotifier(console)})
        assert worker.run_once(at).sent == 1
        assert worker.run_once(at + timedelta(minutes=1)).sent == 0
        assert outbox.roll_digests(at) == 0  # this window's digest exists: nothing gathered twice
    assert console.getvalue().count(task_id) == 2  # once as new, once as overdue, in the one digest


ZONES = {"east": "America/New_York", "central": "America/Chicago", "west": "America/Los_Angeles",
         "island": "Pacific/Honolulu", "north": "America/Anchorage", "east2": "America/Toronto"}  # fmt: skip


def test_deliverers_running_at_once_on_a_group_ledger_send_each_practices_digest_once(tmp_path: Path) -> None:
    """Six practices in six timezones on one PostgreSQL ledger; four ``sophie outbox deliver --digests`` at once."""
    import os
    import subprocess
    import sys

    from ledger_stores import POSTGRES_ENV, postgres_schema
    from sophie.execution import open_ledger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack

    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set")
    pack_file = tmp_path / "canary.yaml"
    pack_file.write_text(textwrap.dedent(PACK).replace("PRIORITY", "normal"))
    moment = datetime.fromisoformat("2026-03-06T01:00:00+00:00")  # past 13:00 in every zone, before its next 08:00
    with postgres_schema("d") as url:
        tasks = {}
        for practice, zone in ZONES.items():
            data = canned_practice_data()
            data["practice"].update(id=practice, timezone=zone)
            data["patients"][0].update(first_name="Zebediah", last_name="Canary")
            with open_ledger(url) as ledger:
                result = run_cycle(parse_snapshot(data), [load_pack(pack_file)], ledger, now=NOW)
            tasks[practice] = [change.task.id for change in result.changes]
        command = [os.path.join(os.path.dirname(sys.executable), "sophie"), "outbox", "deliver", "--db", url,
                   "--digests", "--console", "--now", moment.isoformat()]  # fmt: skip
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0] * 4, [err for _, err in outputs]
        printed = "".join(out for out, _ in outputs)
        with PostgresOutbox(url) as outbox:
            counts = outbox.counts(moment)
            digests = outbox._db.execute("SELECT key, sent_at FROM outbox WHERE kind = 'digest'").fetchall()
    assert printed.count("Digest for staff") == len(digests) == len(ZONES)  # one per practice, sent once in all
    assert (counts.pending, counts.dead) == (0, 0) and all(row["sent_at"] for row in digests)
    for practice, zone in ZONES.items():  # each practice's window is 13:00 in its own timezone
        window = datetime(2026, 3, 5, 13, 0, tzinfo=ZoneInfo(zone)).isoformat()
        assert f"digest:{practice}:" in " ".join(row["key"] for row in digests)
        assert any(row["key"].startswith(f"digest:{practice}:") and row["key"].endswith(window) for row in digests)
        assert all(printed.count(task_id) >= 1 for task_id in tasks[practice])
    for canary in CANARIES:
        assert canary not in printed
    sent = sum(int(out.splitlines()[-1].split(",")[0].removeprefix("sent ")) for out, _ in outputs)
    assert sent == len(ZONES), [out.splitlines()[-1] for out, _ in outputs]


def test_a_deliverer_skips_the_digests_another_is_claiming_instead_of_waiting(tmp_path: Path) -> None:
    import os

    import psycopg

    from ledger_stores import POSTGRES_ENV, postgres_schema

    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set")
    at = datetime.fromisoformat("2026-03-05T13:00:01-05:00")
    with postgres_schema("d") as url:
        ledger_with_task(url, tmp_path, "normal")
        with PostgresOutbox(url, digests=WINDOWS) as outbox:
            assert outbox.roll_digests(at) == 1
            with psycopg.connect(url) as other:  # another deliverer, mid-claim: it holds the digest row's lock
                other.execute("SELECT key FROM outbox WHERE kind = 'digest' FOR UPDATE").fetchall()
                outbox._db.execute("SET lock_timeout = '2s'")  # waiting would fail the claim: it must skip
                assert outbox.claim_due(at, limit=10, lease=timedelta(minutes=5)) == []
                other.rollback()
            [entry] = outbox.claim_due(at, limit=10, lease=timedelta(minutes=5))
            assert entry.key.startswith("digest:") and entry.message.change == "digest"
            assert outbox.claim_due(at, limit=10, lease=timedelta(minutes=5)) == []  # leased now

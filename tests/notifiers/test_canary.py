"""Canary: a patient named Zebediah Canary with procedure D9999 ("Quetzalcrown"); none of it leaves the ledger.

Snapshot -> rules -> reconcile -> SQLite ledger and outbox -> delivery worker -> a real webhook
receiver, a real SMTP server and the console on standard output. The rule's task title and
evidence deliberately carry the patient's names, the procedure code and its description, and
the test checks that they did reach the ledger; then that none of them is in the logs, on
standard output or standard error, in the outbox rows or in any notification.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sophie.notifiers.console import ConsoleNotifier
from sophie.notifiers.delivery import DeliveryWorker, OutboxCounts
from sophie.notifiers.email import EmailNotifier
from sophie.notifiers.sqlite_outbox import SqliteOutbox
from sophie.notifiers.webhook import WebhookNotifier
from sophie.testing import canned_practice_data

from .loopback import MailSink, WebhookSink

CANARIES = ("Zebediah", "Canary", "D9999", "Quetzalcrown")
PACK = """
pack: canary
version: 1.0.0
rules:
  - id: canary.planned
    title: Planned treatment needs a call
    for: procedure as proc
    when: >-
      proc.status == "planned" and proc.code != "" and proc.description != ""
      and proc.patient.first_name != "" and proc.patient.last_name != ""
    task:
      title: "Call {proc.patient.first_name} {proc.patient.last_name} about {proc.code} ({proc.description})"
      owner: treatment_coordinator
      priority: high
      due: 1 business_day
"""


def test_no_patient_name_or_procedure_reaches_logs_output_or_messages(
    tmp_path: Path,
    webhook_sink: WebhookSink,
    mail_sink: MailSink,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from sophie.execution import SqliteLedger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack

    data = canned_practice_data()
    data["patients"][0].update(first_name="Zebediah", last_name="Canary")
    data["procedures"][0].update(code="D9999", description="Quetzalcrown, porcelain on metal")
    snapshot = parse_snapshot(data)
    pack_file = tmp_path / "canary.yaml"
    pack_file.write_text(textwrap.dedent(PACK))
    now = datetime.fromisoformat("2026-03-05T12:00:00-05:00")
    db = tmp_path / "sophie.db"
    to_stderr = logging.StreamHandler(sys.stderr)  # logs also reach standard error, as in a service
    logging.getLogger("sophie").addHandler(to_stderr)

    with caplog.at_level(logging.DEBUG):
        with SqliteLedger(str(db)) as ledger:
            result = run_cycle(snapshot, [load_pack(pack_file)], ledger, now=now)
        [created] = result.changes
        with sqlite3.connect(db) as conn:  # the canaries did reach the ledger: the title and the evidence
            stored = " ".join(conn.execute("SELECT title || evidence_json FROM task").fetchone())
        assert all(canary in stored for canary in CANARIES), stored
        with SqliteOutbox(str(db)) as outbox:
            worker = DeliveryWorker(outbox, {
                "webhook": WebhookNotifier(webhook_sink.url, timeout=5),
                "email": EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port,
                                       security="none", to=["desk@smile.example"], timeout=5),
                "console": ConsoleNotifier(),  # standard output
            })
            webhook_sink.mode = "fail"  # one failure, so the retry path logs too
            first = worker.run_once(now)
            webhook_sink.mode = "accept"
            assert first.next_due is not None
            assert worker.run_once(first.next_due).sent == 1
            assert outbox.counts(first.next_due + timedelta(seconds=1)) == OutboxCounts(sent=1)
    logging.getLogger("sophie").removeHandler(to_stderr)
    output = capfd.readouterr()
    with sqlite3.connect(db) as conn:
        outbox_rows = json.dumps(conn.execute("SELECT * FROM outbox").fetchall())

    [request] = webhook_sink.received
    [mail] = mail_sink.messages
    payloads = {
        "logs": caplog.text + "\n".join(str(record.args) for record in caplog.records),
        "webhook": request.body.decode() + str(request.headers),
        "email": mail.as_string(),
        "stdout": output.out,
        "stderr": output.err,
        "outbox": outbox_rows,
    }
    for where, text in payloads.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {where}"
    assert request.json()["data"]["task_id"] == created.task.id
    assert "Planned treatment needs a call" in mail["Subject"]
    # each channel did carry something: the checks above looked at real output
    assert created.task.id in output.out and created.task.id in output.err and created.task.id in outbox_rows
    assert any(created.task.id in record.getMessage() for record in caplog.records)

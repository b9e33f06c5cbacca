"""Canary: a whole flow with a patient named Zebediah Canary and procedure D9999; neither reaches logs or messages.

Snapshot -> rules -> reconcile -> SQLite ledger and outbox -> delivery worker -> a real webhook
receiver, a real SMTP server and the console. The rule's task title deliberately names the
patient and the code: task titles stay in the ledger, staff messages never carry them.
"""

from __future__ import annotations

import io
import logging
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
      priority: high
      due: 1 business_day
"""


def test_no_patient_name_or_procedure_code_reaches_logs_or_messages(
    tmp_path: Path, webhook_sink: WebhookSink, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    from sophie.execution import SqliteLedger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack

    data = canned_practice_data()
    data["patients"][0].update(first_name="Zebediah", last_name="Canary")
    data["procedures"][0].update(code="D9999", description="canary procedure D9999")
    snapshot = parse_snapshot(data)
    pack_file = tmp_path / "canary.yaml"
    pack_file.write_text(textwrap.dedent(PACK))
    now = datetime.fromisoformat("2026-03-05T12:00:00-05:00")
    db = tmp_path / "sophie.db"
    console = io.StringIO()

    with caplog.at_level(logging.DEBUG):
        with SqliteLedger(str(db)) as ledger:
            result = run_cycle(snapshot, [load_pack(pack_file)], ledger, now=now)
        [created] = result.changes
        assert "Zebediah" in created.task.title  # the ledger keeps the title; it must not travel
        with SqliteOutbox(str(db)) as outbox:
            worker = DeliveryWorker(outbox, {
                "webhook": WebhookNotifier(webhook_sink.url, timeout=5),
                "email": EmailNotifier(mail_sink.host, "sophie@smile.example", port=mail_sink.port,
                                       security="none", to=["desk@smile.example"], timeout=5),
                "console": ConsoleNotifier(console),
            })
            webhook_sink.mode = "fail"  # one failure, so the retry path logs too
            first = worker.run_once(now)
            webhook_sink.mode = "accept"
            assert first.next_due is not None
            assert worker.run_once(first.next_due).sent == 1
            assert outbox.counts(first.next_due + timedelta(seconds=1)) == OutboxCounts(sent=1)

    [request] = webhook_sink.received
    [mail] = mail_sink.messages
    payloads = {
        "logs": caplog.text + "\n".join(str(record.args) for record in caplog.records),
        "webhook": request.body.decode() + str(request.headers),
        "email": mail.as_string(),
        "console": console.getvalue(),
    }
    for where, text in payloads.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} leaked into {where}"
    assert request.json()["data"]["task_id"] == created.task.id
    assert "Presented treatment is not scheduled" in mail["Subject"]
    assert len(caplog.records) > 0  # the flow did log; it just logged ids

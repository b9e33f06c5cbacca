"""``sophie outbox status|deliver`` against a real ledger and a loopback webhook, as a user runs them."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from snapshot_data import EXAMPLE_SNAPSHOT

from .loopback import WebhookSink

NOW = "2026-03-05T11:50:00-05:00"
LATER = "2026-03-05T11:51:00-05:00"
SECRET = "whsec_" + base64.b64encode(b"a-test-secret-of-32-bytes-length").decode()


def sophie(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOPHIE_WEBHOOK_SECRET": SECRET}
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
        check=False,
    )


def counts(cwd: Path, now: str) -> dict[str, int]:
    result = sophie("outbox", "status", "--now", now, "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_status_then_deliver_then_nothing_left(tmp_path: Path, webhook_sink: WebhookSink) -> None:
    run = sophie("run", "--adapter", "files", "--source", str(EXAMPLE_SNAPSHOT), "--now", NOW, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    before = counts(tmp_path, LATER)
    assert before["pending"] == before["due"] > 0
    assert before["sent"] == 0

    webhook_sink.mode = "fail"
    failed = sophie("outbox", "deliver", "--webhook", webhook_sink.url, "--now", LATER, "--format", "json",
                    cwd=tmp_path)
    assert failed.returncode == 0, failed.stderr
    assert json.loads(failed.stdout)["retried"] == before["due"]
    assert counts(tmp_path, LATER)["due"] == 0  # backing off, nothing lost

    webhook_sink.mode = "accept"
    much_later = "2026-03-05T13:00:00-05:00"
    delivered = sophie("outbox", "deliver", "--webhook", webhook_sink.url, "--now", much_later, cwd=tmp_path)
    assert delivered.returncode == 0, delivered.stderr
    assert delivered.stdout.startswith(f"sent {before['due']}, retrying 0, dead-lettered 0")
    after = counts(tmp_path, much_later)
    assert (after["pending"], after["sent"]) == (0, before["due"])
    assert len(set(webhook_sink.ids())) == len(webhook_sink.received) == before["due"]
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in webhook_sink.received)
    assert "Ana" not in "".join(r.body.decode() for r in webhook_sink.received)


def test_deliver_needs_a_channel_and_a_ledger(tmp_path: Path) -> None:
    missing = sophie("outbox", "status", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no ledger at sophie.db" in missing.stderr
    sophie("run", "--adapter", "files", "--source", str(EXAMPLE_SNAPSHOT), "--now", NOW, cwd=tmp_path)
    no_channel = sophie("outbox", "deliver", cwd=tmp_path)
    assert no_channel.returncode == 2
    assert "choose at least one channel" in no_channel.stderr

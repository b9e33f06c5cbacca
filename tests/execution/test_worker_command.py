"""``sophie worker`` as an operator runs it: a group's configuration, a PostgreSQL ledger, SIGTERM to stop."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from ledger_stores import POSTGRES_ENV, postgres_schema
from sophie.notifiers.postgres_outbox import PostgresOutbox

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set")

SOPHIE = [os.path.join(os.path.dirname(sys.executable), "sophie")]
CONFIG = """
[ledger]
url_env = "GROUP_DB"

[defaults]
adapter = "demo"

[[practices]]
id = "north"
source = "seed=1&patients=200"

[[practices]]
id = "south"
source = "seed=2&patients=200"
"""


def status(config, env, part: str = "practices"):
    done = subprocess.run([*SOPHIE, "worker", "status", "--config", str(config), "--format", "json"],
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)[part]


def test_a_worker_runs_every_practice_then_stops_on_sigterm(tmp_path):
    config = tmp_path / "sophie.toml"
    config.write_text(CONFIG)
    with postgres_schema() as url:
        env = {**os.environ, "GROUP_DB": url}
        assert [row["cycles"] for row in status(config, env)] == [0, 0]
        worker = subprocess.Popen([*SOPHIE, "worker", "--config", str(config)], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            for _ in range(600):  # until both practices have had their first cycle
                if all(row["cycles"] == 1 for row in status(config, env)):
                    break
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors
        rows = status(config, env)
        assert [(row["practice"], row["cycles"], row["failures"]) for row in rows] == [("north", 1, 0), ("south", 1, 0)]
        assert all(row["open_tasks"] > 50 for row in rows)
        with sqlite3.connect(tmp_path / "sophie.site.db") as site:  # the staff pages' directory, as `sophie run` keeps it
            staff = site.execute("SELECT practice_id, staff_id, name FROM staff").fetchall()
            named = dict(site.execute("SELECT practice_id, count(*) FROM patient GROUP BY practice_id").fetchall())
        assert {practice for practice, _, _ in staff} == {"north", "south"}
        assert all(name and name != staff_id for _, staff_id, name in staff)
        assert named["north"] > 50 and named["south"] > 50  # the open tasks' patients, by display name
        outbox = status(config, env, "outbox")  # no practice has a channel: nothing was sent
        assert outbox["pending"] > 100 and outbox["sent"] == 0 and outbox["dead"] == 0
        assert "no practice has notifiers, so notifications stay in the outbox" in errors  # and the worker said so
        queue = subprocess.run([*SOPHIE, "queue", "--db", url, "--practice", "south", "--format", "json"],
                               capture_output=True, text=True, check=True)  # fmt: skip
        tasks = json.loads(queue.stdout)["tasks"]
        assert tasks and {task["key"].split(":")[0] for task in tasks} == {"south"}
        assert "sophie-test" not in errors and "password" not in errors
        one = tasks[0]["id"]
        wrong = subprocess.run([*SOPHIE, "task", "ack", one, "--practice", "north", "--db", url],
                               capture_output=True, text=True)  # fmt: skip
        assert wrong.returncode == 2 and "unknown task" in wrong.stderr and "Traceback" not in wrong.stderr
        right = subprocess.run([*SOPHIE, "task", "ack", one, "--practice", "south", "--db", url],
                               capture_output=True, text=True)  # fmt: skip
        assert right.returncode == 0 and "acknowledged" in right.stdout


def test_two_workers_delivering_one_outbox_never_claim_the_same_row(tmp_path):
    config = tmp_path / "sophie.toml"
    config.write_text(CONFIG)
    from sophie.config.models import PracticeConfig
    from sophie.execution.group.cycles import run_practice_cycle
    from sophie.execution.stores.postgres.ledger import PostgresLedger

    now = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    with postgres_schema() as url:
        with PostgresLedger(url) as ledger:
            run_practice_cycle(
                ledger, PracticeConfig(id="north", adapter="demo", source="seed=1&patients=200"), now=now
            )
            total = len(ledger.pending_outbox())
        with PostgresOutbox(url) as first, PostgresOutbox(url) as second:
            with first._db.transaction():  # the first worker is in the middle of claiming 20 rows
                locked = {
                    row["key"]
                    for row in first._db.execute(
                        "SELECT key FROM outbox ORDER BY not_before, key LIMIT 20 FOR UPDATE"
                    ).fetchall()
                }
                taken_by_second = second.claim_due(now + timedelta(days=1), limit=total, lease=timedelta(minutes=5))
            taken_by_first = first.claim_due(now + timedelta(days=1), limit=total, lease=timedelta(minutes=5))
        assert len(taken_by_second) == total - 20  # it skipped the rows being claimed, and did not wait
        first_keys, second_keys = {e.key for e in taken_by_first}, {e.key for e in taken_by_second}
        assert first_keys == locked  # the first then leases the rows it was claiming, and nothing of the second's
        assert not first_keys & second_keys and len(first_keys | second_keys) == total

"""A group's workers on PostgreSQL: one cycle per practice at a time, and SIGKILLs that lose nothing.

Workers run procrastinate's worker on the group's cycle jobs. The crash test kills worker
processes mid-cycle, over and over, on a group of 20 demo practices; afterwards every
practice's tasks, notifications and cycles equal those of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ledger_stores import POSTGRES_ENV, postgres_schema
from sophie.config.models import PracticeConfig
from sophie.execution.group.cycles import run_practice_cycle
from sophie.execution.group.jobs import QUEUE, defer_cycles, group_app, install_job_schema, retry_stalled
from sophie.execution.stores.postgres.ledger import PostgresLedger

pytestmark = [
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

START = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 10:00 in the demo practice's New York


def demo_group(n: int) -> list[PracticeConfig]:
    return [PracticeConfig(id=f"p{i:02d}", adapter="demo", source=f"seed={i + 1}&patients=200") for i in range(n)]


class PauseInWrite:
    """A statement hook that holds a cycle at the start of its write transaction until released.

    (Not at its commit: by then it holds the audit chain's lock, which every writer waits for.)
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, sql: str) -> None:
        if sql == "BEGIN":
            self.reached.set()
            assert self.release.wait(30)


def test_two_workers_never_run_one_practices_cycle_at_once():
    north, south = demo_group(2)
    with postgres_schema() as url:
        pause = PauseInWrite()
        results = {}
        with PostgresLedger(url, statement_hook=pause) as first, PostgresLedger(url) as second:
            thread = threading.Thread(
                target=lambda: results.setdefault("first", run_practice_cycle(first, north, now=START))
            )
            thread.start()
            assert pause.reached.wait(60)  # the first cycle has read and is writing
            assert run_practice_cycle(second, north, now=START + timedelta(minutes=5)) is None
            other = run_practice_cycle(second, south, now=START)  # another practice is not held up
            assert other is not None and other.counts()["created"] > 0
            pause.release.set()
            thread.join()
            assert results["first"] is not None and results["first"].counts()["created"] > 0
            assert second.cycle_count(north.id) == 1
            # the lock is free again once the cycle ended
            assert run_practice_cycle(second, north, now=START + timedelta(minutes=10)) is not None
            assert second.cycle_count(north.id) == 2


def test_a_cycle_job_retried_after_its_commit_is_not_applied_twice():
    (practice,) = demo_group(1)
    with postgres_schema() as url, PostgresLedger(url) as ledger:
        assert run_practice_cycle(ledger, practice, now=START) is not None
        assert run_practice_cycle(ledger, practice, now=START) is None
        assert ledger.cycle_count(practice.id) == 1


def dump(url: str) -> dict[str, list[tuple]]:
    queries = {
        "task": "SELECT * FROM task",
        "outbox": "SELECT key, task_id, recipient_id, kind, payload_json, created_at FROM outbox",
        "cycle": "SELECT practice_id, at, complete, findings, summary_json FROM cycle",
        "cursor": "SELECT * FROM assignment_cursor",
    }
    with psycopg.connect(url) as db:
        return {name: sorted(db.execute(sql).fetchall()) for name, sql in queries.items()}


def run_worker_child(app) -> int:
    pid = os.fork()
    if pid == 0:  # the child: a worker that stops when the queue is empty
        try:
            with app.open():
                app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)
        finally:
            os._exit(0)
    return pid


def unfinished(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) FROM procrastinate_jobs WHERE status != 'succeeded'").fetchone()
    return int(row[0])


@pytest.mark.slow
def test_sigkilled_workers_lose_and_double_nothing_on_a_group_of_20():
    practices = demo_group(20)
    rng = random.Random(20260309)
    kills_mid_cycle = rounds = stage = 0
    with postgres_schema() as url:
        app = group_app(url, practices, every=timedelta(minutes=5), periodic=False)
        with PostgresLedger(url) as ledger:
            install_job_schema(app, ledger)
        stage_time = lambda k: int((START + timedelta(hours=2 * k)).timestamp())  # noqa: E731
        with app.open():
            defer_cycles(app, [p.id for p in practices], at=stage_time(0))
        while kills_mid_cycle < 50 and rounds < 300:
            rounds += 1
            pid = run_worker_child(app)
            time.sleep(rng.uniform(0.3, 1.2))  # a worker needs about 0.3 s before its first cycle
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            with app.open(), PostgresLedger(url) as ledger:
                if retry_stalled(app, ledger, timedelta(0)):  # the worker died inside a cycle job
                    kills_mid_cycle += 1
                if unfinished(url) == 0:
                    stage += 1
                    defer_cycles(app, [p.id for p in practices], at=stage_time(stage))
        pid = run_worker_child(app)  # a last worker, left alone, finishes the stage
        os.waitpid(pid, 0)
        assert unfinished(url) == 0
        survived = dump(url)
        with PostgresLedger(url) as ledger:
            assert ledger.verify_audit() > 0

    with postgres_schema() as url, PostgresLedger(url) as ledger:
        for k in range(stage + 1):
            for practice in practices:
                assert run_practice_cycle(ledger, practice, now=datetime.fromtimestamp(stage_time(k), UTC)) is not None
        reference = dump(url)
    print(f"rounds {rounds}, kills mid-cycle {kills_mid_cycle}, stages {stage + 1}, tasks {len(reference['task'])}")
    assert kills_mid_cycle >= 50
    assert stage >= 1  # the kills spanned more than one round of cycles
    assert len(survived["cycle"]) == 20 * (stage + 1)
    for table in reference:
        assert survived[table] == reference[table], table

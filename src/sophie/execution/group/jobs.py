"""The group's job queue on procrastinate: periodic cycles per practice, run by any number of workers.

Every worker needs only the group's configuration file and the database URL. A
periodic ``sophie.tick`` (deferred once per minute by whichever worker gets there first:
procrastinate records each periodic defer) queues a ``sophie.cycle`` job for every
practice that is within its business hours and whose last cycle is older than the
interval. Cycle jobs carry the practice id as both ``queueing_lock`` (at most one
waiting per practice) and ``lock`` (at most one running per practice); inside, the
ledger's advisory lock guards the cycle again. A worker killed mid-job leaves its job
``doing``; procrastinate's stalled-job check (a worker that stopped sending heartbeats)
retries it on another worker, and its transaction was rolled back, so nothing is lost.
SIGTERM stops a worker gracefully: it finishes the cycle under way, then exits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors

from sophie.config.models import PracticeConfig
from sophie.execution.group.cycles import run_practice_cycle
from sophie.execution.practice_setup import practice_setup
from sophie.execution.stores.postgres.ledger import PostgresLedger
from sophie.model.calendar import BusinessCalendar
from sophie.model.records import Practice
from sophie.plugins.manager import Plugins

__all__ = [
    "CYCLE_TASK",
    "QUEUE",
    "STALLED_AFTER",
    "defer_cycles",
    "due_practices",
    "group_app",
    "install_job_schema",
    "retry_stalled",
]

logger = logging.getLogger(__name__)

QUEUE = "sophie"
"""The procrastinate queue the group's jobs use."""

CYCLE_TASK = "sophie.cycle"
"""The name of a practice's cycle job (its arguments: ``practice_id``, and ``at``, the cycle's Unix time)."""

STALLED_AFTER = timedelta(seconds=60)
"""A running job whose worker sent no heartbeat for this long is retried elsewhere."""


def due_practices(
    ledger: PostgresLedger, practices: Sequence[PracticeConfig], now: datetime, every: timedelta
) -> list[str]:
    """Return the ids of the practices that should run a cycle at ``now``.

    A practice is due when its last cycle is ``every`` old (or it never ran) and, once its
    hours are known (stored by its first cycle), it is open at ``now``.
    """
    rows = ledger.connection.execute("SELECT practice_id, max(at) AS last FROM cycle GROUP BY practice_id").fetchall()
    last = {row["practice_id"]: datetime.fromisoformat(row["last"]) for row in rows}
    due = []
    for practice in practices:
        assert practice.id is not None
        previous = last.get(practice.id)
        if previous is not None and now - previous < every:
            continue
        stored: Practice | None = ledger.practice(practice.id)
        if stored is not None and previous is not None:
            calendar = BusinessCalendar.shared(stored.timezone, stored.hours, stored.holidays)
            if not calendar.is_open(now):
                continue
        due.append(practice.id)
    return due


def install_job_schema(app: procrastinate.App, ledger: PostgresLedger) -> None:
    """Create procrastinate's tables in the ledger's schema, once (an advisory lock serialises workers)."""
    with ledger.connection.transaction():
        ledger.connection.execute("SELECT pg_advisory_xact_lock(%s)", (0x50_50_48_49_45_00_03,))
        row = ledger.connection.execute("SELECT to_regclass('procrastinate_jobs') AS found").fetchone()
        if row is not None and row["found"] is None:
            ledger.connection.execute(app.schema_manager.get_schema())


def group_app(
    url: str, practices: Sequence[PracticeConfig], *, every: timedelta, periodic: bool = True
) -> procrastinate.App:
    """Return the procrastinate app of a group: its cycle job and (``periodic``) its periodic tick.

    Without the tick, workers run only the cycle jobs queued otherwise (tests, benchmarks,
    a cycle queued by hand with :func:`defer_cycles`).

    Every practice's setup (packs compiled, parameters typed) is built here, once, so a bad
    configuration stops the worker before it takes a job, and cycles do not recompile.

    Raises:
        ConfigurationError: A practice's configuration is unusable.
        RuleError: A pack has problems.
    """
    plugins = Plugins()
    by_id = {practice.id: practice for practice in practices}
    setups = {practice.id: practice_setup(practice, plugins=plugins) for practice in practices}
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name=CYCLE_TASK, queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=30))
    def cycle(practice_id: str, at: int) -> dict[str, Any]:
        practice = by_id.get(practice_id)
        if practice is None:  # removed from the configuration since the job was queued
            return {"practice": practice_id, "skipped": "not configured"}
        with PostgresLedger(url) as ledger:
            result = run_practice_cycle(
                ledger, practice, now=datetime.fromtimestamp(at, UTC), setup=setups[practice_id]
            )
        if result is None:
            return {"practice": practice_id, "skipped": "held by another cycle, or already run"}
        return {"practice": practice_id, **result.counts(), "findings": result.findings}

    def tick(timestamp: int) -> int:
        now = datetime.fromtimestamp(timestamp, UTC)
        with PostgresLedger(url) as ledger:
            retry_stalled(app, ledger, STALLED_AFTER)
            due = due_practices(ledger, practices, now, every)
        return defer_cycles(app, due, at=timestamp)

    tick_task = app.task(name="sophie.tick", queue=QUEUE, queueing_lock="sophie.tick")(tick)
    if periodic:
        app.periodic(cron="* * * * *", periodic_id="sophie.tick")(tick_task)
    return app


def defer_cycles(app: procrastinate.App, practice_ids: Sequence[str], *, at: int) -> int:
    """Queue a cycle job at ``at`` (a Unix time) for each practice, unless one is waiting; return how many."""
    task = app.tasks[CYCLE_TASK]
    queued = 0
    for practice_id in practice_ids:
        try:
            task.configure(lock=practice_id, queueing_lock=practice_id).defer(practice_id=practice_id, at=at)
            queued += 1
        except procrastinate_errors.AlreadyEnqueued:
            pass
    return queued


def retry_stalled(app: procrastinate.App, ledger: PostgresLedger, after: timedelta) -> int:
    """Put back in the queue the cycle jobs whose worker stopped beating for ``after``; return how many.

    A worker killed mid-cycle leaves its job ``doing`` (and its practice's lock taken in the
    queue); the server rolled its transaction back, so running the job again is safe.
    """
    rows = ledger.connection.execute(
        "SELECT job.id FROM procrastinate_jobs AS job "
        "LEFT JOIN procrastinate_workers AS worker ON worker.id = job.worker_id "
        "WHERE job.status = 'doing' AND job.task_name = %s "
        "AND (worker.id IS NULL OR worker.last_heartbeat < now() - %s)",
        (CYCLE_TASK, after),
    ).fetchall()
    now = datetime.now(UTC)
    for row in rows:
        app.job_manager.retry_job_by_id(int(row["id"]), retry_at=now)
    return len(rows)

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

Between cycles, workers also process events (``sophie.events``: a practice whose events
file has new lines gets an incremental cycle, under the same locks as its cycle; see
:mod:`sophie.execution.group.events`) and deliver the outbox (``sophie.deliver``, queued
every few seconds; several may run at once, see :mod:`sophie.execution.group.delivery`).
A practice with ``[practices.digests]`` gets its non-urgent messages as one digest per
person at its windows (in its own timezone); urgent ones, and other practices', go at once.
Each worker process keeps its connections and compiled packs between jobs.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors

from sophie.config.models import PracticeConfig
from sophie.execution.group.cycles import run_practice_cycle
from sophie.execution.group.delivery import deliver_due, group_channels
from sophie.execution.group.events import (
    EVENT_MARK_TABLE,
    PracticeEvents,
    events_file,
    install_event_marks,
    run_practice_events,
    start_event_stream,
    stream_end,
    without_events,
)
from sophie.execution.practice_setup import PracticeSetup, practice_setup
from sophie.execution.stores.postgres.ledger import PostgresLedger
from sophie.model.calendar import BusinessCalendar
from sophie.model.records import Practice
from sophie.notifiers.digests import DigestSettings, parse_window
from sophie.notifiers.postgres_outbox import PostgresOutbox
from sophie.plugins.manager import Plugins

__all__ = [
    "CYCLE_TASK",
    "DELIVER_TASK",
    "EVENTS_TASK",
    "QUEUE",
    "STALLED_AFTER",
    "AfterCycle",
    "WorkerCache",
    "defer_cycles",
    "defer_delivery",
    "defer_events",
    "due_practices",
    "group_app",
    "install_job_schema",
    "practice_digests",
    "practices_with_new_events",
    "prepare_worker_process",
    "retry_stalled",
]

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.rules import CompiledPack

logger = logging.getLogger(__name__)

AfterCycle = Callable[[PracticeConfig, "Snapshot", PostgresLedger], None]
"""What a worker may do after a practice's complete cycle: given the practice, its snapshot and the ledger."""

QUEUE = "sophie"
"""The procrastinate queue the group's jobs use."""

CYCLE_TASK = "sophie.cycle"
"""The name of a practice's cycle job (its arguments: ``practice_id``, and ``at``, the cycle's Unix time)."""

EVENTS_TASK = "sophie.events"
"""The name of a practice's events job: an incremental cycle on the events since its mark."""

DELIVER_TASK = "sophie.deliver"
"""The name of the delivery job: drains the group's outbox through each practice's notifiers."""

EVENT_CHECK_SECONDS = 5
"""How often a worker looks for new lines in the practices' events files."""

LOCK_WAIT = timedelta(seconds=20)
"""How long a cycle job waits for its practice's lock (held a moment longer by a worker just killed)."""

_WORKER_GC_THRESHOLDS = (20_000, 10, 10)
"""The collector's thresholds in a worker process (Python's defaults: 700, 10, 10)."""

_collect_after_jobs = False
"""Whether :func:`prepare_worker_process` ran in this process."""

DELIVERY_SECONDS = 15
"""How often a delivery job is queued (one waits at most; several may run at once)."""

STALLED_AFTER = timedelta(seconds=60)
"""A running job whose worker sent no heartbeat for this long is retried elsewhere."""


def due_practices(
    ledger: PostgresLedger, practices: Sequence[PracticeConfig], now: datetime, every: timedelta
) -> list[str]:
    """Return the ids of the practices that should run a cycle at ``now``.

    A practice is due when its last cycle is ``every`` old (or it never ran) and, once its
    hours are known (stored by its first cycle), it is open at ``now``.
    """
    rows = ledger.connection.execute(
        "SELECT practice_id, max(at) AS last FROM cycle WHERE complete = 1 GROUP BY practice_id"
    ).fetchall()
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
        install_event_marks(ledger)


class WorkerCache:
    """What one worker process keeps between jobs: a ledger connection per thread, each practice's event hold.

    Opening a connection (and checking the schema) for every cycle costs more than a
    small practice's commit, so each worker thread keeps its own. After a fork (a
    worker started from a parent that used the cache) nothing is shared: the child opens
    its own. A job that fails drops its thread's connection, so a broken one is not reused.
    """

    def __init__(self, url: str, *, digests: Mapping[str, DigestSettings] | None = None) -> None:
        self.url = url
        self.digests = dict(digests or {})
        self._pid = os.getpid()
        self._local = threading.local()
        self._guard = threading.Lock()
        self.holds: dict[str, PracticeEvents] = {}

    def _fresh(self) -> None:
        if self._pid != os.getpid():  # a forked child: forget the parent's connections and reads
            self._pid, self._local, self._guard, self.holds = os.getpid(), threading.local(), threading.Lock(), {}

    @contextmanager
    def ledger(self) -> Iterator[PostgresLedger]:
        """Yield this thread's ledger (opened on first use); drop it when the block raises."""
        self._fresh()
        ledger: PostgresLedger | None = getattr(self._local, "ledger", None)
        if ledger is None:
            ledger = self._local.ledger = PostgresLedger(self.url)
        try:
            yield ledger
        except BaseException:
            self._local.ledger = None
            with suppress(Exception):
                ledger.close()
            raise

    @contextmanager
    def outbox(self) -> Iterator[PostgresOutbox]:
        """Yield this thread's outbox connection (opened on first use); drop it when the block raises."""
        self._fresh()
        outbox: PostgresOutbox | None = getattr(self._local, "outbox", None)
        if outbox is None:
            outbox = self._local.outbox = PostgresOutbox(self.url, practice_digests=self.digests)
        try:
            yield outbox
        except BaseException:
            self._local.outbox = None
            with suppress(Exception):
                outbox.close()
            raise

    def hold(self, setup: PracticeSetup, events_path: str) -> PracticeEvents:
        """Return this process's hold on a practice's event stream."""
        self._fresh()
        assert setup.practice.id is not None
        with self._guard:
            return self.holds.setdefault(setup.practice.id, PracticeEvents.of(setup, events_path))


def group_app(
    url: str,
    practices: Sequence[PracticeConfig],
    *,
    every: timedelta,
    periodic: bool = True,
    delivery_lease: timedelta = timedelta(minutes=5),
    delivery_batch: int = 50,
    after_cycle: AfterCycle | None = None,
) -> procrastinate.App:
    """Return the procrastinate app of a group: its cycle, events and delivery jobs and (``periodic``) their ticks.

    Without the ticks, workers run only the jobs queued otherwise (tests, benchmarks, a
    cycle queued by hand with :func:`defer_cycles`, :func:`defer_events`, :func:`defer_delivery`).

    Every practice's setup (packs compiled, parameters typed) and notifiers are built
    here, once, so a bad configuration stops the worker before it takes a job, and cycles
    do not recompile. ``delivery_lease`` is how long a claimed outbox row waits before
    another worker may send it again (pick it longer than the slowest send).
    ``after_cycle`` is called after each complete cycle with the practice, its snapshot and
    the ledger (``sophie worker`` records the staff pages' directory); what it raises is
    logged, never fails the committed cycle.

    Raises:
        ConfigurationError: A practice's configuration is unusable.
        RuleError: A pack has problems.
    """
    plugins = Plugins()
    by_id = {practice.id: practice for practice in practices}
    events = {practice.id: path for practice in practices if (path := events_file(practice)) is not None}
    compiled: dict[tuple[str, ...], list[CompiledPack]] = {}  # practices naming the same packs share them
    setups = {
        practice.id: practice_setup(without_events(practice), plugins=plugins, compiled=compiled)
        for practice in practices
    }
    channels = group_channels(practices, plugins=plugins)
    cache = WorkerCache(url, digests=practice_digests(practices))
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name=CYCLE_TASK, queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=30))
    def cycle(practice_id: str, at: int) -> dict[str, Any]:
        practice = by_id.get(practice_id)
        if practice is None:  # removed from the configuration since the job was queued
            return {"practice": practice_id, "skipped": "not configured"}
        path = events.get(practice_id)
        start = None if path is None else stream_end(path)  # read before the snapshot: later events follow it
        with cache.ledger() as ledger:

            def observe(snapshot: Snapshot) -> None:
                if after_cycle is None:
                    return
                try:
                    after_cycle(practice, snapshot, ledger)
                except Exception:  # the cycle committed: a failure here must not retry it
                    logger.exception("after the cycle of practice %s", practice_id)

            result = run_practice_cycle(
                ledger, practice, now=datetime.fromtimestamp(at, UTC), setup=setups[practice_id], wait=LOCK_WAIT,
                observe=observe,
            )  # fmt: skip
            if result is not None and start is not None:
                start_event_stream(ledger, practice_id, start)
        _after_job()
        if result is None:
            return {"practice": practice_id, "skipped": "held by another cycle, or already run"}
        return {"practice": practice_id, **result.counts(), "findings": result.findings}

    @app.task(name=EVENTS_TASK, queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def practice_events(practice_id: str, at: int | None = None) -> dict[str, Any]:
        path = events.get(practice_id)
        if path is None:
            return {"practice": practice_id, "skipped": "no events"}
        now = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
        setup = setups[practice_id]
        with cache.ledger() as ledger:
            result = run_practice_events(ledger, setup, cache.hold(setup, path), now=now)
        _after_job()
        if result is None:
            return {"practice": practice_id, "skipped": "no new events, or held by another cycle"}
        return {"practice": practice_id, **result.counts(), "findings": result.findings}

    @app.task(name=DELIVER_TASK, queue=QUEUE)
    def deliver(timestamp: int | None = None) -> dict[str, Any]:
        if not channels:
            return {"skipped": "no notifiers configured"}
        with cache.outbox() as outbox:
            report = deliver_due(outbox, channels, batch=delivery_batch, lease=delivery_lease)
        return {"sent": report.sent, "retried": report.retried, "dead": report.dead_lettered}

    def tick(timestamp: int) -> int:
        now = datetime.fromtimestamp(timestamp, UTC)
        with cache.ledger() as ledger:
            retry_stalled(app, ledger, STALLED_AFTER)
            due = due_practices(ledger, practices, now, every)
        return defer_cycles(app, due, at=timestamp)

    def events_tick(timestamp: int) -> int:
        with cache.ledger() as ledger:
            waiting = practices_with_new_events(ledger, events)
        return defer_events(app, waiting)

    tick_task = app.task(name="sophie.tick", queue=QUEUE, queueing_lock="sophie.tick")(tick)
    events_task = app.task(name="sophie.events-tick", queue=QUEUE, queueing_lock="sophie.events-tick")(events_tick)
    if periodic:
        app.periodic(cron="* * * * *", periodic_id="sophie.tick")(tick_task)
        if events:
            app.periodic(cron=f"* * * * * */{EVENT_CHECK_SECONDS}", periodic_id="sophie.events-tick")(events_task)
        if channels:
            app.periodic(
                cron=f"* * * * * */{DELIVERY_SECONDS}", periodic_id="sophie.deliver", queueing_lock=DELIVER_TASK
            )(deliver)
    return app


def practice_digests(practices: Sequence[PracticeConfig]) -> dict[str, DigestSettings]:
    """Return the digest windows of each practice that has ``[practices.digests]`` (the rest send at once).

    A practice's windows are in its timezone as its last cycle stored it (UTC before its first).
    """
    return {
        practice.id: DigestSettings("UTC", tuple(sorted({parse_window(text) for text in practice.digests.at})))
        for practice in practices
        if practice.id is not None and practice.digests is not None
    }


def prepare_worker_process() -> None:
    """Tune the garbage collector of a worker process, once its practices' setups are built.

    What exists now (compiled packs, modules, the app) lives as long as the worker: it is
    frozen out of every collection. A cycle allocates a practice's records by the
    hundred thousand; with the default thresholds the collector runs hundreds of times a
    cycle, walking them each time (about a quarter of a worker's CPU on a 1,000-patient
    demo practice). The thresholds are raised so it runs a few times a cycle instead, and
    one full collection after each cycle or events job frees that job's records (the
    views of a practice refer to each other), so a worker holds one practice at a time.
    """
    global _collect_after_jobs
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_WORKER_GC_THRESHOLDS)
    _collect_after_jobs = True


def _after_job() -> None:
    """In a prepared worker, free the finished job's records now (the raised thresholds would keep them)."""
    if _collect_after_jobs:
        gc.collect()


def practices_with_new_events(ledger: PostgresLedger, events: Mapping[str | None, str]) -> list[str]:
    """Return the practices whose events file has complete lines after their stored mark."""
    if not events:
        return []
    rows = ledger.connection.execute(f"SELECT practice_id, watermark FROM {EVENT_MARK_TABLE}").fetchall()
    marks = {row["practice_id"]: row["watermark"] for row in rows}
    waiting = []
    for practice_id, path in events.items():
        mark = marks.get(practice_id)
        if practice_id is None or mark is None:
            continue  # its stream starts with its first complete cycle
        try:
            lines = Path(path).read_bytes().count(b"\n")
        except OSError:
            continue
        if lines > int(mark.removeprefix("lines:") or 0):
            waiting.append(practice_id)
    return waiting


def defer_events(app: procrastinate.App, practice_ids: Sequence[str], *, at: int | None = None) -> int:
    """Queue an events job for each practice (``at``: the cycle's Unix time; default: when it runs); return how many."""
    task = app.tasks[EVENTS_TASK]
    queued = 0
    for practice_id in practice_ids:
        try:
            waiting = f"events:{practice_id}"
            task.configure(lock=practice_id, queueing_lock=waiting).defer(practice_id=practice_id, at=at)
            queued += 1
        except procrastinate_errors.AlreadyEnqueued:
            pass
    return queued


def defer_delivery(app: procrastinate.App, *, shared: bool = True) -> bool:
    """Queue a delivery job; ``shared=False`` queues one even when another waits (to run several at once)."""
    task = app.tasks[DELIVER_TASK]
    try:
        (task.configure(queueing_lock=DELIVER_TASK) if shared else task.configure()).defer()
    except procrastinate_errors.AlreadyEnqueued:
        return False
    return True


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
    """Put back in the queue the cycle, events and delivery jobs whose worker stopped beating for ``after``.

    A worker killed mid-cycle leaves its job ``doing`` (and its practice's lock taken in the
    queue); the server rolled its transaction back, so running the job again is safe. A
    delivery job killed mid-send left its rows leased: they go again once the lease ran
    out. Returns how many jobs went back.
    """
    rows = ledger.connection.execute(
        "SELECT job.id FROM procrastinate_jobs AS job "
        "LEFT JOIN procrastinate_workers AS worker ON worker.id = job.worker_id "
        "WHERE job.status = 'doing' AND job.task_name = ANY(%s) "
        "AND (worker.id IS NULL OR worker.last_heartbeat < now() - %s)",
        ([CYCLE_TASK, EVENTS_TASK, DELIVER_TASK], after),
    ).fetchall()
    now = datetime.now(UTC)
    for row in rows:
        app.job_manager.retry_job_by_id(int(row["id"]), retry_at=now)
    return len(rows)

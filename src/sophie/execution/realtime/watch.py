"""The watch loop: keep a practice's tasks current as the PMS changes and the clock moves.

Each *tick* does one of four things, then drains the notification outbox:

* **poll** (at start, then every ``interval``): a complete read and a full cycle, which
  also catches any change an event missed;
* **events**: the adapter reported changes; re-read only what changed
  (``fetch_since``) and run an incremental cycle on their scope
  (:mod:`sophie.execution.realtime.incremental`);
* **timer**: no data changed, but a task's escalation deadline, expiry, snooze or block
  end has come: re-evaluate those tasks' subjects on the data last read (no poll needed);
* **sweep** (with a :class:`~sophie.execution.realtime.sweep.Sweep`): nothing else is waiting and a
  sweep step is due: re-evaluate the next slice of families and chair-days on the data
  last read, so stalls that time alone makes true appear between polls.

Events go first; timers due at the same moment run in the very next tick, before further
events; sweep steps only when neither waits.

Between ticks the loop sleeps until the earliest of: the next poll, the next event check,
the next task deadline in the ledger, the next sweep step, the next outbox retry, ``until``.

**One writer per ledger.** :class:`WatchLock` takes an exclusive lock on
``<db>.watch.lock`` for the life of the loop (the ``filelock`` library: ``flock`` on Linux
and macOS, ``msvcrt`` locking on Windows); a second watcher on the same ledger fails at
once with :class:`WatchLockedError` (naming the holder's pid, kept in ``<db>.watch.pid``),
so two watchers never act twice. The operating system drops the lock when the process
dies, so a crash never leaves it stuck.

**Stopping.** :meth:`Watcher.run` checks a ``threading.Event`` between ticks and while
sleeping; the CLI sets it on SIGINT/SIGTERM, so the current cycle finishes (its
transaction commits or rolls back whole) and the loop returns.

**Failures.** A read that fails (source down, bad data) is reported in the tick and retried
(a failed event re-read at the next event check; a failed complete read after 5 s, then
10 s, 20 s … up to the interval); nothing is reconciled from it, so no task is resolved.
Logs carry ids and counts only, never patient names.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from filelock import FileLock, Timeout

from sophie.errors import LedgerError, SophieError
from sophie.execution.engine import CycleResult, rules_by_id, run_cycle
from sophie.execution.realtime.incremental import run_incremental_cycle
from sophie.execution.realtime.practice_state import PracticeState, Scope
from sophie.execution.realtime.sweep import Sweep
from sophie.execution.realtime.timers import TaskTimers
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.execution.stores.ledger import SupportsCheckpoint
from sophie.execution.stores.task_cache import CachedTaskLedger
from sophie.execution.tasks import Task
from sophie.model.calendar import BusinessCalendar
from sophie.plugins.manager import Plugins

if TYPE_CHECKING:
    from sophie.adapters.base import Adapter, AdapterEvent, Watermark
    from sophie.execution.stores.ledger import Ledger
    from sophie.model import Snapshot
    from sophie.notifiers.delivery import DeliveryWorker
    from sophie.rules import CompiledPack

__all__ = ["SimulatedClock", "SystemClock", "WatchClock", "WatchLock", "WatchLockedError", "WatchTick", "Watcher"]

logger = logging.getLogger(__name__)

_FIRST_RETRY = timedelta(seconds=5)
"""After a failed complete read, the next is tried this soon, then twice as late each time, up to the interval."""

_CHECKPOINT_EVERY = 200
"""Busy ticks in a row after which the ledger's log is checkpointed even though work waits."""


class WatchLockedError(LedgerError):
    """Another ``sophie watch`` holds the ledger's watch lock."""

    __module__ = "sophie"


class WatchClock(Protocol):
    """Where the loop reads the time and how it waits."""

    def now(self) -> datetime:
        """Return the current (aware) time."""

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds`` or until ``stop`` is set."""


class SystemClock:
    """The wall clock (UTC)."""

    def now(self) -> datetime:
        """Return the current time."""
        from datetime import UTC

        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait on ``stop`` for ``seconds``."""
        stop.wait(max(0.0, seconds))


class SimulatedClock:
    """A clock that starts at ``start`` and runs ``speed`` times faster than real time.

    ``speed`` 0 jumps: sleeping moves the clock forward at once (for tests and replays).
    """

    def __init__(self, start: datetime, speed: float = 0.0) -> None:
        self.start = start
        self.speed = speed
        self._jumped = timedelta(0)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """Return the simulated time."""
        elapsed = timedelta(seconds=(time.monotonic() - self._origin) * self.speed) if self.speed else timedelta(0)
        return self.start + elapsed + self._jumped

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Jump (speed 0) or wait the scaled time."""
        if self.speed:
            stop.wait(max(0.0, seconds) / self.speed)
        elif not stop.is_set():
            self._jumped += timedelta(seconds=max(0.0, seconds))


class WatchLock:
    """An exclusive lock on ``<db>.watch.lock`` (nothing for an in-memory ledger), on every platform.

    The holder writes its pid to ``<db>.watch.pid`` so that a refused watcher can name it.

    Raises:
        WatchLockedError: On :meth:`acquire`, when another watcher holds it, or when the lock
            file cannot be made (an unwritable directory): one line, no traceback.
    """

    def __init__(self, db_path: str) -> None:
        self.path = None if db_path == ":memory:" else Path(f"{db_path}.watch.lock")
        self.pid_path = None if self.path is None else self.path.with_suffix(".pid")
        self._lock = None if self.path is None else FileLock(self.path, timeout=0)

    def acquire(self) -> None:
        """Take the lock or raise at once."""
        if self._lock is None or self.pid_path is None:
            return
        try:
            self._lock.acquire()
        except Timeout as err:
            raise WatchLockedError(f"another sophie watch (pid {self._holder()}) holds {self.path}") from err
        except OSError as err:
            where = self.path.parent if self.path is not None else "?"
            message = f"cannot create the watch lock {self.path} (is {where} a writable directory?)"
            raise WatchLockedError(f"{message}: {err.strerror or err}") from err
        with contextlib.suppress(OSError):  # the pid only names the holder in a refusal; the lock is held
            self.pid_path.write_text(str(os.getpid()), encoding="ascii")

    def _holder(self) -> str:
        try:
            text = self.pid_path.read_text(encoding="ascii", errors="replace")[:32] if self.pid_path else ""
        except OSError:
            text = ""
        return text.strip() or "unknown"

    def release(self) -> None:
        """Drop the lock."""
        if self._lock is not None and self._lock.is_locked:
            if self.pid_path is not None:
                self.pid_path.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> WatchLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class WatchTick:
    """What one tick did (ids and counts only: safe to log).

    Attributes:
        at: The tick's time. trigger: ``poll``, ``events``, ``timer``, ``sweep`` or ``idle``.
        events: How many events were consumed. result: The cycle, if one ran.
        error: Why the read failed, if it did. delivered: Outbox rows sent.
        next_wake: When the loop will wake next. seconds: How long the tick took.
    """

    at: datetime
    trigger: str
    events: int = 0
    result: CycleResult | None = None
    error: str | None = None
    delivered: int = 0
    next_wake: datetime | None = None
    seconds: float = 0.0

    def as_log(self) -> dict[str, object]:
        """Return the tick as a structured log record."""
        record: dict[str, object] = {"at": self.at.isoformat(), "trigger": self.trigger, "events": self.events}
        if self.result is not None:
            record["practice"] = self.result.practice_id
            record["changes"] = {kind: n for kind, n in self.result.counts().items() if n}
            record["tasks"] = [c.task.id for c in self.result.listed_changes][:50]
            record["open_tasks"] = self.result.open_tasks
        if self.error:
            record["error"] = self.error
        record["delivered"] = self.delivered
        record["next_wake"] = None if self.next_wake is None else self.next_wake.isoformat()
        record["ms"] = round(self.seconds * 1000, 1)
        return record


@dataclass
class Watcher:
    """The watch loop over one adapter and one ledger (see the module docstring).

    Attributes:
        adapter / packs / ledger: What to read, evaluate and write.
        clock: The time source (:class:`SystemClock`, or :class:`SimulatedClock` in tests).
        interval: Time between complete reads.
        event_poll: Time between event checks (adapters with events); ``None``: polls only.
        params / settings: As for :func:`~sophie.execution.engine.run_cycle`.
        delivery: Drains the outbox each tick, when notifiers are configured.
        on_tick: Called after each tick that did something (the CLI prints it).
        sweep: Re-evaluates the practice a slice at a time between polls, so that stalls
            time alone makes true are caught without a complete read (``None``: polls only).
        plugins: Whose ``sophie_task_changed`` observers see every committed change; ``None``:
            the installed plugins, loaded once when the watcher is made.
        state: The last complete read, with the changes applied since (set by the loop).
        snapshot: The last complete read as it came (set by the loop; a caller may clear it).
    """

    adapter: Adapter
    packs: Sequence[CompiledPack]
    ledger: Ledger
    clock: WatchClock = field(default_factory=SystemClock)
    interval: timedelta = timedelta(minutes=5)
    event_poll: timedelta | None = timedelta(seconds=1)
    params: Mapping[str, object] | None = None
    settings: ExecutionSettings = DEFAULT_SETTINGS
    delivery: DeliveryWorker | None = None
    on_tick: Callable[[WatchTick], None] | None = None
    sweep: Sweep | None = None
    plugins: Plugins | None = None
    state: PracticeState | None = field(default=None, init=False, repr=False)
    _plugins: Plugins = field(init=False, repr=False)
    snapshot: Snapshot | None = field(default=None, init=False, repr=False)
    _watermark: Watermark | None = field(default=None, init=False, repr=False)
    _event_mark: Watermark | None = field(default=None, init=False, repr=False)
    _next_poll: datetime | None = field(default=None, init=False, repr=False)
    _last_timer: datetime | None = field(default=None, init=False, repr=False)
    _timers: TaskTimers = field(init=False, repr=False)
    _after_events: bool = field(default=False, init=False, repr=False)
    _busy_ticks: int = field(default=0, init=False, repr=False)
    _poll_retry: timedelta = field(default=_FIRST_RETRY, init=False, repr=False)

    def __post_init__(self) -> None:
        self._timers = TaskTimers(rules_by_id(self.packs))
        self._plugins = self.plugins if self.plugins is not None else Plugins()

    def run(self, stop: threading.Event | None = None, *, until: datetime | None = None, once: bool = False) -> int:
        """Tick until ``stop`` is set, ``until`` passes, or once; return the number of ticks."""
        stop = stop or threading.Event()
        ticks = 0
        while not stop.is_set():
            now = self.clock.now()
            if until is not None and now >= until:
                break
            tick = self.tick(now)
            ticks += 1
            if self.on_tick is not None and (tick.trigger != "idle" or tick.error or tick.delivered):
                self.on_tick(tick)
            if once:
                break
            wake = tick.next_wake or now + self.interval
            if until is not None:
                wake = min(wake, until)
            self.clock.sleep((wake - self.clock.now()).total_seconds(), stop)
        return ticks

    def tick(self, now: datetime) -> WatchTick:
        """Run one tick at ``now``: a poll, an event cycle, a timer cycle or nothing."""
        started = time.perf_counter()
        trigger, events, result, error = "idle", 0, None, None
        pending: list[AdapterEvent] = []
        try:
            if self._next_poll is None or now >= self._next_poll:
                trigger = "poll"
                result = self._poll(now)
                self._poll_retry = _FIRST_RETRY
            elif self.state is None:
                pass  # the first complete read failed: nothing to act on until its retry
            else:
                # Events go first (an event's task should not wait behind a batch of
                # escalations due at the same minute); timers due meanwhile run in the very
                # next tick, before any further events, so a stream of events never starves them.
                if self._after_events:
                    due = self._due_tasks(now)
                    pending = [] if due else self._events()
                else:
                    pending = self._events()
                    due = [] if pending else self._due_tasks(now)
                if pending:
                    trigger, events = "events", len(pending)
                    result = self._on_events(pending, now)
                elif due:
                    trigger = "timer"
                    result = self._on_timer(due, now)
                elif self.sweep is not None and self.sweep.due(now):
                    trigger = "sweep"
                    result = self._on_sweep(self.sweep, now)
        except SophieError as err:
            error = f"{type(err).__name__}: {err}"
            logger.warning("watch tick at %s failed: %s", now.isoformat(), type(err).__name__)
            if trigger == "poll":  # try again soon, backing off to the interval
                self._next_poll = now + min(self._poll_retry, self.interval)
                self._poll_retry = min(self._poll_retry * 2, self.interval)
        self._after_events = bool(pending)
        if not pending:
            self._last_timer = now
        self._busy_ticks = 0 if trigger in ("idle", "poll") else self._busy_ticks + 1
        if self._busy_ticks % _CHECKPOINT_EVERY == 0 and isinstance(self.ledger, SupportsCheckpoint):
            self._checkpoint()  # when nothing waits, or at least every so many busy ticks
        delivered = self._deliver(now)
        return WatchTick(now, trigger, events, result, error, delivered, self._next_wake(now),
                         time.perf_counter() - started)  # fmt: skip

    # -- the kinds of cycle ---------------------------------------------------------------

    def _poll(self, now: datetime) -> CycleResult:
        self._next_poll = now + self.interval
        if self.adapter.supports_events and self.event_poll is not None and self._event_mark is None:
            self._event_mark = _last_mark(self.adapter.events(None))
        outcome = self.adapter.fetch_since(None)
        snapshot = outcome.apply(None)
        self.state, self._watermark = None, outcome.watermark
        gc.unfreeze()  # let the previous read be collected
        result = self._full(snapshot, now)
        # The read stays until the next poll: keep the collector from scanning it on every
        # event (a full collection over a large practice's records is a latency spike).
        gc.freeze()
        return result

    def _events(self) -> list[AdapterEvent]:
        if not self.adapter.supports_events or self.event_poll is None:
            return []
        return list(self.adapter.events(self._event_mark))

    def _on_events(self, events: list[AdapterEvent], now: datetime) -> CycleResult:
        assert self.state is not None
        outcome = self.adapter.fetch_since(self._watermark)
        if outcome.complete:
            result = self._full(outcome.apply(None), now)
        else:
            assert outcome.changes is not None
            scope = self.state.apply(outcome.changes)
            for event in events:
                scope.add(self.state.scope_of_event(event))
            result = self._incremental(scope, now)
        self._watermark = outcome.watermark
        self._event_mark = _last_mark(events) or self._event_mark
        return result

    def _full(self, snapshot: Snapshot, now: datetime) -> CycleResult:
        self.snapshot = snapshot
        self.state = PracticeState(snapshot)
        if self.sweep is not None:
            self.sweep.plan(self.state, now)
        return run_cycle(
            snapshot, self.packs, self.ledger, now=now, params=self.params, settings=self.settings,
            plugins=self._plugins,
        )

    def _on_sweep(self, sweep: Sweep, now: datetime) -> CycleResult:
        assert self.state is not None
        return self._incremental(sweep.take(now), now)

    def _on_timer(self, tasks: list[Task], now: datetime) -> CycleResult:
        assert self.state is not None
        scope: Scope = self.state.scope_of_tasks(tasks)
        return self._incremental(scope, now)

    def _incremental(self, scope: Scope, now: datetime) -> CycleResult:
        assert self.state is not None
        return run_incremental_cycle(
            self.state, scope, self.packs, self.ledger, now=now, params=self.params, settings=self.settings,
            plugins=self._plugins,
        )

    # -- time -----------------------------------------------------------------------------

    def _calendar(self) -> BusinessCalendar | None:
        if self.state is None:
            return None
        practice = self.state.practice
        return BusinessCalendar.shared(practice.timezone, practice.hours, practice.holidays)

    def _synced_timers(self) -> TaskTimers | None:
        """Bring the timer schedule up to date with the ledger: only changed tasks, when it can tell."""
        if self.state is None:
            return None
        calendar = self._calendar()
        assert calendar is not None
        practice_id = self.state.practice.id
        reset, changed = self.ledger.drain_changes() if isinstance(self.ledger, CachedTaskLedger) else (True, [])
        if reset or calendar is not self._timers.calendar:
            self._timers.reset(self.ledger.open_tasks(practice_id), calendar)
        else:
            self._timers.update(task for task in changed if task.practice_id == practice_id)
        return self._timers

    def task_times(self) -> list[tuple[datetime, Task]]:
        """Return when open tasks still need the clock (escalation, expiry, snooze or block end), earliest first."""
        timers = self._synced_timers()
        return [] if timers is None else timers.times()

    def _due_tasks(self, now: datetime) -> list[Task]:
        timers = self._synced_timers()
        return [] if timers is None else timers.due(self._last_timer, now)

    def _next_wake(self, now: datetime) -> datetime:
        candidates = [self._next_poll or now + self.interval]
        if self.adapter.supports_events and self.event_poll is not None:
            candidates.append(now + self.event_poll)
        timers = self._synced_timers()
        moment = None if timers is None else timers.next_after(self._last_timer)
        if moment is not None:
            candidates.append(max(moment, now))  # a timer already due (an events tick ran first): at once
        if self.sweep is not None and self.sweep.next_at is not None:
            candidates.append(max(self.sweep.next_at, now))
        if self.delivery is not None:
            retry = self.delivery.outbox.next_due()
            if retry is not None:
                candidates.append(max(retry, now))
        return min(candidates)

    def _checkpoint(self) -> None:
        """Checkpoint the ledger's log while nothing waits (``sophie watch`` turns SQLite's own off)."""
        assert isinstance(self.ledger, SupportsCheckpoint)
        try:
            self.ledger.checkpoint()
        except SophieError as err:
            logger.warning("ledger checkpoint failed: %s", type(err).__name__)

    def _deliver(self, now: datetime) -> int:
        if self.delivery is None:
            return 0
        try:
            return self.delivery.run_once(now).sent
        except SophieError as err:
            logger.warning("outbox delivery failed: %s", type(err).__name__)
            return 0


def _last_mark(events: Iterable[AdapterEvent]) -> Watermark | None:
    mark = None
    for event in events:
        mark = event.watermark or mark
    return mark

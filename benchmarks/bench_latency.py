"""Real-time latency: PMS event -> task committed in the ledger, against a full re-evaluation.

Usage::

    .venv/bin/python benchmarks/bench_latency.py [--patients 100000] [--events 200] [--seed 7]

Steps, all in one process:

1. Generate the demo practice (``--patients``) and a simulated day of events on it
   (:mod:`sophie.adapters.demo.events`: cancellations, and gaps filled again).
2. Baseline: one full cycle over the whole practice (index, evaluate, reconcile, commit),
   measured twice: the first fills the ledger, the second is the steady state.
3. Events, through ``sophie watch``'s own loop (:class:`~sophie.execution.realtime.watch.Watcher`
   over the demo events adapter and a :class:`~sophie.execution.stores.task_cache.CachedTaskLedger`,
   as the CLI builds them): a first tick polls (a complete read); then, for each event, the
   clock is set just before it and the watcher catches up with any escalation or expiry
   that came due (not measured), then set to the event and one tick is measured: reading
   the event and the changed records (in memory: the adapter's I/O is not counted), the
   scope, its evaluation, reconcile, the commit, and the timers' bookkeeping for the next
   wake. The first ten events are warm-up (they compile the rule groups' fused code) and
   are not counted.

Prints p50, p99 and max per event, the full cycle's time and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from threading import Event

from sophie.adapters.demo.events import DemoEventsAdapter
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.execution import SqliteLedger, run_cycle
from sophie.execution.realtime.sweep import FAMILIES_PER_STEP, Sweep
from sophie.execution.realtime.watch import Watcher
from sophie.execution.stores.task_cache import CachedTaskLedger
from sophie.model import Snapshot
from sophie.rules import load_pack

WARM_UP = 10
SWEEP_STEPS = 30


class _SetClock:
    """A clock the benchmark sets by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float, stop: Event) -> None:
        self.at += timedelta(seconds=seconds)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--person-every", type=int, default=10,
                        help="a person acknowledges a task from another connection before every Nth event (0: never)")
    args = parser.parse_args()

    started = time.perf_counter()
    snapshot = DemoPractice(DemoSettings(seed=args.seed, patients=args.patients)).snapshot()
    print(f"practice: {args.patients} patients, {len(snapshot.appointments)} appointments "
          f"({time.perf_counter() - started:.1f} s to generate)")  # fmt: skip
    packs = [load_pack("dental-core")]
    clock = _SetClock(snapshot.as_of)
    adapter = DemoEventsAdapter(snapshot, clock.now, seed=args.seed, count=args.events + WARM_UP)
    with tempfile.TemporaryDirectory() as folder, SqliteLedger(
        str(Path(folder) / "bench.db"), autocheckpoint=False  # as `sophie watch` opens it
    ) as ledger:
        now = snapshot.as_of
        started = time.perf_counter()
        first = run_cycle(snapshot, packs, ledger, now=now)
        first_seconds = time.perf_counter() - started
        fresh = Snapshot(**{name: getattr(snapshot, name) for name in Snapshot.model_fields})
        started = time.perf_counter()
        run_cycle(fresh, packs, ledger, now=now)
        full_seconds = time.perf_counter() - started

        cached = CachedTaskLedger(ledger, str(Path(folder) / "bench.db"))
        person = SqliteLedger(str(Path(folder) / "bench.db"))  # another process: a person's `sophie task ack`
        acted = 0
        watcher = Watcher(adapter, packs, cached, clock=clock, interval=timedelta(days=7),
                          event_poll=timedelta(seconds=1))  # fmt: skip
        started = time.perf_counter()
        watcher.tick(now)  # the first poll: a complete read, the PracticeState, a full cycle
        poll_seconds = time.perf_counter() - started
        latencies: list[float] = []
        created = resolved = timer_changes = 0
        timer_seconds: list[float] = []
        moments = sorted({item.event.at for item in adapter.day})  # events at one instant share a tick
        for number, moment in enumerate(moments):
            clock.at = moment - timedelta(microseconds=1)
            started = time.perf_counter()
            before = watcher.tick(clock.at)
            if before.trigger == "timer" and number >= WARM_UP:
                timer_seconds.append(time.perf_counter() - started)
                assert before.result is not None
                timer_changes += len(before.result.changes)
            clock.at = moment
            if args.person_every and number % args.person_every == 0:  # staff work the queue meanwhile
                open_ids = sorted(t.id for t in cached.open_tasks(snapshot.practice.id) if t.is_open)
                person.transition(open_ids[number % len(open_ids)], "ack", actor="staff:bench", now=moment)
                acted += number >= WARM_UP
            started = time.perf_counter()
            tick = watcher.tick(clock.at)
            seconds = time.perf_counter() - started
            if tick.trigger != "events" or tick.error is not None:
                raise SystemExit(f"the tick at {moment.isoformat()} did not run the event: {tick.as_log()}")
            if number >= WARM_UP:
                latencies.append(seconds)
                assert tick.result is not None
                counts = tick.result.counts()
                created += counts["created"]
                resolved += counts["resolved"]
        # Sweep steps (``sophie watch --sweep``): one slice of families and chair-days each.
        sweep = Sweep(timedelta(0))
        assert watcher.state is not None
        sweep.plan(watcher.state, clock.at)
        watcher.sweep = sweep
        sweep_seconds: list[float] = []
        for _ in range(SWEEP_STEPS):
            started = time.perf_counter()
            tick = watcher.tick(clock.at)
            if tick.trigger == "sweep":
                sweep_seconds.append(time.perf_counter() - started)
        slices = -(-len(watcher.state.family_heads()) // FAMILIES_PER_STEP)
        cached.close()
        person.close()

    ms = [value * 1000 for value in latencies]
    print(f"first full cycle (fills the ledger, {first.open_tasks} open tasks): {first_seconds:.2f} s")
    print(f"watcher's first poll (complete read, PracticeState, full cycle): {poll_seconds:.2f} s")
    print(f"full re-evaluation, steady state (index + evaluate + reconcile + commit): {full_seconds * 1000:.0f} ms")
    print(f"event -> task committed, one watch tick each, {len(ms)} ticks ({created} created, {resolved} resolved; "
          f"a person acknowledged a task from another connection before {acted} of them):")  # fmt: skip
    print(f"  p50 {statistics.median(ms):.1f} ms   p99 {_percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms")
    print(f"  full re-evaluation / p50 event: {full_seconds * 1000 / statistics.median(ms):.0f}x")
    print(f"  target p99 <= 50 ms: {'met' if _percentile(ms, 0.99) <= 50 else 'NOT met'}")
    if timer_seconds:
        timer_ms = [value * 1000 for value in timer_seconds]
        print(f"timer ticks between the events (escalations and expiries coming due): {len(timer_ms)} ticks, "
              f"{timer_changes} task changes; p50 {statistics.median(timer_ms):.1f} ms, max {max(timer_ms):.1f} ms")
    if sweep_seconds:
        sweep_ms = [value * 1000 for value in sweep_seconds]
        print(f"sweep steps ({FAMILIES_PER_STEP} families each; a whole round is {slices} steps): "
              f"p50 {statistics.median(sweep_ms):.1f} ms, max {max(sweep_ms):.1f} ms over {len(sweep_ms)} steps")


if __name__ == "__main__":
    main()

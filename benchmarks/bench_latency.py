"""Real-time latency: PMS event -> task committed in the ledger, against a full re-evaluation.

Usage::

    .venv/bin/python benchmarks/bench_latency.py [--patients 100000] [--events 200] [--seed 7]

Steps, all in one process:

1. Generate the demo practice (``--patients``) and a simulated day of events on it
   (:mod:`sophie.adapters.demo_events`: cancellations, and gaps filled again).
2. Baseline: one full cycle over the whole practice (index, evaluate, reconcile, commit),
   measured twice: the first fills the ledger, the second is the steady state.
3. Incremental (after ten warm-up events from another day, which compile the rule
   groups' fused code once): for each event, apply the incremental read's changes to the
   :class:`~sophie.execution.incremental.PracticeState`, re-evaluate the scope, reconcile
   and commit. The adapter's own I/O is not counted (the changes are in memory).

Prints p50, p99 and max per event, the full cycle's time and the ratio.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from sophie.adapters.demo import DemoPractice, DemoSettings
from sophie.adapters.demo_events import day_of_events
from sophie.execution import SqliteLedger, run_cycle
from sophie.execution.incremental import PracticeState, run_incremental_cycle
from sophie.execution.task_cache import CachedTaskLedger
from sophie.model import Snapshot
from sophie.rules import load_pack


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    snapshot = DemoPractice(DemoSettings(seed=args.seed, patients=args.patients)).snapshot()
    print(f"practice: {args.patients} patients, {len(snapshot.appointments)} appointments "
          f"({time.perf_counter() - started:.1f} s to generate)")  # fmt: skip
    day = day_of_events(snapshot, seed=args.seed, count=args.events)
    packs = [load_pack("dental-core")]
    with tempfile.TemporaryDirectory() as folder, SqliteLedger(str(Path(folder) / "bench.db")) as ledger:
        now = snapshot.as_of
        started = time.perf_counter()
        first = run_cycle(snapshot, packs, ledger, now=now)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        state = PracticeState(snapshot)
        state_seconds = time.perf_counter() - started

        fresh = Snapshot(**{name: getattr(snapshot, name) for name in Snapshot.model_fields})
        started = time.perf_counter()
        run_cycle(fresh, packs, ledger, now=now)
        full_seconds = time.perf_counter() - started

        cached = CachedTaskLedger(ledger, str(Path(folder) / "bench.db"))
        cached.open_tasks(snapshot.practice.id)  # the watcher reads them once, at its first poll
        gc.freeze()  # as `sophie watch` does after each complete read
        for item in day_of_events(state.snapshot, seed=args.seed + 1, count=10):  # warm-up, not measured
            scope = state.apply(item.changes)
            run_incremental_cycle(state, scope, packs, cached, now=item.event.at)
        latencies: list[float] = []
        created = resolved = 0
        for item in day:
            started = time.perf_counter()
            scope = state.apply(item.changes)
            scope.add(state.scope_of_event(item.event))
            result = run_incremental_cycle(state, scope, packs, cached, now=item.event.at)
            latencies.append(time.perf_counter() - started)
            counts = result.counts()
            created += counts["created"]
            resolved += counts["resolved"]

    ms = [value * 1000 for value in latencies]
    print(f"first full cycle (fills the ledger, {first.open_tasks} open tasks): {first_seconds:.2f} s")
    print(f"practice state built once: {state_seconds:.2f} s")
    print(f"full re-evaluation, steady state (index + evaluate + reconcile + commit): {full_seconds * 1000:.0f} ms")
    print(f"event -> task committed, {len(ms)} events ({created} created, {resolved} resolved):")
    print(f"  p50 {statistics.median(ms):.1f} ms   p99 {_percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms")
    print(f"  full re-evaluation / p50 event: {full_seconds * 1000 / statistics.median(ms):.0f}x")
    print(f"  target p99 <= 50 ms: {'met' if _percentile(ms, 0.99) <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()

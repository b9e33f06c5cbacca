"""A group of demo practices on one PostgreSQL: time for every practice to complete one cycle.

Usage: SOPHIE_TEST_POSTGRES_URL=... python benchmarks/bench_group.py [PRACTICES] [PATIENTS] [ROUNDS] [--ratio-only]

Measures, in one run: every practice's first cycle with 1, 2 and 4 worker processes
(procrastinate workers, each a fresh process sharing the queue, built and prepared as
``sophie worker`` builds and prepares itself, so its peak memory is its own); one
practice's cycle on PostgreSQL against the same cycle on SQLite; the peak memory (RSS)
of a worker. The worker counts are measured in interleaved rounds (1, 2, 4, 1, 2, 4,
...) and the best time of each is kept, so a burst of other work on the machine hurts
one round rather than one worker count; the load average is printed with each
measurement, and the 1 -> 2 ratio at the end.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ledger_stores import postgres_schema
from sophie.config.models import PracticeConfig
from sophie.execution import open_ledger
from sophie.execution.engine import apply_evaluation, rules_by_id
from sophie.execution.group.jobs import QUEUE, defer_cycles, group_app, install_job_schema, prepare_worker_process
from sophie.execution.practice_setup import practice_setup
from sophie.execution.stores.postgres.ledger import PostgresLedger
from sophie.rules import evaluate

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def group(practices: int, patients: int) -> list[PracticeConfig]:
    return [
        PracticeConfig(id=f"p{i:03d}", adapter="demo", source=f"seed={i + 1}&patients={patients}")
        for i in range(practices)
    ]


def worker(url: str, practices: int, patients: int) -> None:
    """Be one worker process of the group until its queue is dry (what ``sophie worker`` runs, without the ticks)."""
    app = group_app(url, group(practices, patients), every=timedelta(minutes=5), periodic=False)
    prepare_worker_process()
    with app.open():
        app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)


def run_group(practices: list[PracticeConfig], workers: int, patients: int) -> tuple[float, float, float]:
    """Return (seconds until every practice completed a cycle, peak worker RSS in MiB, the workers' CPU seconds)."""
    with postgres_schema("bench") as url:
        app = group_app(url, practices, every=timedelta(minutes=5), periodic=False)
        with PostgresLedger(url) as ledger:
            install_job_schema(app, ledger)
        with app.open():
            defer_cycles(app, [p.id for p in practices], at=int(NOW.timestamp()))
        started = time.perf_counter()
        command = [sys.executable, __file__, "--worker", url, str(len(practices)), str(patients)]
        children = [subprocess.Popen(command) for _ in range(workers)]  # fresh processes, as `sophie worker` starts
        peak, cpu = 0, 0.0
        for child in children:
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            assert child.returncode == 0, f"a worker failed ({child.returncode})"
            peak = max(peak, usage.ru_maxrss)
            cpu += usage.ru_utime + usage.ru_stime
        seconds = time.perf_counter() - started
        with PostgresLedger(url) as ledger:
            assert all(ledger.cycle_count(p.id) == 1 for p in practices)
    return seconds, peak / 1024, cpu


def one_cycle(url: str, practice: PracticeConfig) -> tuple[float, float]:
    """Return (seconds for the whole cycle: read, evaluate, reconcile, commit; seconds for reconcile + commit)."""
    setup = practice_setup(practice)
    with open_ledger(url) as ledger:
        started = time.perf_counter()
        snapshot = setup.fetch(NOW)
        evaluation = evaluate(setup.packs, snapshot, NOW, setup.params)
        middle = time.perf_counter()
        apply_evaluation(ledger, snapshot, evaluation, rules=rules_by_id(setup.packs), now=NOW, settings=setup.settings)
        ended = time.perf_counter()
    return ended - started, ended - middle


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    practices = numbers[0] if numbers else 24
    patients = numbers[1] if len(numbers) > 1 else 1000
    rounds = numbers[2] if len(numbers) > 2 else 2
    members = group(practices, patients)
    print(f"group: {practices} demo practices x {patients} patients, {os.cpu_count()} CPUs, {rounds} rounds, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    best: dict[int, tuple[float, float]] = {}
    for round_number in range(rounds if "--ratio-only" not in sys.argv else 0):
        for workers in (1, 2, 4):
            load = os.getloadavg()[0]
            seconds, peak, cpu = run_group(members, workers, patients)
            print(f"  round {round_number + 1}, {workers} worker(s): {seconds:6.1f} s, peak RSS {peak:4.0f} MiB, "
                  f"worker CPU {cpu / practices * 1000:4.0f} ms a cycle, each worker on a CPU "
                  f"{cpu / workers / seconds:4.0%} of the time (load average before {load:.2f})")  # fmt: skip
            previous = best.get(workers, (float("inf"), 0.0))
            best[workers] = (min(previous[0], seconds), max(previous[1], peak))
    for workers, (seconds, peak) in best.items():
        rate = f"{practices / seconds:5.2f} cycles/s, {best[1][0] / seconds:4.2f}x"
        print(f"  best, {workers} worker(s): {seconds:6.1f} s for every practice's cycle ({rate}), "
              f"peak RSS {peak:5.0f} MiB")  # fmt: skip
    if 1 in best and 2 in best:
        print(f"  1 -> 2 workers: {best[1][0] / best[2][0]:.2f}x throughput (target >= 1.7x)")
    practice = members[0]
    sqlite_times, postgres_times = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as directory:
            sqlite_times.append(one_cycle(f"sqlite:///{directory}/ledger.db", practice))
        with postgres_schema("bench") as url:
            postgres_times.append(one_cycle(url, practice))
    for part, index in (("whole first cycle", 0), ("its reconcile + commit", 1)):
        sqlite_s = min(t[index] for t in sqlite_times)
        postgres_s = min(t[index] for t in postgres_times)
        print(f"  one practice, {part}: SQLite {sqlite_s * 1000:.0f} ms, "
              f"PostgreSQL {postgres_s * 1000:.0f} ms, ratio {postgres_s / sqlite_s:.2f}x")  # fmt: skip
    print(f"  benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          f"load average after {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

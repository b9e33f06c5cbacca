"""A person's day on the demo practice: capacity, backlog and new tasks over two simulated weeks.

Run::

    .venv/bin/python benchmarks/capacity_load.py            # seeds 1 and 2, capacity 30
    .venv/bin/python benchmarks/capacity_load.py --seed 1 --capacity 20

For each seed it runs :func:`sophie.execution.simulation.loop.simulate` (the demo practice,
2,000 patients, 14 calendar days) with simulated people closing what is in their day (the
work done in the PMS where it can be, else marked done), twice: with no effective capacity
(everything in the day, as before capacity existed) and with the capacity asked for. It
prints the targets of ``docs/alert-load.md``: the fullest day of any person (urgent tasks
apart, and the most urgent ones), the day-one backlog and the business day by which it
drained, and new tasks per role per business day (mean and max, first day excluded).

Nothing here reads the clock except to time itself.
"""

from __future__ import annotations

import argparse
import json
import time

from sophie.execution.settings import ExecutionSettings
from sophie.execution.simulation.loop import simulate

UNLIMITED = 10_000


def measure(seed: int, capacity: int, days: int) -> dict[str, object]:
    """Return the load report of one simulated run."""
    report = simulate(days=days, seed=seed, settings=ExecutionSettings(capacity=capacity), closing=True)
    return report.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append")
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args()
    results = {}
    for seed in args.seed or [1, 2]:
        for label, capacity in (("before (no capacity)", UNLIMITED), (f"capacity {args.capacity}", args.capacity)):
            started = time.perf_counter()
            load = measure(seed, capacity, args.days)
            results[f"seed {seed}, {label}"] = load
            if not args.json:
                print(f"seed {seed}, {label} ({time.perf_counter() - started:.0f} s):")
                print(f"  fullest day (non-urgent): {load['day_max']}; most urgent in one day: {load['urgent_max']}")
                print(f"  day-one backlog: {load['day_one_backlog']}; drained by business day: {load['drain_days']}; "
                      f"day-one tasks still waiting at the end: {load['day_one_left']}; "
                      f"backlog at the end: {load['backlog_at_end']}")  # fmt: skip
                print("  new tasks per business day (mean / max):")
                for role, numbers in load["new_per_day"].items():  # type: ignore[attr-defined]
                    print(f"    {role:24} {numbers['mean']:6} {numbers['max']:4}")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""The day-a-team-can-work targets, measured on two simulated weeks of the demo practice.

Run::

    .venv/bin/python benchmarks/alert_targets.py              # seeds 1 and 2, 14 days
    .venv/bin/python benchmarks/alert_targets.py --seed 1 --days 7
    .venv/bin/python benchmarks/alert_targets.py --pack old-dental-core.yaml   # another pack, same loop

It runs :func:`sophie.execution.simulation.loop.simulate` (the demo practice, 2,000
patients; cycles at 07:30 and 12:00; at 10:00 simulated people close what is in their day,
doing the work in the PMS where the simulation can; capacity 30 a person) and prints the
targets :mod:`sophie.execution.simulation.targets` reads from the ledger afterwards: new
tasks per role per business day (day one apart; mean and max of the later days), the
day-one backlog per role and the business day by which it drained, the most urgent tasks
one person's day held, duplicate pairs, tasks for $0, tasks born overdue, and how often a
task was carried on into its stall's next stage. ``sophie demo`` prints the same targets
for its own run.

Nothing here reads the clock except to time itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from sophie.execution.settings import ExecutionSettings
from sophie.execution.simulation.loop import simulate
from sophie.execution.simulation.targets import Targets


def measure(seed: int, days: int, patients: int, pack: str | None, capacity: int) -> Targets:
    """Simulate ``days`` calendar days of the demo practice and return its targets."""
    report = simulate(
        days=days, patients=patients, seed=seed, pack=pack, settings=ExecutionSettings(capacity=capacity), closing=True
    )
    return report.targets


def _drain(targets: Targets, role: str) -> str:
    if not targets.day_one_backlog.get(role):
        return "—"
    day = targets.drained.get(role)
    return str(day) if day is not None else f"> {len(targets.days)}"


def role_table(results: Sequence[tuple[int, Targets]]) -> str:
    """Return, per role and seed: day one, new per later business day (mean | max), day-one backlog, drain day."""
    roles = list(dict.fromkeys(role for _, t in results for role in t.roles()))
    head = "| owner role | " + " | ".join(
        f"seed {seed}: day one | new a day: mean | max | day-one backlog | drained by day" for seed, _ in results
    )
    lines = [head + " |", "|---|" + "---:|---:|---:|---:|---:|" * len(results)]
    for role in roles:
        cells = []
        for _, t in results:
            data = t.as_dict()["roles"]
            row = data.get(role) if isinstance(data, dict) else None
            if not isinstance(row, dict):
                cells.append("0 | 0.0 | 0 | 0 | —")
                continue
            cells.append(
                f"{row['day_one']} | {row['new_per_day_mean']} | {row['new_per_day_max']} | "
                f"{row['day_one_backlog']} | {_drain(t, role)}"
            )
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_table(results: Sequence[tuple[int, Targets]]) -> str:
    """Return, per seed: tasks, urgent max, fullest day, duplicate pairs, $0, born overdue, stage moves."""
    lines = [
        "| seed | tasks | most urgent in one person's day | fullest day (non-urgent) | duplicate pairs | "
        "tasks for $0 | born overdue | carried on to the next stage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seed, t in results:
        lines.append(
            f"| {seed} | {t.tasks} | {t.urgent_max} | {t.day_max} | {len(t.duplicate_pairs)} | "
            f"{len(t.zero_money)} | {len(t.born_overdue)} | {t.stage_moves} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the targets (Markdown, or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, action="append", help="demo seed (repeatable; default 1 and 2)")
    parser.add_argument("--days", type=int, default=14, help="calendar days to simulate")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--pack", help="a pack file to simulate instead of dental-core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    seeds = args.seed or [1, 2]
    results = [(seed, measure(seed, args.days, args.patients, args.pack, args.capacity)) for seed in seeds]
    if args.json:
        print(json.dumps({str(seed): t.as_dict() for seed, t in results}, indent=2))
    else:
        print(f"## Targets over {args.days} simulated days ({args.patients} patients, capacity {args.capacity})\n")
        print(role_table(results))
        print()
        print(noise_table(results))
    print(f"\n({time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

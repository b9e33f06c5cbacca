"""The day-a-team-can-work targets, measured on two simulated weeks of the demo practice.

Run::

    .venv/bin/python benchmarks/alert_targets.py              # seeds 1 and 2, 14 days
    .venv/bin/python benchmarks/alert_targets.py --seed 1 --days 7

It runs :func:`sophie.execution.simulation.loop.simulate` (the demo practice, simulated
staff working their queue at 10:00, cycles at 07:30 and 12:00) into a ledger file, then
reads every task the two weeks produced and measures:

- **new tasks per role per business day** — tasks created, by the role that owned them at
  creation, for each business day; mean and max per role, with day one (the backlog a
  practice finds the morning it switches sophie on) apart;
- **duplicate pairs** — pairs of tasks for the same patient, the same owner role and the
  same *rule group*, open at the same time on the same day. A rule group is the first two
  dot-separated parts of the rule id (``claims.outstanding.30d`` and ``claims.outstanding.60d``
  are one group, the stages of one stall): two such tasks are two calls the same person
  makes to the same patient about the same thing;
- **tasks for $0** — tasks whose title shows ``$0.00`` or whose evidence holds money
  (a claim's billed amount, a fee, a balance, an unscheduled total) that is all zero;
- **tasks born overdue** — tasks whose due time is before the moment they were created.

Nothing here reads the clock except to time itself.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sophie.execution.simulation.loop import simulate

_MONEY_KEYS = ("billed", "fee", "total", "unscheduled_total", "amount", "over_60", "over_90", "balance")


@dataclass(frozen=True)
class TaskRow:
    """What the targets read of one task (its latest state)."""

    id: str
    rule: str
    patient_id: str | None
    owner_role: str
    created_at: datetime
    closed_at: datetime | None
    due_at: datetime
    title: str
    evidence: dict[str, object]


@dataclass
class Targets:
    """The measured targets of one simulation."""

    seed: int
    days: list[date] = field(default_factory=list)
    created: dict[str, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))
    duplicate_pairs: list[tuple[str, str]] = field(default_factory=list)
    zero_money: list[str] = field(default_factory=list)
    born_overdue: list[str] = field(default_factory=list)
    tasks: int = 0


def rule_group(rule_id: str) -> str:
    """Return the rule group of a rule id: its first two dot-separated parts."""
    return ".".join(rule_id.split(".")[:2])


def _money_values(evidence: object) -> list[float]:
    found: list[float] = []
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            if key == "members" and isinstance(value, list):
                for member in value:
                    if isinstance(member, dict):
                        found.extend(_money_values(member.get("evidence")))
            elif isinstance(value, int | float | str) and key.rsplit(".", 1)[-1] in _MONEY_KEYS:
                try:
                    found.append(float(value))
                except ValueError:
                    continue
    return found


def is_zero_money(row: TaskRow) -> bool:
    """Whether a task is about no money: ``$0.00`` in its title, or all its money evidence is zero."""
    if "$0.00" in row.title:
        return True
    values = _money_values(row.evidence)
    return bool(values) and all(value == 0 for value in values)


def read_tasks(path: Path) -> list[TaskRow]:
    """Return every task of a ledger file (any status), as the targets read them."""
    rows = []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        for row in db.execute("SELECT * FROM task ORDER BY created_at, id"):
            tz = ZoneInfo(row["timezone"])

            def when(name: str, row: sqlite3.Row = row, tz: ZoneInfo = tz) -> datetime | None:
                text = row[name]
                return None if text is None else datetime.fromisoformat(text).astimezone(tz)

            closed = when("resolved_at") or when("done_at")
            created, due = when("created_at"), when("due_at")
            assert created is not None
            assert due is not None
            rows.append(
                TaskRow(
                    row["id"], row["rule_id"], row["patient_id"], row["owner_role"] or "unassigned",
                    created, closed, due, row["title"], json.loads(row["evidence_json"]),
                )
            )  # fmt: skip
    return rows


def first_roles(path: Path) -> dict[str, str]:
    """Return each task's owner role at creation (escalations move tasks to other roles later)."""
    roles: dict[str, str] = {}
    with sqlite3.connect(path) as db:
        for task_id, data in db.execute("SELECT task_id, data_json FROM task_event WHERE kind = 'created'"):
            role = json.loads(data).get("owner_role")
            if isinstance(role, str):
                roles[task_id] = role
    return roles


def duplicate_pairs(rows: Iterable[TaskRow]) -> list[tuple[str, str]]:
    """Return pairs of tasks (same patient, owner role, rule group) open at once on the same day."""
    buckets: dict[tuple[str, str, str], list[TaskRow]] = defaultdict(list)
    for row in rows:
        if row.patient_id is not None:
            buckets[(row.patient_id, row.owner_role, rule_group(row.rule))].append(row)
    pairs = []
    for bucket in buckets.values():
        for i, one in enumerate(bucket):
            for other in bucket[i + 1 :]:
                start = max(one.created_at, other.created_at)
                ends = [t.closed_at for t in (one, other) if t.closed_at is not None]
                end = min(ends) if ends else None
                if end is None or start < end:
                    pairs.append((one.id, other.id))
    return pairs


def measure(seed: int, days: int, patients: int) -> Targets:
    """Simulate ``days`` calendar days of the demo practice and measure the targets."""
    targets = Targets(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.db"
        report = simulate(days=days, patients=patients, seed=seed, db=str(path))
        targets.days = [day.day for day in report.days]
        rows = read_tasks(path)
        roles = first_roles(path)
    targets.tasks = len(rows)
    for row in rows:
        role = roles.get(row.id, row.owner_role)
        targets.created[role][row.created_at.date()] += 1
        if is_zero_money(row):
            targets.zero_money.append(row.id)
        if row.due_at < row.created_at:
            targets.born_overdue.append(row.id)
    targets.duplicate_pairs = duplicate_pairs(rows)
    return targets


def _stats(values: Sequence[int]) -> str:
    return f"{statistics.fmean(values):.1f} | {max(values)}" if values else "0.0 | 0"


def role_table(results: Sequence[Targets]) -> str:
    """Return new tasks per role per business day: day one, then mean and max of the later days."""
    roles = sorted({role for t in results for role in t.created}, key=lambda r: -sum(results[0].created[r].values()))
    head = "| owner role | " + " | ".join(
        f"seed {t.seed}: day one | later days: mean | max | all days: mean" for t in results
    )
    lines = [head + " |", "|---|" + "---:|---:|---:|---:|" * len(results)]
    for role in roles:
        cells = []
        for t in results:
            per_day = [t.created[role][day] for day in t.days]
            cells.append(f"{per_day[0] if per_day else 0} | {_stats(per_day[1:])} | {statistics.fmean(per_day):.1f}")
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the targets (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, action="append", help="demo seed (repeatable; default 1 and 2)")
    parser.add_argument("--days", type=int, default=14, help="calendar days to simulate")
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = [measure(seed, args.days, args.patients) for seed in args.seed or [1, 2]]
    print(f"## Targets over {args.days} simulated days ({args.patients} patients)\n")
    print("### New tasks per role per business day\n")
    print(role_table(results))
    print("\n### Noise\n")
    print("| seed | tasks | duplicate pairs (patient, role, rule group, same day) | tasks for $0 | born overdue |")
    print("|---|---:|---:|---:|---:|")
    for t in results:
        print(f"| {t.seed} | {t.tasks} | {len(t.duplicate_pairs)} | {len(t.zero_money)} | {len(t.born_overdue)} |")
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

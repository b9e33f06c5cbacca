"""Alert load of the ``dental-core`` pack on the demo practice: how much work each role gets.

Run::

    .venv/bin/python benchmarks/alert_load.py                  # seed 1, 2,000 patients, 30 days
    .venv/bin/python benchmarks/alert_load.py --days 10 --seed 2
    .venv/bin/python benchmarks/alert_load.py --no-ledger      # skip the ledger replay

It measures three things (see ``docs/alert-load.md`` for the numbers and the reasoning):

1. **Day one** — the findings of the default pack on the demo practice at its default
   ``as_of`` (Monday 07:30), by owner role: what a practice sees the morning it switches
   sophie on, backlog included.
2. **New per open day** — for every open morning of ``--days`` calendar days, the practice
   as seen that morning (``DemoSettings(as_of=...)``, same seed), and the findings whose key
   (rule, subject, episode) does not fire when the *same* data is evaluated at the previous
   open morning. The demo draws its background afresh for every ``as_of`` (its ids do not
   carry from one day to the next), so comparing two days' snapshots key by key would count
   nearly everything as new; evaluating one day's data at both mornings isolates what
   crossed a threshold, or happened, since the previous morning.
3. **Ledger replay** (the execution layer): day one's practice is reconciled into an
   in-memory SQLite ledger every open morning with ``run_cycle``, nobody working the queue
   and no new PMS events: tasks created and escalated per role per day. It shows where the
   escalation ladders send unworked tasks.

Nothing here reads the clock except to time itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sophie.adapters.demo.practice import DEFAULT_AS_OF, DemoPractice, DemoSettings
from sophie.execution.engine import run_cycle
from sophie.execution.stores.sqlite.ledger import SqliteLedger
from sophie.model import Snapshot
from sophie.rules import CompiledPack, Finding, evaluate, load_pack

FindingKey = tuple[str, str, str, str]
"""(rule id, subject type, subject id, episode key): one task's identity."""


def finding_key(finding: Finding) -> FindingKey:
    """Return the identity the ledger deduplicates a finding by."""
    return (finding.rule_id, finding.subject_type, finding.subject_id, finding.key)


@dataclass
class DayLoad:
    """The load of one open morning.

    Attributes:
        morning: When the practice was read.
        stock: Findings by owner role (a practice switching sophie on that morning).
        new: Findings by owner role that did not fire on the same data at the previous open morning.
        new_by_rule: The same, by rule id.
        stock_by_rule: Findings by rule id.
    """

    morning: datetime
    stock: Counter[str] = field(default_factory=Counter)
    new: Counter[str] = field(default_factory=Counter)
    new_by_rule: Counter[str] = field(default_factory=Counter)
    stock_by_rule: Counter[str] = field(default_factory=Counter)


def demo_snapshot(seed: int, patients: int, as_of: datetime) -> Snapshot:
    """Return the demo practice read at ``as_of``."""
    return DemoPractice(DemoSettings(seed=seed, patients=patients, as_of=as_of)).snapshot()


def open_mornings(first: datetime, days: int, snapshot: Snapshot) -> list[datetime]:
    """Return ``first``'s wall-clock time on every open day of ``days`` calendar days from ``first``."""
    calendar = snapshot.index.calendar
    local = first.astimezone(calendar.tz)
    mornings = []
    for offset in range(days):
        moment = (local + timedelta(days=offset)).replace(tzinfo=calendar.tz)
        if calendar.is_business_day(moment.date()):
            mornings.append(moment)
    return mornings


def previous_open_morning(morning: datetime, snapshot: Snapshot) -> datetime:
    """Return the same wall-clock time on the open day before ``morning``."""
    calendar = snapshot.index.calendar
    moment = morning
    while True:
        moment = (moment - timedelta(days=1)).replace(tzinfo=calendar.tz)
        if calendar.is_business_day(moment.date()):
            return moment


def day_load(pack: CompiledPack, seed: int, patients: int, morning: datetime) -> DayLoad:
    """Return the stock and the new findings of one open morning (see the module docstring)."""
    snapshot = demo_snapshot(seed, patients, morning)
    today = evaluate([pack], snapshot, morning)
    before = evaluate([pack], snapshot, previous_open_morning(morning, snapshot))
    seen = {finding_key(f) for f in before.findings}
    load = DayLoad(morning)
    for finding in today.findings:
        load.stock[finding.owner] += 1
        load.stock_by_rule[finding.rule_id] += 1
        if finding_key(finding) not in seen:
            load.new[finding.owner] += 1
            load.new_by_rule[finding.rule_id] += 1
    return load


@dataclass
class LedgerDay:
    """One morning of the ledger replay: task changes by owner role.

    Attributes:
        morning: When the cycle ran.
        created: Tasks created, by owner role.
        handed: Escalations that handed a task to someone else, by the new owner's role.
        raised: Escalations that kept the owner (a priority step, or a role the owner also holds), by role.
        open_tasks: Open tasks after the cycle.
    """

    morning: datetime
    created: Counter[str] = field(default_factory=Counter)
    handed: Counter[str] = field(default_factory=Counter)
    raised: Counter[str] = field(default_factory=Counter)
    open_tasks: int = 0


def ledger_replay(pack: CompiledPack, snapshot: Snapshot, mornings: Sequence[datetime]) -> list[LedgerDay]:
    """Reconcile ``snapshot`` into a fresh in-memory ledger at each morning; nobody works the queue."""
    days = []
    with SqliteLedger(":memory:") as ledger:
        for morning in mornings:
            result = run_cycle(snapshot, [pack], ledger, now=morning)
            day = LedgerDay(morning, open_tasks=result.open_tasks)
            for change in result.listed_changes:
                role = change.task.owner_role or "unassigned"
                if str(change.kind) == "created":
                    day.created[role] += 1
                elif str(change.kind) == "escalated" and change.owner_changed:
                    day.handed[role] += 1
                elif str(change.kind) == "escalated":
                    day.raised[role] += 1
            days.append(day)
    return days


# -- reporting ---------------------------------------------------------------------------


def _roles(counters: Iterable[Counter[str]]) -> list[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return [role for role, _ in sorted(total.items(), key=lambda item: (-item[1], item[0]))]


def _stats(values: Sequence[int]) -> tuple[float, int, int]:
    return (statistics.fmean(values) if values else 0.0, min(values, default=0), max(values, default=0))


def load_table(first: DayLoad, days: Sequence[DayLoad]) -> str:
    """Return the per-role table: day one, and new findings per open day (mean, median, max)."""
    roles = _roles([first.stock, *(d.new for d in days), *(d.stock for d in days)])
    lines = [
        "| owner role | day one (default as_of) | new per open day: mean | median | max | day one, any morning: mean |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for role in roles:
        new = [d.new[role] for d in days]
        stock = [d.stock[role] for d in days]
        mean, _, most = _stats(new)
        median = statistics.median(new) if new else 0
        lines.append(
            f"| {role} | {first.stock[role]} | {mean:.1f} | {median:g} | {most} | {statistics.fmean(stock):.0f} |"
        )
    total_new = [sum(d.new.values()) for d in days]
    mean, _, most = _stats(total_new)
    median = statistics.median(total_new) if total_new else 0
    lines.append(
        f"| **all roles** | {sum(first.stock.values())} | {mean:.1f} | {median:g} | {most} | "
        f"{statistics.fmean(sum(d.stock.values()) for d in days):.0f} |"
    )
    return "\n".join(lines)


def rule_table(pack: CompiledPack, first: DayLoad, days: Sequence[DayLoad]) -> str:
    """Return the per-rule table: owner, day one, new per open day (mean and max)."""
    lines = ["| rule | owner | day one | new per open day: mean | max |", "|---|---|---:|---:|---:|"]
    for rule in pack.rules:
        new = [d.new_by_rule[rule.id] for d in days]
        mean, _, most = _stats(new)
        spec = rule.owner
        owner = spec.literal if spec.literal is not None else (spec.expression.text if spec.expression else "?")
        lines.append(f"| `{rule.id}` | {owner} | {first.stock_by_rule[rule.id]} | {mean:.1f} | {most} |")
    return "\n".join(lines)


def ledger_table(days: Sequence[LedgerDay]) -> str:
    """Return the ledger replay table: created, handed over by escalation, and priority raises, per role."""
    roles = _roles([*(d.created for d in days), *(d.handed for d in days), *(d.raised for d in days)])
    later = days[1:]
    lines = [
        "| owner role | created day one | created per later day: mean | max | "
        "escalated to this role per day: mean | max | escalated, same owner, per day: mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for role in roles:
        created_mean, _, created_max = _stats([d.created[role] for d in later])
        handed_mean, _, handed_max = _stats([d.handed[role] for d in days])
        raised_mean = _stats([d.raised[role] for d in days])[0]
        lines.append(
            f"| {role} | {days[0].created[role] if days else 0} | {created_mean:.1f} | {created_max} | "
            f"{handed_mean:.1f} | {handed_max} | {raised_mean:.1f} |"
        )
    if days:
        lines.append(f"\nOpen tasks after the last morning: {days[-1].open_tasks}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the alert load tables (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30, help="calendar days to step through")
    parser.add_argument("--pack", default="dental-core")
    parser.add_argument("--no-ledger", action="store_true", help="skip the ledger replay")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    pack = load_pack(args.pack)
    first_snapshot = demo_snapshot(args.seed, args.patients, DEFAULT_AS_OF)
    mornings = open_mornings(DEFAULT_AS_OF, args.days, first_snapshot)
    days = [day_load(pack, args.seed, args.patients, morning) for morning in mornings]
    first = days[0]
    print(f"## {args.pack} on the demo practice (seed {args.seed}, {args.patients} patients)\n")
    print(f"{len(days)} open mornings from {mornings[0]:%a %Y-%m-%d %H:%M} to {mornings[-1]:%a %Y-%m-%d}.\n")
    print("### Findings by owner role\n")
    print(load_table(first, days))
    print("\n### Findings by rule\n")
    print(rule_table(pack, first, days))
    if not args.no_ledger:
        print("\n### Ledger replay of day one's practice (nobody works the queue, no new PMS events)\n")
        print(ledger_table(ledger_replay(pack, first_snapshot, mornings)))
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

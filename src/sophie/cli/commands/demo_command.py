"""``sophie demo``: the whole loop on a synthetic practice, so a new user sees sophie move."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import click
from rich.table import Table

from sophie.adapters import DemoAdapter
from sophie.adapters.demo.ground_truth import GroundTruth, check_plants
from sophie.cli.options import FORMAT_OPTION, AwareDateTime
from sophie.cli.render import cell, console, print_json, print_summary
from sophie.execution.settings import DEFAULT_SETTINGS
from sophie.execution.simulation.loop import DayReport, SimulationReport, simulate
from sophie.rules import evaluate, load_pack

__all__ = ["SIMULATION_PATIENT_LIMIT", "demo_command"]

SIMULATION_PATIENT_LIMIT = 100_000
"""Above this many patients ``sophie demo`` summarises the practice but does not simulate it."""

_KINDS = ("created", "escalated", "resolved", "reopened", "expired")
NEW_PER_DAY_TARGET = 40
"""New tasks a role can take in a business day (the budget of docs/alert-load.md)."""
DRAIN_TARGET = 10
"""Business days within which the first morning's backlog should drain."""


def _mark(ok: bool) -> str:
    return "ok" if ok else "over"


def _targets_table(report: SimulationReport) -> Table:
    """The targets per role, computed from the simulation's ledger (see ``sophie.execution.simulation.targets``)."""
    targets = report.targets
    roles = targets.as_dict()["roles"]
    table = Table(title="A day a team can work: the targets, per role", title_justify="left")
    columns = ("role", "day one", "new a day: mean", "max", f"≤ {NEW_PER_DAY_TARGET}", "day-one backlog",
               "drained by day", f"≤ {DRAIN_TARGET}")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "role" else "right")
    assert isinstance(roles, dict)
    for role, row in roles.items():
        assert isinstance(row, dict)
        backlog, drained = int(row["day_one_backlog"]), row["backlog_drained_by_day"]
        drain = "—" if not backlog else (str(drained) if drained is not None else f"> {len(targets.days)}")
        drain_ok = not backlog or (isinstance(drained, int) and drained <= DRAIN_TARGET)
        table.add_row(
            cell(role), str(row["day_one"]), str(row["new_per_day_mean"]), str(row["new_per_day_max"]),
            _mark(int(row["new_per_day_max"]) <= NEW_PER_DAY_TARGET), str(backlog), drain, _mark(drain_ok),
        )  # fmt: skip
    return table


def _targets_line(report: SimulationReport) -> str:
    targets = report.targets
    return (
        f"Most urgent tasks in one person's day: {targets.urgent_max}; duplicate pairs (same patient, role and "
        f"rule group, open together): {len(targets.duplicate_pairs)}; tasks for $0: {len(targets.zero_money)}; "
        f"tasks born overdue: {len(targets.born_overdue)}; tasks carried on into their stall's next stage "
        f"instead of a new task: {targets.stage_moves}."
    )


def _day_table(report: SimulationReport) -> Table:
    table = Table(title="Two weeks of sophie, day by day", title_justify="left")
    for column in ("day", "findings", *_KINDS, "open at midday"):
        table.add_column(column, justify="left" if column == "day" else "right")
    for day in report.days:
        totals = day.totals()
        table.add_row(
            f"{day.day:%a %b %d}", str(day.findings), *(str(totals.get(k, 0)) for k in _KINDS), str(day.open_tasks)
        )
    return table


def _role_table(report: SimulationReport) -> Table:
    per_role: dict[str, Counter[str]] = {}
    for day in report.days:
        for role, counts in day.changes.items():
            per_role.setdefault(role, Counter()).update(counts)
    table = Table(title="Per role, over the whole simulation", title_justify="left")
    for column in ("role", *_KINDS, "per business day"):
        table.add_column(column, justify="left" if column == "role" else "right")
    business_days = max(1, len(report.days))
    for role, counts in sorted(per_role.items()):
        table.add_row(
            cell(role), *(str(counts.get(k, 0)) for k in _KINDS), f"{counts.get('created', 0) / business_days:.1f}"
        )
    return table


def _queue_table(report: SimulationReport, limit: int) -> Table:
    table = Table(title=f"The queue at the end ({len(report.queue)} open; first {limit})", title_justify="left")
    for column in ("task", "priority", "role", "owner", "escalated", "title"):
        table.add_column(column)
    for task in report.queue[:limit]:
        table.add_row(
            *map(cell, (task.id, task.priority, task.owner_role, task.owner_id, task.escalation_level, task.title))
        )
    return table


@click.command("demo")
@click.option(
    "--patients", type=click.IntRange(min=200), default=2000, show_default=True, help="Size of the synthetic practice."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same practice, same story.")
@click.option(
    "--days",
    type=click.IntRange(min=0, max=60),
    default=None,
    help=f"Calendar days to run sophie over [default: 14; 0 above {SIMULATION_PATIENT_LIMIT:,} patients].",
)
@click.option(
    "--db",
    default=":memory:",
    show_default=True,
    metavar="URL",
    help="Keep the ledger (sqlite:///PATH) to explore it afterwards with `sophie queue`.",
)
@click.option("--now", type=AwareDateTime(), help="Read the practice at this time (default: a fixed Monday morning).")
@click.option(
    "--queue",
    "queue_limit",
    type=click.IntRange(min=0),
    default=15,
    show_default=True,
    help="How many tasks of the final queue to show.",
)
@click.option(
    "--closing",
    is_flag=True,
    help="Simulated staff close everything in their day (how the targets are measured) instead of the seeded "
    "mix of working, snoozing and ignoring tasks; the targets are then read from this run, not from a second one.",
)
@FORMAT_OPTION
def demo_command(
    patients: int,
    seed: int,
    days: int | None,
    db: str,
    now: datetime | None,
    queue_limit: int,
    closing: bool,
    output_format: str,
) -> None:
    """Run sophie on a synthetic practice: summarise it, then simulate two weeks.

    The practice is deterministic for a seed, with stalls of every kind planted in
    it. Each simulated business day sophie evaluates the default pack twice,
    creates and escalates tasks, and simulated staff work some of them (in the PMS,
    so tasks resolve by themselves) and leave others (so they escalate); with
    --closing they close everything in their day, as a team working its queue does.
    The day-a-team-can-work targets at the end are always those of a run where
    everyone closes their day (without --closing, the same weeks are run again).
    Practices above 100,000 patients are summarised as a stream and not simulated.
    """
    practice = DemoAdapter(seed=seed, patients=patients, as_of=now).practice()
    summary = practice.summary(max_openings=10)
    if days is None:
        days = 14 if patients <= SIMULATION_PATIENT_LIMIT else 0
    elif days and patients > SIMULATION_PATIENT_LIMIT:
        raise click.UsageError(f"--days needs at most {SIMULATION_PATIENT_LIMIT:,} patients (use --days 0)")
    out = console()
    if output_format == "table":
        print_summary(summary, now=summary.as_of)
    report = measured = None
    if days:
        start = summary.as_of.astimezone(summary.as_of.tzinfo).date()
        with out.status("simulating…", spinner="dots") as status:

            def progress(day: DayReport) -> None:
                status.update(f"simulating {day.day:%a %b %d}: {day.open_tasks} open tasks")

            report = simulate(
                days=days, patients=patients, seed=seed, db=db, start=start, on_day=progress, closing=closing
            )
            measured = report
            if not closing:  # the targets are measured with everyone closing their day: the same weeks again

                def measuring(day: DayReport) -> None:
                    status.update(f"measuring the targets, everyone closing their day: {day.day:%a %b %d}")

                measured = simulate(
                    days=days, patients=patients, seed=seed, start=start, on_day=measuring, closing=True
                )
    truth = None
    if days:  # the plants are the default pack's ground truth on the first morning
        snapshot = practice.snapshot()
        findings = evaluate([load_pack("dental-core")], snapshot, snapshot.as_of, evidence=False).findings
        truth = check_plants(practice.plants(), ((f.rule_id, f.subject_id) for f in findings))
    if output_format == "json":
        print_json(
            {
                "practice": summary.as_dict(),
                "simulation": None if report is None else report.as_dict(),
                "targets": None if measured is None else measured.targets.as_dict(),
                "ground_truth": None if truth is None else _truth_dict(truth),
            }
        )
        return
    if report is None:
        return
    out.print(_day_table(report))
    out.print(_role_table(report))
    out.print(_queue_table(report, queue_limit))
    totals = report.totals()
    days_run = f"{len(report.days)} business day" + ("" if len(report.days) == 1 else "s")
    out.print(
        f"In {days_run} sophie created {totals.get('created', 0)} tasks, "
        f"escalated {totals.get('escalated', 0)}, closed {totals.get('resolved', 0)} by itself when the PMS "
        f"showed the work done, and reopened {totals.get('reopened', 0)} marked done too early."
    )
    _print_load(report)
    assert measured is not None
    if not closing:
        out.print(
            "Here the simulated staff leave some tasks undone on purpose (ignored, snoozed, blocked) so escalation "
            "shows. The targets below are measured as docs/alert-load.md measures them: the same weeks run again "
            "with everyone closing what is in their day (`sophie demo --closing` shows that run whole)."
        )
    out.print(_targets_table(measured))
    out.print(_targets_line(measured))
    assert truth is not None
    out.print(cell(truth.summary()))
    for line in (*truth.missed, *truth.fired)[:10]:
        out.print(f"  {cell(line)}")
    if db != ":memory:":
        out.print(f"The ledger is in {cell(db)}: try `sophie queue --db {cell(db)}`.")
    out.print(
        "See it as the practice's staff do: `sophie serve --demo`, then open http://127.0.0.1:8765/ "
        "(it prints the demo accounts; every one's password is sophie-demo). Needs `pip install 'sophie\\[web]'`."
    )


def _truth_dict(truth: GroundTruth) -> dict[str, object]:
    return {
        "stalls": truth.stalls,
        "near_misses": truth.near_misses,
        "missed": list(truth.missed),
        "near_misses_fired": list(truth.fired),
    }


def _print_load(report: SimulationReport) -> None:
    """Print what a person's day held over the simulation (the capacity targets)."""
    load = report.load()
    drained = load["drain_days"]
    per_role = load["new_per_day"]
    assert isinstance(per_role, dict)
    busiest = max(per_role.items(), key=lambda item: item[1]["mean"], default=None)
    out = console()
    out.print(
        f"A person's day held at most {load['day_max']} tasks (capacity {DEFAULT_SETTINGS.capacity}; "
        f"urgent ones apart, at most {load['urgent_max']}). The first morning put {load['day_one_backlog']} "
        "tasks in backlogs; "
        + (f"they were all released by business day {drained}." if drained else "not all were released yet.")
    )
    if busiest is not None:
        role, numbers = busiest
        out.print(
            f"New tasks a business day, busiest role: {cell(role)}, {numbers['mean']} on average, "
            f"{numbers['max']} at most."
        )

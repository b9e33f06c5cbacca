"""Commands of the execution loop: ``sophie run``, ``sophie queue`` and ``sophie task ...``.

Everything that can fail on bad input (flags, the ``--db`` URL, packs, parameters, the
snapshot, the evaluation) is done before the ledger is opened, so a bad run exits 2
with one line on stderr and leaves the ledger file byte for byte as it was.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich import box
from rich.table import Table

from sophie.adapters.files import collector_paused
from sophie.cli.config_options import CONFIG_OPTION, command_config, ledger_url, practice_from, site_path
from sophie.cli.options import DB_OPTION, FORMAT_OPTION, NOW_OPTION, AwareDateTime, moment_of, now_or
from sophie.cli.ownership_options import ownership_options
from sophie.cli.render import cell, console, echo, print_json
from sophie.errors import ConfigurationError, UnknownNameError
from sophie.execution import (
    Action,
    CycleResult,
    StoredLedger,
    Task,
    apply_evaluation,
    is_postgres_url,
    open_existing_ledger,
    open_ledger,
    rules_by_id,
    sqlite_path,
)
from sophie.execution.practice_setup import DEFAULT_PACKS, load_packs, practice_setup
from sophie.execution.task_text import evidence_lines

if TYPE_CHECKING:
    from sophie.config import SophieConfig
    from sophie.model import Snapshot

__all__ = [
    "DEFAULT_PACKS",
    "load_packs",
    "queue_command",
    "record_directory",
    "run_command",
    "task_group",
]


def _known_staff(db_url: str, config: SophieConfig | None) -> dict[str, str]:
    """Return the practice's staff names by id, as the last ``sophie run`` recorded them (empty if none)."""
    from sophie.web.site_store import SiteStore

    site = site_path(db_url, config)
    if site == ":memory:" or not Path(site).is_file():
        return {}
    with SiteStore(site) as store:
        return {staff_id: entry.name for staff_id, entry in store.staff().items()}


def _check_staff(staff_id: str | None, db_url: str, config: SophieConfig | None) -> None:
    """Refuse a ``--by`` staff id the practice's directory does not know (exit 2, with a did-you-mean)."""
    if staff_id is None:
        return
    known = _known_staff(db_url, config)
    if not known or staff_id in known:
        return
    close = difflib.get_close_matches(staff_id, list(known), n=1)
    hint = f"; did you mean {close[0]} ({known[close[0]]})?" if close else f"; known: {', '.join(sorted(known)[:8])}"
    raise click.BadParameter(f"no staff member {staff_id!r} in the practice's directory{hint}", param_hint="--by")


def _existing_ledger(db_url: str) -> StoredLedger:
    return open_existing_ledger(db_url)


PRACTICE_OPTION = click.option(
    "--practice", "practice_id", metavar="ID", help="The practice the task belongs to (a group's ledger)."
)
_NAMED = 12


def _practices(known: Sequence[str]) -> str:
    shown = ", ".join(known[:_NAMED])
    return shown + (f" and {len(known) - _NAMED} more" if len(known) > _NAMED else "")


def _chosen_practice(ledger: StoredLedger, practice_id: str | None, *, required: bool) -> str | None:
    """Return the practice ``--practice`` names, checked against the ledger's.

    Raises:
        UnknownNameError: ``--practice`` names a practice the ledger does not hold (exit 2).
        ConfigurationError: ``required`` and the ledger holds several practices but none
            was named (exit 2, naming them).
    """
    known = ledger.practice_ids()
    if practice_id is not None:
        if known and practice_id not in known:
            close = difflib.get_close_matches(practice_id, known, n=1)
            hint = close[0] if close else None
            raise UnknownNameError("practice", practice_id, known=known[:_NAMED], suggestion=hint)
        return practice_id
    if required and len(known) > 1:
        raise ConfigurationError(
            f"this ledger holds {len(known)} practices ({_practices(known)}); choose one with --practice ID"
        )
    return None


def _in_practice(ledger: StoredLedger, task_id: str, practice_id: str | None) -> str:
    """Return the task's full id (looked up among ``--practice``'s tasks when given).

    Raises:
        UnknownNameError: No task, or more than one, matches; when the ledger holds several
            practices and none was named, the message names them (exit 2).
    """
    chosen = _chosen_practice(ledger, practice_id, required=False)
    try:
        return ledger.get(task_id, practice_id=chosen).id
    except UnknownNameError:
        known = ledger.practice_ids() if chosen is None else []
        if len(known) > 1:
            raise ConfigurationError(
                f"no single task matches {task_id!r} in this ledger of {len(known)} practices "
                f"({_practices(known)}); give the whole id, or --practice ID"
            ) from None
        raise


def record_directory(db_url: str, snapshot: Snapshot, config: SophieConfig | None) -> None:
    """Keep the staff pages' directory (names, roles, today's huddle) as the PMS shows it now.

    It goes to the site store :func:`~sophie.cli.config_options.site_path` names: beside a
    SQLite ledger, or ``server.site_db`` / ``sophie.site.db`` for a PostgreSQL one.
    """
    site = site_path(db_url, config)
    if site == ":memory:":
        return
    with open_ledger(db_url) as ledger:
        write_directory(site, ledger, snapshot)


def write_directory(site: str, ledger: StoredLedger, snapshot: Snapshot) -> None:
    """Record the snapshot's directory in the site store at ``site``, with the names of its open tasks' patients."""
    from sophie.web.directory import record_directory as record
    from sophie.web.site_store import SiteStore

    patients = [task.patient_id for task in ledger.open_tasks(snapshot.practice.id)]
    with SiteStore(site) as store:
        record(store, snapshot, patients)


def _local(value: datetime | None, tz: str) -> str:
    return "" if value is None else f"{value.astimezone(ZoneInfo(tz)):%a %m-%d %H:%M}"


def _task_table(
    title: str,
    tasks: Sequence[Task],
    *,
    change: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    shorten: bool = False,
) -> Table:
    table = Table(title=cell(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    rows = []
    for task in tasks:
        status = str(task.status) + (f" L{task.escalation_level}" if task.escalation_level else "")
        owner = (names or {}).get(task.owner_id or "", task.owner_id or "nobody")
        rows.append([task.id, str(task.priority), _local(task.due_at, task.timezone), owner,
                     task.owner_role or "", status, task.title])  # fmt: skip
    headers = ["change"] if change is not None else []
    headers += ["task", "priority", "due", "owner", "role", "status"]
    cells = [[change[n], *row] if change is not None else row for n, row in enumerate(rows)]
    used = 0
    for number, column in enumerate(headers):
        used += max([len(column)] + [len(row[number]) for row in cells]) + 3  # padding and the separator
        table.add_column(column, no_wrap=True)
    room = max(20, console().width - used - 2)  # the title gives way, ending with an ellipsis
    table.add_column("title", no_wrap=shorten, min_width=20)
    for row in cells:
        title = row[-1] if len(row[-1]) <= room or not shorten else row[-1][: room - 1] + "…"
        table.add_row(*(cell(value) for value in row[:-1]), cell(title))
    return table


def _tasks(count: int) -> str:
    return f"{count} open task" + ("" if count == 1 else "s")


def _print_cycle(result: CycleResult) -> None:
    out = console()
    counts = {kind: n for kind, n in result.counts().items() if n}
    listed = result.listed_changes
    found = f"{result.findings} finding" + ("" if result.findings == 1 else "s")
    head = f"{cell(result.practice_id)} at {result.now:%Y-%m-%d %H:%M %Z}: {found}"
    if not result.complete:
        head += f", {result.errors} rule errors (nothing unseen was resolved)"
    if not listed:
        out.print(f"{head}; no changes; {_tasks(result.open_tasks)}")
        return
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    backlogged = result.summary()["backlogged"]
    if backlogged:
        summary += f" ({backlogged} into a backlog: beyond the owner's capacity)"
    out.print(f"{head}; {summary}; {_tasks(result.open_tasks)}")
    out.print(_task_table("Changes", [c.task for c in listed], change=[str(c.kind) for c in listed]))


@click.command("run")
@CONFIG_OPTION
@click.option("--practice", "practice_id", metavar="ID", help="Run only this practice of a group's file.")
@click.option("--adapter", default=None, help="Where the snapshot comes from (demo, files, or a plugin's).")
@click.option("--source", help="The adapter's source, e.g. the snapshot file for --adapter files.")
@click.option(
    "--pack",
    "pack_refs",
    multiple=True,
    metavar="PACK",
    help="A rule pack by name or path; repeat for several (default: dental-core, else example).",
)
@click.option("--param", "param_pairs", multiple=True, metavar="K=V", help="Override a pack parameter.")
@ownership_options
@DB_OPTION
@NOW_OPTION
@FORMAT_OPTION
def run_command(
    config_path: str | None,
    practice_id: str | None,
    adapter: str | None,
    source: str | None,
    pack_refs: tuple[str, ...],
    param_pairs: tuple[str, ...],
    owner_strategy: str,
    fixed_owner: tuple[str, ...],
    cover: tuple[str, ...],
    reopen_grace: str,
    capacity: int,
    db_url: str,
    now: datetime | None,
    output_format: str,
) -> None:
    """Run one cycle: read the practice, evaluate the packs, reconcile tasks, print the changes.

    Running it again on the same data changes nothing; moving --now forward escalates what
    is overdue; data in which a stall has cleared resolves its task.
    """
    from sophie.plugins.manager import Plugins
    from sophie.rules import evaluate, parse_param_overrides

    config = command_config(config_path)
    db_url = ledger_url(db_url, config)
    if not is_postgres_url(db_url):
        sqlite_path(db_url)  # a bad --db fails before any work
    ids = [practice_id] if config is None or practice_id is not None else [p.id for p in config.practices]
    plugins = Plugins()
    for one in ids:
        practice = practice_from(
            config, one, adapter=adapter, source=source, pack_refs=pack_refs, owner_strategy=owner_strategy,
            fixed_owner=fixed_owner, cover=cover, reopen_grace=reopen_grace, capacity=capacity,
        )  # fmt: skip
        setup = practice_setup(practice, plugins=plugins)
        params = {**setup.params, **parse_param_overrides(setup.packs, param_pairs)}
        with collector_paused():  # what a cycle builds lives until it ends: the collector would only rescan it
            snapshot = setup.fetch(now)
            when = moment_of(snapshot, setup.adapter, now)
            evaluation = evaluate(setup.packs, snapshot, when, params, max_findings=setup.settings.max_findings)
            versions = {pack.name: pack.version for pack in setup.packs}
            with open_ledger(db_url) as ledger:
                result = apply_evaluation(
                    ledger, snapshot, evaluation, rules=rules_by_id(setup.packs), now=when, settings=setup.settings,
                    packs=versions, plugins=plugins,
                )  # fmt: skip (observers run after the commit; their errors are logged as warnings)
            record_directory(db_url, snapshot, config)
            if output_format == "json":
                print_json(result.as_dict())
            else:
                _print_cycle(result)


def _due_filter(tasks: list[Task], overdue: bool, today: bool, now: datetime) -> list[Task]:
    if overdue:
        tasks = [task for task in tasks if task.due_at is not None and task.due_at < now]
    if today:

        def day(moment: datetime, task: Task) -> date:
            return moment.astimezone(ZoneInfo(task.timezone)).date()

        tasks = [task for task in tasks if task.due_at is not None and day(task.due_at, task) <= day(now, task)]
    return tasks


@click.command("queue")
@click.option("--role", help="Only tasks routed to this role.")
@click.option("--staff", "staff_id", metavar="ID", help="Only tasks owned by this staff member.")
@click.option(
    "--practice", "practice_id", metavar="ID", help="This practice's tasks (needed when the ledger holds several)."
)
@click.option("--overdue", is_flag=True, help="Only tasks past their due time.")
@click.option("--today", is_flag=True, help="Only tasks due by the end of today (practice-local), overdue included.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N tasks (and say how many more).")
@CONFIG_OPTION
@DB_OPTION
@NOW_OPTION
@FORMAT_OPTION
def queue_command(
    role: str | None,
    staff_id: str | None,
    practice_id: str | None,
    config_path: str | None,
    db_url: str,
    overdue: bool,
    today: bool,
    limit: int | None,
    now: datetime | None,
    output_format: str,
) -> None:
    """Show the tasks in people's day, most urgent first, then earliest due, and how many wait in the backlog.

    A person's day holds their capacity; the backlog is released into it as they close tasks
    and each business morning (``sophie task ack`` takes a backlog task into the day at once).
    """
    config = command_config(config_path)
    db_url = ledger_url(db_url, config)
    if role and staff_id:
        raise click.UsageError("give --role or --staff, not both")
    with _existing_ledger(db_url) as ledger:
        practice_id = _chosen_practice(ledger, practice_id, required=True)
        listed = ledger.queue(role=role, staff_id=staff_id, practice_id=practice_id)
        tasks = _due_filter(listed, overdue, today, now_or(now))
        waiting = ledger.queue(role=role, staff_id=staff_id, practice_id=practice_id, backlog=True)
    matching = len(tasks)
    if limit is not None:
        tasks = tasks[:limit]
    if output_format == "json":
        by_owner = Counter(task.owner_id or "unassigned" for task in waiting)
        print_json(
            {
                "tasks": [task.as_dict() for task in tasks],
                "count": len(tasks),
                "more": matching - len(tasks),
                "backlog": {"count": len(waiting), "by_owner": dict(sorted(by_owner.items()))},
            }
        )
        return
    who = f"role {role}" if role else f"staff {staff_id}" if staff_id else "everyone"
    if practice_id:
        who += f" in practice {practice_id}"
    which = " overdue" if overdue else " due today" if today else ""
    if not tasks:
        console().print(cell(f"No open{which} tasks for {who}."))
    else:
        names = _known_staff(db_url, config)
        console().print(_task_table(f"Queue for {who}: {matching} open{which}", tasks, names=names, shorten=True))
    if matching > len(tasks):
        console().print(f"{matching - len(tasks)} more not shown (--limit {limit}).")
    if waiting:
        console().print(f"Backlog: {len(waiting)} more waiting, released as room frees in the day.")


@click.group("task")
def task_group() -> None:
    """Act on one task: ack, done, snooze, block, reopen; or show it with its audit trail."""


_UNTIL = click.option("--until", type=AwareDateTime(), help="Until this time (default one business day for snooze).")
_REASON = click.option("--reason", help="Why the task is blocked (kept in the ledger, never logged).")
_OPTIONS_OF = {Action.SNOOZE: (_UNTIL,), Action.BLOCK: (_UNTIL, _REASON)}


def _action_command(action: Action, summary: str) -> click.Command:
    @click.argument("task_id")
    @click.option("--by", "staff_id", metavar="STAFF_ID", help="Who acts (audited as staff:<id>; default cli).")
    @PRACTICE_OPTION
    @CONFIG_OPTION
    @DB_OPTION
    @NOW_OPTION
    @FORMAT_OPTION
    def command(
        task_id: str,
        staff_id: str | None,
        practice_id: str | None,
        config_path: str | None,
        db_url: str,
        now: datetime | None,
        output_format: str,
        until: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        actor = f"staff:{staff_id}" if staff_id else "cli"
        config = command_config(config_path)
        db_url = ledger_url(db_url, config)
        _check_staff(staff_id, db_url, config)
        with _existing_ledger(db_url) as ledger:
            task_id = _in_practice(ledger, task_id, practice_id)
            result = ledger.transition(task_id, action, actor=actor, now=now_or(now), until=until, reason=reason)
        task = result.task
        if output_format == "json":
            print_json({"event": result.event, "task": task.as_detail()})
        else:
            why = "" if result.why == result.event else f" ({result.why})"
            echo(f"task {task.id} {result.event}: {result.previous.status} -> {task.status}{why}")

    for option in reversed(_OPTIONS_OF.get(action, ())):
        command = option(command)
    command.__doc__ = summary
    return task_group.command(str(action))(command)


_action_command(Action.ACK, "Acknowledge a task: you have it.")
_action_command(Action.DONE, "Mark a task done (it reopens if the PMS still shows the stall after the grace period).")
_action_command(Action.SNOOZE, "Hide a task until --until (default one business day); its due clock keeps running.")
_action_command(Action.BLOCK, "Block a task on someone outside the practice; its due clock pauses.")
_action_command(Action.REOPEN, "Reopen a task (done, resolved, expired, snoozed or blocked).")


@task_group.command("show")
@click.argument("task_id")
@PRACTICE_OPTION
@CONFIG_OPTION
@DB_OPTION
@FORMAT_OPTION
def show_command(
    task_id: str, practice_id: str | None, config_path: str | None, db_url: str, output_format: str
) -> None:
    """Show one task and its audit trail."""
    db_url = ledger_url(db_url, command_config(config_path))
    with _existing_ledger(db_url) as ledger:
        task = ledger.get(_in_practice(ledger, task_id, practice_id))
        events = ledger.audit(task.id)
    if output_format == "json":
        print_json({"task": task.as_detail(), "audit": [event.as_dict() for event in events]})
        return
    out = console()
    out.print(f"[bold]{cell(task.id)}[/bold] {cell(task.title)}")
    out.print(cell(f"  subject: {task.subject_type} {task.subject_id}"))
    for name, value in task.as_detail().items():
        if name == "members" and isinstance(value, list):
            ids = [str(member.get("id")) for member in value if isinstance(member, dict)]
            more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
            value = f"{len(ids)}: {', '.join(ids[:10])}{more}" if ids else None
        if name not in ("id", "title", "subject", "evidence") and value not in (None, "", 0, 0.0):
            out.print(cell(f"  {name}: {value}"))
    lines = evidence_lines(task)
    if lines:
        out.print("Why it exists:")
        for line in lines:
            out.print(cell(f"  {line.label}: {line.value}"))
    trail = Table(title="Audit trail", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("at", "actor", "event", "status"):
        trail.add_column(column, no_wrap=True)
    trail.add_column("why", min_width=20)
    for event in events:
        status = f"{event.from_status or ''} -> {event.to_status}"
        trail.add_row(_local(event.at, task.timezone), cell(event.actor), event.kind, status, cell(event.why))
    out.print(trail)


@task_group.command("note")
@click.argument("task_id")
@click.option("--text", required=True, help="The note (kept in the task's audit trail, never logged).")
@click.option("--by", "staff_id", metavar="STAFF_ID", help="Who writes it (audited as staff:<id>; default cli).")
@PRACTICE_OPTION
@CONFIG_OPTION
@DB_OPTION
@NOW_OPTION
def note_command(
    task_id: str,
    text: str,
    staff_id: str | None,
    practice_id: str | None,
    config_path: str | None,
    db_url: str,
    now: datetime | None,
) -> None:
    """Add a note to a task; its status and clocks do not change."""
    config = command_config(config_path)
    db_url = ledger_url(db_url, config)
    _check_staff(staff_id, db_url, config)
    with _existing_ledger(db_url) as ledger:
        task_id = _in_practice(ledger, task_id, practice_id)
        result = ledger.transition(
            task_id, Action.NOTE, actor=f"staff:{staff_id}" if staff_id else "cli", now=now_or(now), reason=text
        )
    echo(f"task {result.task.id} noted")

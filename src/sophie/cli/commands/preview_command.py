"""``sophie preview``: what packs would hand each role and person, before going live (writes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from sophie.cli.options import FORMAT_OPTION, NOW_OPTION
from sophie.cli.render import console, print_json
from sophie.execution.preview import Load, Preview, preview
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings

if TYPE_CHECKING:
    from sophie.model import Snapshot

__all__ = ["preview_command"]


def _table(title: str, loads: dict[str, Load], capacity: dict[str, int] | None) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ["", "findings", "day one", "urgent", "backlog", "days to drain", "new/day mean", "new/day max",
               "top rules"]  # fmt: skip
    if capacity is not None:
        columns.insert(1, "capacity")
    for column in columns:
        table.add_column(column, justify="left" if column in ("", "top rules") else "right")
    for name, load in loads.items():
        data = load.as_dict()
        new = data["new_per_day"]
        assert isinstance(new, dict)
        rules = ", ".join(f"{rule} ({count})" for rule, count in load.top_rules[:2])
        drain = "—" if load.drain_days is None else str(load.drain_days)
        row = [escape(name), str(load.findings), str(load.day), str(load.urgent), str(load.backlog), drain,
               str(new["mean"]), str(new["max"]), escape(rules)]  # fmt: skip
        if capacity is not None:
            row.insert(1, str(capacity.get(name, "")))
        table.add_row(*row)
    return table


def _print(result: Preview) -> None:
    out = console()
    out.print(
        f"Preview of {escape(result.practice_id)} at {result.now:%Y-%m-%d %H:%M %Z}; new tasks a business day "
        f"measured over {len(result.mornings)} business mornings. Nothing was written."
    )
    out.print(_table("Per role", dict(result.roles), None))
    out.print(_table("Per person", dict(result.people), dict(result.capacity)))


@click.command("preview")
@click.option("--adapter", required=True, help="Where the snapshot comes from (demo, files, or a plugin's).")
@click.option("--source", help="The adapter's source, e.g. the snapshot file for --adapter files.")
@click.option("--pack", "pack_refs", multiple=True, metavar="PACK",
              help="A rule pack by name or path; repeat for several (default: dental-core, else example).")
@click.option("--param", "param_pairs", multiple=True, metavar="K=V", help="Override a pack parameter.")
@click.option("--days", type=click.IntRange(1, 60), default=10, show_default=True,
              help="Business mornings to measure new tasks a day over.")
@click.option("--capacity", type=click.IntRange(0, 10_000), default=DEFAULT_SETTINGS.capacity, show_default=True,
              metavar="N", help="Tasks a business day a person can act on, unless their staff record says.")
@NOW_OPTION
@FORMAT_OPTION
def preview_command(
    adapter: str,
    source: str | None,
    pack_refs: tuple[str, ...],
    param_pairs: tuple[str, ...],
    days: int,
    capacity: int,
    now: datetime | None,
    output_format: str,
) -> None:
    """Show what the packs would hand each role and person, without touching any ledger.

    Per role and per person: day-one findings, what capacity puts in day one and in the
    backlog, business days to drain the backlog at capacity, new tasks to expect a business
    day (the last --days business mornings) and the rules that contribute most.
    """
    from sophie.cli.commands.execution_commands import load_packs
    from sophie.cli.options import read_practice
    from sophie.plugins.manager import Plugins
    from sophie.rules import parse_param_overrides

    plugins = Plugins()
    packs = load_packs(pack_refs, plugins)
    params = parse_param_overrides(packs, param_pairs)
    snapshot, when = read_practice(adapter, source, now, plugins)
    read_at: Callable[[datetime], Snapshot] | None = None
    if adapter == "demo" and source is None:  # the demo can read the practice as it was each morning
        from sophie.adapters import DemoAdapter

        def read_at(moment: datetime) -> Snapshot:
            return DemoAdapter(as_of=moment).fetch()

    settings = ExecutionSettings(capacity=capacity)
    result = preview(snapshot, packs, when, params=params, settings=settings, days=days, read_at=read_at)
    if output_format == "json":
        print_json(result.as_dict())
    else:
        _print(result)

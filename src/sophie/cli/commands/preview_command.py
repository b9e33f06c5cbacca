"""``sophie preview``: what packs would hand each role and person, before going live (writes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from sophie.cli.config_options import CONFIG_OPTION, PRACTICE_OPTION
from sophie.cli.options import FORMAT_OPTION, NOW_OPTION
from sophie.cli.render import console, print_json
from sophie.execution.preview import Load, Preview, preview
from sophie.execution.settings import DEFAULT_SETTINGS

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
@CONFIG_OPTION
@PRACTICE_OPTION
@click.option("--adapter", default=None, help="Where the snapshot comes from (demo, files, or a plugin's).")
@click.option("--source", help="The adapter's source, e.g. the snapshot file for --adapter files.")
@click.option("--pack", "pack_refs", multiple=True, metavar="PACK",
              help="A rule pack by name or path; repeat for several (default: dental-core, else example).")
@click.option("--param", "param_pairs", multiple=True, metavar="K=V", help="Override a pack parameter.")
@click.option("--days", type=click.IntRange(1, 60), default=10, show_default=True,
              help="Business mornings to measure new tasks a day over.")
@click.option("--capacity", type=click.IntRange(0, 10_000), default=DEFAULT_SETTINGS.capacity, show_default=True,
              metavar="N", help="Tasks a business day a person can act on, unless their staff record says "
              "(default: the configuration's, else this).")
@NOW_OPTION
@FORMAT_OPTION
def preview_command(
    config_path: str | None,
    practice_id: str | None,
    adapter: str | None,
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
    day (the last --days business mornings) and the rules that contribute most. The practice,
    its packs, parameters and capacity come from sophie.toml (or --config) when there is
    one, as for `sophie run`; the flags override them.
    """
    from sophie.cli.config_options import command_config, practice_from
    from sophie.cli.options import moment_of
    from sophie.execution.practice_setup import practice_setup
    from sophie.plugins.manager import Plugins
    from sophie.rules import parse_param_overrides

    config = command_config(config_path)
    practice = practice_from(
        config, practice_id, adapter=adapter, source=source, pack_refs=pack_refs, owner_strategy="",
        fixed_owner=(), cover=(), reopen_grace="", capacity=capacity,
    )  # fmt: skip
    setup = practice_setup(practice, plugins=Plugins())
    params = {**setup.params, **parse_param_overrides(setup.packs, param_pairs)}
    snapshot = setup.fetch(now)
    when = moment_of(snapshot, setup.adapter, now)
    # the demo can read the practice as it was each morning; other adapters read today's data once
    read_at: Callable[[datetime], Snapshot] | None = setup.fetch if setup.adapter == "demo" else None
    result = preview(snapshot, setup.packs, when, params=params, settings=setup.settings, days=days, read_at=read_at)
    if output_format == "json":
        print_json(result.as_dict())
    else:
        _print(result)

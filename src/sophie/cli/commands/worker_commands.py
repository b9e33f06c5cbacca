"""``sophie worker``: run a group's practices from its configuration on a PostgreSQL ledger; ``status``."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click
from rich.table import Table

from sophie.cli.commands.execution_commands import write_directory
from sophie.cli.config_options import CONFIG_OPTION, command_config, site_path
from sophie.cli.options import FORMAT_OPTION
from sophie.cli.render import console, print_json
from sophie.config import SophieConfig
from sophie.errors import ConfigurationError
from sophie.execution import StoredLedger, is_postgres_url

if TYPE_CHECKING:
    from sophie.config.models import PracticeConfig
    from sophie.model import Snapshot

__all__ = ["worker_group"]

EVERY_OPTION = click.option(
    "--every", type=click.IntRange(1, 1440), default=5, show_default=True, metavar="MINUTES",
    help="Run each practice's cycle this often during its business hours.",
)  # fmt: skip


def _group(config_path: str | None) -> tuple[SophieConfig, str]:
    config = command_config(config_path)
    if config is None:
        raise ConfigurationError("sophie worker needs a configuration file: --config FILE (or ./sophie.toml)")
    url = config.ledger.resolved_url()
    if not is_postgres_url(url):
        raise ConfigurationError("sophie worker runs a group on a postgresql:// ledger; [ledger] url names another")
    if not config.practices or any(practice.id is None for practice in config.practices):
        raise ConfigurationError("sophie worker runs the [[practices]] of a group, each with an id")
    return config, url


@click.group("worker", invoke_without_command=True)
@CONFIG_OPTION
@EVERY_OPTION
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Cycles run at once.")
@click.pass_context
def worker_group(ctx: click.Context, config_path: str | None, every: int, concurrency: int) -> None:
    """Run the group's cycles (any number of workers, on any machines, share them); stop with SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        from sophie.execution.group.jobs import QUEUE, group_app, install_job_schema, prepare_worker_process
        from sophie.execution.stores.postgres.ledger import PostgresLedger
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(f"sophie worker needs the worker extra: pip install 'sophie[worker]' ({err})") from err

    config, url = _group(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    site = site_path(url, config)

    def record_directory(practice: PracticeConfig, snapshot: Snapshot, ledger: StoredLedger) -> None:
        write_directory(site, ledger, snapshot)  # the staff pages' names and huddle (sophie serve reads them)

    app = group_app(url, config.practices, every=timedelta(minutes=every), after_cycle=record_directory)
    with PostgresLedger(url) as ledger:
        install_job_schema(app, ledger)
    click.echo(f"sophie worker: {len(config.practices)} practices, a cycle every {every} min", err=True)
    if not any(practice.notifiers for practice in config.practices):
        click.echo(
            "sophie worker: no practice has notifiers, so notifications stay in the outbox "
            "(`sophie outbox deliver` sends them; docs/operations.md#notifications-from-workers)",
            err=True,
        )
    prepare_worker_process()
    with app.open():
        app.run_worker(queues=[QUEUE], concurrency=concurrency, install_signal_handlers=True)


@worker_group.command("status")
@CONFIG_OPTION
@EVERY_OPTION
@FORMAT_OPTION
def status_command(config_path: str | None, every: int, output_format: str) -> None:
    """Show each practice (last cycle, lag, jobs running and waiting, failures) and the outbox's counts."""
    from sophie.execution.group.status import group_status
    from sophie.execution.stores.postgres.ledger import PostgresLedger
    from sophie.notifiers.postgres_outbox import PostgresOutbox

    config, url = _group(config_path)
    now = datetime.now(UTC)
    with PostgresLedger(url) as ledger:
        rows = group_status(ledger, config.practices, now=now, every=timedelta(minutes=every))
    with PostgresOutbox(url) as outbox:
        counts = outbox.counts(now)
    if output_format == "json":
        print_json({"practices": [row.as_dict() for row in rows], "outbox": asdict(counts)})
        return
    table = Table(title=f"Group: {len(rows)} practices", title_justify="left")
    for column in ("practice", "last cycle", "lag", "cycles", "running", "waiting", "failures", "open tasks"):
        table.add_column(column, justify="left" if column in ("practice", "last cycle") else "right")
    for row in rows:
        last = "never" if row.last_cycle is None else f"{row.last_cycle:%Y-%m-%d %H:%M:%S}Z"
        lag = "" if row.lag is None else f"{int(row.lag.total_seconds() // 60)} min"
        table.add_row(row.practice_id, last, lag, str(row.cycles), str(row.running), str(row.waiting),
                      str(row.failures), str(row.open_tasks))  # fmt: skip
    console().print(table)
    states = ", ".join(f"{number} {state.replace('_', ' ')}" for state, number in asdict(counts).items())
    click.echo(f"outbox: {states}")

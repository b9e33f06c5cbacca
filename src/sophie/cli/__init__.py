"""The ``sophie`` command line: flags in, library calls, output out."""

from __future__ import annotations

import atexit
import gc
import os
import sys

import click

from sophie.cli.app import SophieGroup
from sophie.cli.commands.demo_command import demo_command
from sophie.cli.commands.docs_commands import docs_group
from sophie.cli.commands.execution_commands import queue_command, run_command, task_group
from sophie.cli.commands.init_command import init_command
from sophie.cli.commands.ledger_commands import ledger_group
from sophie.cli.commands.outbox_commands import outbox_group
from sophie.cli.commands.plugin_commands import plugins_command
from sophie.cli.commands.preview_command import preview_command
from sophie.cli.commands.rules_commands import (
    check_command,
    explain_command,
    functions_command,
    schema_pack_command,
    schema_pack_tests_command,
    test_command,
)
from sophie.cli.commands.snapshot_commands import inspect_command, schema_group, snapshot_group
from sophie.cli.commands.watch_command import watch_command
from sophie.cli.commands.web_commands import report_command, serve_command, token_group, user_group
from sophie.cli.commands.worker_commands import worker_group

__all__ = ["cli", "main"]


@click.group(cls=SophieGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sophie", prog_name="sophie")
def cli() -> None:
    """sophie: find stalled work in a dental practice and give it an owner."""


schema_group.add_command(schema_pack_command)
schema_group.add_command(schema_pack_tests_command)

cli.add_command(demo_command)
cli.add_command(init_command)
cli.add_command(inspect_command)
cli.add_command(schema_group)
cli.add_command(snapshot_group)
cli.add_command(plugins_command)
cli.add_command(run_command)
cli.add_command(queue_command)
cli.add_command(preview_command)
cli.add_command(task_group)
cli.add_command(check_command)
cli.add_command(test_command)
cli.add_command(explain_command)
cli.add_command(functions_command)
cli.add_command(outbox_group)
cli.add_command(ledger_group)
cli.add_command(docs_group)
cli.add_command(watch_command)
cli.add_command(worker_group)
cli.add_command(serve_command)
cli.add_command(report_command)
cli.add_command(user_group)
cli.add_command(token_group)


def main() -> None:
    """Run the command line (the ``sophie`` console script).

    When the process ends, Python's shutdown runs one last cyclic collection over every
    object still alive: after a cycle on a large practice, seconds spent walking records
    the operating system is about to reclaim anyway. Freezing them first skips that pass.
    """
    atexit.register(gc.freeze)
    try:
        cli(prog_name="sophie")
    except BrokenPipeError:
        # The reader went away (``sophie ... | head``): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)

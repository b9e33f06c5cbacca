"""The ``sophie`` command line: flags in, library calls, output out."""

from __future__ import annotations

import os
import sys

import click

from sophie.cli.app import SophieGroup
from sophie.cli.plugin_commands import plugins_command
from sophie.cli.snapshot_commands import demo_command, inspect_command, schema_group

__all__ = ["cli", "main"]


@click.group(cls=SophieGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sophie", prog_name="sophie")
def cli() -> None:
    """sophie: find stalled work in a dental practice and give it an owner."""


cli.add_command(demo_command)
cli.add_command(inspect_command)
cli.add_command(schema_group)
cli.add_command(plugins_command)


def main() -> None:
    """Run the command line (the ``sophie`` console script)."""
    try:
        cli(prog_name="sophie")
    except BrokenPipeError:
        # The reader went away (``sophie ... | head``): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)

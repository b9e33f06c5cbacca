"""The ``sophie`` command line: flags in, library calls, output out."""

from __future__ import annotations

import click

from sophie.cli.app import SophieGroup
from sophie.cli.snapshot_commands import demo_command, inspect_command, schema_group

__all__ = ["cli", "main"]


@click.group(cls=SophieGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sophie", prog_name="sophie")
def cli() -> None:
    """sophie: find stalled work in a dental practice and give it an owner."""


cli.add_command(demo_command)
cli.add_command(inspect_command)
cli.add_command(schema_group)


def main() -> None:
    """Run the command line (the ``sophie`` console script)."""
    cli(prog_name="sophie")

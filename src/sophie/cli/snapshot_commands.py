"""Commands about snapshots: ``inspect`` and ``schema snapshot``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from sophie.adapters import load_snapshot_file
from sophie.cli.options import FORMAT_OPTION, AwareDateTime, now_or
from sophie.cli.render import print_json, print_summary
from sophie.model import Snapshot
from sophie.model.summary import PracticeSummary

__all__ = ["inspect_command", "schema_group", "schema_snapshot_command"]


def _show(summary: PracticeSummary, now: datetime, output_format: str) -> None:
    if output_format == "json":
        print_json(summary.as_dict(now=now))
    else:
        print_summary(summary, now=now)


@click.command("inspect")
@click.argument("snapshot", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", type=AwareDateTime(), help="Measure data age against this time instead of the clock.")
@click.option(
    "--openings",
    "max_openings",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many openings to list.",
)
@FORMAT_OPTION
def inspect_command(snapshot: Path, now: datetime | None, max_openings: int, output_format: str) -> None:
    """Validate a snapshot file (JSON or YAML) and summarise it.

    Prints the records per section, the openings in the schedule and how old the
    data is. Every problem in the file is reported with its record and field.
    """
    loaded = load_snapshot_file(snapshot)
    _show(PracticeSummary.of(loaded, max_openings=max_openings), now_or(now), output_format)


@click.group("schema")
def schema_group() -> None:
    """Print the JSON Schema of a file format."""


@schema_group.command("snapshot")
def schema_snapshot_command() -> None:
    """Print the JSON Schema of snapshot files."""
    schema = Snapshot.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sophie snapshot"
    click.echo(json.dumps(schema, indent=2))

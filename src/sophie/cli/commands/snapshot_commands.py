"""Commands about snapshots: ``inspect``, ``snapshot export`` and ``schema snapshot``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from sophie.adapters import load_snapshot_file
from sophie.cli.config_options import CONFIG_OPTION, PRACTICE_OPTION, configured_practice
from sophie.cli.options import FORMAT_OPTION, AwareDateTime, now_or, read_practice
from sophie.cli.render import echo, print_json, print_summary
from sophie.errors import ConfigurationError
from sophie.model import Snapshot
from sophie.model.summary import PracticeSummary

__all__ = ["inspect_command", "schema_group", "schema_snapshot_command", "snapshot_group"]


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
    echo(json.dumps(schema, indent=2))


@click.group("snapshot")
def snapshot_group() -> None:
    """Snapshots: a practice as a file."""


@snapshot_group.command("export")
@click.option(
    "--adapter", help="Read the practice from this adapter (demo, opendental, a plugin's) [default: sophie.toml's]."
)
@click.option("--source", help="The adapter's source (a URL for opendental).")
@CONFIG_OPTION
@PRACTICE_OPTION
@click.option("--now", type=AwareDateTime(), help="Read the practice at this time (the demo: default its own morning).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (.json, or .yaml/.yml for YAML); default: JSON on standard output.",
)
def snapshot_export_command(
    adapter: str | None,
    source: str | None,
    config_path: str | None,
    practice_id: str | None,
    now: datetime | None,
    out: Path | None,
) -> None:
    """Write a practice read from any adapter as a snapshot file.

    The file is what `--adapter files --source FILE` reads back, and what pack tests'
    `given:` fragments are cut from: `sophie explain` and `sophie test` can then be tried
    on it, and a subject of a real practice can become a pack test. Without --adapter the
    practice is sophie.toml's (or --config FILE's), read as `sophie run` reads it.
    """
    if adapter is None:
        if source is not None:
            raise ConfigurationError("--source needs --adapter")
        configured = configured_practice(config_path, practice_id, now)
        if configured is None:
            raise ConfigurationError("say which practice: --adapter NAME, or a sophie.toml (--config FILE)")
        snapshot = configured[0]
    else:
        if practice_id is not None:
            raise ConfigurationError("--practice picks a practice of the configuration; drop --adapter")
        snapshot, _ = read_practice(adapter, source, now)
    if out is None:
        echo(snapshot_text(snapshot, yaml_format=False), nl=False)
        return
    text = snapshot_text(snapshot, yaml_format=out.suffix.lower() in (".yaml", ".yml"))
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write {out}: {err.strerror or err}") from err
    echo(f"wrote {out} ({len(snapshot.patients)} patients, as of {snapshot.as_of.isoformat()})", err=True)


def snapshot_text(snapshot: Snapshot, *, yaml_format: bool) -> str:
    """Return a snapshot as the text of a snapshot file (JSON, or YAML)."""
    if not yaml_format:
        return snapshot.model_dump_json(exclude_none=True) + "\n"
    import yaml

    data = snapshot.model_dump(mode="json", exclude_none=True)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

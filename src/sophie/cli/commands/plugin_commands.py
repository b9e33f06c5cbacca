"""``sophie plugins``: what is installed and what each plugin provides."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.table import Table

from sophie.cli.options import FORMAT_OPTION
from sophie.cli.render import cell, console, echo, print_json
from sophie.plugins.manager import Plugins

__all__ = ["plugins_command"]


@click.command("plugins")
@click.option("--strict", is_flag=True, help="Fail on a plugin that does not load instead of reporting it.")
@FORMAT_OPTION
def plugins_command(strict: bool, output_format: str) -> None:
    """List plugins with their distribution, version and what they provide.

    Set SOPHIE_DISABLE_PLUGINS=1 to load none but the built-ins, or a
    comma-separated list of plugin names to skip those.
    """
    plugins = Plugins(strict=strict)
    described = plugins.describe()
    if output_format == "json":
        print_json(
            {
                "plugins": [asdict(d) for d in described],
                "problems": [str(problem) for problem in plugins.problems],
            }
        )
        return
    table = Table(title="Plugins", title_justify="left")
    for column in ("plugin", "distribution", "provides"):
        table.add_column(column)
    for description in described:
        provides = "\n".join(
            f"{kind.replace('_', ' ')}: {', '.join(names)}" for kind, names in description.provides.items() if names
        )
        version = f"{description.distribution} {description.version}".strip()
        table.add_row(cell(description.name), cell(version), cell(provides or "-"))
    out = console()
    out.print(table)
    for problem in plugins.problems:
        echo(f"sophie: warning: {problem}", err=True)

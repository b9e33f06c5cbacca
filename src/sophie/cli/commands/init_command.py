"""``sophie init``: write a commented ``sophie.toml`` to start from."""

from __future__ import annotations

from pathlib import Path

import click

from sophie.cli.render import echo
from sophie.config import CONFIG_FILE_NAME, STARTER_ADAPTERS, parse_config, starter_config
from sophie.errors import ConfigurationError

__all__ = ["init_command"]


@click.command("init")
@click.option("--adapter", type=click.Choice(STARTER_ADAPTERS), default="demo", show_default=True,
              help="Where the practice's data comes from.")  # fmt: skip
@click.option("--path", "target", default=CONFIG_FILE_NAME, show_default=True, metavar="FILE",
              help="Where to write the file (never over an existing one).")  # fmt: skip
def init_command(adapter: str, target: str) -> None:
    """Write a commented starter configuration for a practice.

    With --adapter demo it is a working practice at once: `sophie run`, then `sophie serve`.
    """
    text = starter_config(adapter)
    parse_config(text, path=target)  # the starter is always a valid file
    path = Path(target)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigurationError(f"{target} already exists; remove it or pass --path") from None
    except OSError as err:
        raise ConfigurationError(f"{target}: cannot write: {err.strerror}") from None
    echo(
        f"Wrote {target} (adapter {adapter}). Next: `sophie run`, `sophie user add STAFF_ID` for each person "
        "who signs in (`sophie user list` names the staff), then `sophie serve`."
    )

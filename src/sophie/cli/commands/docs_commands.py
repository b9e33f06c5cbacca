"""``sophie docs``: documents generated from what is installed.

``sophie docs pack NAME`` prints the practice manager's document of a rule pack (every
rule in plain words, with the sources of its thresholds); ``--output PATH`` writes it, and
``--check`` exits 1 when the file at ``--output`` is not current (for CI).

Exit codes: 0 ok; 1 ``--check`` found the file out of date; 2 a usage or input error (an
unknown pack, a pack with errors, an unwritable file), one line per problem on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from sophie.cli.app import EXIT_FINDINGS, EXIT_USAGE, error_lines
from sophie.cli.render import echo
from sophie.errors import SophieError

__all__ = ["docs_group", "pack_docs_command"]


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        echo(line, err=True)
    sys.exit(EXIT_USAGE)


def _document(ref: str) -> str:
    from sophie.plugins.manager import Plugins
    from sophie.rules.packs.pack_docs import pack_document

    return pack_document(Plugins().load_pack(ref))


@click.group("docs")
def docs_group() -> None:
    """Generate documents from installed packs."""


@docs_group.command("pack")
@click.argument("pack", metavar="PACK")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the document to this file instead of printing it.",
)
@click.option("--check", is_flag=True, help="With --output: exit 1 if the file is not current; write nothing.")
def pack_docs_command(pack: str, output: Path | None, check: bool) -> None:
    """Print the practice manager's document of a rule pack (a name or a path).

    Every rule in plain words: what it finds, who owns the task, when it is due, how it
    escalates, and where each threshold comes from (the comment on each parameter's line).
    """
    if check and output is None:
        _fail(["sophie: error: --check needs --output PATH: the file to compare with"])
    try:
        text = _document(pack)
    except SophieError as err:
        _fail(error_lines(err))
    if output is None:
        echo(text, nl=False)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            echo(f"{output}: out of date; run: sophie docs pack {pack} --output {output}", err=True)
            sys.exit(EXIT_FINDINGS)
        echo(f"{output}: current")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        _fail([f"sophie: error: cannot write {output}: {err.strerror or err}"])
    echo(f"wrote {output}")

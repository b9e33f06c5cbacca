"""``sophie ledger verify``: check a ledger's audit chain, guards, tasks and outbox.

Exit 0 when the ledger is clean, 1 with one line per problem, 2 when it cannot be
checked (no ledger at ``--db``, not a sophie ledger, a keyed chain and no key).
The key of a keyed chain is read from ``SOPHIE_AUDIT_KEY`` and never printed. A
PostgreSQL ledger is checked whole, every practice it holds (their events share one
chain); it is named without its user or password.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sophie.cli.app import EXIT_FINDINGS
from sophie.cli.config_options import CONFIG_OPTION, command_config, ledger_url
from sophie.cli.options import DB_OPTION, FORMAT_OPTION
from sophie.cli.render import echo, print_json
from sophie.errors import ConfigurationError
from sophie.execution import is_postgres_url, open_ledger, sqlite_path
from sophie.execution.stores.audit import ChainScheme, audit_key_from_environment
from sophie.execution.stores.verify import VerifyReport, verify_ledger

__all__ = ["ledger_group"]

_SCHEMES = {
    ChainScheme.SHA256: "plain SHA-256 chain",
    ChainScheme.HMAC_SHA256: "keyed HMAC-SHA256 chain, checked with SOPHIE_AUDIT_KEY",
}


def _printable(text: str) -> str:
    """Ledger text may have been written by anyone: no control characters reach the terminal."""
    return "".join(char if char.isprintable() else "?" for char in text)


@click.group("ledger")
def ledger_group() -> None:
    """The ledger itself: check that it is what sophie wrote."""


@ledger_group.command("verify")
@CONFIG_OPTION
@DB_OPTION
@FORMAT_OPTION
def verify_command(config_path: str | None, db_url: str, output_format: str) -> None:
    """Check the audit chain, the guards, one open task per key, task histories and the outbox.

    Exits 0 when the ledger is clean and 1 with one line per problem. Set
    SOPHIE_AUDIT_KEY to check a keyed chain. Without --db, the ledger of sophie.toml (when
    present) is checked.
    """
    url = ledger_url(db_url, command_config(config_path))
    if not is_postgres_url(url):
        path = sqlite_path(url)
        if path == ":memory:":
            raise ConfigurationError("--db :memory: is an empty ledger; name a ledger file to verify")
        if not Path(path).is_file():
            raise ConfigurationError(f"no ledger at {path}; pass --db sqlite:///PATH")
    key = audit_key_from_environment()
    with open_ledger(url, audit_key=key) as ledger:
        path = ledger.path
        report = verify_ledger(ledger, audit_key=key)
    if output_format == "json":
        print_json({"ledger": path, **report.as_dict()})
    else:
        _print_table(path, report)
    if not report.clean:
        sys.exit(EXIT_FINDINGS)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _print_table(path: str, report: VerifyReport) -> None:
    echo(
        f"ledger {_printable(path)}: {_count(report.tasks, 'task')}, {_count(report.events, 'audit event')} "
        f"({_SCHEMES[report.scheme]}), {_count(report.outbox, 'outbox row')}"
    )
    if report.clean:
        echo("clean: no problem found")
    for problem in report.problems:
        echo(_printable(str(problem)))

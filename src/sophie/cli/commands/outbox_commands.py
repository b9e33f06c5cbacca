"""``sophie outbox``: what is waiting to be delivered, and delivering it.

Secrets never go on the command line (where process lists show them): the webhook
secret is read from ``SOPHIE_WEBHOOK_SECRET`` and SMTP credentials from
``SOPHIE_SMTP_USER`` / ``SOPHIE_SMTP_PASSWORD``.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from sophie.cli.options import DB_OPTION, FORMAT_OPTION, NOW_OPTION, now_or
from sophie.cli.render import cell, console, echo, print_json
from sophie.errors import ConfigurationError
from sophie.execution import is_postgres_url, open_existing_ledger, sqlite_path
from sophie.notifiers.base import Notifier
from sophie.notifiers.delivery import DeliveryReport, DeliveryWorker, RetryPolicy
from sophie.notifiers.digests import DEFAULT_WINDOWS, DigestSettings, parse_window
from sophie.notifiers.registry import create_notifier
from sophie.notifiers.sqlite_outbox import SqliteOutbox

if TYPE_CHECKING:
    from sophie.notifiers.postgres_outbox import PostgresOutbox

__all__ = ["DIGEST_OPTIONS", "digest_settings", "outbox_group"]


def _outbox(db_url: str, digest_at: tuple[str, ...] = (), digests: bool = False) -> SqliteOutbox | PostgresOutbox:
    open_existing_ledger(db_url).close()  # brings an older ledger's schema up to date
    if is_postgres_url(db_url):
        from sophie.notifiers.postgres_outbox import PostgresOutbox

        # Each practice's windows are in its own timezone; UTC for one the ledger has no settings of.
        windows = digest_settings("UTC", digest_at) if digests or digest_at else None
        return PostgresOutbox(db_url.strip(), digests=windows)
    path = sqlite_path(db_url)
    if path == ":memory:":
        raise ConfigurationError("an in-memory ledger has no outbox to deliver; pass --db")
    outbox = SqliteOutbox(path)
    if digests or digest_at:
        outbox.digests = digest_settings(outbox.practice_timezone(), digest_at)
    return outbox


def digest_settings(timezone: str, digest_at: tuple[str, ...]) -> DigestSettings:
    """Return the digest windows ``--digest-at`` names (default 08:00 and 13:00) in ``timezone``.

    Raises:
        click.UsageError: A window that is not ``HH:MM`` (exit 2).
    """
    try:
        windows = tuple(sorted({parse_window(text) for text in digest_at})) or DEFAULT_WINDOWS
    except ValueError as err:
        raise click.UsageError(f"--digest-at: {err}") from err
    return DigestSettings(timezone, windows)


DIGEST_OPTIONS = (
    click.option("--digests", is_flag=True,
                 help="Send non-urgent notifications as one digest per person at 08:00 and 13:00 practice-local "
                      "(urgent ones go at once)."),
    click.option("--digest-at", multiple=True, metavar="HH:MM",
                 help="A digest window, practice-local (repeatable; implies --digests)."),
)  # fmt: skip


@click.group("outbox")
def outbox_group() -> None:
    """Notifications waiting in the ledger's outbox: status and delivery."""


@outbox_group.command("status")
@DB_OPTION
@NOW_OPTION
@FORMAT_OPTION
def status_command(db_url: str, now: datetime | None, output_format: str) -> None:
    """Count outbox messages: pending, due, retrying, sent, dead-lettered."""
    with _outbox(db_url) as outbox:
        counts = outbox.counts(now_or(now))
    if output_format == "json":
        print_json(asdict(counts))
        return
    table = Table(title="Outbox", title_justify="left")
    table.add_column("state")
    table.add_column("messages", justify="right")
    for state, number in asdict(counts).items():
        table.add_row(cell(state.replace("_", " ")), str(number))
    console().print(table)


def _notifiers(
    use_console: bool, webhook: str | None, smtp: str | None, mail_from: str | None, mail_to: tuple[str, ...]
) -> dict[str, Notifier]:
    chosen: dict[str, Notifier] = {}
    if use_console:
        chosen["console"] = create_notifier("console")
    if webhook:
        secret = os.environ.get("SOPHIE_WEBHOOK_SECRET")
        chosen["webhook"] = create_notifier("webhook", {"url": webhook, "secret": secret})
    if smtp:
        host, _, port = smtp.partition(":")
        if not host or (port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)):
            raise ConfigurationError(f"--smtp {smtp!r}: write HOST or HOST:PORT with a port from 1 to 65535")
        if not mail_from or not mail_to:
            raise ConfigurationError("--smtp needs --mail-from and at least one --mail-to")
        chosen["email"] = create_notifier(
            "email",
            {
                "host": host,
                "port": int(port) if port else None,
                "sender": mail_from,
                "to": list(mail_to),
                "username": os.environ.get("SOPHIE_SMTP_USER"),
                "password": os.environ.get("SOPHIE_SMTP_PASSWORD"),
            },
        )
    if not chosen:
        raise ConfigurationError("choose at least one channel: --console, --webhook URL or --smtp HOST[:PORT]")
    return chosen


@outbox_group.command("deliver")
@DB_OPTION
@NOW_OPTION
@click.option("--console", "use_console", is_flag=True, help="Print each message on stdout.")
@click.option("--webhook", metavar="URL", help="POST each message as signed JSON (secret: $SOPHIE_WEBHOOK_SECRET).")
@click.option("--smtp", metavar="HOST[:PORT]", help="Send each message by email (STARTTLS; login from $SOPHIE_SMTP_*).")
@click.option("--mail-from", metavar="ADDRESS", help="The sender address for --smtp.")
@click.option("--mail-to", metavar="ADDRESS", multiple=True, help="A recipient for --smtp (repeatable).")
@click.option("--max-attempts", type=click.IntRange(min=1), default=12, show_default=True,
              help="Dead-letter a message after this many failed attempts.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Deliver at most N messages this run (default: everything due).")
@DIGEST_OPTIONS[0]
@DIGEST_OPTIONS[1]
@FORMAT_OPTION
def deliver_command(
    db_url: str,
    now: datetime | None,
    use_console: bool,
    webhook: str | None,
    smtp: str | None,
    mail_from: str | None,
    mail_to: tuple[str, ...],
    max_attempts: int,
    limit: int | None,
    digests: bool,
    digest_at: tuple[str, ...],
    output_format: str,
) -> None:
    """Deliver every message that is due (or at most --limit); failures are retried later with backoff.

    With --digests (or --digest-at), non-urgent messages wait for the person's next digest.
    """
    notifiers = _notifiers(use_console, webhook, smtp, mail_from, mail_to)
    moment = now_or(now)
    with _outbox(db_url, digest_at, digests) as outbox:
        zone = outbox.practice_timezone() if isinstance(outbox, SqliteOutbox) else "UTC"
        report = DeliveryReport()
        while limit is None or report.sent + report.retried + report.dead_lettered < limit:
            left = None if limit is None else limit - (report.sent + report.retried + report.dead_lettered)
            batch = 100 if left is None else min(100, left)
            worker = DeliveryWorker(outbox, notifiers, policy=RetryPolicy(max_attempts=max_attempts), batch=batch)
            one = worker.run_once(moment)
            handled = one.sent + one.retried + one.dead_lettered
            report = DeliveryReport(report.sent + one.sent, report.retried + one.retried,
                                    report.dead_lettered + one.dead_lettered, report.deliveries + one.deliveries,
                                    one.next_due)  # fmt: skip
            if handled < batch:
                break
        remaining = outbox.counts(moment).due
    data = asdict(report)
    data["next_due"] = None if report.next_due is None else report.next_due.isoformat()
    data["remaining_due"] = remaining
    if output_format == "json":
        print_json(data)
        return
    line = f"sent {report.sent}, retrying {report.retried}, dead-lettered {report.dead_lettered}"
    if remaining:
        line += f"; {remaining} more due (stopped at --limit {limit})" if limit else f"; {remaining} more due"
    if report.next_due:
        local = report.next_due.astimezone(ZoneInfo(zone))
        line += f"; next attempt due {local:%a %b %d %H:%M %Z} ({zone})"
    echo(line)

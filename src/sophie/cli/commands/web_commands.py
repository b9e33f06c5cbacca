"""``sophie serve``, ``sophie user``, ``sophie token`` and ``sophie report``: the staff pages and their numbers."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from sophie.cli.config_options import CONFIG_OPTION, command_config, given, ledger_url, site_path
from sophie.cli.options import DB_OPTION, NOW_OPTION, now_or
from sophie.cli.render import clean, console, print_json
from sophie.errors import ConfigurationError, UnknownNameError
from sophie.execution import sqlite_path
from sophie.execution.stores.ledger import is_postgres_url

if TYPE_CHECKING:
    from sophie.config.models import SophieConfig
    from sophie.execution.stores.ledger import ReportingLedger
    from sophie.web.site_store import StaffEntry

__all__ = ["report_command", "serve_command", "token_group", "user_group"]

_WEB_EXTRA = "the staff pages need the web extra: pip install 'sophie[web]'"
_PRACTICE_OPTION = click.option(
    "--practice", "practice_id", metavar="ID", help="The practice, when the ledger holds several (a group's)."
)


def _existing(db_url: str) -> None:
    if is_postgres_url(db_url):
        return  # the server is asked when the ledger is opened
    path = sqlite_path(db_url)
    if path != ":memory:" and not Path(path).is_file():
        raise ConfigurationError(f"no ledger at {path}; run `sophie run` first, or pass --db / --config")


def _read_password(staff_id: str) -> str:
    if sys.stdin.isatty():
        password = click.prompt(f"Password for {staff_id}", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise ConfigurationError("a password has at least 8 characters")
    return str(password)


@click.group("user")
def user_group() -> None:
    """Accounts for the staff pages (staff ids from the PMS)."""


@user_group.command("add")
@click.argument("staff_id")
@CONFIG_OPTION
@DB_OPTION
def user_add_command(staff_id: str, config_path: str | None, db_url: str) -> None:
    """Give a staff member a password (read from a prompt, or the first line of stdin).

    Adding an existing account replaces its password.
    """
    from sophie.web.security import hash_password
    from sophie.web.site_store import SiteStore

    config = command_config(config_path)
    url = ledger_url(db_url, config)
    with SiteStore(site_path(url, config)) as store:
        known = store.staff()
        if known and staff_id not in known:  # refused before a password is asked for
            close = difflib.get_close_matches(staff_id, list(known), n=1, cutoff=0.6)
            raise UnknownNameError("staff member", staff_id, known=list(known), suggestion=close[0] if close else None)
        password = _read_password(staff_id)
        store.set_password_hash(staff_id, hash_password(password), now_or(None))
    click.echo(f"Account {staff_id} is ready.")


@user_group.command("list")
@CONFIG_OPTION
@DB_OPTION
def user_list_command(config_path: str | None, db_url: str) -> None:
    """List the accounts."""
    from sophie.web.site_store import SiteStore

    config = command_config(config_path)
    with SiteStore(site_path(ledger_url(db_url, config), config)) as store:
        staff = store.staff()
        accounts = store.accounts()
        for staff_id in accounts:
            entry = staff.get(staff_id)
            name, roles = (entry.name, ", ".join(entry.roles)) if entry else ("?", "")
            click.echo(f"{clean(staff_id)}\t{clean(name)}\t{clean(roles)}")  # names come from the PMS: no control codes
        if not accounts:
            click.echo(_NO_ACCOUNTS + _staff_hint(staff), err=True)


_NO_ACCOUNTS = "sophie: no accounts yet; `sophie user add STAFF_ID` gives a person a password"


def _staff_hint(staff: Mapping[str, StaffEntry]) -> str:
    """The practice's staff, for a person choosing whom to give an account."""
    if not staff:
        return " (run `sophie run` first: the staff come from the practice)."
    people = ", ".join(f"{staff_id} {entry.name} ({', '.join(entry.roles)})" for staff_id, entry in staff.items())
    return clean(f". The practice's staff: {people}.")  # names come from the PMS: no control codes


@click.group("token")
def token_group() -> None:
    """API tokens for integrations (they see and act on every task)."""


@token_group.command("create")
@click.option("--name", required=True, help="What the token is for (its actions are audited as token:NAME).")
@CONFIG_OPTION
@DB_OPTION
def token_create_command(name: str, config_path: str | None, db_url: str) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from sophie.web.security import new_token
    from sophie.web.site_store import SiteStore

    config = command_config(config_path)
    token = new_token()
    with SiteStore(site_path(ledger_url(db_url, config), config)) as store:
        store.add_token(name, token, now_or(None))
    click.echo(token)
    click.echo(f"(token {name}: shown once; send it as 'Authorization: Bearer <token>')", err=True)


@token_group.command("revoke")
@click.option("--name", required=True, help="The token's name.")
@CONFIG_OPTION
@DB_OPTION
def token_revoke_command(name: str, config_path: str | None, db_url: str) -> None:
    """Revoke a token."""
    from sophie.web.site_store import SiteStore

    config = command_config(config_path)
    with SiteStore(site_path(ledger_url(db_url, config), config)) as store:
        if not store.revoke_token(name):
            raise ConfigurationError(f"no token named {name!r}")
    click.echo(f"Token {name} revoked.")


def _demo_clock(config: SophieConfig | None, ledger: ReportingLedger, chosen: str | None) -> datetime | None:
    """The time of the last cycle of a practice the demo adapter makes up (its clock is simulated), else None.

    ``sophie run`` reads the demo practice at its own morning; served on the real clock, its
    tasks would all show as months overdue.
    """
    if config is None:
        return None
    practices = [p for p in config.practices if len(config.practices) == 1 or p.id == chosen]
    if len(practices) != 1 or practices[0].adapter != "demo":
        return None
    span = ledger.cycle_span(chosen)
    if span is None:
        return None
    stored = ledger.practice(chosen) if chosen else None
    last = span[1].astimezone(ZoneInfo(stored.timezone)) if stored else span[1]
    click.echo(
        f"sophie: the demo practice lives at {last:%a %Y-%m-%d %H:%M %Z}, its last cycle: the pages' clock is "
        "set there (--now sets another)",
        err=True,
    )
    return last


def _day(text: str | None, zone: ZoneInfo, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"{flag} {text!r}: use a date such as 2026-03-02") from None


@click.command("report")
@click.option("--since", help="First day (YYYY-MM-DD, practice's zone) [default: 4 weeks before --until].")
@click.option("--until", help="Last day, included [default: today].")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv", "html"]),
    default="table",
    show_default=True,
    help="A table, JSON, CSV rows, or an HTML page with charts (needs sophie[web]).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@CONFIG_OPTION
@DB_OPTION
@_PRACTICE_OPTION
@NOW_OPTION
def report_command(since: str | None, until: str | None, output_format: str, output: str | None,
                   config_path: str | None, db_url: str, practice_id: str | None,
                   now: datetime | None) -> None:  # fmt: skip
    """The scorecard from the ledger's audit trail: per rule, role and person, and week by week."""
    from contextlib import closing

    from sophie.cli.report_output import render_report
    from sophie.execution.reports import business_day_length, load_scorecard
    from sophie.web.site import choose_practice, open_reporting_ledger

    config = command_config(config_path)
    url = ledger_url(db_url, config)
    _existing(url)
    with closing(open_reporting_ledger(url)) as ledger:
        chosen = choose_practice(ledger, practice_id)
        practice = ledger.practice(chosen) if chosen else None
        zone = ZoneInfo(practice.timezone if practice else "UTC")
        last = _day(until, zone, "--until") or now_or(now).astimezone(zone).date()
        first = _day(since, zone, "--since") or last - timedelta(days=27)
        if first > last:
            raise click.UsageError("--since is after --until")
        start, end = datetime.combine(first, time(0), zone), datetime.combine(last + timedelta(days=1), time(0), zone)
        card = load_scorecard(ledger, since=start, until=end, practice_id=chosen if practice_id is not None else None)
        span = ledger.cycle_span(chosen) if not card.by_rule else None
    if span is not None and (span[1] < start or span[0] >= end):  # an empty period beside a ledger with history
        ran = [moment.astimezone(zone).date().isoformat() for moment in span]
        click.echo(
            f"sophie: nothing happened from {first} to {last}; this ledger's cycles ran "
            + (f"on {ran[0]}" if ran[0] == ran[1] else f"from {ran[0]} to {ran[1]}")
            + " (--since and --until choose the period)",
            err=True,
        )
    names: dict[str, str] = {}
    site = site_path(url, config)
    if Path(site).is_file():
        from sophie.web.site_store import SiteStore

        with SiteStore(site) as store:
            names = {sid: entry.name for sid, entry in store.staff().items()}
    text = render_report(card, output_format, names=names, day=business_day_length(practice))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.")
    elif output_format == "table":
        console().print(text, end="", markup=False, highlight=False)
    elif output_format == "json":
        print_json(card.as_dict())
    else:
        click.echo(text, nl=False)


@click.command("serve")
@CONFIG_OPTION
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="Port to listen on.")
@click.option("--demo", is_flag=True, help="Serve a simulated practice with demo accounts (a fresh ledger).")
@_PRACTICE_OPTION
@NOW_OPTION
def serve_command(config_path: str | None, db_url: str, host: str, port: int, demo: bool, practice_id: str | None,
                  now: datetime | None) -> None:  # fmt: skip
    """Serve the staff pages: My day, the huddle board, the scorecard and the JSON API.

    Plain HTTP on loopback by default; anywhere else, put a TLS proxy in front (cookies are
    then marked Secure). --now fixes the clock (demos, tests).
    """
    try:
        import uvicorn

        from sophie.web.app import create_app
        from sophie.web.site import Site, choose_practice, is_loopback, open_reporting_ledger
    except ImportError:
        raise ConfigurationError(_WEB_EXTRA) from None
    config = command_config(config_path)
    if config is not None:
        host = host if given("host") else config.server.host
        port = port if given("port") else config.server.port
    url = ledger_url(db_url, config)
    clock = None
    if demo:
        from sophie.cli.commands.serve_demo import prepare_demo

        url, site_file, clock = prepare_demo()
    else:
        _existing(url)
        site_file = site_path(url, config)
    ledger = open_reporting_ledger(url)
    try:
        known = ledger.practice_ids()
        chosen = choose_practice(ledger, practice_id)
        if now is None and clock is None:
            clock = _demo_clock(config, ledger, chosen)
    finally:
        ledger.close()
    fixed = now or clock
    served = chosen if len(known) > 1 else None  # one practice: no filter needed
    site = Site(url, site_file, secure_cookies=not is_loopback(host), practice_id=served)
    if fixed is not None:
        site.clock = lambda: fixed
    click.echo(f"sophie: the staff pages are on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    if not demo:  # asked of the server's own session store, which stays open while it serves
        accounts, staff = site.sessions.accounts_and_staff()
        if not accounts:
            click.echo(_NO_ACCOUNTS + _staff_hint(staff), err=True)
    uvicorn.run(create_app(site), host=host, port=port, log_level="info", server_header=False,
                timeout_graceful_shutdown=2)  # live streams end with the server

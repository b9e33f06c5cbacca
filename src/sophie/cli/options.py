"""Flag types shared by several commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from sophie.execution.stores.ledger import DEFAULT_DB_URL as _DEFAULT_DB_URL

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.plugins.manager import Plugins

__all__ = ["DB_OPTION", "FORMAT_OPTION", "NOW_OPTION", "AwareDateTime", "moment_of", "now_or", "read_practice"]


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2999, 12, 31, tzinfo=UTC)


class AwareDateTime(click.ParamType[datetime, str | datetime]):
    """An ISO 8601 datetime with a UTC offset (``2026-03-05T11:40:00-05:00``)."""

    name = "ISO-DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        """Parse the value, refusing datetimes without an offset."""
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 datetime (e.g. 2026-03-05T11:40:00-05:00)", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset (add one, e.g. -05:00 or Z)", param, ctx)
        if not _EARLIEST <= parsed <= _LATEST:
            self.fail(f"{value!r} is outside the years {_EARLIEST.year} to {_LATEST.year}", param, ctx)
        return parsed


def now_or(value: datetime | None) -> datetime:
    """Return ``value``, or the current time (the CLI is where the clock is read)."""
    return value if value is not None else datetime.now(UTC)


def moment_of(snapshot: Snapshot, adapter: str, now: datetime | None) -> datetime:
    """Return the time to act at: ``--now``, else the demo's own morning, else the clock.

    The demo practice is generated for a fixed Monday morning, so ``sophie run --adapter demo``
    and ``sophie demo`` read the same practice at the same moment unless ``--now`` is given;
    a demo source (``seed=3&patients=300``) changes the practice, not its morning.
    """
    if now is not None:
        return now
    if adapter == "demo":
        return snapshot.as_of
    return now_or(None)


def read_practice(
    adapter: str, source: str | None, now: datetime | None, plugins: Plugins | None = None
) -> tuple[Snapshot, datetime]:
    """Read a practice from an adapter (any: demo, files, opendental, a plugin's) and say when to act.

    Raises:
        SophieError: The adapter is unknown, misconfigured, or its data is bad.
    """
    from sophie.adapters import DemoAdapter, create_adapter

    if adapter == "demo" and source is None:
        snapshot = DemoAdapter(as_of=now).fetch()
    else:
        snapshot = create_adapter(adapter, source=source, plugins=plugins).fetch()
    return snapshot, moment_of(snapshot, adapter, now)


FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Print a table for people or JSON for programs.",
)

DB_OPTION = click.option(
    "--db", "db_url", default=_DEFAULT_DB_URL, show_default=True, metavar="URL",
    help="The ledger: sqlite:///PATH or :memory:.",
)  # fmt: skip
NOW_OPTION = click.option("--now", type=AwareDateTime(), help="Act at this time instead of the clock.")

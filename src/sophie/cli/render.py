"""Printing for people (rich tables) and programs (JSON)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from sophie.model.summary import PracticeSummary

__all__ = ["console", "print_json", "print_summary"]


def console() -> Console:
    """Return a console on stdout: no colour, and 120 columns, when output goes to a file or pipe."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = 120
    return out


def print_json(data: Any) -> None:
    """Print data as indented JSON on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    return f"{sign}{minutes}m"


def print_summary(summary: PracticeSummary, *, now: datetime) -> None:
    """Print a practice summary: counts, openings, freshness."""
    out = console()
    out.print(f"[bold]{summary.practice_name}[/bold] ({summary.practice_id}, {summary.timezone})")
    out.print(f"data as of {summary.as_of.isoformat()} (age {_age(now - summary.as_of)})")
    counts = Table(title="Records", title_justify="left")
    counts.add_column("section")
    counts.add_column("count", justify="right")
    for section, count in summary.counts.items():
        counts.add_row(section, f"{count:,}")
    counts.add_row("openings", f"{summary.opening_count:,}", style="bold")
    out.print(counts)
    tz = ZoneInfo(summary.timezone)
    if summary.openings:
        title = f"First openings ({len(summary.openings)} of {summary.opening_count:,})"
        table = Table(title=title, title_justify="left")
        for column in ("opening", "start", "end", "minutes", "provider"):
            table.add_column(column, justify="right" if column == "minutes" else "left")
        for opening in summary.openings:
            start, end = opening.start.astimezone(tz), opening.end.astimezone(tz)
            table.add_row(
                opening.id,
                f"{start:%a %b %d %H:%M}",
                f"{end:%H:%M}",
                str(int(opening.duration.total_seconds() // 60)),
                opening.provider_id,
            )
        out.print(table)

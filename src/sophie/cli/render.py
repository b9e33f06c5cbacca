"""Printing for people (rich tables) and programs (JSON).

Practice data is untrusted: a patient's name may hold rich markup (``Ana[/]``,
``[link=...]``) or terminal escapes (a screen clear, a title change, a clickable link).
Every command prints through this module: :func:`cell` for a value placed in rich output
(control characters removed, markup escaped), :func:`echo` for plain lines, and
:func:`print_json` for JSON (control characters escaped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sophie.model.summary import PracticeSummary

__all__ = ["cell", "clean", "console", "echo", "json_text", "print_json", "print_summary"]

_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL_IN_LINE = re.compile(f"[\t\n{_CONTROL}]")
_CONTROL_IN_TEXT = re.compile(f"[{_CONTROL}]")
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(value: object, *, lines: bool = False) -> str:
    """Return ``value`` as text with every control character removed.

    Removed: C0 controls (ESC, BEL, CR, backspace...), DEL, C1 controls and the
    bidirectional overrides; newlines and tabs are kept only when ``lines`` is true.
    """
    pattern = _CONTROL_IN_TEXT if lines else _CONTROL_IN_LINE
    return pattern.sub("", str(value))


def cell(value: object) -> str:
    """Return a data value ready for rich output: control characters removed, markup escaped."""
    return escape(clean(value))


def echo(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Print plain text (no markup) with control characters removed; newlines are kept."""
    click.echo(clean(text, lines=True), err=err, nl=nl)


def console() -> Console:
    """Return a console on stdout: no colour, and 120 columns, when output goes to a file or pipe."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = 120
    return out


def json_text(data: Any, **options: Any) -> str:
    """Return data as JSON whose strings hold no raw control character (C0, DEL, C1 escaped)."""
    text = json.dumps(data, ensure_ascii=False, default=str, **options)
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_LONG_LIST = 50
"""Lists longer than this print one compact element a line (the indenting encoder is pure Python)."""


def print_json(data: Any) -> None:
    """Print data as indented JSON on stdout.

    Objects and short lists are indented two spaces a level; a list of more than
    :data:`_LONG_LIST` elements holds one compact element a line, so a first cycle's
    thousands of changes print at the C encoder's speed and still read one change a line.
    """
    click.echo(_RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", "".join(_indented(data, 0))))


def _indented(data: Any, level: int) -> Iterator[str]:
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(data, dict) and data:
        yield "{"
        for position, (key, value) in enumerate(data.items()):
            yield f"{',' if position else ''}\n{inner}{_compact(str(key))}: "
            yield from _indented(value, level + 1)
        yield f"\n{pad}}}"
    elif isinstance(data, list | tuple) and data:
        yield "["
        long = len(data) > _LONG_LIST
        for position, item in enumerate(data):
            yield f"{',' if position else ''}\n{inner}"
            yield from ([_compact(item)] if long else _indented(item, level + 1))
        yield f"\n{pad}]"
    else:
        yield _compact(data)


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str, separators=(", ", ": "))


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
    out.print(f"[bold]{cell(summary.practice_name)}[/bold] ({cell(summary.practice_id)}, {cell(summary.timezone)})")
    out.print(f"data as of {summary.as_of.isoformat()} (age {_age(now - summary.as_of)})")
    counts = Table(title="Records", title_justify="left")
    counts.add_column("section")
    counts.add_column("count", justify="right")
    for section, count in summary.counts.items():
        counts.add_row(cell(section), f"{count:,}")
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
                cell(opening.id),
                f"{start:%a %b %d %H:%M}",
                f"{end:%H:%M}",
                str(int(opening.duration.total_seconds() // 60)),
                cell(opening.provider_id),
            )
        out.print(table)

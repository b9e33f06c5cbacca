"""``sophie report``'s outputs: a terminal table, CSV rows, an HTML page (JSON is the scorecard's own)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import timedelta

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sophie.errors import ConfigurationError
from sophie.execution.reports import business_duration_text
from sophie.execution.scorecard import COUNTED_KINDS, Scorecard, ScoreRow

__all__ = ["render_report"]

_HEAD = (*COUNTED_KINDS, "to first action", "to resolution", "before due", "recovered")


def _cells(row: ScoreRow, day: timedelta) -> list[str]:
    share = row.share_before_due
    return [
        *(str(row.counts.get(kind, 0)) for kind in COUNTED_KINDS),
        business_duration_text(row.median_first_action, day),
        business_duration_text(row.median_resolution, day),
        "n/a" if share is None else f"{share:.0%}",
        f"${row.money_recovered:,.2f}",
    ]


def _table(card: Scorecard, names: Mapping[str, str], day: timedelta) -> str:
    out = Console(file=io.StringIO(), width=170, color_system=None, force_terminal=False)
    out.print(f"Scorecard {card.since:%Y-%m-%d} to {card.until - timedelta(days=1):%Y-%m-%d}")
    for title, rows, label in (
        ("By person", card.by_person, lambda key: names.get(key, key)),
        ("By role", card.by_role, lambda key: key),
        ("By rule", card.by_rule, lambda key: key),
    ):
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("", no_wrap=True)
        for column in _HEAD:
            table.add_column(column, justify="right")
        for row in (*rows, card.total):
            table.add_row(escape(label(row.key) if row is not card.total else "all"), *_cells(row, day))
        out.print(table)
    weeks = Table(title="Week by week", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("week of", "created", "closed", "escalated", "recovered"):
        weeks.add_column(column, justify="left" if column == "week of" else "right")
    for week in card.weeks:
        weeks.add_row(f"{week.week:%Y-%m-%d}", str(week.created), str(week.closed), str(week.escalated),
                      f"${week.money_recovered:,.2f}")  # fmt: skip
    out.print(weeks)
    file = out.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _csv(card: Scorecard, names: Mapping[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dimension", "key", "name", *COUNTED_KINDS, "median_first_action_seconds",
                     "median_resolution_seconds", "closed", "closed_before_due", "money_recovered"])  # fmt: skip
    for dimension, rows in (("total", [card.total]), ("person", card.by_person), ("role", card.by_role),
                            ("rule", card.by_rule)):  # fmt: skip
        for row in rows:
            data = row.as_dict()
            name = names.get(row.key, "") if dimension == "person" else ""
            writer.writerow([dimension, row.key, name, *(data[kind] for kind in COUNTED_KINDS),
                             data["median_first_action_seconds"] or "", data["median_resolution_seconds"] or "",
                             row.closed, row.closed_before_due, f"{row.money_recovered:.2f}"])  # fmt: skip
    for week in card.weeks:
        writer.writerow(["week", week.week.isoformat(), "", week.created, "", "", "", "", week.escalated, "", "",
                         week.closed, "", f"{week.money_recovered:.2f}"])  # fmt: skip
    return buffer.getvalue()


def render_report(card: Scorecard, output_format: str, *, names: Mapping[str, str], day: timedelta) -> str:
    """Return the scorecard as ``table``, ``json``, ``csv`` or ``html`` text.

    Raises:
        ConfigurationError: ``html`` without the web extra installed.
    """
    if output_format == "table":
        return _table(card, names, day)
    if output_format == "csv":
        return _csv(card, names)
    if output_format == "json":
        import json

        return json.dumps(card.as_dict(), indent=2) + "\n"
    try:
        from sophie.web.scorecard_view import report_html
    except ImportError:
        raise ConfigurationError("--format html needs the web extra: pip install 'sophie[web]'") from None
    return report_html(card, names=names, day=day)

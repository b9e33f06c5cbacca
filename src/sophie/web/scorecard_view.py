"""The scorecard in words and pictures: what the Scorecard page and ``sophie report --format html`` show."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from sophie.execution.reports import business_duration_text
from sophie.execution.scorecard import Scorecard, ScoreRow
from sophie.web.charts import bar_chart, hbar_chart, line_chart
from sophie.web.rendering import money

__all__ = ["RowView", "report_html", "scorecard_view"]


@dataclass(frozen=True, slots=True)
class RowView:
    """One scorecard row in words."""

    label: str
    created: int
    resolved: int
    done: int
    reopened: int
    expired: int
    escalated: int
    first_action: str
    resolution: str
    before_due: str
    money: str


def _row(row: ScoreRow, label: str, day: timedelta) -> RowView:
    share = row.share_before_due
    return RowView(
        label=label,
        created=row.counts.get("created", 0),
        resolved=row.counts.get("resolved", 0),
        done=row.counts.get("done", 0),
        reopened=row.counts.get("reopened", 0),
        expired=row.counts.get("expired", 0),
        escalated=row.counts.get("escalated", 0),
        first_action=business_duration_text(row.median_first_action, day),
        resolution=business_duration_text(row.median_resolution, day),
        before_due="n/a" if share is None else f"{share:.0%}",
        money=money(row.money_recovered),
    )


def scorecard_view(card: Scorecard, *, names: Mapping[str, str], day: timedelta) -> dict[str, Any]:
    """Return what the scorecard templates show: rows in words (people by name), charts, weeks."""

    def name(key: str) -> str:
        return names.get(key, key)

    def role(key: str) -> str:
        return key.replace("_", " ")

    def rows(source: tuple[ScoreRow, ...] | Any, label: Callable[[str], str]) -> list[RowView]:
        return [_row(row, label(row.key), day) for row in source]

    labels = [f"{week.week:%b %-d}" for week in card.weeks]
    busiest = sorted(card.by_rule, key=lambda r: -(r.counts.get("created", 0) + r.counts.get("resolved", 0)))[:12]
    charts = {
        "weeks": bar_chart(
            labels,
            {
                "created": [w.created for w in card.weeks],
                "closed": [w.closed for w in card.weeks],
                "escalated": [w.escalated for w in card.weeks],
            },
            title="Tasks per week",
        ),
        "money": line_chart(
            labels, [float(w.money_recovered) for w in card.weeks], title="Recovered per week", prefix="$"
        ),
        "rules": hbar_chart(
            [
                (r.key, [r.counts.get("done", 0), r.counts.get("resolved", 0), r.counts.get("expired", 0)])
                for r in busiest
            ],
            ["done", "resolved by PMS", "expired"],
            title="How the busiest rules' tasks ended",
            width=1100,
        ),
    }
    return {
        "total": _row(card.total, "all", day),
        "by_person": rows(card.by_person, name),
        "by_role": rows(card.by_role, role),
        "by_rule": rows(card.by_rule, str),
        "weeks": [
            {
                "label": f"{w.week:%b %-d, %Y}",
                "created": w.created,
                "closed": w.closed,
                "escalated": w.escalated,
                "money": money(w.money_recovered),
            }
            for w in card.weeks
        ],
        "charts": charts,
    }


def report_html(card: Scorecard, *, names: Mapping[str, str], day: timedelta) -> str:
    """Return a standalone HTML page of the scorecard (styles inline, charts as SVG; needs ``sophie[web]``)."""
    from sophie.web.templating import templates

    css = resources.files("sophie.web").joinpath("static/sophie.css").read_text(encoding="utf-8")
    template = templates().get_template("report.html")
    return template.render(
        view=scorecard_view(card, names=names, day=day),
        since=f"{card.since:%Y-%m-%d}",
        until=f"{card.until:%Y-%m-%d}",
        css=css,
    )

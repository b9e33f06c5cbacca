"""Small inline SVG charts for the scorecard (no JavaScript, no outside assets).

Every label is escaped here; the SVG text is then safe to place in a page as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "hbar_chart", "line_chart"]

_COLOURS = ("#2f6f8f", "#8fc1a9", "#e0a458", "#c2555b")
_FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#334"'


def _scale(values: Sequence[float]) -> float:
    top = max((v for v in values), default=0.0)
    return top if top > 0 else 1.0


def _legend(series: Sequence[str], x: float, y: float) -> str:
    parts = []
    for number, name in enumerate(series):
        colour = _COLOURS[number % len(_COLOURS)]
        parts.append(
            f'<rect x="{x + number * 110:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + number * 110 + 14:.0f}" y="{y:.0f}" {_FONT}>{escape(name)}</text>'
        )
    return "".join(parts)


def bar_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, width: int = 640, height: int = 220
) -> str:
    """Return grouped vertical bars: one group per label, one bar per series."""
    left, bottom, top = 40, 30, 28
    plot_w, plot_h = width - left - 10, height - bottom - top
    names = list(series)
    peak = _scale([v for values in series.values() for v in values])
    group = plot_w / max(1, len(labels))
    bar = max(2.0, (group - 6) / max(1, len(names)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" {_FONT} font-weight="600">{escape(title)}</text>',
        _legend(names, width - 110 * len(names), 14),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#99a"/>',
        f'<text x="{left - 4}" y="{top + 4}" {_FONT} text-anchor="end">{peak:g}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" {_FONT} text-anchor="end">0</text>',
    ]
    for index, label in enumerate(labels):
        x0 = left + index * group + 3
        for number, name in enumerate(names):
            value = series[name][index]
            h = plot_h * value / peak
            colour = _COLOURS[number % len(_COLOURS)]
            parts.append(
                f'<rect x="{x0 + number * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(label)} {escape(name)}: {value:g}</title></rect>'
            )
        if len(labels) <= 16 or index % max(1, len(labels) // 12) == 0:
            parts.append(
                f'<text x="{x0 + group / 2 - 3:.1f}" y="{height - 12}" {_FONT} text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(labels: Sequence[str], values: Sequence[float], *, title: str, prefix: str = "",
               width: int = 640, height: int = 200) -> str:  # fmt: skip
    """Return a line over ``labels`` (e.g. money recovered per week)."""
    left, bottom, top = 56, 30, 28
    plot_w, plot_h = width - left - 14, height - bottom - top
    peak = _scale(values)
    step = plot_w / max(1, len(values) - 1)
    points = " ".join(f"{left + i * step:.1f},{top + plot_h - plot_h * v / peak:.1f}" for i, v in enumerate(values))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" {_FONT} font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#99a"/>',
        f'<text x="{left - 4}" y="{top + 4}" {_FONT} text-anchor="end">{escape(prefix)}{peak:,.0f}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" {_FONT} text-anchor="end">0</text>',
    ]
    if values:
        parts.append(f'<polyline points="{points}" fill="none" stroke="{_COLOURS[0]}" stroke-width="2"/>')
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x, y = left + index * step, top + plot_h - plot_h * value / peak
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_COLOURS[0]}">'
            f"<title>{escape(label)}: {escape(prefix)}{value:,.2f}</title></circle>"
        )
        if len(labels) <= 16 or index % max(1, len(labels) // 12) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 12}" {_FONT} text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str,
               width: int = 640) -> str:  # fmt: skip
    """Return horizontal stacked bars, one row per label (e.g. per rule: done, resolved)."""
    label_w, row_h, top = 260, 18, 28
    height = top + row_h * len(rows) + 10
    peak = _scale([sum(values) for _, values in rows])
    plot_w = width - label_w - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="14" {_FONT} font-weight="600">{escape(title)}</text>',
        _legend(series, width - 110 * len(series), 14),
    ]
    for index, (label, values) in enumerate(rows):
        y = top + index * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" {_FONT} text-anchor="end">{escape(label[:38])}</text>')
        x = float(label_w)
        for number, value in enumerate(values):
            w = plot_w * value / peak
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" '
                f'fill="{_COLOURS[number % len(_COLOURS)]}"><title>{escape(label)} {escape(series[number])}: '
                f"{value:g}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 12}" {_FONT}>{sum(values):g}</text>')
    parts.append("</svg>")
    return "".join(parts)

"""Positions in a source text, and inside the YAML scalars written in it.

A :class:`Mark` is a 1-based line and column; a :class:`ScalarSpan` is where one
scalar's text sits in the source. :func:`mark_in_scalar` takes a character of a
scalar's *value* (say, where an expression error starts) back to its place in the
file, stepping over what YAML took away: quotes, escapes, line folding and the
indentation of block scalars. :class:`LineIndex` turns character indexes into marks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LineIndex", "Mark", "ScalarSpan", "mark_in_scalar"]


@dataclass(frozen=True)
class Mark:
    """A position in a file: 1-based line and column, as editors show them."""

    line: int
    column: int


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar's text sits in the source, to place positions inside it.

    Attributes:
        style: ``""`` (plain), ``"'"``, ``'"'``, ``"|"`` or ``">"``.
        value: The scalar's value after YAML processing (folding, escapes).
        start: Where the scalar (or its block header ``|``/``>``) starts.
        start_index: Character index of the start in the source.
        end_index: Character index just past the end in the source.
    """

    style: str
    value: str
    start: Mark
    start_index: int
    end_index: int


class LineIndex:
    """Where each line of a text starts, worked out on first use.

    Attributes:
        text: The whole source text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts: list[int] | None = None

    def line_start(self, line: int) -> int:
        """Return the character index where 1-based ``line`` starts."""
        if self._line_starts is None:
            self._line_starts = [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]
        starts = self._line_starts
        return starts[line - 1] if line - 1 < len(starts) else len(self.text)

    def mark_at(self, index: int) -> Mark:
        """Return the position of character ``index`` of the text."""
        line = self.text.count("\n", 0, index) + 1
        return Mark(line, index - self.line_start(line) + 1)


def mark_in_scalar(lines: LineIndex, span: ScalarSpan, offset: int) -> Mark:
    """Return the file position of character ``offset`` of the value of the scalar at ``span``.

    Exact for plain scalars on one line and for literal blocks (``|``); best effort
    for folded blocks (``>``), multi-line plain scalars and quoted scalars with escapes.
    """
    if span.style == "|":
        return _mark_in_literal(lines, span, offset)
    begin = span.start_index
    if span.style == ">":
        begin = lines.line_start(span.start.line + 1)
    segment = lines.text[begin : span.end_index]
    positions = _align(span.value, segment, span.style if span.style in ("'", '"') else "")
    if not positions:
        return span.start
    index = positions[offset] if offset < len(positions) else positions[-1] + 1
    return lines.mark_at(begin + index)


def _mark_in_literal(lines: LineIndex, span: ScalarSpan, offset: int) -> Mark:
    text = lines.text
    value = span.value
    indent = 0
    for number, content in enumerate(value.split("\n")):
        if content.strip():
            begin = lines.line_start(span.start.line + 1 + number)
            source_line = text[begin : text.find("\n", begin) % (len(text) + 1)]
            indent = _leading_spaces(source_line) - _leading_spaces(content)
            break
    offset = max(0, min(offset, len(value)))
    line = value.count("\n", 0, offset)
    column = offset - (value.rfind("\n", 0, offset) + 1)
    return Mark(span.start.line + 1 + line, indent + column + 1)


def _leading_spaces(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _escape_length(segment: str, at: int) -> int:
    """Return how many source characters the double-quoted escape at ``at`` spans."""
    code = segment[at + 1 : at + 2]
    return {"x": 4, "u": 6, "U": 10}.get(code, 2)


def _align(value: str, segment: str, quote: str) -> list[int]:
    """Map each character of a scalar's value to its index in the source segment.

    Characters that YAML kept are matched one to one; line folding, indentation,
    quotes and escapes are stepped over. Where the two disagree the mapping moves
    on, so the result is always a best effort, never an error.
    """
    positions: list[int] = []
    at = 1 if quote and segment.startswith(quote) else 0
    end = len(segment)
    for char in value:
        while at < end:
            here = segment[at]
            if quote == '"' and here == "\\" and segment[at + 1 : at + 2] in ("\n", "\r"):
                at += 2
                continue
            if here == char or (quote == '"' and here == "\\"):
                break
            if here in " \t\r\n":
                at += 1
                continue
            break
        positions.append(min(at, max(end - 1, 0)))
        if at < end:
            if quote == '"' and segment[at] == "\\":
                at += _escape_length(segment, at)
            elif quote == "'" and char == "'" and segment[at : at + 2] == "''":
                at += 2
            else:
                at += 1
    return positions

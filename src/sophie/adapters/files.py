"""The ``files`` adapter: a snapshot from a JSON or YAML file.

JSON is read with the standard library; YAML with PyYAML's safe loader, refusing
anchors and aliases (a few lines of aliases can expand to gigabytes). Money is
read exactly: JSON numbers become decimals, never binary floats.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from sophie.adapters.base import Adapter
from sophie.errors import RecordProblem, SnapshotError, SourceUnavailableError
from sophie.model import Snapshot, parse_snapshot

__all__ = ["FilesAdapter", "collector_paused", "load_snapshot_file", "nesting_problem", "read_data_file"]

MAX_FILE_BYTES = 2 * 1024**3
"""Snapshot files larger than this are refused rather than read into memory."""


MAX_NESTING = 100
"""Deepest nesting of lists and objects reported by :func:`nesting_problem` (snapshots need about five)."""

_BRACKET_OR_STRING = re.compile(r'[\[\]{}\n]|"(?:[^"\\\n]|\\.)*"')


def nesting_problem(text: str) -> str:
    """Return where JSON ``text`` nests deeper than :data:`MAX_NESTING`, as ``line L, column C: ...``.

    Called once the parser gave up on the depth (it raises ``RecursionError``), to say where.
    """
    depth, line, line_start = 0, 1, 0
    for match in _BRACKET_OR_STRING.finditer(text):
        token = match.group()
        if token == "\n":
            line, line_start = line + 1, match.end()
        elif token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                column = match.start() - line_start + 1
                return f"line {line}, column {column}: nested too deeply (more than {MAX_NESTING} levels)"
        elif token in "]}":
            depth -= 1
    return f"nested too deeply (more than {MAX_NESTING} levels)"


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases are not allowed in snapshot files", problem_mark=mark
            )
        return super().compose_node(parent, index)


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"
    return f"not valid YAML: {problem}"


def read_data_file(path: Path) -> Any:
    """Read a JSON (``.json``) or YAML file into plain Python values.

    Raises:
        SourceUnavailableError: the file cannot be read.
        SnapshotError: the text is not valid JSON or YAML (with line and column).
    """
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SnapshotError([RecordProblem(f"file is larger than {MAX_FILE_BYTES} bytes")], source=source)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SourceUnavailableError(f"{source}: cannot read snapshot file: {err}") from err
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as err:
            message = f"line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}"
            raise SnapshotError([RecordProblem(message)], source=source) from err
        except RecursionError:
            raise SnapshotError([RecordProblem(nesting_problem(text))], source=source) from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # safe: SafeLoader subclass, aliases refused
    except yaml.YAMLError as err:
        raise SnapshotError([RecordProblem(_yaml_problem(err))], source=source) from err
    except RecursionError as err:
        raise SnapshotError([RecordProblem("YAML is nested too deeply")], source=source) from err


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the block runs (restored after, as it was).

    Reading a snapshot allocates its records by the hundred thousand, and none of them
    forms a reference cycle, so the collector has nothing to free there; left running, it
    walks every record again on each of its passes, which makes reading a large practice
    cost more than linear time (about half of reading and validating 22,000 patients).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_snapshot_file(path: str | Path) -> Snapshot:
    """Read and validate a snapshot file (JSON or YAML), the collector paused (:func:`collector_paused`).

    Raises:
        SourceUnavailableError: the file cannot be read.
        SnapshotError: the file is not JSON/YAML, or its data does not fit the model;
            every problem names the record and field.
    """
    file = Path(path)
    with collector_paused():
        return parse_snapshot(read_data_file(file), source=str(file))


class FilesAdapter(Adapter):
    """Reads the snapshot from one JSON or YAML file on each fetch.

    Args:
        source: Path of the snapshot file.
    """

    name = "files"

    def __init__(self, source: str | Path) -> None:
        self.source = Path(source)

    def fetch(self) -> Snapshot:
        """Read and validate the file."""
        return load_snapshot_file(self.source)

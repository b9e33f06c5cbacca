"""The ``files`` adapter with events: a snapshot file plus a JSON-lines stream of change hints.

A PMS export job rewrites the snapshot file and appends one line per change it saw to an
events file::

    {"kind": "appointment_cancelled", "record_id": "a-3", "at": "2026-03-02T11:38:00-05:00", "patient_id": "p-1"}

Each line is an :class:`~sophie.adapters.base.AdapterEvent` (``kind``, ``record_id``,
``at``, optional ``patient_id``). Events are hints: sophie re-reads the snapshot file and
acts on what it says. :meth:`EventFilesAdapter.fetch_since` answers with the difference
between the file now and the file at the previous read (a delta), so only the changed
records are re-evaluated. The event watermark is the count of lines consumed
(``lines:N``); a line that is not yet complete (no newline) waits for the next read, and
a line that does not parse is skipped with a warning naming its line number only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sophie.adapters.base import AdapterEvent, IncrementalResult, SnapshotChanges, Watermark, record_key
from sophie.adapters.files import FilesAdapter
from sophie.errors import SourceUnavailableError
from sophie.model import SECTIONS, Snapshot

__all__ = ["EventFilesAdapter", "diff_snapshots"]

logger = logging.getLogger(__name__)


def diff_snapshots(old: Snapshot, new: Snapshot) -> SnapshotChanges:
    """Return the changes that turn ``old`` into ``new`` (upserted records and deleted keys)."""
    upserts: dict[str, list[BaseModel]] = {}
    deleted: dict[str, list[str]] = {}
    for section in SECTIONS:
        before = {record_key(section, r): r for r in getattr(old, section)}
        after = {record_key(section, r): r for r in getattr(new, section)}
        changed = [record for key, record in after.items() if before.get(key) != record]
        gone = sorted(key for key in before if key not in after)
        if changed:
            upserts[section] = changed
        if gone:
            deleted[section] = gone
    practice = new.practice if new.practice != old.practice else None
    return SnapshotChanges(as_of=new.as_of, practice=practice, deleted=deleted, **upserts)


def _line_number(watermark: Watermark | None) -> int:
    if not watermark or not watermark.startswith("lines:"):
        return 0
    try:
        return max(0, int(watermark.removeprefix("lines:")))
    except ValueError:
        return 0


class EventFilesAdapter(FilesAdapter):
    """Reads a snapshot file on each fetch, answers deltas, and reads events from a JSON-lines file.

    Args:
        source: The snapshot file (JSON or YAML).
        events: The events file (JSON lines); ``None`` for deltas without events.
    """

    name = "files"
    supports_incremental = True
    supports_events = True

    def __init__(self, source: str | Path, events: str | Path | None = None) -> None:
        super().__init__(source)
        self.events_path = None if events is None else Path(events)
        self._last: Snapshot | None = None

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        """Read the file; answer the difference from the previous read (everything on the first).

        Raises:
            SourceUnavailableError: the file cannot be read.
            SnapshotError: the file does not fit the model.
        """
        snapshot = self.fetch()
        previous, self._last = self._last, snapshot
        mark = snapshot.as_of.isoformat()
        if watermark is None or previous is None:
            return IncrementalResult.full(snapshot, mark)
        return IncrementalResult.delta(diff_snapshots(previous, snapshot), mark)

    def events(self, since: Watermark | None = None) -> Iterator[AdapterEvent]:
        """Yield the events after line ``since`` (``lines:N``), each with the watermark after it.

        Raises:
            SourceUnavailableError: the events file exists but cannot be read.
        """
        if self.events_path is None or not self.events_path.exists():
            return
        try:
            text = self.events_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SourceUnavailableError(f"{self.events_path}: cannot read events: {err}") from err
        complete = text.split("\n")[:-1]  # a last line without its newline is still being written
        for number in range(_line_number(since), len(complete)):
            line = complete[number].strip()
            if not line:
                continue
            try:
                data = json.loads(line)
                event = AdapterEvent.model_validate({**data, "watermark": f"lines:{number + 1}"})
            except (json.JSONDecodeError, ValidationError, TypeError, RecursionError):
                logger.warning("%s line %d: not an event; skipped", self.events_path, number + 1)
                continue
            yield event

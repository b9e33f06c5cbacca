"""A practice's adapter events in a group: incremental cycles between its periodic ones.

A practice on the ``files`` adapter with an events file (``adapter_settings.events``)
has its events processed by the group's workers as ``sophie watch`` processes them for
one practice: the changed records are re-read, and an incremental cycle re-evaluates only
what they can affect (:mod:`sophie.execution.realtime.incremental`).

Any worker may process a practice's events, one at a time: the events job holds the same
advisory lock as the practice's cycle (and the same job-queue lock). Where the practice's
stream stands (its watermark, ``lines:N``) is kept in the ledger's database, in
``sophie_event_mark``, so the next worker continues from it; it is written after the
incremental cycle committed, so a worker killed in between makes the next one process
those events again: events are hints, and a cycle on the same data changes nothing twice.
A practice's stream starts at its first complete cycle (which reads everything the
earlier events pointed at).

Each worker keeps, per practice, the adapter and the records of its last read, so an
event costs the re-read of the file and the scope of what changed, not a complete cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sophie.adapters.event_files import EventFilesAdapter
from sophie.config.models import PracticeConfig
from sophie.execution.engine import CycleResult
from sophie.execution.group.cycles import practice_lock
from sophie.execution.practice_setup import PracticeSetup
from sophie.execution.realtime.incremental import run_incremental_cycle
from sophie.execution.realtime.practice_state import PracticeState, Scope

if TYPE_CHECKING:
    from sophie.adapters.base import AdapterEvent, Watermark
    from sophie.execution.stores.postgres.ledger import PostgresLedger
    from sophie.model import Snapshot

__all__ = [
    "EVENT_MARK_TABLE",
    "PracticeEvents",
    "events_file",
    "install_event_marks",
    "run_practice_events",
    "start_event_stream",
    "stream_end",
]

EVENT_MARK_TABLE = "sophie_event_mark"
"""Where each practice's event stream stands (created beside the job queue's tables)."""


def events_file(practice: PracticeConfig) -> str | None:
    """Return the practice's events file: ``adapter_settings.events`` of a ``files`` practice, else ``None``."""
    events = practice.adapter_settings.get("events")
    if practice.adapter != "files" or not isinstance(events, str) or not events:
        return None
    return events


def without_events(practice: PracticeConfig) -> PracticeConfig:
    """Return the practice without its events setting (what its periodic cycles read)."""
    if "events" not in practice.adapter_settings:
        return practice
    settings = {key: value for key, value in practice.adapter_settings.items() if key != "events"}
    return practice.model_copy(update={"adapter_settings": settings})


def install_event_marks(ledger: PostgresLedger) -> None:
    """Create the event-mark table when missing (idempotent)."""
    ledger.connection.execute(
        f"CREATE TABLE IF NOT EXISTS {EVENT_MARK_TABLE} (practice_id TEXT PRIMARY KEY, watermark TEXT NOT NULL)"
    )


def _mark(ledger: PostgresLedger, practice_id: str) -> Watermark | None:
    row = ledger.connection.execute(
        f"SELECT watermark FROM {EVENT_MARK_TABLE} WHERE practice_id = %s", (practice_id,)
    ).fetchone()
    return None if row is None else str(row["watermark"])


def _store_mark(ledger: PostgresLedger, practice_id: str, mark: Watermark, *, replace: bool) -> None:
    action = "UPDATE SET watermark = excluded.watermark" if replace else "NOTHING"
    ledger.connection.execute(
        f"INSERT INTO {EVENT_MARK_TABLE} (practice_id, watermark) VALUES (%s, %s) "
        f"ON CONFLICT (practice_id) DO {action}",
        (practice_id, mark),
    )


def stream_end(events_path: str) -> Watermark:
    """Return the watermark after the last complete event line of ``events_path`` (``lines:0`` when empty)."""
    mark: Watermark = "lines:0"
    for event in EventFilesAdapter(events_path, events_path).events(None):
        mark = event.watermark or mark
    return mark


def start_event_stream(ledger: PostgresLedger, practice_id: str, mark: Watermark) -> None:
    """Record where the practice's stream starts (its first complete cycle read from there); keep a mark already set."""
    _store_mark(ledger, practice_id, mark, replace=False)


@dataclass
class PracticeEvents:
    """A worker's hold on one practice's event stream: the adapter and the records of its last read.

    Attributes:
        adapter: The practice's snapshot file with its events file.
        state: The records as last read (``None`` until the first events job of this worker).
        watermark: The snapshot watermark of that read.
    """

    adapter: EventFilesAdapter
    state: PracticeState | None = None
    watermark: Watermark | None = None

    @classmethod
    def of(cls, setup: PracticeSetup, events_path: str) -> PracticeEvents:
        """Return the hold for a practice (its snapshot file is the setup's source)."""
        assert setup.source is not None
        return cls(EventFilesAdapter(setup.source, events_path))

    def scope(self, practice_id: str, events: list[AdapterEvent]) -> Scope:
        """Re-read the file; return what changed since this worker's last read, plus what the events name."""
        outcome = self.adapter.fetch_since(self.watermark if self.state is not None else None)
        if outcome.complete or self.state is None:
            self.state = PracticeState(_named(outcome.apply(None), practice_id))
            scope = Scope()
        else:
            assert outcome.changes is not None
            scope = self.state.apply(outcome.changes)
            if self.state.practice.id != practice_id:
                self.state.practice = self.state.practice.model_copy(update={"id": practice_id})
        self.watermark = outcome.watermark
        for event in events:
            scope.add(self.state.scope_of_event(event))
        return scope


def _named(snapshot: Snapshot, practice_id: str) -> Snapshot:
    if snapshot.practice.id == practice_id:
        return snapshot
    return snapshot.model_copy(update={"practice": snapshot.practice.model_copy(update={"id": practice_id})})


def _pending(hold: PracticeEvents, mark: Watermark) -> Iterator[AdapterEvent]:
    return hold.adapter.events(mark)


def run_practice_events(
    ledger: PostgresLedger, setup: PracticeSetup, hold: PracticeEvents, *, now: datetime
) -> CycleResult | None:
    """Process the practice's new events in one incremental cycle under its lock; ``None`` when none ran.

    Nothing runs when another cycle holds the practice, before its first complete cycle,
    or when no event came since the stored mark.

    Raises:
        SourceUnavailableError: The snapshot or events file cannot be read.
        SnapshotError: The snapshot file does not fit the model.
        LedgerError: The ledger cannot be written.
    """
    practice_id = setup.practice.id
    assert practice_id is not None
    with practice_lock(ledger, practice_id) as taken:
        if not taken:
            return None
        mark = _mark(ledger, practice_id)
        if mark is None:
            return None
        events = list(_pending(hold, mark))
        if not events:
            return None
        scope = hold.scope(practice_id, events)
        assert hold.state is not None
        result = run_incremental_cycle(
            hold.state, scope, setup.packs, ledger, now=now, params=setup.params, settings=setup.settings,
            plugins=setup.plugins,
        )  # fmt: skip
        last = next((event.watermark for event in reversed(events) if event.watermark), mark)
        _store_mark(ledger, practice_id, last, replace=True)
        return result

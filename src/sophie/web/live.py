"""The board's live updates: a server-sent event stream of the ledger's change marker.

``GET /api/v1/changes`` (a signed-in session or an API token) answers ``text/event-stream``:
a ``change`` event with the ledger's current change marker at once, then another each time
the marker moves (any process committing a task change or a cycle), checked every
:data:`CHECK_EVERY` seconds, with a keep-alive comment in between. A stream ends after
:data:`STREAM_FOR` seconds and the browser reconnects by itself, so a server that stops
is not held open by its watchers. Browsers without ``EventSource`` (or when the stream
fails) poll ``/api/v1/version`` instead.

Each stream holds a ledger connection for its life, so :class:`StreamSeats` bounds them:
:data:`MAX_STREAMS_EACH` per viewer (a person's open tabs) and :data:`MAX_STREAMS` in all. A
stream over either bound is refused (HTTP 429) and the page polls instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager

from sophie.execution.stores.ledger import ReportingLedger

__all__ = [
    "CHECK_EVERY",
    "MAX_STREAMS",
    "MAX_STREAMS_EACH",
    "STREAM_FOR",
    "Seat",
    "StreamSeats",
    "change_events",
    "holding",
]

CHECK_EVERY = 0.5
"""Seconds between two reads of the change marker."""

STREAM_FOR = 300.0
"""Seconds one stream lasts before the browser is asked to reconnect."""

MAX_STREAMS_EACH = 4
"""Change streams one viewer (a person or a token) may hold open at once."""

MAX_STREAMS = 64
"""Change streams one server holds open at once."""

_KEEP_ALIVE = 15.0
_RETRY_MS = 1000


async def change_events(
    open_ledger: Callable[[], AbstractContextManager[ReportingLedger]],
    *,
    check_every: float = CHECK_EVERY,
    stream_for: float = STREAM_FOR,
) -> AsyncIterator[str]:
    """Yield the event stream's text: the marker now, then each new one (see the module docstring).

    The ledger stays open for the stream (one connection per watcher); reading the marker
    is one indexed query.
    """
    started = last_sent = time.monotonic()
    yield f"retry: {_RETRY_MS}\n\n"
    shown: str | None = None
    with open_ledger() as ledger:
        while time.monotonic() - started < stream_for:
            marker = ledger.change_marker()
            now = time.monotonic()
            if marker != shown:
                shown, last_sent = marker, now
                yield f"event: change\ndata: {marker}\n\n"
            elif now - last_sent >= _KEEP_ALIVE:
                last_sent = now
                yield ": still here\n\n"
            await asyncio.sleep(check_every)


class Seat:
    """One open stream's place in :class:`StreamSeats`; giving it back twice counts once."""

    def __init__(self, seats: StreamSeats, who: str) -> None:
        self._seats = seats
        self.who = who
        self._held = True

    def give_back(self) -> None:
        """Free the place (idempotent)."""
        with self._seats.lock:
            if self._held:
                self._held = False
                self._seats.forget(self.who)


class StreamSeats:
    """Counts the open change streams, per viewer and in all, and refuses those over the bounds.

    Args:
        each: Streams one viewer may hold at once.
        total: Streams the server may hold at once.
    """

    def __init__(self, each: int = MAX_STREAMS_EACH, total: int = MAX_STREAMS) -> None:
        self.each = each
        self.total = total
        self.lock = threading.Lock()  # a background task may give a seat back from a worker thread
        self._open: Counter[str] = Counter()
        self._all = 0

    def take(self, who: str) -> Seat | None:
        """Return a seat for ``who``, or ``None`` when they or the server hold the most allowed."""
        with self.lock:
            if self._open[who] >= self.each or self._all >= self.total:
                return None
            self._open[who] += 1
            self._all += 1
            return Seat(self, who)

    def forget(self, who: str) -> None:
        """Count one stream of ``who`` as closed (call with :attr:`lock` held; see :meth:`Seat.give_back`)."""
        self._open[who] -= 1
        self._all -= 1
        if self._open[who] <= 0:
            del self._open[who]

    def held(self, who: str | None = None) -> int:
        """Return how many streams ``who`` (or everyone, when ``None``) holds open."""
        with self.lock:
            return self._all if who is None else self._open[who]


async def holding(seat: Seat, events: AsyncIterator[str]) -> AsyncIterator[str]:
    """Yield ``events`` and give ``seat`` back when the stream ends, fails or is cancelled."""
    try:
        async for chunk in events:
            yield chunk
    finally:
        seat.give_back()

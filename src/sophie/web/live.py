"""The board's live updates: a server-sent event stream of the ledger's change marker.

``GET /api/v1/changes`` (a signed-in session or an API token) answers ``text/event-stream``:
a ``change`` event with the ledger's current change marker at once, then another each time
the marker moves (any process committing a task change or a cycle), checked every
:data:`CHECK_EVERY` seconds, with a keep-alive comment in between. A stream ends after
:data:`STREAM_FOR` seconds and the browser reconnects by itself, so a server that stops
is not held open by its watchers. Browsers without ``EventSource`` (or when the stream
fails) poll ``/api/v1/version`` instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager

from sophie.execution.stores.ledger import ReportingLedger

__all__ = ["CHECK_EVERY", "STREAM_FOR", "change_events"]

CHECK_EVERY = 0.5
"""Seconds between two reads of the change marker."""

STREAM_FOR = 300.0
"""Seconds one stream lasts before the browser is asked to reconnect."""

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

"""Delivering the outbox: at least once, with backoff, dead letters and counts.

The ledger writes an outbox row in the same transaction as the task change it reports,
so no notification is lost. :class:`DeliveryWorker` drains those rows through the
configured notifiers ("channels"):

* **At least once, per channel.** A row is claimed with a lease, sent, and only then
  marked delivered for that channel; a crash in between means the row is sent again
  when the lease runs out. Each send carries the row's key as the idempotency key
  (``webhook-id``, the email ``Message-ID``), so receivers that deduplicate see it once.
  A channel that succeeded is never repeated because another one failed.
* **Backoff.** A failed row waits ``first_delay * factor**(attempts-1)`` (capped at
  ``max_delay``), spread by a deterministic jitter derived from the row's key, so many
  rows failing together do not retry together, and tests are reproducible.
* **Dead letters.** After ``max_attempts`` failures, or at once when the notifier says
  a retry cannot help, the row is set aside (``dead``) and counted; nothing is dropped.
* **No clock, no sleeping.** :meth:`DeliveryWorker.run_once` takes ``now`` and reports
  ``next_due``: when the caller should run it again.

Storage is behind the small :class:`Outbox` protocol: :class:`InMemoryOutbox` here (for
tests and embedding), :class:`~sophie.notifiers.sqlite_outbox.SqliteOutbox` over the
ledger's table. Logs name outbox keys, channels and error classes, never content.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sophie.notifiers.base import DeliveryError, Message, Notifier

__all__ = [
    "DeliveryReport",
    "DeliveryWorker",
    "InMemoryOutbox",
    "Outbox",
    "OutboxCounts",
    "OutboxEntry",
    "RetryPolicy",
]

logger = logging.getLogger("sophie.notifiers.delivery")


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the worker sees it.

    Attributes:
        key: The row's unique key, used as the idempotency key.
        message: What to send.
        attempts: Failed attempts so far.
        not_before: The earliest time to (re)try.
        delivered: Channels that already accepted it.
    """

    key: str
    message: Message
    attempts: int = 0
    not_before: datetime | None = None
    delivered: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OutboxCounts:
    """How many outbox rows are in each state (for ``sophie outbox`` / status commands).

    Attributes:
        pending: Not yet sent to every channel, not dead (includes ``retrying`` and ``due``).
        due: Pending rows that may be sent now.
        retrying: Pending rows that failed at least once.
        in_flight: Pending rows claimed by a worker whose lease has not run out.
        sent: Delivered to every channel.
        dead: Set aside after too many failures or a permanent one.
    """

    pending: int = 0
    due: int = 0
    retrying: int = 0
    in_flight: int = 0
    sent: int = 0
    dead: int = 0


class Outbox(Protocol):
    """Where the worker reads rows and records what happened to them."""

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Lease up to ``limit`` pending rows whose time has come and that no live lease holds."""
        ...

    def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
        """Record that ``channel`` accepted the row."""
        ...

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Record that every channel accepted the row; release its lease."""
        ...

    def mark_failed(self, key: str, *, now: datetime, attempts: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt; the row is due again at ``retry_at``; release its lease."""
        ...

    def dead_letter(self, key: str, *, now: datetime, attempts: int, error: str) -> None:
        """Set the row aside for good (until someone requeues it)."""
        ...

    def next_due(self) -> datetime | None:
        """Return the earliest ``not_before`` among pending rows, or ``None`` when none is pending."""
        ...

    def counts(self, now: datetime) -> OutboxCounts:
        """Return how many rows are in each state at ``now``."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed row again, and when to give up.

    The defaults retry for about six hours (30 s, 1 min, 2 min ... capped at one hour,
    12 attempts), so an endpoint down all morning loses nothing.

    Attributes:
        max_attempts: Failed attempts after which the row is dead-lettered.
        first_delay: The wait after the first failure.
        factor: How much each wait grows.
        max_delay: The longest wait.
        jitter: Spread each wait by up to this fraction, either way.
    """

    max_attempts: int = 12
    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)
    jitter: float = 0.2

    def delay(self, attempts: int, key: str) -> timedelta:
        """Return the wait after the ``attempts``-th failure of the row ``key`` (deterministic)."""
        base = min(self.first_delay * (self.factor ** max(attempts - 1, 0)), self.max_delay)
        digest = hashlib.sha256(f"{key}:{attempts}".encode()).digest()
        spread = (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF) * 2 - 1
        return base * (1 + self.jitter * spread)

    def retry_at(self, attempts: int, key: str, now: datetime, retry_after: timedelta | None = None) -> datetime:
        """Return when to try again: after the backoff, and no sooner than the receiver asked."""
        wait = self.delay(attempts, key)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return now + wait


@dataclass(frozen=True)
class DeliveryReport:
    """What one :meth:`DeliveryWorker.run_once` did.

    Attributes:
        sent: Rows now delivered to every channel.
        retried: Rows that failed and will be tried again.
        dead_lettered: Rows set aside.
        deliveries: Successful sends (one per row and channel).
        next_due: When to run the worker again (``None``: nothing pending).
    """

    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    deliveries: int = 0
    next_due: datetime | None = None


class DeliveryWorker:
    """Drains an outbox through notifiers.

    Args:
        outbox: Where rows come from.
        notifiers: Channel name -> notifier; every row goes to every channel.
        policy: Backoff and dead-letter policy.
        batch: Rows claimed per run.
        lease: How long a claimed row is reserved; a row whose worker died is sent again
            after it (pick it longer than the slowest send).
    """

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Mapping[str, Notifier],
        *,
        policy: RetryPolicy | None = None,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.outbox = outbox
        self.notifiers = dict(notifiers)
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self.lease = lease

    def run_once(self, now: datetime) -> DeliveryReport:
        """Try every row due at ``now`` once; return what happened and when to come back."""
        sent = retried = dead = deliveries = 0
        for entry in self.outbox.claim_due(now, limit=self.batch, lease=self.lease):
            failure: DeliveryError | None = None
            for channel in sorted(set(self.notifiers) - entry.delivered):
                try:
                    self.notifiers[channel].send(entry.message, now=now)
                except DeliveryError as err:
                    failure = failure if failure is not None and not failure.retryable else err
                    logger.warning("outbox %s via %s failed: %s", entry.key, channel, err)
                    continue
                except Exception as err:  # a notifier's bug must not stop delivery of the rest
                    failure = DeliveryError(f"{channel} raised {type(err).__name__}")
                    logger.warning("outbox %s via %s raised %s", entry.key, channel, type(err).__name__)
                    continue
                self.outbox.mark_delivered(entry.key, channel, now=now)
                deliveries += 1
                logger.info("outbox %s delivered via %s", entry.key, channel)
            if failure is None:
                self.outbox.mark_sent(entry.key, now=now)
                sent += 1
                continue
            attempts = entry.attempts + 1
            if not failure.retryable or attempts >= self.policy.max_attempts:
                self.outbox.dead_letter(entry.key, now=now, attempts=attempts, error=str(failure))
                logger.error("outbox %s dead-lettered after %d attempt(s)", entry.key, attempts)
                dead += 1
            else:
                retry_at = self.policy.retry_at(attempts, entry.key, now, failure.retry_after)
                self.outbox.mark_failed(entry.key, now=now, attempts=attempts, retry_at=retry_at, error=str(failure))
                retried += 1
        return DeliveryReport(sent, retried, dead, deliveries, self.outbox.next_due())


@dataclass
class _Row:
    entry: OutboxEntry
    leased_until: datetime | None = None
    sent_at: datetime | None = None
    dead_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


class InMemoryOutbox:
    """An :class:`Outbox` in memory: for tests, demos and embedding without a ledger.

    It survives a "crashed" worker (the object outlives it), which is what the
    at-least-once tests need.
    """

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}

    def add(self, message: Message, *, now: datetime) -> bool:
        """Queue ``message`` (keyed by ``message.key``); return ``False`` if that key is already queued."""
        if message.key in self._rows:
            return False
        self._rows[message.key] = _Row(OutboxEntry(message.key, message, 0, now))
        return True

    def entry(self, key: str) -> OutboxEntry:
        """Return the row ``key`` as it stands."""
        return self._rows[key].entry

    def errors(self, key: str) -> list[str]:
        """Return the errors recorded for row ``key``, oldest first."""
        return list(self._rows[key].errors)

    def dead_keys(self) -> list[str]:
        """Return the keys of dead-lettered rows."""
        return sorted(key for key, row in self._rows.items() if row.dead_at is not None)

    def requeue_dead(self, *, now: datetime) -> int:
        """Give every dead row a fresh start at ``now``; return how many."""
        dead = [row for row in self._rows.values() if row.dead_at is not None]
        for row in dead:
            row.dead_at = None
            row.entry = replace(row.entry, attempts=0, not_before=now)
        return len(dead)

    def _pending(self, row: _Row) -> bool:
        return row.sent_at is None and row.dead_at is None

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Lease due rows, oldest first."""
        due = [
            row
            for row in self._rows.values()
            if self._pending(row)
            and (row.entry.not_before is None or row.entry.not_before <= now)
            and (row.leased_until is None or row.leased_until <= now)
        ]
        due.sort(key=lambda row: (row.entry.not_before or now, row.entry.key))
        for row in due[:limit]:
            row.leased_until = now + lease
        return [row.entry for row in due[:limit]]

    def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
        """Record one channel's success."""
        row = self._rows[key]
        row.entry = replace(row.entry, delivered=row.entry.delivered | {channel})

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Record success on every channel."""
        row = self._rows[key]
        row.sent_at, row.leased_until = now, None

    def mark_failed(self, key: str, *, now: datetime, attempts: int, retry_at: datetime, error: str) -> None:
        """Record a failure and when to retry."""
        row = self._rows[key]
        row.entry = replace(row.entry, attempts=attempts, not_before=retry_at)
        row.leased_until = None
        row.errors.append(error)

    def dead_letter(self, key: str, *, now: datetime, attempts: int, error: str) -> None:
        """Set the row aside."""
        row = self._rows[key]
        row.entry = replace(row.entry, attempts=attempts)
        row.dead_at, row.leased_until = now, None
        row.errors.append(error)

    def next_due(self) -> datetime | None:
        """Return the earliest retry time among pending rows."""
        times = [
            max(row.entry.not_before, row.leased_until) if row.leased_until and row.entry.not_before
            else row.leased_until or row.entry.not_before
            for row in self._rows.values()
            if self._pending(row)
        ]
        known = [moment for moment in times if moment is not None]
        return min(known) if known else None

    def counts(self, now: datetime) -> OutboxCounts:
        """Count rows by state."""
        rows = list(self._rows.values())
        pending = [row for row in rows if self._pending(row)]
        return OutboxCounts(
            pending=len(pending),
            due=sum(1 for r in pending if (r.entry.not_before or now) <= now and not _leased(r, now)),
            retrying=sum(1 for r in pending if r.entry.attempts > 0),
            in_flight=sum(1 for r in pending if _leased(r, now)),
            sent=sum(1 for row in rows if row.sent_at is not None),
            dead=sum(1 for row in rows if row.dead_at is not None),
        )


def _leased(row: _Row, now: datetime) -> bool:
    return row.leased_until is not None and row.leased_until > now

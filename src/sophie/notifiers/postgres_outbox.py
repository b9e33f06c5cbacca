"""The :class:`~sophie.notifiers.delivery.Outbox` protocol over the PostgreSQL ledger's ``outbox`` table.

Workers on several machines deliver from one outbox: :meth:`PostgresOutbox.claim_due`
locks the due rows it takes with ``FOR UPDATE SKIP LOCKED`` and leases them in the same
transaction, so two workers never claim one row (one skips what the other is taking)
and a worker that dies lets its lease run out for another to pick the row up. Rows are
stored as the ledger stores them (UTC ISO 8601 text, compared with the ``C`` collation).
It speaks SQL to the table and does not import the execution layer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from sophie.notifiers.base import Message, MessageSettings, NotifierError
from sophie.notifiers.delivery import OutboxCounts, OutboxEntry

__all__ = ["PostgresOutbox"]

_PENDING = "sent_at IS NULL AND dead_at IS NULL"
_C = 'COLLATE "C"'


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class PostgresOutbox:
    """The ledger's outbox table on PostgreSQL as an :class:`~sophie.notifiers.delivery.Outbox`.

    Args:
        url: The ledger's ``postgresql://`` URL (its schema already migrated by the ledger).
        settings: What messages show (patient names, links).

    Raises:
        NotifierError: The server cannot be reached.
    """

    def __init__(self, url: str, *, settings: MessageSettings | None = None) -> None:
        self.settings = settings or MessageSettings()
        try:
            self._db: psycopg.Connection[dict[str, Any]] = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.Error as err:
            raise NotifierError(f"cannot open the ledger's outbox: {type(err).__name__}") from err

    def __enter__(self) -> PostgresOutbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        try:
            with self._db.transaction():
                yield self._db
        except psycopg.Error as err:
            raise NotifierError(f"the outbox write failed: {err}") from err

    def _entry(self, row: dict[str, Any]) -> OutboxEntry:
        payload = json.loads(row["payload_json"])
        return OutboxEntry(
            key=row["key"],
            message=Message.from_outbox(row["key"], payload, settings=self.settings),
            attempts=int(row["attempts"]),
            not_before=datetime.fromisoformat(row["not_before"]),
            delivered=frozenset(json.loads(row["delivered_json"])),
        )

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Lease up to ``limit`` due rows, oldest first, skipping rows another worker is claiming."""
        stamp = _stamp(now)
        with self._write() as db:
            rows = db.execute(
                f"SELECT * FROM outbox WHERE {_PENDING} AND not_before <= %s {_C} "
                f"AND (claimed_until IS NULL OR claimed_until <= %s {_C}) "
                f"ORDER BY not_before {_C}, key {_C} LIMIT %s FOR UPDATE SKIP LOCKED",
                (stamp, stamp, limit),
            ).fetchall()
            if rows:
                db.execute(
                    "UPDATE outbox SET claimed_until = %s WHERE key = ANY(%s)",
                    (_stamp(now + lease), [row["key"] for row in rows]),
                )
        return [self._entry(row) for row in rows]

    def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
        """Add ``channel`` to the row's delivered channels."""
        with self._write() as db:
            row = db.execute("SELECT delivered_json FROM outbox WHERE key = %s FOR UPDATE", (key,)).fetchone()
            done = sorted(set(json.loads(row["delivered_json"] if row else "[]")) | {channel})
            db.execute("UPDATE outbox SET delivered_json = %s WHERE key = %s", (json.dumps(done), key))

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Record the row as sent everywhere."""
        with self._write() as db:
            db.execute("UPDATE outbox SET sent_at = %s, claimed_until = NULL WHERE key = %s", (_stamp(now), key))

    def mark_failed(self, key: str, *, now: datetime, attempts: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt and when to retry."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET attempts = %s, not_before = %s, claimed_until = NULL, last_error = %s "
                "WHERE key = %s",
                (attempts, _stamp(retry_at), error[:500], key),
            )

    def dead_letter(self, key: str, *, now: datetime, attempts: int, error: str) -> None:
        """Set the row aside."""
        with self._write() as db:
            db.execute(
                "UPDATE outbox SET attempts = %s, dead_at = %s, claimed_until = NULL, last_error = %s WHERE key = %s",
                (attempts, _stamp(now), error[:500], key),
            )

    def requeue_dead(self, *, now: datetime) -> int:
        """Give every dead row a fresh start at ``now`` (channels that succeeded stay done); return how many."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, not_before = %s WHERE dead_at IS NOT NULL",
                (_stamp(now),),
            )
            return int(cursor.rowcount)

    def next_due(self) -> datetime | None:
        """Return the earliest time a pending row may be tried."""
        row = self._db.execute(
            f"SELECT min(greatest(not_before {_C}, coalesce(claimed_until, not_before) {_C})) AS due "
            f"FROM outbox WHERE {_PENDING}"
        ).fetchone()
        return None if row is None or row["due"] is None else datetime.fromisoformat(row["due"])

    def counts(self, now: datetime) -> OutboxCounts:
        """Count rows by state at ``now``."""
        leased = f"(claimed_until IS NOT NULL AND claimed_until > %(now)s {_C})"
        row = self._db.execute(
            f"""SELECT
                count(*) FILTER (WHERE {_PENDING}) AS pending,
                count(*) FILTER (WHERE {_PENDING} AND not_before <= %(now)s {_C} AND NOT {leased}) AS due,
                count(*) FILTER (WHERE {_PENDING} AND attempts > 0) AS retrying,
                count(*) FILTER (WHERE {_PENDING} AND {leased}) AS in_flight,
                count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
            FROM outbox""",
            {"now": _stamp(now)},
        ).fetchone()
        assert row is not None
        return OutboxCounts(**{name: int(value) for name, value in row.items()})

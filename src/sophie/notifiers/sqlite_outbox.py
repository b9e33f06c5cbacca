"""The :class:`~sophie.notifiers.delivery.Outbox` protocol over the SQLite ledger's ``outbox`` table.

The ledger (:mod:`sophie.execution.stores.sqlite.ledger`) writes outbox rows in the same
transaction as the task changes; this class reads and updates them for the delivery
worker through its own connection, one short ``BEGIN IMMEDIATE`` transaction per
step, so a worker in another process is safe. It needs two columns beyond the
ledger's first schema, added by the ledger's schema version 2: ``dead_at`` (dead letters)
and ``delivered_json`` (the channels that already accepted a row). It does not
import the execution layer; it speaks SQL to the table.

Times are stored as the ledger stores them: UTC ISO 8601 with microseconds, so they
compare correctly as text.

With ``digests`` set, a non-urgent row is not delivered by itself: at each digest window
(:mod:`sophie.notifiers.digests`) one transaction inserts, per person, one ``digest`` row
gathering their waiting rows (and the tasks of their day that went overdue since the
previous window) and marks those rows sent as part of it. A crash before the commit
leaves everything waiting; after it, the digest row is delivered like any row (with its
key as the idempotency key), so nothing is lost and nothing goes out twice. Urgent rows go
at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sophie.notifiers.base import Message, MessageSettings, NotifierError
from sophie.notifiers.delivery import OutboxCounts, OutboxEntry
from sophie.notifiers.digests import DigestSettings, next_window, plan_digests, window_at

__all__ = ["SqliteOutbox"]

_NEEDED = ("key", "payload_json", "not_before", "attempts", "claimed_until", "sent_at", "last_error", "dead_at",
           "delivered_json")
_PENDING = "sent_at IS NULL AND dead_at IS NULL"
_SENDABLE = "(kind = 'digest' OR json_extract(payload_json, '$.priority') = 'urgent')"
_DAY = "status IN ('open', 'acknowledged', 'snoozed', 'blocked')"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class SqliteOutbox:
    """The ledger's outbox table as an :class:`~sophie.notifiers.delivery.Outbox`.

    Args:
        path: The ledger's SQLite file (as ``SqliteLedger`` was given it).
        settings: What messages show (patient names, links).
        busy_timeout_ms: How long to wait for another writer.
        digests: Send non-urgent notifications as one digest per person at these windows
            (``None``: every row by itself).

    Raises:
        NotifierError: the file has no outbox table with the columns delivery needs.
    """

    def __init__(
        self,
        path: str,
        *,
        settings: MessageSettings | None = None,
        busy_timeout_ms: int = 30_000,
        digests: DigestSettings | None = None,
    ) -> None:
        self.path = path
        self.settings = settings or MessageSettings()
        self.digests = digests
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(outbox)")}
        except sqlite3.DatabaseError as err:
            raise NotifierError(f"{path}: cannot open the ledger's outbox: {err}") from err
        missing = [name for name in _NEEDED if name not in columns]
        if missing:
            self._db.close()
            raise NotifierError(
                f"{path}: the ledger's outbox lacks {', '.join(missing)}; upgrade the ledger schema "
                "(open it once with this version of sophie, e.g. `sophie queue --db ...`)"
            )

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SqliteOutbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Callable[..., sqlite3.Cursor]]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db.execute
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _entry(self, row: sqlite3.Row) -> OutboxEntry:
        payload = json.loads(row["payload_json"])
        return OutboxEntry(
            key=row["key"],
            message=Message.from_outbox(row["key"], payload, settings=self.settings),
            attempts=int(row["attempts"]),
            not_before=datetime.fromisoformat(row["not_before"]),
            delivered=frozenset(json.loads(row["delivered_json"])),
        )

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Lease up to ``limit`` due rows, oldest first (with digests: urgent rows and digests, rolled first)."""
        if self.digests is not None:
            self.roll_digests(now)
        stamp = _stamp(now)
        sendable = f" AND {_SENDABLE}" if self.digests is not None else ""
        with self._write() as execute:
            rows = execute(
                f"SELECT * FROM outbox WHERE {_PENDING}{sendable} AND not_before <= ? "
                "AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY not_before, key LIMIT ?",
                (stamp, stamp, limit),
            ).fetchall()
            until = _stamp(now + lease)
            for row in rows:
                execute("UPDATE outbox SET claimed_until = ? WHERE key = ?", (until, row["key"]))
        return [self._entry(row) for row in rows]

    def roll_digests(self, now: datetime) -> int:
        """Gather each person's waiting non-urgent rows into one digest row for the current window; return how many.

        One transaction: the digest rows are inserted and the rows they gather marked sent
        together. A person whose digest for this window already exists keeps any later row
        waiting for the next window.
        """
        if self.digests is None:
            return 0
        previous, window = window_at(now, self.digests)
        stamp, cutoff, since = _stamp(now), _stamp(window), _stamp(previous)
        made = 0
        with self._write() as execute:
            rows = execute(
                f"SELECT key, recipient_id, payload_json FROM outbox WHERE {_PENDING} AND kind != 'digest' "
                f"AND NOT {_SENDABLE} AND created_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) "
                "ORDER BY created_at, key",
                (cutoff, stamp),
            ).fetchall()
            overdue = execute(
                f"SELECT id, rule_id, priority, due_at, owner_id, practice_id FROM task WHERE {_DAY} "
                "AND priority != 'urgent' AND due_at > ? AND due_at <= ? ORDER BY due_at, id",
                (since, cutoff),
            ).fetchall()
            for digest in plan_digests(window, rows, overdue):
                cursor = execute(
                    "INSERT OR IGNORE INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, "
                    "not_before) VALUES (?, ?, ?, 'digest', ?, ?, ?)",
                    (digest.key, digest.payload["task_id"], digest.recipient_id,
                     json.dumps(digest.payload, sort_keys=True), cutoff, cutoff),
                )  # fmt: skip
                if cursor.rowcount != 1:  # this window's digest went already: the rows wait for the next
                    continue
                made += 1
                for key in digest.gathered:
                    execute(
                        "UPDATE outbox SET sent_at = ?, delivered_json = ?, claimed_until = NULL WHERE key = ?",
                        (stamp, json.dumps([digest.key]), key),
                    )
        return made

    def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
        """Add ``channel`` to the row's delivered channels."""
        with self._write() as execute:
            row = execute("SELECT delivered_json FROM outbox WHERE key = ?", (key,)).fetchone()
            done = sorted(set(json.loads(row["delivered_json"])) | {channel})
            execute("UPDATE outbox SET delivered_json = ? WHERE key = ?", (json.dumps(done), key))

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Record the row as sent everywhere."""
        with self._write() as execute:
            execute("UPDATE outbox SET sent_at = ?, claimed_until = NULL WHERE key = ?", (_stamp(now), key))

    def mark_failed(self, key: str, *, now: datetime, attempts: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt and when to retry."""
        with self._write() as execute:
            execute(
                "UPDATE outbox SET attempts = ?, not_before = ?, claimed_until = NULL, last_error = ? WHERE key = ?",
                (attempts, _stamp(retry_at), error[:500], key),
            )

    def dead_letter(self, key: str, *, now: datetime, attempts: int, error: str) -> None:
        """Set the row aside."""
        with self._write() as execute:
            execute(
                "UPDATE outbox SET attempts = ?, dead_at = ?, claimed_until = NULL, last_error = ? WHERE key = ?",
                (attempts, _stamp(now), error[:500], key),
            )

    def requeue_dead(self, *, now: datetime) -> int:
        """Give every dead row a fresh start at ``now`` (channels that succeeded stay done); return how many."""
        with self._write() as execute:
            cursor = execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, not_before = ? WHERE dead_at IS NOT NULL",
                (_stamp(now),),
            )
            return int(cursor.rowcount)

    def next_due(self) -> datetime | None:
        """Return the earliest time a pending row may be tried (with digests: a row held for one, its window)."""
        sendable = f" AND {_SENDABLE}" if self.digests is not None else ""
        row = self._db.execute(
            "SELECT min(max(not_before, coalesce(claimed_until, not_before))) AS due FROM outbox "
            f"WHERE {_PENDING}{sendable}"
        ).fetchone()
        due = None if row["due"] is None else datetime.fromisoformat(row["due"])
        if self.digests is not None:
            held = self._db.execute(
                f"SELECT min(created_at) AS first FROM outbox WHERE {_PENDING} AND NOT {_SENDABLE}"
            ).fetchone()
            if held["first"] is not None:
                window = next_window(datetime.fromisoformat(held["first"]), self.digests)
                due = window if due is None else min(due, window)
        return due

    def practice_timezone(self) -> str:
        """Return the timezone of the practice the ledger last ran a cycle for (``UTC`` if none)."""
        try:
            row = self._db.execute(
                "SELECT json_extract(settings_json, '$.timezone') AS tz FROM practice ORDER BY updated_at DESC LIMIT 1"
            ).fetchone()
        except sqlite3.DatabaseError:
            return "UTC"
        return "UTC" if row is None or row["tz"] is None else str(row["tz"])

    def counts(self, now: datetime) -> OutboxCounts:
        """Count rows by state at ``now``."""
        stamp = _stamp(now)
        leased = "(claimed_until IS NOT NULL AND claimed_until > :now)"
        row = self._db.execute(
            f"""SELECT
                coalesce(sum({_PENDING}), 0) AS pending,
                coalesce(sum({_PENDING} AND not_before <= :now AND NOT {leased}), 0) AS due,
                coalesce(sum({_PENDING} AND attempts > 0), 0) AS retrying,
                coalesce(sum({_PENDING} AND {leased}), 0) AS in_flight,
                coalesce(sum(sent_at IS NOT NULL), 0) AS sent,
                coalesce(sum(dead_at IS NOT NULL), 0) AS dead
            FROM outbox""",
            {"now": stamp},
        ).fetchone()
        return OutboxCounts(**{name: int(row[name]) for name in row.keys()})  # noqa: SIM118  # sqlite3.Row

"""The :class:`~sophie.notifiers.delivery.Outbox` protocol over the PostgreSQL ledger's ``outbox`` table.

Workers on several machines deliver from one outbox: :meth:`PostgresOutbox.claim_due`
locks the due rows it takes with ``FOR UPDATE SKIP LOCKED`` and leases them in the same
transaction, so two workers never claim one row (one skips what the other is taking)
and a worker that dies lets its lease run out for another to pick the row up. Rows are
stored as the ledger stores them (UTC ISO 8601 text, compared with the ``C`` collation).
It speaks SQL to the table and does not import the execution layer.

With ``digests`` set, a non-urgent row waits for its owner's digest, as on SQLite
(:class:`~sophie.notifiers.sqlite_outbox.SqliteOutbox`), with what a ledger of many
practices needs: each practice's windows are in its own timezone (from the settings its
last cycle stored; the settings' timezone for a practice with none), and a digest gathers
one person's rows of one practice (its key names the practice). Rolling holds a
transaction-scoped advisory lock, so deliverers rolling at once roll one after the other:
the second finds the rows gathered and this window's digests made (``ON CONFLICT DO
NOTHING``), and the digest rows are claimed like any row, ``SKIP LOCKED`` and leased, so
no digest goes out twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from sophie.notifiers.base import Message, MessageSettings, NotifierError
from sophie.notifiers.delivery import OutboxCounts, OutboxEntry
from sophie.notifiers.digests import DigestSettings, next_window, plan_digests, window_at

__all__ = ["DIGEST_LOCK", "PostgresOutbox"]

DIGEST_LOCK = 3
"""The advisory lock (of the ledger's schema) a deliverer holds while it rolls digests (until its transaction ends)."""

_PENDING = "sent_at IS NULL AND dead_at IS NULL"
_C = 'COLLATE "C"'
_SENDABLE = "(kind = 'digest' OR (payload_json::json ->> 'priority') = 'urgent')"
_DAY = "status IN ('open', 'acknowledged', 'snoozed', 'blocked')"
_ZONES = (
    "SELECT t.practice_id, p.settings_json::json ->> 'timezone' AS timezone, min(o.created_at {c}) AS first "
    "FROM outbox o JOIN task t ON t.id = o.task_id LEFT JOIN practice p ON p.id = t.practice_id "
    "WHERE o.{pending} AND NOT {sendable} AND o.kind != 'digest' {{held}}GROUP BY t.practice_id, p.settings_json "
    "ORDER BY t.practice_id {c}"
).format(c=_C, pending=_PENDING.replace(" AND ", " AND o."), sendable=_SENDABLE.replace("kind", "o.kind"))
_OF_PRACTICES = "EXISTS (SELECT 1 FROM task t WHERE t.id = outbox.task_id AND t.practice_id = ANY(%s))"

Execute = Callable[..., "psycopg.Cursor[dict[str, Any]]"]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class PostgresOutbox:
    """The ledger's outbox table on PostgreSQL as an :class:`~sophie.notifiers.delivery.Outbox`.

    Args:
        url: The ledger's ``postgresql://`` URL (its schema already migrated by the ledger).
        settings: What messages show (patient names, links).
        digests: Send non-urgent notifications as one digest per person and practice at
            these windows, in each practice's timezone (``digests.timezone`` for a practice
            whose settings the ledger lacks); ``None``: every row by itself.
        practice_digests: Practice id -> its own digest windows (a group whose practices
            choose differently). A practice named here uses its windows; any other uses
            ``digests`` when set, else sends every row by itself.

    Raises:
        NotifierError: The server cannot be reached.
    """

    def __init__(
        self,
        url: str,
        *,
        settings: MessageSettings | None = None,
        digests: DigestSettings | None = None,
        practice_digests: Mapping[str, DigestSettings] | None = None,
    ) -> None:
        self.settings = settings or MessageSettings()
        self.digests = digests
        self.practice_digests = dict(practice_digests or {})
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
    def _write(self) -> Iterator[Execute]:
        try:
            with self._db.transaction():
                yield self._db.execute
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

    @property
    def _holding(self) -> bool:
        """Whether some rows wait for a digest."""
        return self.digests is not None or bool(self.practice_digests)

    def _sendable(self) -> tuple[str, tuple[Any, ...]]:
        """Return the condition (and its parameters) a pending row of ``outbox`` meets when it may go now."""
        if self.digests is not None:
            return f" AND {_SENDABLE}", ()
        if self.practice_digests:
            return f" AND ({_SENDABLE} OR NOT {_OF_PRACTICES})", (sorted(self.practice_digests),)
        return "", ()

    def _zones(self, execute: Execute) -> list[dict[str, Any]]:
        """Return each practice with rows held for a digest: its id, stored timezone, and oldest held row's time."""
        if self.digests is not None:
            return execute(_ZONES.format(held="")).fetchall()
        return execute(_ZONES.format(held="AND t.practice_id = ANY(%s) "), (sorted(self.practice_digests),)).fetchall()

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Lease up to ``limit`` due rows, oldest first, skipping rows another worker is claiming.

        With digests: urgent rows and digests, this window's digests rolled first.
        """
        if self._holding:
            self.roll_digests(now)
        stamp = _stamp(now)
        sendable, held = self._sendable()
        with self._write() as execute:
            rows = execute(
                f"SELECT * FROM outbox WHERE {_PENDING}{sendable} AND not_before <= %s {_C} "
                f"AND (claimed_until IS NULL OR claimed_until <= %s {_C}) "
                f"ORDER BY not_before {_C}, key {_C} LIMIT %s FOR UPDATE SKIP LOCKED",
                (*held, stamp, stamp, limit),
            ).fetchall()
            if rows:
                execute(
                    "UPDATE outbox SET claimed_until = %s WHERE key = ANY(%s)",
                    (_stamp(now + lease), [row["key"] for row in rows]),
                )
        return [self._entry(row) for row in rows]

    def mark_delivered(self, key: str, channel: str, *, now: datetime) -> None:
        """Add ``channel`` to the row's delivered channels."""
        with self._write() as execute:
            row = execute("SELECT delivered_json FROM outbox WHERE key = %s FOR UPDATE", (key,)).fetchone()
            done = sorted(set(json.loads(row["delivered_json"] if row else "[]")) | {channel})
            execute("UPDATE outbox SET delivered_json = %s WHERE key = %s", (json.dumps(done), key))

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Record the row as sent everywhere."""
        with self._write() as execute:
            execute("UPDATE outbox SET sent_at = %s, claimed_until = NULL WHERE key = %s", (_stamp(now), key))

    def mark_failed(self, key: str, *, now: datetime, attempts: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt and when to retry."""
        with self._write() as execute:
            execute(
                "UPDATE outbox SET attempts = %s, not_before = %s, claimed_until = NULL, last_error = %s "
                "WHERE key = %s",
                (attempts, _stamp(retry_at), error[:500], key),
            )

    def dead_letter(self, key: str, *, now: datetime, attempts: int, error: str) -> None:
        """Set the row aside."""
        with self._write() as execute:
            execute(
                "UPDATE outbox SET attempts = %s, dead_at = %s, claimed_until = NULL, last_error = %s WHERE key = %s",
                (attempts, _stamp(now), error[:500], key),
            )

    def requeue_dead(self, *, now: datetime) -> int:
        """Give every dead row a fresh start at ``now`` (channels that succeeded stay done); return how many."""
        with self._write() as execute:
            cursor = execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, not_before = %s WHERE dead_at IS NOT NULL",
                (_stamp(now),),
            )
            return int(cursor.rowcount)

    def roll_digests(self, now: datetime) -> int:
        """Gather each person's waiting non-urgent rows into one digest per practice for its current window.

        Returns how many digests it made. One transaction: the digest rows are inserted and
        the rows they gather marked sent together. A person whose digest for this window
        already exists keeps any later row waiting for the next window.
        """
        if not self._holding:
            return 0
        stamp = _stamp(now)
        made = 0
        with self._write() as execute:
            execute("SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '')), %s)", (DIGEST_LOCK,))
            for zone in self._zones(execute):
                settings = self._settings(zone["practice_id"], zone["timezone"])
                made += self._roll_practice(execute, zone["practice_id"], settings, now, stamp)
        return made

    def _settings(self, practice_id: str, timezone: str | None) -> DigestSettings:
        """Return a practice's digest windows, in its stored timezone when the ledger has one."""
        chosen = self.practice_digests.get(practice_id, self.digests)
        assert chosen is not None
        return chosen if not timezone else replace(chosen, timezone=timezone)

    def _roll_practice(
        self, execute: Execute, practice_id: str, settings: DigestSettings, now: datetime, stamp: str
    ) -> int:
        previous, window = window_at(now, settings)
        cutoff, since = _stamp(window), _stamp(previous)
        rows = execute(
            f"SELECT o.key, o.recipient_id, o.payload_json FROM outbox o JOIN task t ON t.id = o.task_id "
            f"WHERE o.sent_at IS NULL AND o.dead_at IS NULL AND o.kind != 'digest' "
            f"AND NOT {_SENDABLE.replace('kind', 'o.kind')} AND t.practice_id = %s "
            f"AND o.created_at <= %s {_C} AND (o.claimed_until IS NULL OR o.claimed_until <= %s {_C}) "
            f"ORDER BY o.created_at {_C}, o.key {_C} FOR UPDATE OF o SKIP LOCKED",
            (practice_id, cutoff, stamp),
        ).fetchall()
        overdue = execute(
            f"SELECT id, rule_id, priority, due_at, owner_id, practice_id FROM task WHERE practice_id = %s AND {_DAY} "
            f"AND priority != 'urgent' AND due_at > %s {_C} AND due_at <= %s {_C} ORDER BY due_at {_C}, id {_C}",
            (practice_id, since, cutoff),
        ).fetchall()
        made = 0
        for digest in plan_digests(window, rows, overdue, practice_id=practice_id):
            cursor = execute(
                "INSERT INTO outbox (key, task_id, recipient_id, kind, payload_json, created_at, not_before) "
                "VALUES (%s, %s, %s, 'digest', %s, %s, %s) ON CONFLICT (key) DO NOTHING",
                (digest.key, digest.payload["task_id"], digest.recipient_id,
                 json.dumps(digest.payload, sort_keys=True), cutoff, cutoff),
            )  # fmt: skip
            if cursor.rowcount != 1:  # this window's digest went already: the rows wait for the next
                continue
            made += 1
            if digest.gathered:
                execute(
                    "UPDATE outbox SET sent_at = %s, delivered_json = %s, claimed_until = NULL WHERE key = ANY(%s)",
                    (stamp, json.dumps([digest.key]), list(digest.gathered)),
                )
        return made

    def next_due(self) -> datetime | None:
        """Return the earliest time a pending row may be tried (with digests: a row held for one, its window)."""
        sendable, held = self._sendable()
        row = self._db.execute(
            f"SELECT min(greatest(not_before {_C}, coalesce(claimed_until, not_before) {_C})) AS due "
            f"FROM outbox WHERE {_PENDING}{sendable}",
            held,
        ).fetchone()
        due = None if row is None or row["due"] is None else datetime.fromisoformat(row["due"])
        if self._holding:
            for zone in self._zones(self._db.execute):
                settings = self._settings(zone["practice_id"], zone["timezone"])
                window = next_window(datetime.fromisoformat(zone["first"]), settings)
                due = window if due is None else min(due, window)
        return due

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

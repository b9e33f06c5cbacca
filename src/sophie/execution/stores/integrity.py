"""What ``sophie ledger verify`` reads from a SQL ledger, and the audit chain's key record: shared by both stores.

:class:`ChainReads` is a mixin of the SQLite and PostgreSQL ledgers implementing most of
:class:`~sophie.execution.stores.verify.SupportsVerify`: the rows as stored, decoded
defensively (a row someone edited by hand may not decode; that is reported, not raised).
Each store adds how it runs a query and what its guards are
(:meth:`~sophie.execution.stores.verify.SupportsVerify.guard_states`).

The chain's key record lives in ``ledger_meta``: ``audit_chain`` (``hmac-sha256``) and
``audit_key_check`` (see :func:`~sophie.execution.stores.audit.key_check`). It is written
with the first audit event when a key is set, so a ledger is keyed from its first event or
not at all: a plain chain cannot be turned into a keyed one later, because a plain chain
re-hashed by someone else would then be taken for the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sophie.errors import LedgerError
from sophie.execution.stores.audit import AUDIT_KEY_ENV, GENESIS_HASH, AuditEvent, ChainScheme, chain_hash, key_check
from sophie.execution.stores.rows import Row, event_from_row
from sophie.execution.stores.verify import ChainedEvent, ChainMarker, OutboxRecord, TaskHead

__all__ = ["RESTORED_PREFIX", "ChainReads", "Execute", "decode_event", "read_marker", "write_marker"]

Execute = Callable[..., Any]
"""A store's ``execute(sql, params)``: returns a cursor whose rows are read by column name."""

RESTORED_PREFIX = "guard_restored:"
"""``ledger_meta`` names ``guard_restored:<guard>`` hold when a guard was last put back."""

_CHAIN = "audit_chain"
_KEY_CHECK = "audit_key_check"


decode_event = event_from_row
"""Return the audit event a ``task_event`` row stores (raising ``ValueError``/``TypeError`` when it does not decode)."""


def read_marker(execute: Execute, mark: str = "?") -> ChainMarker | None:
    """Return the chain's key record, or ``None`` for a plain chain (``mark``: the store's parameter mark)."""
    rows = {
        row["name"]: row["value"]
        for row in execute(
            f"SELECT name, value FROM ledger_meta WHERE name IN ({mark}, {mark})", (_CHAIN, _KEY_CHECK)
        ).fetchall()
    }
    if _CHAIN not in rows:
        return None
    return ChainMarker(rows[_CHAIN], rows.get(_KEY_CHECK))


def write_marker(execute: Execute, marker: ChainMarker, mark: str = "?") -> None:
    """Record the chain's scheme and key check (inside the caller's transaction)."""
    for name, value in ((_CHAIN, marker.scheme), (_KEY_CHECK, marker.key_check)):
        if value is not None:
            execute(f"INSERT INTO ledger_meta (name, value) VALUES ({mark}, {mark})", (name, value))


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


class ChainReads:
    """The store-neutral reads of :class:`~sophie.execution.stores.verify.SupportsVerify`.

    A store sets ``_mark`` (its parameter mark) and ``_collate`` (what makes text sort
    bytewise, as SQLite sorts it) and implements :meth:`_stream` and :meth:`_execute`.
    """

    _key: bytes | None
    _mark: str = "?"
    _collate: str = ""
    path: str

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Row]:
        """Return the rows of a query, read by column name, streamed where the store can."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query outside any write transaction (a store's ``execute``)."""
        raise NotImplementedError

    @property
    def chain_scheme(self) -> ChainScheme:
        """How this ledger's audit events are chained."""
        marker = read_marker(self._execute, self._mark)
        return ChainScheme.SHA256 if marker is None else ChainScheme(marker.scheme)

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events.

        ``sophie ledger verify`` (:func:`~sophie.execution.stores.verify.verify_ledger`)
        checks more (guards, tasks, outbox) and reports every problem instead of the first.

        Raises:
            LedgerError: An event was altered, removed or reordered, or the chain is keyed
                and this ledger was opened without its key.
        """
        key = self._chain_key(self._execute)
        previous = GENESIS_HASH
        count = 0
        for link in self.chained_events():
            if link.event is None or link.prev_hash != previous or link.hash != chain_hash(previous, link.event, key):
                raise LedgerError(f"{self.path}: audit chain broken at event {link.seq}")
            previous, count = link.hash, count + 1
        return count

    def _chain_key(self, execute: Execute) -> bytes | None:
        """Return the key to hash this ledger's events with (``None``: plain).

        Raises:
            LedgerError: The chain is keyed and the key is missing or another one.
        """
        marker = read_marker(execute, self._mark)
        if marker is None:
            return None
        if self._key is None:
            raise LedgerError(f"{self.path}: the audit chain is keyed; set {AUDIT_KEY_ENV} to the ledger's key")
        if marker.key_check != key_check(self._key):
            raise LedgerError(f"{self.path}: {AUDIT_KEY_ENV} is not the key this ledger's audit chain was written with")
        return self._key

    def _start_chain(self, execute: Execute) -> str:
        """Return the last event's hash (the genesis hash for none), keying a new ledger's chain when a key is set.

        Runs inside the write transaction that appends the next events.
        """
        row = execute("SELECT hash FROM task_event ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None and self._key is not None and read_marker(execute, self._mark) is None:
            write_marker(execute, ChainMarker(ChainScheme.HMAC_SHA256, key_check(self._key)), self._mark)
        return GENESIS_HASH if row is None else str(row["hash"])

    def chained_events(self) -> Iterator[ChainedEvent]:
        """Return every audit event in chain order, decoded where it decodes."""
        for row in self._stream("SELECT * FROM task_event ORDER BY seq"):
            try:
                event: AuditEvent | None = decode_event(row)
            except (ValueError, TypeError):
                event = None
            yield ChainedEvent(row["seq"], str(row["task_id"]), event, str(row["prev_hash"]), str(row["hash"]))

    def task_heads(self) -> Iterator[TaskHead]:
        """Return every task's stored status, version, owner, priority, level and due time."""
        rows = self._stream(
            "SELECT id, key, status, version, owner_id, priority, escalation_level, due_at FROM task "
            f"ORDER BY id{self._collate}"
        )
        for row in rows:
            yield TaskHead(
                id=row["id"], key=row["key"], status=row["status"], version=row["version"], owner_id=row["owner_id"],
                priority=row["priority"], escalation_level=row["escalation_level"], due_at=_when(row["due_at"]),
            )  # fmt: skip

    def outbox_records(self) -> Iterator[OutboxRecord]:
        """Return every outbox row."""
        for row in self._stream(f"SELECT key, task_id, recipient_id, kind FROM outbox ORDER BY key{self._collate}"):
            yield OutboxRecord(row["key"], row["task_id"], row["recipient_id"], row["kind"])

    def chain_marker(self) -> ChainMarker | None:
        """Return the chain's key record (``None``: a plain chain)."""
        return read_marker(self._execute, self._mark)

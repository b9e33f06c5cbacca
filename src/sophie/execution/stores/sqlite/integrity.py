"""What ``sophie ledger verify`` reads from a SQLite ledger, and the audit chain's key record.

:class:`SqliteIntegrity` is a mixin of :class:`~sophie.execution.stores.sqlite.ledger.SqliteLedger`
implementing :class:`~sophie.execution.stores.verify.SupportsVerify`: it reads rows as stored
and decodes them defensively (a row someone edited by hand may not decode; that is reported,
not raised).

The chain's key record lives in ``ledger_meta``: ``audit_chain`` (``hmac-sha256``) and
``audit_key_check`` (see :func:`~sophie.execution.stores.audit.key_check`). It is written
with the first audit event when a key is set, so a ledger is keyed from its first event or
not at all: a plain chain cannot be turned into a keyed one later, because a plain chain
re-hashed by someone else would then be taken for the real one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sophie.errors import LedgerError
from sophie.execution.stores.audit import AUDIT_KEY_ENV, GENESIS_HASH, AuditEvent, ChainScheme, chain_hash, key_check
from sophie.execution.stores.sqlite.schema import GUARDS, RESTORED_PREFIX, damaged_guards
from sophie.execution.stores.verify import ChainedEvent, ChainMarker, GuardState, OutboxRecord, TaskHead

__all__ = ["SqliteIntegrity", "decode_event", "read_marker", "write_marker"]

_CHAIN = "audit_chain"
_KEY_CHECK = "audit_key_check"


def decode_event(row: sqlite3.Row) -> AuditEvent:
    """Return the audit event a ``task_event`` row stores.

    Raises:
        ValueError: The row does not decode (bad time or JSON).
        TypeError: The row's data is not a JSON object.
    """
    data = json.loads(row["data_json"])
    if not isinstance(data, dict):
        raise TypeError("data_json is not an object")
    return AuditEvent(
        task_id=row["task_id"], at=datetime.fromisoformat(row["at"]), actor=row["actor"], kind=row["kind"],
        from_status=row["from_status"], to_status=row["to_status"], why=row["why"], rule_id=row["rule_id"],
        rule_version=row["rule_version"], content_hash=row["content_hash"], data=data,
    )  # fmt: skip


def read_marker(execute: Callable[..., sqlite3.Cursor]) -> ChainMarker | None:
    """Return the chain's key record, or ``None`` for a plain chain."""
    rows = dict(execute("SELECT name, value FROM ledger_meta WHERE name IN (?, ?)", (_CHAIN, _KEY_CHECK)).fetchall())
    if _CHAIN not in rows:
        return None
    return ChainMarker(rows[_CHAIN], rows.get(_KEY_CHECK))


def write_marker(execute: Callable[..., sqlite3.Cursor], marker: ChainMarker) -> None:
    """Record the chain's scheme and key check (inside the caller's transaction)."""
    for name, value in ((_CHAIN, marker.scheme), (_KEY_CHECK, marker.key_check)):
        if value is not None:
            execute("INSERT INTO ledger_meta (name, value) VALUES (?, ?)", (name, value))


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


class SqliteIntegrity:
    """The reads of :class:`~sophie.execution.stores.verify.SupportsVerify` over ``self._db``."""

    _db: sqlite3.Connection
    _key: bytes | None
    path: str

    @property
    def chain_scheme(self) -> ChainScheme:
        """How this ledger's audit events are chained."""
        marker = read_marker(self._db.execute)
        return ChainScheme.SHA256 if marker is None else ChainScheme(marker.scheme)

    def verify_audit(self) -> int:
        """Check the audit hash chain end to end; return the number of events.

        ``sophie ledger verify`` (:func:`~sophie.execution.stores.verify.verify_ledger`)
        checks more (guards, tasks, outbox) and reports every problem instead of the first.

        Raises:
            LedgerError: An event was altered, removed or reordered, or the chain is keyed
                and this ledger was opened without its key.
        """
        key = self._chain_key(self._db.execute)
        previous = GENESIS_HASH
        count = 0
        for link in self.chained_events():
            if link.event is None or link.prev_hash != previous or link.hash != chain_hash(previous, link.event, key):
                raise LedgerError(f"{self.path}: audit chain broken at event {link.seq}")
            previous, count = link.hash, count + 1
        return count

    def _chain_key(self, execute: Callable[..., sqlite3.Cursor]) -> bytes | None:
        """Return the key to hash this ledger's events with (``None``: plain).

        Raises:
            LedgerError: The chain is keyed and the key is missing or another one.
        """
        marker = read_marker(execute)
        if marker is None:
            return None
        if self._key is None:
            raise LedgerError(f"{self.path}: the audit chain is keyed; set {AUDIT_KEY_ENV} to the ledger's key")
        if marker.key_check != key_check(self._key):
            raise LedgerError(f"{self.path}: {AUDIT_KEY_ENV} is not the key this ledger's audit chain was written with")
        return self._key

    def chained_events(self) -> Iterator[ChainedEvent]:
        """Return every audit event in chain order, decoded where it decodes."""
        for row in self._db.execute("SELECT * FROM task_event ORDER BY seq"):
            try:
                event: AuditEvent | None = decode_event(row)
            except (ValueError, TypeError):
                event = None
            yield ChainedEvent(row["seq"], str(row["task_id"]), event, str(row["prev_hash"]), str(row["hash"]))

    def task_heads(self) -> Iterator[TaskHead]:
        """Return every task's stored status, version, owner, priority, level and due time."""
        rows = self._db.execute(
            "SELECT id, key, status, version, owner_id, priority, escalation_level, due_at FROM task ORDER BY id"
        )
        for row in rows:
            yield TaskHead(
                id=row["id"], key=row["key"], status=row["status"], version=row["version"], owner_id=row["owner_id"],
                priority=row["priority"], escalation_level=row["escalation_level"], due_at=_when(row["due_at"]),
            )  # fmt: skip

    def outbox_records(self) -> Iterator[OutboxRecord]:
        """Return every outbox row."""
        for row in self._db.execute("SELECT key, task_id, recipient_id, kind FROM outbox ORDER BY key"):
            yield OutboxRecord(row["key"], row["task_id"], row["recipient_id"], row["kind"])

    def chain_marker(self) -> ChainMarker | None:
        """Return the chain's key record (``None``: a plain chain)."""
        return read_marker(self._db.execute)

    def guard_states(self) -> Sequence[GuardState]:
        """Return the guards damaged now, and those put back when a sophie opened the ledger."""
        states = [GuardState(name, GUARDS[name][0], state) for name, state in damaged_guards(self._db).items()]
        for name, at in self._db.execute("SELECT name, value FROM ledger_meta ORDER BY name"):
            if not name.startswith(RESTORED_PREFIX):
                continue
            guard = name[len(RESTORED_PREFIX) :]
            states.append(GuardState(guard, GUARDS.get(guard, ("guard", ""))[0], "restored", at))
        return states

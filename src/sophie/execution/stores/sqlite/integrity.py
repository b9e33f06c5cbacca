"""What ``sophie ledger verify`` reads from a SQLite ledger: the shared reads and SQLite's guards.

:class:`SqliteIntegrity` is a mixin of :class:`~sophie.execution.stores.sqlite.ledger.SqliteLedger`
implementing :class:`~sophie.execution.stores.verify.SupportsVerify`: the rows come from
:class:`~sophie.execution.stores.integrity.ChainReads`; the guards (the triggers and the
one-open-task-per-key index) are SQLite's, in ``sqlite_master``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sophie.execution.stores.integrity import RESTORED_PREFIX, ChainReads, decode_event, read_marker, write_marker
from sophie.execution.stores.sqlite.schema import GUARDS, damaged_guards
from sophie.execution.stores.verify import GuardState

__all__ = ["SqliteIntegrity", "decode_event", "read_marker", "write_marker"]


class SqliteIntegrity(ChainReads):
    """The reads of :class:`~sophie.execution.stores.verify.SupportsVerify` over ``self._db``."""

    _db: sqlite3.Connection

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterable[sqlite3.Row]:
        return self._db.execute(sql, params)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def guard_states(self) -> Sequence[GuardState]:
        """Return the guards damaged now, and those put back when a sophie opened the ledger."""
        states = [GuardState(name, GUARDS[name][0], state) for name, state in damaged_guards(self._db).items()]
        for name, at in self._db.execute("SELECT name, value FROM ledger_meta ORDER BY name"):
            if not name.startswith(RESTORED_PREFIX):
                continue
            guard = name[len(RESTORED_PREFIX) :]
            states.append(GuardState(guard, GUARDS.get(guard, ("guard", ""))[0], "restored", at))
        return states

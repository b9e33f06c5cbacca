"""What ``sophie ledger verify`` reads from a PostgreSQL ledger: the shared reads and PostgreSQL's guards.

:class:`PostgresIntegrity` is a mixin of :class:`~sophie.execution.stores.postgres.ledger.PostgresLedger`
implementing :class:`~sophie.execution.stores.verify.SupportsVerify`: the rows come from
:class:`~sophie.execution.stores.integrity.ChainReads` (streamed from the server, sorted
bytewise as SQLite sorts them); the guards are the append-only function and triggers and
the one-open-task-per-key index, read from the server's catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from sophie.execution.stores.integrity import RESTORED_PREFIX, ChainReads
from sophie.execution.stores.postgres.schema import GUARDS, damaged_guards
from sophie.execution.stores.verify import GuardState

__all__ = ["PostgresIntegrity"]


class PostgresIntegrity(ChainReads):
    """The reads of :class:`~sophie.execution.stores.verify.SupportsVerify` over ``self._db``."""

    _db: psycopg.Connection[dict[str, Any]]
    _mark = "%s"
    _collate = ' COLLATE "C"'

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterable[dict[str, Any]]:
        return self._db.cursor().stream(sql, params)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[dict[str, Any]]:
        return self._db.execute(sql, params)

    def guard_states(self) -> Sequence[GuardState]:
        """Return the guards damaged now, and those put back when a sophie opened the ledger."""
        states = [GuardState(name, GUARDS[name][0], state) for name, state in damaged_guards(self._db).items()]
        rows = self._db.execute(
            'SELECT name, value FROM ledger_meta WHERE name LIKE %s ORDER BY name COLLATE "C"', (RESTORED_PREFIX + "%",)
        )
        for row in rows:
            guard = row["name"][len(RESTORED_PREFIX) :]
            states.append(GuardState(guard, GUARDS.get(guard, ("guard", ""))[0], "restored", row["value"]))
        return states

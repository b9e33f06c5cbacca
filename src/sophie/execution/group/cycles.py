"""One practice's cycle in a group: exactly one at a time, whichever worker runs it.

The job queue already runs one cycle job per practice at a time; the ledger adds its own
guard so that nothing else (a second queue, a person's ``sophie run``, a worker whose job
the queue thought lost) can overlap: the cycle holds a session advisory lock keyed by the
practice for its whole length, and a cycle that cannot take it does nothing. A worker
killed mid-cycle drops its connection, the server releases the lock and rolls back the
open transaction; the next cycle of that practice starts from what was committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from sophie.config.models import PracticeConfig
from sophie.execution.engine import CycleResult, apply_evaluation, rules_by_id
from sophie.execution.practice_setup import PracticeSetup, practice_setup
from sophie.execution.stores.rows import stamp

if TYPE_CHECKING:
    from sophie.execution.stores.postgres.ledger import PostgresLedger
    from sophie.model import Snapshot
    from sophie.plugins.manager import Plugins

__all__ = ["practice_lock", "practice_lock_key", "run_practice_cycle"]


def practice_lock_key(practice_id: str, schema: str = "") -> int:
    """Return the advisory lock key of a practice's cycle (a signed 64-bit number from its id and ledger schema).

    Advisory locks are shared by the whole database; the schema keeps two ledgers of one
    database (two groups, each in its schema) from holding each other's practices.
    """
    digest = hashlib.blake2b(f"sophie.cycle:{schema}:{practice_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def practice_lock(ledger: PostgresLedger, practice_id: str, *, wait: timedelta | None = None) -> Iterator[bool]:
    """Hold the practice's cycle lock while the block runs; yield whether it was taken.

    Without ``wait`` it never waits. With it, it waits that long: a worker killed in a
    cycle holds the lock until the server has noticed its connection is gone, which may be
    a moment after the job queue already handed the cycle to another worker.
    """
    db = ledger.connection
    row = db.execute("SELECT current_schema() AS schema").fetchone()
    key = practice_lock_key(practice_id, str(row["schema"]) if row and row["schema"] else "")
    if wait is None:
        row = db.execute("SELECT pg_try_advisory_lock(%s) AS taken", (key,)).fetchone()
        taken = bool(row and row["taken"])
    else:
        db.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(wait.total_seconds() * 1000)}ms",))
        try:
            db.execute("SELECT pg_advisory_lock(%s)", (key,))
            taken = True
        except psycopg.errors.LockNotAvailable:
            taken = False
        finally:
            db.execute("SELECT set_config('lock_timeout', '0', false)")
    try:
        yield taken
    finally:
        if taken:
            ledger.connection.execute("SELECT pg_advisory_unlock(%s)", (key,))


def run_practice_cycle(
    ledger: PostgresLedger,
    practice: PracticeConfig,
    *,
    now: datetime,
    plugins: Plugins | None = None,
    setup: PracticeSetup | None = None,
    wait: timedelta | None = None,
    observe: Callable[[Snapshot], None] | None = None,
) -> CycleResult | None:
    """Run one complete cycle of ``practice`` at ``now`` under its lock; ``None`` when it did not run.

    It does not run when another cycle holds the practice, or when a cycle of the practice
    at ``now`` is already recorded (a job retried after its worker died just after the
    commit): so a cycle job is applied exactly once however often it is retried.

    The snapshot's practice takes the configured id: in a group's ledger the
    configuration names the practice (two practices' own systems may use the same id).

    ``setup`` (packs compiled, parameters typed) is built from ``practice`` when not given;
    a worker builds it once per practice and passes it to every cycle. ``wait``: how long
    to wait for a practice held by another cycle (default: not at all). ``observe`` is
    called with the cycle's snapshot once the cycle committed, still under the lock (a
    worker records the staff pages' directory there).

    Raises:
        ConfigurationError: The practice's configuration is unusable.
        LedgerError: The ledger cannot be written.
    """
    from sophie.rules import evaluate

    assert practice.id is not None
    with practice_lock(ledger, practice.id, wait=wait) as taken:
        if not taken or _recorded(ledger, practice.id, now):
            return None
        setup = setup or practice_setup(practice, plugins=plugins)
        snapshot = setup.fetch(now)
        if snapshot.practice.id != practice.id:
            snapshot = snapshot.model_copy(
                update={"practice": snapshot.practice.model_copy(update={"id": practice.id})}
            )
        evaluation = evaluate(setup.packs, snapshot, now, setup.params)
        versions = {pack.name: pack.version for pack in setup.packs}
        result = apply_evaluation(
            ledger, snapshot, evaluation, rules=rules_by_id(setup.packs), now=now, settings=setup.settings,
            packs=versions,
        )  # fmt: skip
        if observe is not None:
            observe(snapshot)
        return result


def _recorded(ledger: PostgresLedger, practice_id: str, now: datetime) -> bool:
    row = ledger.connection.execute(
        "SELECT 1 AS found FROM cycle WHERE practice_id = %s AND at = %s AND complete = 1 LIMIT 1",
        (practice_id, stamp(now)),
    ).fetchone()
    return row is not None

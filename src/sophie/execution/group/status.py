"""The state of a group's practices: last cycle, lag behind the interval, failed cycle jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sophie.config.models import PracticeConfig
from sophie.execution.stores.postgres.ledger import PostgresLedger

__all__ = ["PracticeStatus", "group_status"]


@dataclass(frozen=True, slots=True)
class PracticeStatus:
    """One practice as ``sophie worker status`` shows it.

    Attributes:
        practice_id: The practice.
        last_cycle: When its last cycle ran (``None``: never).
        lag: How far past its interval the next cycle is (zero when on time; ``None``: never ran).
        cycles: Cycles recorded.
        running: Cycle jobs running now.
        waiting: Cycle jobs queued.
        failures: Cycle jobs that failed for good.
        open_tasks: Open-ish tasks.
    """

    practice_id: str
    last_cycle: datetime | None
    lag: timedelta | None
    cycles: int
    running: int
    waiting: int
    failures: int
    open_tasks: int

    def as_dict(self) -> dict[str, object]:
        """Return the status as JSON-ready data."""
        return {
            "practice": self.practice_id,
            "last_cycle": None if self.last_cycle is None else self.last_cycle.isoformat(),
            "lag_seconds": None if self.lag is None else int(self.lag.total_seconds()),
            "cycles": self.cycles,
            "running": self.running,
            "waiting": self.waiting,
            "failures": self.failures,
            "open_tasks": self.open_tasks,
        }


def group_status(
    ledger: PostgresLedger, practices: Sequence[PracticeConfig], *, now: datetime, every: timedelta
) -> list[PracticeStatus]:
    """Return each configured practice's status (job counts are zero before a worker first ran)."""
    db = ledger.connection
    cycles = {
        row["practice_id"]: (datetime.fromisoformat(row["last"]), int(row["n"]))
        for row in db.execute("SELECT practice_id, max(at) AS last, count(*) AS n FROM cycle GROUP BY practice_id")
    }
    open_counts = {
        row["practice_id"]: int(row["n"])
        for row in db.execute(
            "SELECT practice_id, count(*) AS n FROM task "
            "WHERE status IN ('open', 'acknowledged', 'snoozed', 'blocked') GROUP BY practice_id"
        )
    }
    jobs: dict[tuple[str, str], int] = {}
    found = db.execute("SELECT to_regclass('procrastinate_jobs') AS found").fetchone()
    if found is not None and found["found"] is not None:
        for row in db.execute(
            "SELECT args->>'practice_id' AS practice_id, status::text AS status, count(*) AS n FROM procrastinate_jobs "
            "WHERE task_name = 'sophie.cycle' GROUP BY 1, 2"
        ):
            jobs[(row["practice_id"], row["status"])] = int(row["n"])
    statuses = []
    for practice in practices:
        assert practice.id is not None
        last, count = cycles.get(practice.id, (None, 0))
        lag = None if last is None else max(timedelta(0), now - last - every)
        statuses.append(
            PracticeStatus(
                practice.id,
                last,
                lag,
                count,
                jobs.get((practice.id, "doing"), 0),
                jobs.get((practice.id, "todo"), 0),
                jobs.get((practice.id, "failed"), 0),
                open_counts.get(practice.id, 0),
            )
        )
    return statuses

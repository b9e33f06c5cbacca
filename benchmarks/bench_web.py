"""The staff pages at size: My day and the huddle board with 50,000 tasks, a year's scorecard.

Usage::

    .venv/bin/python benchmarks/bench_web.py [--tasks 50000] [--open-share 0.2] [--requests 60]

Steps:

1. A ledger of ``--tasks`` tasks of the demo practice's staff and rules, created over the
   year before the benchmark's clock, each with its audit trail (created; a third escalated;
   the closed ones resolved by the PMS or done by hand): about 2.3 events per task. A fifth
   stay open, so each of the eight people owns about 1,250 open tasks. The directory of
   the demo practice (names, roles, today's huddle) is recorded beside it.
2. ``sophie serve`` in its own process on loopback, with the clock fixed at the end of the
   year, a signed-in office manager and a signed-in scheduling coordinator.
3. ``--requests`` GETs of each page over HTTP (after five warm-up requests), timed at the
   client: p50 and p95. The baseline is the sign-in page (no ledger read) in the same run.
4. The scorecard of the whole year (``load_scorecard``: every event of the year as lean
   rows, business medians) in this process, three times: the best and the worst; beside it,
   in the same run, the plain :func:`~sophie.execution.scorecard.scorecard` over decoded
   events (the report's read before), which must give the same numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from sophie.adapters import DemoAdapter
from sophie.execution import CycleRecord, SqliteLedger
from sophie.execution.reports import load_scorecard, practice_calendar
from sophie.execution.scorecard import Scorecard, needs_task, scorecard
from sophie.execution.stores.audit import AuditEvent
from sophie.execution.tasks import ChangeKind, Task, TaskChange, TaskStatus, task_id_for
from sophie.model.enums import Priority
from sophie.web.directory import record_directory
from sophie.web.security import hash_password
from sophie.web.site_store import SiteStore, site_store_path

RULES = [
    ("tx.unscheduled.first_touch", "treatment_coordinator"),
    ("sched.unconfirmed.72h", "scheduling_coordinator"),
    ("recall.overdue", "hygiene_coordinator"),
    ("claims.outstanding.30d", "insurance_coordinator"),
    ("billing.balance.aging", "financial_coordinator"),
    ("sched.broken.not_rescheduled", "front_desk"),
]
PASSWORD = "benchmark-password"


def build(path: Path, tasks: int, open_share: float, end: datetime) -> None:
    snapshot = DemoAdapter(as_of=end).fetch()
    staff = [s.id for s in snapshot.staff]
    patients = [p.id for p in snapshot.patients]
    rng = random.Random(7)
    with SqliteLedger(str(path)) as ledger:
        batch_changes: list[TaskChange] = []
        batch_events: list[AuditEvent] = []
        for number in range(tasks):
            rule, role = RULES[number % len(RULES)]
            created = end - timedelta(days=365 * rng.random())
            due = created + timedelta(hours=rng.choice([4, 24, 72]))
            is_open = rng.random() < open_share
            if is_open:  # open tasks: due around now (some overdue, some today, some later)
                created = end - timedelta(days=rng.random() * 20)
                due = end + timedelta(hours=rng.uniform(-72, 72))
            key = f"{snapshot.practice.id}:{rule}:x:{number}"
            owner = rng.choice(staff)
            task = Task(id=task_id_for(key, created), key=key, practice_id=snapshot.practice.id, rule=rule,
                        pack="dental-core", rule_version="1", content_hash="h", subject_type="x",
                        subject_id=str(number),
                        patient_id=rng.choice(patients), title=f"Task {number}", owner_role=role, owner_id=owner,
                        priority=rng.choice(list(Priority)), status=TaskStatus.OPEN if is_open else TaskStatus.RESOLVED,
                        created_at=created, updated_at=created, due_at=due,
                        evidence={"plan.unscheduled_total": "480.00", "age(plan.presented_at)": "3 days, 2:00:00"},
                        timezone=snapshot.practice.timezone)  # fmt: skip
            batch_changes.append(TaskChange(ChangeKind.CREATED, task, None, "created"))
            data = {"owner_id": owner, "owner_role": role, "due_at": due.isoformat()}

            def event(kind: str, at: datetime, actor: str = "sophie", *, task_id: str = task.id, rule: str = rule,
                      data: dict[str, str] = data) -> AuditEvent:  # fmt: skip
                return AuditEvent(task_id, at, actor, kind, None, "x", kind, rule, "1", "h", data)

            batch_events.append(event("created", created))
            if rng.random() < 0.33:
                batch_events.append(event("escalated", min(end, created + timedelta(hours=30))))
            if not is_open:
                closed = created + timedelta(hours=rng.uniform(1, 100))
                if rng.random() < 0.5:
                    batch_events.append(event("resolved", closed))
                else:
                    batch_events.append(event("acknowledged", created + timedelta(hours=1), f"staff:{owner}"))
                    batch_events.append(event("done", closed, f"staff:{owner}"))
            if len(batch_changes) == 5000:
                ledger.apply(batch_changes, sorted(batch_events, key=lambda e: e.at), [])
                batch_changes, batch_events = [], []
        ledger.apply(batch_changes, sorted(batch_events, key=lambda e: e.at), [], practice=snapshot.practice,
                     cycle=CycleRecord(snapshot.practice.id, end, True, 0))  # fmt: skip
        open_patients = [t.patient_id for t in ledger.open_tasks()]
    with SiteStore(site_store_path(str(path))) as site:
        record_directory(site, snapshot, open_patients)
        hashed = hash_password(PASSWORD)
        for staff_id in staff:
            site.set_password_hash(staff_id, hashed, end)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(client: httpx.Client, path: str, count: int) -> list[float]:
    for _ in range(5):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, path
    return times


def sign_in(url: str, staff_id: str) -> httpx.Client:
    import re

    client = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    page = client.get("/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    client.post("/sign-in", data={"staff_id": staff_id, "password": PASSWORD, "csrf": csrf.group(1)})
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--open-share", type=float, default=0.2)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    end = datetime.fromisoformat("2026-03-03T10:30:00-05:00")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        start = time.perf_counter()
        build(path, args.tasks, args.open_share, end)
        with SqliteLedger(str(path)) as ledger:
            events = len(ledger.events())
            open_count = ledger.count_tasks()
        print(f"ledger: {args.tasks:,} tasks ({open_count:,} open), {events:,} audit events over a year; "
              f"built in {time.perf_counter() - start:.1f} s")  # fmt: skip
        port = 8700 + random.Random().randrange(200)
        server = subprocess.Popen([sys.executable, "-m", "sophie", "serve", "--db", f"sqlite:///{path}", "--port",
                                   str(port), "--now", end.isoformat()], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(url + "/sign-in", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            manager, person = sign_in(url, "s-5"), sign_in(url, "s-6")
            rows = [
                ("sign-in page (baseline)", timed(httpx.Client(base_url=url), "/sign-in", args.requests)),
                ("My day (scheduling coordinator)", timed(person, "/my-day", args.requests)),
                ("My day (office manager)", timed(manager, "/my-day", args.requests)),
                ("Huddle board", timed(manager, "/huddle", args.requests)),
                ("/api/v1/version (board poll)", timed(manager, "/api/v1/version", args.requests)),
            ]
            base = statistics.median(rows[0][1])
            print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline p50':>20}")
            for name, times in rows:
                p50, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
                print(f"{name:<34} {p50:8.1f} {p95:8.1f} {p95 / (base * 1000):20.1f}")
            manager.close()
            person.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        runs, plain_runs = [], []
        since, until = end - timedelta(days=366), end + timedelta(days=1)
        with SqliteLedger(str(path)) as ledger:
            for _ in range(3):
                start = time.perf_counter()
                card = load_scorecard(ledger, since=since, until=until)
                runs.append(time.perf_counter() - start)
                start = time.perf_counter()
                plain = plain_scorecard(ledger, since, until)
                plain_runs.append(time.perf_counter() - start)
        assert card.as_dict() == plain.as_dict()
        print(f"scorecard of the year ({card.total.counts['created']:,} created, {len(card.weeks)} weeks): "
              f"best {min(runs):.2f} s, worst {max(runs):.2f} s; the plain scorecard over decoded events "
              f"(the report's read before): best {min(plain_runs):.2f} s, worst {max(plain_runs):.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def plain_scorecard(ledger: SqliteLedger, since: datetime, until: datetime) -> Scorecard:
    """The reference: every event decoded, the tasks it needs read whole, :func:`scorecard` over them."""
    events = ledger.events(since=since, until=until)
    wanted = sorted({event.task_id for event in events if needs_task(event)})
    tasks = {task.id: task for task in ledger.find_tasks(task_ids=wanted, statuses=[str(s) for s in TaskStatus])}
    calendar = practice_calendar(ledger.practice(ledger.practice_ids()[0]))
    return scorecard(events, tasks, since=since, until=until, calendar=calendar)


if __name__ == "__main__":
    main()

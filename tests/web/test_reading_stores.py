"""The staff pages' and the report's reads give the same answers on SQLite and PostgreSQL.

Each read is compared with a plain computation over the tasks and events the test wrote,
on both stores (PostgreSQL needs SOPHIE_TEST_POSTGRES_URL; skipped without it).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sophie.execution.reports import load_scorecard, practice_calendar
from sophie.execution.scorecard import ScoreEvent, scorecard
from sophie.execution.stores.audit import AuditEvent
from sophie.execution.stores.opening import open_ledger
from sophie.execution.tasks import ChangeKind, Task, TaskChange, TaskStatus, priority_rank
from sophie.model.enums import Priority

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 3, 10, 30, tzinfo=NY)
DAY_END = datetime(2026, 3, 4, tzinfo=NY)
ALL = [str(s) for s in TaskStatus]
DAY = ["open", "acknowledged", "snoozed", "blocked"]
OPEN = [*DAY, "backlog"]


def build(seed: int = 3) -> tuple[list[Task], list[AuditEvent]]:
    rng = random.Random(seed)
    tasks, events = [], []
    for number in range(160):
        created = NOW - timedelta(hours=rng.randint(1, 24 * 20))
        due = NOW + timedelta(minutes=rng.randint(-3 * 1440, 3 * 1440))
        owner = rng.choice(["s-1", "s-2", "s-3", None])
        rule = rng.choice(["tx.a", "claims.b", "recall.c"])
        task = Task(id=f"t-{number:04d}", key=f"k{number}", practice_id=rng.choice(["p1", "p1", "p2"]), rule=rule,
                    pack="t", rule_version="1", content_hash="h", subject_type=rng.choice(["x", "opening"]),
                    subject_id=str(number), patient_id=None, title=f"Task {number}",
                    owner_role=rng.choice(["billing", "front_desk"]), owner_id=owner,
                    priority=rng.choice(list(Priority)), status=TaskStatus(rng.choice(ALL)), created_at=created,
                    updated_at=created, due_at=due.astimezone(rng.choice([NY, ZoneInfo("UTC")])),
                    evidence={"plan.unscheduled_total": f"{rng.randint(1, 900)}.50"},
                    timezone="America/New_York")  # fmt: skip
        tasks.append(task)
        data = {"owner_id": owner, "owner_role": task.owner_role}
        if rng.random() < 0.7:
            data["due_at"] = due.isoformat()
        elif rng.random() < 0.3:
            data["due_at"] = rng.choice([None, 0])  # not a time: the task's own due time counts
        at = created
        for kind in ["created", *rng.sample(["acknowledged", "escalated", "done", "resolved", "noted"], 2)]:
            actor = "sophie" if kind in ("created", "escalated", "resolved") else f"staff:{owner}"
            events.append(AuditEvent(task.id, at.astimezone(rng.choice([NY, ZoneInfo("UTC")])), actor, kind, None,
                                     "x", kind, rule, "1", "h", dict(data)))  # fmt: skip
            at += timedelta(hours=rng.randint(1, 50))
    return tasks, sorted(events, key=lambda e: e.at)


def ordered(tasks):
    return [t.id for t in sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.due_at, t.created_at, t.id))]


def as_row(event: AuditEvent) -> ScoreEvent:
    due = event.data.get("due_at")
    return ScoreEvent(event.task_id, event.at.isoformat(), event.actor, event.kind, event.rule_id,
                      event.data.get("owner_id"), event.data.get("owner_role"),
                      due if isinstance(due, str) else None)  # fmt: skip


def test_every_page_read_matches_a_plain_computation(ledger_url):
    tasks, events = build()
    with open_ledger(ledger_url) as ledger:
        ledger.apply([TaskChange(ChangeKind.CREATED, t, None, "created") for t in tasks], events, [])
        find, count = ledger.find_tasks, ledger.count_tasks

        def plain(statuses=OPEN, **only):
            keep = []
            for t in tasks:
                if str(t.status) not in statuses:
                    continue
                if any(getattr(t, name) != value for name, value in only.items()):
                    continue
                keep.append(t)
            return keep

        assert [t.id for t in find()] == ordered(plain())
        assert [t.id for t in find(statuses=ALL)] == ordered(tasks)
        assert [t.id for t in find(owner_id="s-1", statuses=DAY, due_before=NOW)] == ordered(
            [t for t in plain(DAY, owner_id="s-1") if t.due_at < NOW])
        today = [t for t in plain(DAY, owner_id="s-2") if NOW <= t.due_at < DAY_END]
        assert [t.id for t in find(owner_id="s-2", statuses=DAY, due_after=NOW, due_before=DAY_END, limit=5)] == \
            ordered(today)[:5]  # fmt: skip
        others = [t for t in plain(DAY, owner_role="billing") if t.owner_id != "s-1"]
        assert [t.id for t in find(role="billing", statuses=DAY, not_owner_id="s-1")] == ordered(others)
        assert count(role="billing", statuses=DAY, not_owner_id="s-1") == len(others)
        assert count(practice_id="p2") == len(plain(practice_id="p2"))
        assert [t.id for t in find(subject_type="opening", statuses=ALL, rule="tx.a", practice_id="p1")] == ordered(
            [t for t in tasks if t.subject_type == "opening" and t.rule == "tx.a" and t.practice_id == "p1"])
        wanted = [t.id for t in tasks[::7]]
        assert [t.id for t in find(task_ids=wanted, statuses=ALL)] == ordered([t for t in tasks if t.id in wanted])

        for practice in (None, "p1"):
            expected: dict[str, list[int]] = {}
            for t in plain(**({} if practice is None else {"practice_id": practice})):
                row = expected.setdefault(t.owner_id or "", [0, 0, 0, 0])
                in_day = t.status is not TaskStatus.BACKLOG
                row[0] += in_day
                row[1] += in_day and t.due_at < NOW
                row[2] += in_day and NOW <= t.due_at < DAY_END
                row[3] += not in_day
            loads = ledger.owner_loads(now=NOW, day_end=DAY_END, practice_id=practice)
            assert {k: [v.open, v.overdue, v.due_today, v.backlog] for k, v in loads.items()} == expected
            if practice is None:
                whole = expected
        one = ledger.owner_loads(now=NOW, day_end=DAY_END, owner_id="s-3")
        assert list(one) == ["s-3"] and [one["s-3"].open, one["s-3"].backlog] == whole["s-3"][::3]

        since, until = NOW - timedelta(days=4), NOW - timedelta(days=1)
        got = ledger.events(since=since, until=until, kinds=["escalated", "done"])
        assert got == [e for e in events if since <= e.at < until and e.kind in ("escalated", "done")]
        assert [tuple(r) for r in ledger.score_events()] == [tuple(as_row(e)) for e in events]
        p2 = {t.id for t in tasks if t.practice_id == "p2"}
        assert [r[0] for r in ledger.score_events(practice_id="p2")] == [e.task_id for e in events if e.task_id in p2]

        everything = {t.id: t for t in tasks}
        for practice in (None, "p2"):
            since, until = NOW - timedelta(days=15), NOW + timedelta(days=5)
            trail = [e for e in events if practice is None or e.task_id in p2]
            pure = scorecard(trail, everything, since=since, until=until, calendar=practice_calendar(None))
            fast = load_scorecard(ledger, since=since, until=until, practice_id=practice)
            assert fast.total.counts["created"] > 0 and fast.as_dict() == pure.as_dict()

        marker = ledger.change_marker()
        target = plain(["open"])[0]
        ledger.transition(target.id, "ack", actor="staff:s-1", now=NOW)
        assert ledger.change_marker() != marker

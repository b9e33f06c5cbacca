"""The scorecard over hand-made audit trails, and ``sophie report`` on a real ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from execution_fakes import calendar

from sophie.cli import cli
from sophie.execution.scorecard import money_amount, needs_task, scorecard
from sophie.execution.stores.audit import AuditEvent
from sophie.execution.tasks import Task, TaskStatus
from sophie.model.enums import Priority

NY = ZoneInfo("America/New_York")
MON = datetime(2026, 3, 2, 9, 0, tzinfo=NY)


def task(task_id: str, rule: str, due: datetime, evidence: dict | None = None) -> Task:
    return Task(id=task_id, key=task_id, practice_id="p1", rule=rule, pack="t", rule_version="1", content_hash="h",
                subject_type="x", subject_id=task_id, patient_id=None, title="t", owner_role="billing",
                owner_id="s-4", priority=Priority.NORMAL, status=TaskStatus.OPEN, created_at=MON, updated_at=MON,
                due_at=due, evidence=evidence or {}, timezone="America/New_York")  # fmt: skip


def event(task_id: str, kind: str, at: datetime, actor: str = "sophie", owner: str = "s-4", rule: str = "tx.a") -> AuditEvent:
    return AuditEvent(task_id=task_id, at=at, actor=actor, kind=kind, from_status=None, to_status="x", why=kind,
                      rule_id=rule, rule_version="1", content_hash="h",
                      data={"owner_id": owner, "owner_role": "billing"})  # fmt: skip


def test_counts_medians_share_before_due_and_money_recovered():
    tasks = {
        "a": task("a", "tx.a", MON + timedelta(days=1), {"plan.unscheduled_total": "1545.00"}),
        "b": task("b", "claims.b", MON + timedelta(hours=1), {"claim.expected": "861.00"}),
        "c": task("c", "recall.c", MON + timedelta(days=5)),
    }
    events = [
        event("a", "created", MON), event("a", "acknowledged", MON + timedelta(hours=2), actor="staff:s-4"),
        event("a", "resolved", MON + timedelta(hours=4)),  # the PMS shows the treatment scheduled: recovered
        event("b", "created", MON, rule="claims.b"), event("b", "escalated", MON + timedelta(hours=3), rule="claims.b"),
        event("b", "done", MON + timedelta(hours=5), actor="staff:s-5", owner="s-5", rule="claims.b"),  # late, by hand
        event("c", "created", MON, rule="recall.c"), event("c", "resolved", MON + timedelta(days=1), rule="recall.c"),
        event("c", "created", MON - timedelta(days=30), rule="recall.c"),  # outside the period: ignored
    ]
    card = scorecard(events, tasks, since=MON - timedelta(hours=1), until=MON + timedelta(days=7), calendar=calendar())
    total = card.total
    assert {k: total.counts[k] for k in ("created", "resolved", "done", "escalated")} == {
        "created": 3, "resolved": 2, "done": 1, "escalated": 1,
    }
    assert total.money_recovered == Decimal("1545.00")  # a claim marked done by hand is not "paid" yet
    assert total.closed == 3 and total.closed_before_due == 2
    assert total.median_first_action == timedelta(hours=3)  # a: 2h; b: 4h (5h less the 12-13 lunch)
    by_person = {row.key: row for row in card.by_person}
    assert by_person["s-5"].counts["done"] == 1 and by_person["s-4"].counts["created"] == 3
    assert [row.key for row in card.by_rule] == ["claims.b", "recall.c", "tx.a"]
    assert [(w.week.isoformat(), w.created, w.closed) for w in card.weeks] == [("2026-03-02", 3, 3)]


def test_money_amount_reads_the_most_specific_key():
    assert money_amount({"procedure.fee": "230.00", "plan.unscheduled_total": "1545.00"}) == Decimal("1545.00")
    assert money_amount({"claim.kind": "primary"}) is None


def test_sophie_report_formats_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    for now in ("2026-03-03T10:00:00-05:00", "2026-03-04T10:00:00-05:00"):
        assert runner.invoke(cli, ["run", "--now", now]).exit_code == 0
    args = ["report", "--since", "2026-03-01", "--until", "2026-03-04"]
    data = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)
    assert data["total"]["created"] > 0 and data["total"]["resolved"] > 0
    rows = list(csv.DictReader(io.StringIO(runner.invoke(cli, [*args, "--format", "csv"]).stdout)))
    total = next(row for row in rows if row["dimension"] == "total")
    assert int(total["created"]) == data["total"]["created"] and int(total["resolved"]) == data["total"]["resolved"]
    names = {row["name"] for row in rows if row["dimension"] == "person"}
    assert "Larry Rossi" in names  # people by name, from the directory the run kept
    table = runner.invoke(cli, args).stdout
    assert "By person" in table and "Week by week" in table
    html = runner.invoke(cli, [*args, "--format", "html", "-o", "card.html"])
    assert html.exit_code == 0 and "<svg" in (tmp_path / "card.html").read_text()
    bad = runner.invoke(cli, ["report", "--since", "yesterday"])
    assert bad.exit_code == 2 and "use a date" in bad.stderr
    assert "nothing happened" not in runner.invoke(cli, args).stderr
    later = runner.invoke(cli, ["report", "--since", "2026-04-01", "--until", "2026-04-28"])
    assert later.exit_code == 0
    quiet = runner.invoke(cli, ["report", "--since", "2026-04-01", "--format", "json"])
    assert json.loads(quiet.stdout)["total"]["created"] == 0  # the hint goes to stderr: stdout stays JSON
    assert (
        "nothing happened from 2026-04-01 to 2026-04-28; this ledger's cycles ran from 2026-03-03 to 2026-03-04"
        in later.stderr
    )
    earlier = runner.invoke(cli, ["report", "--since", "2026-02-01", "--until", "2026-02-28"])
    assert "this ledger's cycles ran from 2026-03-03 to 2026-03-04" in earlier.stderr


def test_the_report_read_gives_the_pure_scorecard_numbers(tmp_path, monkeypatch):
    """``load_scorecard`` (the report's read: only the tasks it needs) equals the scorecard over everything.

    The guard for any faster path of the report: the same ledger, the same numbers.
    """
    from sophie.execution import SqliteLedger
    from sophie.execution.reports import load_scorecard, practice_calendar

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    for now in ("2026-03-03T10:00:00-05:00", "2026-03-04T10:00:00-05:00", "2026-03-05T15:00:00-05:00"):
        assert runner.invoke(cli, ["run", "--now", now]).exit_code == 0
    db = tmp_path / "sophie.db"
    with SqliteLedger(str(db)) as ledger:
        since, until = datetime(2026, 3, 1, tzinfo=NY), datetime(2026, 3, 6, tzinfo=NY)
        every = ledger.find_tasks(statuses=[s.value for s in TaskStatus])
        practice = ledger.practice(ledger.practice_ids()[0])
        pure = scorecard(ledger.events(), {t.id: t for t in every}, since=since, until=until,
                         calendar=practice_calendar(practice))  # fmt: skip
        fast = load_scorecard(ledger, since=since, until=until)
    assert fast.total.counts["created"] > 0 and fast.total.closed > 0 and fast.total.money_recovered > 0
    assert fast.as_dict() == pure.as_dict()


# -- the fast path (lean rows from SQL) against the plain scorecard --------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sophie.execution.scorecard import ScoreEvent, row_needs_task, tally_scorecard  # noqa: E402

_KINDS = ("created", "acknowledged", "done", "resolved", "verified", "escalated", "reopened", "expired", "noted",
          "snoozed", "released", "reassigned")  # fmt: skip
_ZONES = (NY, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"))


def as_row(event: AuditEvent) -> ScoreEvent:
    """What a store's SQL gives for an event (JSON values taken out of its data)."""
    due = event.data.get("due_at")
    return ScoreEvent(event.task_id, event.at.isoformat(), event.actor, event.kind, event.rule_id,
                      event.data.get("owner_id"), event.data.get("owner_role"),
                      due if isinstance(due, str) else None)  # fmt: skip


@st.composite
def trails(draw):
    tasks, events = {}, []
    for number in range(draw(st.integers(1, 8))):
        task_id = f"t{number}"
        rule = draw(st.sampled_from(("tx.a", "claims.b", "recall.c")))
        due = MON + timedelta(hours=draw(st.integers(-30, 200)))
        evidence = draw(st.sampled_from(({}, {"plan.unscheduled_total": "1545.10"}, {"claim.expected": "86.05"})))
        if draw(st.booleans()):
            tasks[task_id] = task(task_id, rule, due, evidence)
        for _ in range(draw(st.integers(1, 6))):
            at = MON + timedelta(minutes=draw(st.integers(-3 * 1440, 12 * 1440)))
            at = at.astimezone(draw(st.sampled_from(_ZONES)))
            data: dict = {}
            if draw(st.booleans()):
                data["owner_id"] = draw(st.sampled_from(("s-1", "s-2", None, "")))
            if draw(st.booleans()):
                data["owner_role"] = draw(st.sampled_from(("billing", "front_desk", None)))
            due_choice = draw(st.integers(0, 3))
            if due_choice == 1:
                data["due_at"] = (due + timedelta(hours=draw(st.integers(-5, 5)))).isoformat()
            elif due_choice == 2:
                data["due_at"] = None
            kind = draw(st.sampled_from(_KINDS))
            actor = draw(st.sampled_from(("sophie", "staff:s-1", "token:x")))
            events.append(AuditEvent(task_id=task_id, at=at, actor=actor, kind=kind, from_status=None, to_status="x",
                                     why=kind, rule_id=rule, rule_version="1", content_hash="h", data=data))  # fmt: skip
    return tasks, events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trails(), st.booleans(), st.sampled_from(_ZONES))
def test_the_fast_tally_equals_the_plain_scorecard(drawn, with_calendar, zone):
    tasks, events = drawn
    since, until = MON.astimezone(zone) - timedelta(days=1), MON + timedelta(days=8)
    cal = calendar() if with_calendar else None
    plain = scorecard(events, tasks, since=since, until=until, calendar=cal)
    rows = [as_row(event) for event in events]
    assert {r.task_id for r in rows if row_needs_task(r)} == {e.task_id for e in events if needs_task(e)}
    fast = tally_scorecard(rows, tasks, since=since, until=until, calendar=cal)
    assert fast.as_dict() == plain.as_dict()


def test_the_ledger_hands_the_scorecard_the_same_rows_sql_takes_out_of_the_data():
    """The SQLite store's JSON extraction gives what :func:`as_row` gives, for odd data too."""
    from sophie.execution import SqliteLedger
    from sophie.execution.tasks import ChangeKind, TaskChange

    with SqliteLedger(":memory:") as ledger:
        tasks = [task(name, "tx.a", MON + timedelta(days=1)) for name in ("a", "b")]
        ledger.apply([TaskChange(ChangeKind.CREATED, t, None, "created") for t in tasks], [], [])
        odd = [{"owner_id": "s-1", "due_at": MON.isoformat()}, {"due_at": None}, {"due_at": 5}, {},
               {"owner_id": None, "owner_role": "billing", "due_at": {"x": 1}}]  # fmt: skip
        events = [AuditEvent(task_id="ab"[i % 2], at=MON + timedelta(hours=i), actor="sophie", kind="done",
                             from_status=None, to_status="x", why="w", rule_id="tx.a", rule_version="1",
                             content_hash="h", data=data) for i, data in enumerate(odd)]  # fmt: skip
        ledger.apply([], events, [])
        rows = ledger.score_events()
        assert rows == [as_row(event) for event in events]
        assert [ScoreEvent(*row) for row in ledger.score_events(practice_id="elsewhere")] == []


def test_time_to_first_action_is_real_time_across_the_spring_forward():
    """Mon 9:00 EST to Sun 3:00 EDT is 5 days 17 hours, not the wall clock's 5 days 18 hours."""
    events = [
        event("a", "created", MON),
        event("a", "acknowledged", datetime(2026, 3, 8, 3, 0, tzinfo=NY), actor="staff:s-4"),
    ]
    since, until = MON - timedelta(days=1), MON + timedelta(days=8)
    expected = timedelta(days=5, hours=17)
    assert scorecard(events, {}, since=since, until=until).total.median_first_action == expected
    rows = [as_row(e) for e in events]
    assert tally_scorecard(rows, {}, since=since, until=until).total.median_first_action == expected

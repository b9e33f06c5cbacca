"""The ledger stores (SQLite, PostgreSQL) against an in-memory model, under random cycles, actions, clock moves and crashes.

Invariants after every step: the ledger holds exactly the model's tasks with the model's
statuses (none lost, none duplicated), at most one open-ish task per key, every change
audited exactly once (and the hash chain intact), one outbox row each time a task enters
its owner's day (created, reopened or released from the backlog), and nothing half-written
after a crash.

The practice has one treatment coordinator whose day holds ``CAPACITY`` tasks: the rest
wait in the backlog (oldest first, as they all have the same priority and no money), and
are released when a cycle sees a task of the day resolve or the person closes one — never
twice, and none lost.

The rule has a second stage (``task.continues``): a subject may fire at either stage, or at
both at once (the later wins). A stage change carries the open task on (one touched change,
same id and key, no notification: the owner stays), and the ledger's rule follows the model's
stage.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta

import pytest
from execution_fakes import PRACTICE_ID, Finding, Rule, at, evaluation, member, practice_snapshot
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger_stores import POSTGRES_ENV, postgres_schema, raw
from sophie.execution import ExecutionSettings, SqliteLedger, TransitionError, apply_evaluation, open_ledger
from sophie.execution.tasks import OPEN_STATUSES

SUBJECTS = ("tp-1", "tp-2", "tp-3", "tp-4")
CAPACITY = 2
RULE = Rule()  # no escalation steps: the model follows statuses, creation and reopening
LATER = Rule(id="plan.unscheduled.later", stall=RULE.id, stall_type="treatment_plan", stage=2)
RULES = {RULE.id: RULE, LATER.id: LATER}
STAGE_RULE = {1: RULE.id, 2: LATER.id}
SETTINGS = ExecutionSettings(reopen_grace=timedelta(hours=1), capacity=CAPACITY)
SNAPSHOT = practice_snapshot(staff=(member("tc1", "treatment_coordinator"), member("om", "office_manager")))
OPEN = {str(s) for s in OPEN_STATUSES}
DAY = OPEN - {"backlog"}
ALLOWED = {
    "ack": {"open", "snoozed", "blocked", "backlog"},
    "done": OPEN,
    "snooze": DAY,
    "block": {"open", "acknowledged", "snoozed"},
    "reopen": {"acknowledged", "snoozed", "blocked", "backlog", "done", "resolved", "expired", "cancelled"},
}
AFTER = {"ack": "acknowledged", "done": "done", "snooze": "snoozed", "block": "blocked", "reopen": "open"}


class Crash(Exception):
    """Raised from inside a write transaction, as a crash would cut it."""


class FailAt:
    def __init__(self) -> None:
        self.countdown: int | None = None

    def __call__(self, sql: str) -> None:
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown < 0:
                self.countdown = None
                raise Crash(sql)


@dataclass
class ModelTask:
    id: str
    key: str
    subject: str
    status: str
    events: int = 1
    done_at: object = None
    snoozed_until: object = None
    verified: bool = False
    outbox: int = 1
    created_at: object = None
    stage: int = 1


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.hook = FailAt()
        self.ledger = self.make_ledger()
        self.now = at("2026-03-09T09:00")
        self.tasks: dict[str, ModelTask] = {}

    def make_ledger(self):
        return SqliteLedger(":memory:", statement_hook=self.hook)

    def teardown(self) -> None:
        self.ledger.close()

    # -- steps --------------------------------------------------------------------------------

    @rule(minutes=st.integers(1, 150))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(
        firing=st.sets(st.sampled_from(SUBJECTS)),
        later=st.sets(st.sampled_from(SUBJECTS)),
        both=st.booleans(),
        unseen=st.sets(st.sampled_from(SUBJECTS)),
        partial=st.booleans(),
    )
    def cycle(self, firing: set[str], later: set[str], both: bool, unseen: set[str], partial: bool) -> None:
        unseen = unseen if partial else set()
        seen = set(SUBJECTS) - unseen
        stages = {s: 2 if s in later else 1 for s in firing}
        # the earlier stage first: when both fire for one stall, the later must still win
        findings = [stage_finding(s, 1, self.now) for s in sorted(firing) if stages[s] == 1 or both]
        findings += [stage_finding(s, 2, self.now) for s in sorted(firing) if stages[s] == 2]
        result = apply_evaluation(
            self.ledger, SNAPSHOT, evaluation(findings, {RULE.id: seen, LATER.id: seen}, complete=not partial),
            rules=RULES, now=self.now, settings=SETTINGS,
        )  # fmt: skip
        entering = self.expect_cycle(firing, seen, stages)
        created = [c.task for c in result.changes if str(c.kind) == "created"]
        assert {task.subject_id for task in created} == self.expected_new
        for task in created:
            model = ModelTask(
                task.id, task.key, task.subject_id, "open", created_at=task.created_at, stage=stages[task.subject_id]
            )
            self.tasks[task.id] = model
            entering.append(model)
        assert {c.task.id for c in result.changes if str(c.kind) != "created"} <= set(self.tasks)
        self.settle(entering)

    def settle(self, entering: list[ModelTask]) -> None:
        """The capacity step: entering tasks and the backlog share the room left in the day, oldest first."""
        day = [t for t in self.tasks.values() if t.status in DAY and t not in entering]
        waiting = [t for t in self.tasks.values() if t.status == "backlog"]
        free = max(CAPACITY - len(day), 0)
        ranked = sorted(entering + waiting, key=lambda t: (t.created_at, t.id))
        for task in ranked[:free]:
            if task.status == "backlog":  # released: one change, one notification
                task.status, task.events, task.outbox = "open", task.events + 1, task.outbox + 1
        for task in ranked[free:]:
            if task in entering:  # its change leaves it in the backlog, and nobody is told
                task.status, task.outbox = "backlog", task.outbox - 1

    def expect_cycle(self, firing: set[str], seen: set[str], stages: dict[str, int] | None = None) -> list[ModelTask]:
        stages = stages or dict.fromkeys(firing, 1)
        keys_taken = set()
        entering: list[ModelTask] = []
        for task in sorted(self.tasks.values(), key=lambda t: t.key):
            fires = task.subject in firing
            if task.status in OPEN:
                if not fires and task.subject in seen:
                    task.status, task.events = "resolved", task.events + 1
                else:
                    changed = False
                    if task.status == "snoozed" and task.snoozed_until <= self.now:
                        task.status, task.snoozed_until, changed = "open", None, True
                    if fires and stages[task.subject] != task.stage:  # the stall moved to another stage
                        task.stage, changed = stages[task.subject], True
                    task.events += changed
            elif task.status == "done" and not task.verified:
                if not fires and task.subject in seen:
                    task.verified, task.events = True, task.events + 1
                elif fires and self.now - task.done_at >= timedelta(hours=1) and not self.covered(task):
                    task.status, task.done_at, task.events, task.outbox = "open", None, task.events + 1, task.outbox + 1
                    task.stage = stages[task.subject]
                    entering.append(task)
            if task.status in OPEN or (task.status == "done" and not task.verified):
                keys_taken.add(task.subject)
        self.expected_new = firing - keys_taken
        return entering

    def covered(self, task: ModelTask) -> bool:
        return any(t.key == task.key and t.status in OPEN for t in self.tasks.values())

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), action=st.sampled_from(sorted(ALLOWED)), snooze_minutes=st.integers(1, 900))
    def act(self, data: st.DataObject, action: str, snooze_minutes: int) -> None:
        task = self.tasks[data.draw(st.sampled_from(sorted(self.tasks)))]
        until = self.now + timedelta(minutes=snooze_minutes) if action == "snooze" else None
        other_open = any(t.key == task.key and t.status in OPEN and t is not task for t in self.tasks.values())
        allowed = task.status in ALLOWED[action] and not (action == "reopen" and other_open and task.status not in OPEN)
        try:
            result = self.ledger.transition(task.id, action, actor="staff:tc1", now=self.now, until=until)
        except TransitionError:
            assert not allowed, (action, task.status)
            return
        assert allowed, (action, task.status)
        freed = task.status in DAY and AFTER[action] not in DAY
        task.status, task.events = AFTER[action], task.events + 1
        task.done_at = self.now if action == "done" else None
        task.verified = False
        task.snoozed_until = result.task.snoozed_until
        assert str(result.task.status) == task.status
        waiting = sorted((t for t in self.tasks.values() if t.status == "backlog"), key=lambda t: (t.created_at, t.id))
        if freed and waiting:  # room freed in the day: the oldest backlog task is released, in the same transaction
            waiting[0].status, waiting[0].events, waiting[0].outbox = (
                "open",
                waiting[0].events + 1,
                waiting[0].outbox + 1,
            )

    @rule(statement=st.integers(0, 12), firing=st.sets(st.sampled_from(SUBJECTS), min_size=1))
    def crash_mid_cycle(self, statement: int, firing: set[str]) -> None:
        before = self.ledger.open_tasks(), self.ledger.verify_audit()
        self.hook.countdown = statement
        try:
            findings = [stage_finding(s, 1, self.now, due=self.now) for s in sorted(firing)]
            apply_evaluation(self.ledger, SNAPSHOT, evaluation(findings, {RULE.id: SUBJECTS, LATER.id: SUBJECTS}),
                             rules=RULES, now=self.now, settings=SETTINGS)  # fmt: skip
        except Crash:
            assert (self.ledger.open_tasks(), self.ledger.verify_audit()) == before
            return
        finally:
            self.hook.countdown = None
        # the write was shorter than the crash point: it committed, so the model follows it
        self.cycle_done_after_the_fact(firing)

    def cycle_done_after_the_fact(self, firing: set[str]) -> None:
        entering = self.expect_cycle(firing, set(SUBJECTS))
        known = set(self.tasks)
        for task in self.ledger.open_tasks():
            if task.id not in known:
                self.tasks[task.id] = ModelTask(task.id, task.key, task.subject_id, "open", created_at=task.created_at)
                entering.append(self.tasks[task.id])
        self.settle(entering)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def tasks_match_the_model(self) -> None:
        rows = raw(self.ledger, "SELECT id, status, verified_at IS NOT NULL FROM task")
        assert {row[0]: (row[1], bool(row[2])) for row in rows} == {
            t.id: (t.status, t.verified) for t in self.tasks.values()
        }

    @invariant()
    def the_ledger_follows_the_stage(self) -> None:
        rows = dict(raw(self.ledger, "SELECT id, rule_id FROM task"))
        assert rows == {t.id: STAGE_RULE[t.stage] for t in self.tasks.values()}
        keys = {t.key for t in self.tasks.values()}
        assert all(key.startswith(f"{PRACTICE_ID}:{RULE.id}:treatment_plan:") for key in keys)

    @invariant()
    def one_open_task_per_key(self) -> None:
        duplicates = raw(
            self.ledger,
            "SELECT key FROM task WHERE status IN ('open','acknowledged','snoozed','blocked','backlog') GROUP BY key "
            "HAVING count(*) > 1",
        )
        assert duplicates == []
        assert all(t.key.startswith(f"{PRACTICE_ID}:") for t in self.tasks.values())

    @invariant()
    def every_change_is_audited_once(self) -> None:
        counts = dict(raw(self.ledger, "SELECT task_id, count(*) FROM task_event GROUP BY task_id"))
        assert counts == {t.id: t.events for t in self.tasks.values()}
        assert self.ledger.verify_audit() == sum(t.events for t in self.tasks.values())

    @invariant()
    def no_release_twice(self) -> None:
        released = [
            (task_id, json.loads(data)["version"])
            for task_id, data in raw(self.ledger, "SELECT task_id, data_json FROM task_event WHERE kind = 'released'")
        ]
        assert len(released) == len(set(released))
        assert raw(self.ledger, "SELECT count(*) FROM task_event WHERE kind = 'released' "
                                "AND from_status != 'backlog'")[0][0] == 0  # fmt: skip

    @invariant()
    def one_notification_each_time_a_task_enters_the_day(self) -> None:
        counts = dict(raw(self.ledger, "SELECT task_id, count(*) FROM outbox GROUP BY task_id"))
        assert counts == {t.id: t.outbox for t in self.tasks.values() if t.outbox}


def stage_finding(subject: str, stage: int, now, due=None) -> Finding:
    """A finding of the rule's first or second stage (both stages name the same stall)."""
    due = due if due is not None else now + timedelta(days=1)
    if stage == 1:
        return Finding(subject, due)
    return Finding(subject, due, rule_id=LATER.id, stall=RULE.id, stall_type="treatment_plan", stage=2)


LedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLedgerAgainstModel = LedgerMachine.TestCase


class PostgresLedgerMachine(LedgerMachine):
    """The same machine on PostgreSQL, each example in a schema of its own."""

    def make_ledger(self):
        self.schema = postgres_schema()
        return open_ledger(self.schema.__enter__(), statement_hook=self.hook)

    def teardown(self) -> None:
        super().teardown()
        self.schema.__exit__(None, None, None)


PostgresLedgerMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPostgresLedgerAgainstModel = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"
)(PostgresLedgerMachine.TestCase)

"""Task timers: a heap of open tasks' clock times, fed only the tasks that change.

Held to a brute force (every task's :func:`task_moments`, filtered by hand) under random
sequences of changes and clock steps, and checked not to walk the calendar for tasks that
did not change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sophie.execution.realtime.timers as timers_module
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.execution import SqliteLedger, TaskStatus, run_cycle
from sophie.execution.engine import rules_by_id
from sophie.execution.realtime.timers import TaskTimers, task_moments
from sophie.model.calendar import BusinessCalendar
from sophie.rules import load_pack


@pytest.fixture(scope="module")
def world():
    snapshot = DemoPractice(DemoSettings(seed=2, patients=300)).snapshot()
    packs = [load_pack("dental-core")]
    with SqliteLedger(":memory:") as ledger:
        run_cycle(snapshot, packs, ledger, now=snapshot.as_of)
        tasks = ledger.open_tasks()
    return snapshot, rules_by_id(packs), tasks


def brute(tasks, rules, calendar):
    return sorted(
        ((moment, task.id) for task in tasks for moment in task_moments(task, rules.get(task.rule), calendar)),
    )


def test_reset_schedules_every_open_task(world):
    snapshot, rules, tasks = world
    calendar = snapshot.index.calendar
    timers = TaskTimers(rules)
    timers.reset(tasks, calendar)
    assert [(m, t.id) for m, t in timers.times()] == brute(tasks, rules, calendar)
    assert any(t.expires_at for _, t in timers.times())
    assert len(timers.times()) > len(tasks) / 2


def test_only_changed_tasks_walk_the_calendar(world, monkeypatch):
    snapshot, rules, tasks = world
    calendar = snapshot.index.calendar
    timers = TaskTimers(rules)
    timers.reset(tasks, calendar)
    worked: list[str] = []

    def counting(task, rule, cal):
        worked.append(task.id)
        return task_moments(task, rule, cal)

    monkeypatch.setattr(timers_module, "task_moments", counting)
    timers.reset(tasks, calendar)  # same tasks, same calendar: times are kept
    assert worked == []
    escalating = next(t for t in tasks if t.escalation_level + 1 < len(rules[t.rule].escalate))
    moved = replace(escalating, escalation_level=escalating.escalation_level + 1, version=escalating.version + 1)
    timers.update([moved])
    assert worked == [moved.id]
    changed = [moved if t.id == moved.id else t for t in tasks]
    assert [(m, t.id) for m, t in timers.times()] == brute(changed, rules, calendar)
    worked.clear()
    other = BusinessCalendar.from_strings(calendar.tz.key, {"mon": [["09:00", "10:00"]]})
    timers.reset(changed, other)  # new hours: every task is worked out again
    assert len(worked) == len(changed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_due_and_next_wake_match_a_brute_force(world, data):
    snapshot, rules, tasks = world
    calendar = snapshot.index.calendar
    current = {task.id: task for task in tasks}
    timers = TaskTimers(rules)
    timers.reset(tasks, calendar)
    now, since = snapshot.as_of, None
    ids = sorted(current)
    for _ in range(data.draw(st.integers(1, 12), label="steps")):
        changed = []
        for task_id in data.draw(st.lists(st.sampled_from(ids), max_size=4), label="changed"):
            task = current[task_id]
            action = data.draw(st.sampled_from(["snooze", "close", "escalate", "expire"]), label="action")
            later = now + timedelta(minutes=data.draw(st.integers(1, 600), label="minutes"))
            if action == "snooze":
                task = replace(task, status=TaskStatus.SNOOZED, snoozed_until=later)
            elif action == "close":
                task = replace(task, status=TaskStatus.RESOLVED)
            elif action == "escalate" and task.escalation_level < len(rules[task.rule].escalate):
                task = replace(task, escalation_level=task.escalation_level + 1)
            else:
                task = replace(task, expires_at=later)
            task = replace(task, version=task.version + 1)
            current[task_id] = task
            changed.append(task)
        timers.update(changed)
        step = timedelta(minutes=data.draw(st.integers(0, 3 * 24 * 60), label="step"))
        now = now + step
        expected = {tid for moment, tid in brute(current.values(), rules, calendar)
                    if moment <= now and (since is None or moment > since)}  # fmt: skip
        assert {task.id for task in timers.due(since, now)} == expected
        later_times = [moment for moment, _ in brute(current.values(), rules, calendar) if moment > now]
        assert timers.next_after(now) == (min(later_times) if later_times else None)
        since = now

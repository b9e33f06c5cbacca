"""The task cache: scoped selection by index, practice-wide counts kept as tasks change.

The incremental path reconciles only the tasks of its scope, found through the cache's
indexes, while least-open ownership still weighs the whole practice's load. These tests
hold the cache to a fresh read of the store, and hold an incremental day replayed through
the cache to the same day replayed on the plain store (which filters every task).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophie.adapters.demo.events import day_of_events
from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.execution import SqliteLedger, TaskStatus, TransitionError, run_cycle
from sophie.execution.realtime.incremental import PracticeState, run_incremental_cycle
from sophie.execution.stores.ledger import select_all
from sophie.execution.stores.task_cache import CachedTaskLedger, touches
from sophie.rules import load_pack

SEED = 5


@pytest.fixture(scope="module")
def packs():
    return [load_pack("dental-core")]


@pytest.fixture(scope="module")
def practice():
    snapshot = DemoPractice(DemoSettings(seed=SEED, patients=400)).snapshot()
    return snapshot, day_of_events(snapshot, seed=SEED, count=40)


def replay(path, snapshot, day, packs, *, cached: bool):
    """Run a full cycle, then every event incrementally; return the changes and the ledgers."""
    store = SqliteLedger(str(path))
    ledger = CachedTaskLedger(store, str(path)) if cached else store
    run_cycle(snapshot, packs, ledger, now=snapshot.as_of)
    state = PracticeState(snapshot)
    changes = []
    for item in day:
        scope = state.apply(item.changes)
        scope.add(state.scope_of_event(item.event))
        result = run_incremental_cycle(state, scope, packs, ledger, now=item.event.at)
        changes.append([change.as_dict() for change in result.changes])
    return changes, store, ledger, state


def test_cached_and_plain_ledgers_make_the_same_changes(tmp_path, practice, packs):
    snapshot, day = practice
    with_cache, store, cache, _ = replay(tmp_path / "cached.db", snapshot, day, packs, cached=True)
    plain, other, _, _ = replay(tmp_path / "plain.db", snapshot, day, packs, cached=False)
    try:
        assert sum(len(changes) for changes in plain) > 0  # the day changes something
        assert with_cache == plain
        assert [t.as_dict() for t in store.open_tasks()] == [t.as_dict() for t in other.open_tasks()]
    finally:
        cache.close()
        store.close()
        other.close()


def test_counts_and_scoped_selection_match_a_fresh_read(tmp_path, practice, packs):
    snapshot, day = practice
    _, store, cache, state = replay(tmp_path / "c.db", snapshot, day, packs, cached=True)
    try:
        practice_id = snapshot.practice.id
        fresh = store.open_tasks(practice_id)
        expected = select_all(fresh)
        patients = {item.event.patient_id for item in day if item.event.patient_id} | {"no-such-patient"}
        chairs = {(o.operatory_id, o.start.astimezone(state.tz).date()) for o in state.snapshot.index.openings}
        chosen = cache.select_touching(practice_id, patients, chairs)
        assert chosen.open_total == expected.open_total > 0
        assert +Counter(chosen.open_counts) == +Counter(expected.open_counts)
        wanted = sorted(t.id for t in fresh if touches(t, patients, chairs))
        assert sorted(t.id for t in chosen.tasks) == wanted
        assert any(t.subject_type == "opening" for t in chosen.tasks)
        assert any(t.patient_id in patients for t in chosen.tasks)
    finally:
        cache.close()
        store.close()


def person_acts(path, task_id: str, action: str, at) -> None:
    """A person's ``sophie task ACTION`` in another process: another connection writes."""
    with SqliteLedger(str(path)) as person:
        person.transition(task_id, action, actor="staff:x", now=at)


def test_a_person_closing_a_task_elsewhere_moves_the_counts(tmp_path, practice, packs):
    snapshot, _ = practice
    path = tmp_path / "p.db"
    with SqliteLedger(str(path)) as store:
        cache = CachedTaskLedger(store, str(path))
        run_cycle(snapshot, packs, cache, now=snapshot.as_of)
        practice_id = snapshot.practice.id
        before = cache.select_touching(practice_id, (), ())
        task = next(t for t in cache.open_tasks(practice_id) if t.owner_id is not None)
        person_acts(path, task.id, "done", snapshot.as_of + timedelta(minutes=5))
        after = cache.select_touching(practice_id, (), ())
        assert after.open_total == before.open_total - 1
        released = len(before.backlog) - len(after.backlog)  # closing a task of the day releases one waiting
        assert released == (1 if any(t.owner_id == task.owner_id for t in before.backlog) and task.in_day else 0)
        assert after.open_counts[task.owner_id] == before.open_counts[task.owner_id] - 1 + released
        assert after.day_counts == store_day_counts(store, practice_id)
        cache.close()


def store_day_counts(store, practice_id):
    from sophie.execution.capacity import day_counts

    return dict(day_counts(store.open_tasks(practice_id)))


class CountingStore:
    """The SQLite ledger, counting whole reads of the open tasks and single-task reads."""

    def __init__(self, store: SqliteLedger) -> None:
        self.store = store
        self.whole_reads = 0
        self.single_reads: list[str] = []

    def open_tasks(self, practice_id=None):
        self.whole_reads += 1
        return self.store.open_tasks(practice_id)

    def get(self, task_id):
        self.single_reads.append(task_id)
        return self.store.get(task_id)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_another_writer_costs_the_tasks_it_changed_not_a_full_read(tmp_path, practice, packs):
    snapshot, _ = practice
    path = tmp_path / "f.db"
    with SqliteLedger(str(path)) as store:
        counting = CountingStore(store)
        cache = CachedTaskLedger(counting, str(path))  # type: ignore[arg-type]
        assert cache.drain_changes() == (True, [])  # nothing known yet: read everything
        first = run_cycle(snapshot, packs, cache, now=snapshot.as_of)
        reset, changed = cache.drain_changes()
        assert not reset
        assert [t.id for t in changed] == [c.task.id for c in first.changes]
        assert cache.drain_changes() == (False, [])  # drained
        assert counting.whole_reads == 1 and counting.single_reads == []  # its own writes: nothing re-read

        practice_id = snapshot.practice.id
        task = cache.open_tasks(practice_id)[0]
        person_acts(path, task.id, "ack", snapshot.as_of + timedelta(minutes=1))
        seen = {t.id: t for t in cache.open_tasks(practice_id)}
        assert seen[task.id].status is TaskStatus.ACKNOWLEDGED
        assert counting.whole_reads == 1 and counting.single_reads == [task.id]
        reset, changed = cache.drain_changes()
        assert not reset
        assert [(t.id, t.status) for t in changed] == [(task.id, TaskStatus.ACKNOWLEDGED)]

        second = run_cycle(snapshot, packs, cache, now=snapshot.as_of + timedelta(hours=1))
        assert second.attempts == 1  # planned on current tasks: no conflict
        assert second.counts()["resolved"] + second.counts()["escalated"] > 0
        cache.open_tasks(practice_id)  # reads the audit trail again: only its own writes since
        assert counting.whole_reads == 1 and counting.single_reads == [task.id]
        fresh, kept = select_all(store.open_tasks(practice_id)), cache.select_touching(practice_id, (), ())
        assert (+Counter(kept.open_counts), kept.open_total) == (+Counter(fresh.open_counts), fresh.open_total)
        cache.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_cache_matches_the_store_while_people_act_between_cycles(tmp_path_factory, practice, packs, data):
    snapshot, _ = practice
    path = tmp_path_factory.mktemp("race") / "r.db"
    practice_id = snapshot.practice.id
    with SqliteLedger(str(path)) as store, SqliteLedger(str(path)) as person:
        cache = CachedTaskLedger(store, str(path))
        now = snapshot.as_of
        run_cycle(snapshot, packs, cache, now=now)
        for _ in range(data.draw(st.integers(1, 8), label="steps")):
            now += timedelta(hours=data.draw(st.integers(0, 30), label="hours"))
            if data.draw(st.booleans(), label="a person acts"):
                ids = sorted(t.id for t in person.open_tasks(practice_id))
                for task_id in data.draw(st.lists(st.sampled_from(ids), max_size=3), label="tasks"):
                    action = data.draw(st.sampled_from(["ack", "done", "snooze", "reopen"]), label="action")
                    with contextlib.suppress(TransitionError):
                        person.transition(task_id, action, actor="staff:x", now=now,
                                          until=now + timedelta(hours=2) if action == "snooze" else None)  # fmt: skip
            else:
                run_cycle(snapshot, packs, cache, now=now)
            truth = store.open_tasks(practice_id)
            kept = cache.open_tasks(practice_id)
            assert sorted((t.id, t.version) for t in kept) == sorted((t.id, t.version) for t in truth)
            fresh, counted = select_all(truth), cache.select_touching(practice_id, (), ())
            assert (+Counter(counted.open_counts), counted.open_total) == (+Counter(fresh.open_counts), fresh.open_total)
        cache.close()

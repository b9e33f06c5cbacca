"""The task cache: scoped selection by index, practice-wide counts kept as tasks change.

The incremental path reconciles only the tasks of its scope, found through the cache's
indexes, while least-open ownership still weighs the whole practice's load. These tests
hold the cache to a fresh read of the store, and hold an incremental day replayed through
the cache to the same day replayed on the plain store (which filters every task).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sophie.adapters.demo import DemoPractice, DemoSettings
from sophie.adapters.demo_events import day_of_events
from sophie.execution import SqliteLedger, run_cycle
from sophie.execution.incremental import PracticeState, run_incremental_cycle
from sophie.execution.ledger import select_all
from sophie.execution.task_cache import CachedTaskLedger, touches
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
        assert after.open_counts[task.owner_id] == before.open_counts[task.owner_id] - 1
        cache.close()


def test_the_change_feed_reports_own_writes_and_resets_on_another_writer(tmp_path, practice, packs):
    snapshot, _ = practice
    path = tmp_path / "f.db"
    with SqliteLedger(str(path)) as store:
        cache = CachedTaskLedger(store, str(path))
        assert cache.drain_changes() == (True, [])  # nothing known yet: read everything
        first = run_cycle(snapshot, packs, cache, now=snapshot.as_of)
        reset, changed = cache.drain_changes()
        assert not reset
        assert [t.id for t in changed] == [c.task.id for c in first.changes]
        assert cache.drain_changes() == (False, [])  # drained
        task = cache.open_tasks(snapshot.practice.id)[0]
        person_acts(path, task.id, "ack", snapshot.as_of + timedelta(minutes=1))
        assert cache.drain_changes() == (True, [])  # someone else wrote: start again from the store
        cache.close()

"""The conformance kit: sophie's adapter contract as tests a vendor runs against their adapter.

This module is a pytest plugin (entry point ``pytest11``: ``sophie = "sophie.testing"``),
so installing sophie makes its fixtures available in every test session. A vendor's
whole test file can be::

    import pytest
    from sophie.testing import AdapterConformance

    from sophie_my_pms import MyAdapter


    class TestMyAdapter(AdapterConformance):
        @pytest.fixture
        def sophie_adapter(self, tmp_path):
            return MyAdapter(source=make_sample_source(tmp_path))

        @pytest.fixture
        def sophie_adapter_broken(self):
            return MyAdapter(source="http://127.0.0.1:9")  # nothing listens there

The suite checks that a fetch gives a valid snapshot (it survives ``parse_snapshot``),
that every id a record names exists, that every time is timezone-aware, that fetching
twice gives the same practice, that an incremental fetch merged into the previous
snapshot gives what a full fetch gives, that events are typed, that nothing a fetch
logs or prints contains a patient's first or last name (each on its own, as a whole
word, case-sensitive), and (with ``sophie_adapter_broken``) that failures are
typed sophie errors. Optional fixtures, defined beside ``sophie_adapter``:

* ``sophie_adapter_broken``: the adapter pointed at a source that cannot be read.
* ``sophie_adapter_change``: a callable that changes one thing in the adapter's source,
  to prove incremental fetches see changes.

Tests that need an optional fixture you did not define are skipped with a reason
naming it. Comparisons ignore record order and ``as_of``, and failure messages name
record ids only, never patient data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from itertools import islice
from typing import Any

import pytest
from pydantic import BaseModel

from sophie.adapters.base import Adapter, AdapterEvent, IncrementalResult, record_key
from sophie.errors import AdapterError, SnapshotError
from sophie.model import SECTIONS, Snapshot, check_references, parse_snapshot

__all__ = [
    "AdapterConformance",
    "assert_same_practice",
    "canned_practice_data",
    "practice_differences",
    "snapshot_data",
]

SourceChange = Callable[[], None]
"""Changes one thing in an adapter's source (the ``sophie_adapter_change`` fixture)."""

_MAX_EVENTS = 1000


def snapshot_data(snapshot: Snapshot) -> dict[str, Any]:
    """Return the snapshot as JSON-ready data without ``as_of``, each section sorted by record identity."""
    data: dict[str, Any] = {"practice": snapshot.practice.model_dump(mode="json")}
    for section in SECTIONS:
        records = sorted(getattr(snapshot, section), key=lambda record: record_key(section, record))
        data[section] = [record.model_dump(mode="json") for record in records]
    return data


def practice_differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """Describe how two snapshots differ, naming sections and record ids only (no values)."""
    lines = []
    if expected.practice != actual.practice:
        lines.append(f"practice {expected.practice.id}: settings differ")
    for section in SECTIONS:
        before = {record_key(section, r): r for r in getattr(expected, section)}
        after = {record_key(section, r): r for r in getattr(actual, section)}
        missing = sorted(set(before) - set(after))
        extra = sorted(set(after) - set(before))
        changed = sorted(key for key in set(before) & set(after) if before[key] != after[key])
        for label, keys in (("missing", missing), ("unexpected", extra), ("different", changed)):
            if keys:
                shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
                lines.append(f"{section}: {label}: {shown}")
    return lines


def assert_same_practice(expected: Snapshot, actual: Snapshot, *, context: str = "") -> None:
    """Fail unless the two snapshots hold the same records (order and ``as_of`` aside)."""
    differences = practice_differences(expected, actual)
    if differences:
        prefix = f"{context}: " if context else ""
        pytest.fail(prefix + "snapshots differ\n  " + "\n  ".join(differences), pytrace=False)


def _naive_datetimes(value: object, path: str) -> Iterator[str]:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            yield path
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _naive_datetimes(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            yield from _naive_datetimes(item, f"{path}[{position}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _naive_datetimes(item, f"{path}.{key}")


def _name_words(*names: str | None) -> set[str]:
    """Return the words of a patient's names that a log line must not contain (two letters or more)."""
    return {word for name in names if name for word in re.findall(r"\w+", name) if len(word) > 1}


def _optional_fixture(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        value = request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        value = None
    if value is None:
        pytest.skip(f"define a fixture named {name!r} beside sophie_adapter to run this check")
    return value


class AdapterConformance:
    """Contract tests for an adapter; subclass it as ``Test<YourAdapter>`` and define ``sophie_adapter``."""

    @pytest.fixture
    def sophie_snapshot(self, sophie_adapter: Adapter) -> Snapshot:
        """One fetch of the adapter under test."""
        return sophie_adapter.fetch()

    def test_adapter_declares_its_name_and_capabilities(self, sophie_adapter: Adapter) -> None:
        """The adapter is a sophie Adapter with a name and boolean capability flags."""
        assert isinstance(sophie_adapter, Adapter), "sophie_adapter must return an instance of sophie Adapter"
        assert isinstance(type(sophie_adapter).name, str), "the class attribute `name` must be a string"
        assert sophie_adapter.name, "set the class attribute `name`"
        assert isinstance(sophie_adapter.supports_incremental, bool)
        assert isinstance(sophie_adapter.supports_events, bool)

    def test_fetch_returns_a_snapshot(self, sophie_snapshot: Snapshot) -> None:
        """``fetch()`` returns a Snapshot."""
        kind = type(sophie_snapshot).__name__
        assert isinstance(sophie_snapshot, Snapshot), f"fetch() returned a {kind}, not a Snapshot"

    def test_snapshot_survives_validation(self, sophie_snapshot: Snapshot) -> None:
        """The snapshot's JSON form passes ``parse_snapshot`` and means the same practice."""
        reparsed = parse_snapshot(sophie_snapshot.model_dump(mode="json"), source="conformance")
        assert_same_practice(sophie_snapshot, reparsed, context="the snapshot changed when validated again")

    def test_every_referenced_id_exists(self, sophie_snapshot: Snapshot) -> None:
        """Ids are unique per section and every id a record names exists."""
        check_references(sophie_snapshot, source="conformance")

    def test_every_time_is_timezone_aware(self, sophie_snapshot: Snapshot) -> None:
        """No datetime anywhere in the snapshot is naive."""
        naive = list(_naive_datetimes(sophie_snapshot, ""))
        assert naive == [], f"naive datetimes (add a timezone): {naive[:10]}"

    def test_dates_are_dates_not_datetimes(self, sophie_snapshot: Snapshot) -> None:
        """Fields ending ``_date`` or ``_on`` hold dates."""
        wrong = [
            f"{section}.{name}"
            for section in SECTIONS
            for record in getattr(sophie_snapshot, section)[:50]
            for name in type(record).model_fields
            if name.endswith(("_date", "_on")) and isinstance(getattr(record, name), datetime)
        ]
        assert wrong == []

    def test_fetching_twice_gives_the_same_practice(self, sophie_adapter: Adapter, sophie_snapshot: Snapshot) -> None:
        """Two fetches of an unchanged source give the same records, and ``as_of`` never goes back."""
        again = sophie_adapter.fetch()
        assert_same_practice(sophie_snapshot, again, context="a second fetch of an unchanged source")
        assert again.as_of >= sophie_snapshot.as_of, "as_of went backwards"

    def test_fetch_since_none_is_a_complete_snapshot(
        self, sophie_adapter: Adapter, sophie_snapshot: Snapshot
    ) -> None:
        """``fetch_since(None)`` returns everything, with a watermark."""
        result = sophie_adapter.fetch_since(None)
        assert isinstance(result, IncrementalResult)
        assert result.complete, "fetch_since(None) must return a complete snapshot"
        assert isinstance(result.watermark, str), "the watermark must be a string"
        assert result.watermark, "the watermark must not be empty"
        assert_same_practice(sophie_snapshot, result.apply(None), context="fetch_since(None) vs fetch()")

    def test_incremental_fetch_matches_a_full_fetch(self, sophie_adapter: Adapter) -> None:
        """Changes since a fresh watermark, merged into the first snapshot, give a full fetch."""
        first = sophie_adapter.fetch_since(None)
        base = first.apply(None)
        second = sophie_adapter.fetch_since(first.watermark)
        if sophie_adapter.supports_incremental:  # changes may repeat rows at the watermark; merging makes that harmless
            assert not second.complete, "supports_incremental is set but fetch_since(watermark) returned everything"
        assert_same_practice(sophie_adapter.fetch(), second.apply(base), context="incremental vs full fetch")

    def test_incremental_fetch_sees_a_change(self, sophie_adapter: Adapter, request: pytest.FixtureRequest) -> None:
        """A change to the source shows up in the next incremental fetch, and only once."""
        change: SourceChange = _optional_fixture(request, "sophie_adapter_change")
        first = sophie_adapter.fetch_since(None)
        base = first.apply(None)
        change()
        second = sophie_adapter.fetch_since(first.watermark)
        merged = second.apply(base)
        assert practice_differences(base, merged), "the change made by sophie_adapter_change is not visible"
        assert_same_practice(sophie_adapter.fetch(), merged, context="incremental vs full fetch after a change")
        third = sophie_adapter.fetch_since(second.watermark)
        assert_same_practice(merged, third.apply(merged), context="a second incremental fetch with no new change")

    def test_events_are_typed_hints(self, sophie_adapter: Adapter) -> None:
        """``events()`` yields AdapterEvent records, and nothing when ``supports_events`` is off."""
        events = list(islice(sophie_adapter.events(), _MAX_EVENTS))
        if not sophie_adapter.supports_events:
            assert events == [], "supports_events is False but events() yielded events"
        for event in events:
            assert isinstance(event, AdapterEvent), f"events() yielded a {type(event).__name__}, not an AdapterEvent"

    def test_fetch_logs_no_patient_names(
        self, sophie_adapter: Adapter, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """Nothing logged or printed while fetching contains a patient's first or last name."""
        with caplog.at_level(logging.DEBUG):
            snapshot = sophie_adapter.fetch()
            sophie_adapter.fetch_since(None)
        output = capfd.readouterr()
        text = "\n".join([*(record.getMessage() for record in caplog.records), output.out, output.err])
        words = set(re.findall(r"\w+", text))
        leaked = [p.id for p in snapshot.patients if _name_words(p.first_name, p.last_name) & words]
        assert leaked == [], f"patient names appear in the logs or output (patient ids {leaked[:10]})"

    def test_an_unreadable_source_raises_a_typed_error(self, request: pytest.FixtureRequest) -> None:
        """An unreadable source raises a sophie AdapterError or SnapshotError, never returns."""
        broken: Adapter = _optional_fixture(request, "sophie_adapter_broken")
        for attempt in (broken.fetch, lambda: broken.fetch_since(None)):
            with pytest.raises((AdapterError, SnapshotError)):
                attempt()


@pytest.fixture
def sophie_adapter() -> Adapter:
    """The adapter under test; the default fails with instructions (define your own)."""
    pytest.fail(
        "define a fixture named 'sophie_adapter' (in your test class or conftest.py) returning your adapter",
        pytrace=False,
    )


@pytest.fixture
def sophie_adapter_broken() -> Adapter | None:
    """The adapter pointed at an unreadable source; ``None`` (the check is skipped) unless you define it."""
    return None


@pytest.fixture
def sophie_adapter_change() -> SourceChange | None:
    """A callable that changes the adapter's source; ``None`` (the check is skipped) unless you define it."""
    return None


@pytest.fixture
def sophie_practice_data() -> dict[str, Any]:
    """A small valid practice as raw snapshot data (see :func:`canned_practice_data`)."""
    return canned_practice_data()


def canned_practice_data(as_of: datetime | None = None) -> dict[str, Any]:
    """Return a small, valid practice as raw snapshot data, to seed a fake source.

    One of every kind of record, linked as a PMS would link them. The patients are
    fictional. ``as_of`` defaults to Thursday 2026-03-05 11:45 New York time.
    """
    at = (as_of or datetime.fromisoformat("2026-03-05T11:45:00-05:00")).isoformat()
    day = date.fromisoformat(at[:10])
    week = {d: [["08:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    return {
        "practice": {"id": "canned", "name": "Canned Dental", "timezone": "America/New_York", "hours": week},
        "as_of": at,
        "staff": [
            {"id": "s-1", "name": "Dr. Ada Stone", "roles": ["owner_dentist"]},
            {"id": "s-2", "name": "Bo Reed", "roles": ["treatment_coordinator", "front_desk"], "manager_id": "s-3"},
            {"id": "s-3", "name": "Cy Moss", "roles": ["office_manager"]},
        ],
        "providers": [{"id": "prov-1", "name": "Dr. Ada Stone", "kind": "dentist", "staff_id": "s-1"}],
        "operatories": [{"id": "op-1", "name": "Op 1"}],
        "schedule_blocks": [
            {"provider_id": "prov-1", "operatory_id": "op-1", "start": f"{day}T08:00:00-05:00",
             "end": f"{day}T12:00:00-05:00"},
        ],
        "patients": [
            {"id": "p-1", "first_name": "Iris", "last_name": "Vale", "birth_date": "1980-01-02", "insured": True},
            {"id": "p-2", "first_name": "Otto", "last_name": "Vale", "guarantor_id": "p-1"},
        ],
        "appointments": [
            {"id": "a-1", "patient_id": "p-1", "status": "scheduled", "start": f"{day}T08:00:00-05:00",
             "end": f"{day}T09:00:00-05:00", "provider_id": "prov-1", "operatory_id": "op-1", "confirmed": True},
            {"id": "a-2", "patient_id": "p-2", "status": "planned"},
        ],
        "procedures": [
            {"id": "proc-1", "patient_id": "p-1", "code": "D2740", "fee": "1250.00", "status": "planned",
             "treatment_plan_id": "tp-1", "appointment_id": "a-2"},
            {"id": "proc-2", "patient_id": "p-1", "code": "D1110", "fee": "115.00", "status": "completed",
             "completed_at": "2026-01-10T10:00:00-05:00"},
        ],
        "treatment_plans": [
            {"id": "tp-1", "patient_id": "p-1", "status": "presented", "presented_at": "2026-02-26T10:15:00-05:00"},
        ],
        "claims": [
            {"id": "cl-1", "patient_id": "p-1", "kind": "primary", "status": "sent", "sent_at":
             "2026-01-11T09:00:00-05:00", "billed": "115.00", "procedure_ids": ["proc-2"]},
        ],
        "recalls": [{"id": "rc-1", "patient_id": "p-2", "kind": "child", "due_date": "2026-02-01"}],
        "contacts": [
            {"id": "ct-1", "patient_id": "p-1", "at": "2026-03-02T10:00:00-05:00", "channel": "phone",
             "direction": "out", "topic": "treatment", "outcome": "left_message", "staff_id": "s-2"},
        ],
        "balances": [{"patient_id": "p-1", "current": "40.00", "over_30": "0", "over_60": "0", "over_90": "0"}],
    }

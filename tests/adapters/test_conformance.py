"""The conformance kit runs on the built-in adapters, on a reference incremental adapter, and catches bad ones."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from sophie.adapters.base import (
    Adapter,
    AdapterEvent,
    AdapterEventKind,
    IncrementalResult,
    SnapshotChanges,
    Watermark,
)
from sophie.adapters.files import FilesAdapter
from sophie.adapters.registry import DemoAdapter, create_adapter
from sophie.errors import ConfigurationError, SourceUnavailableError
from sophie.model import Snapshot, parse_snapshot
from sophie.plugins.manager import Plugins
from sophie.testing import AdapterConformance, canned_practice_data

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snapshots" / "cancellation-morning.yaml"
NEW_CONTACT = {
    "id": "ct-new", "patient_id": "p-1", "at": "2026-03-05T11:44:00-05:00", "channel": "phone",
    "direction": "out", "topic": "scheduling", "outcome": "no_answer",
}


class TestDemoAdapter(AdapterConformance):
    """The demo generator has no source that could fail; its typed error is a bad setting instead."""

    def test_an_unreadable_source_raises_a_typed_error(self, request: pytest.FixtureRequest) -> None:
        with pytest.raises(ConfigurationError, match="at least 200"):
            DemoAdapter(patients=10)

    @pytest.fixture
    def sophie_adapter(self) -> DemoAdapter:
        return DemoAdapter(seed=7, patients=200, as_of=datetime.fromisoformat("2026-03-05T11:45:00-05:00"))

    @pytest.fixture
    def sophie_adapter_change(self, sophie_adapter: DemoAdapter) -> Callable[[], None]:
        def a_day_later() -> None:
            sophie_adapter.as_of = datetime.fromisoformat("2026-03-06T11:45:00-05:00")

        return a_day_later


class TestFilesAdapterOnYaml(AdapterConformance):
    @pytest.fixture
    def source(self, tmp_path: Path) -> Path:
        return Path(shutil.copy(EXAMPLE, tmp_path / "practice.yaml"))

    @pytest.fixture
    def sophie_adapter(self, source: Path) -> Adapter:
        return create_adapter("files", source=str(source), plugins=Plugins(entry_points_enabled=False))

    @pytest.fixture
    def sophie_adapter_broken(self, tmp_path: Path) -> Adapter:
        return FilesAdapter(tmp_path / "missing.yaml")

    @pytest.fixture
    def sophie_adapter_change(self, source: Path) -> Callable[[], None]:
        def change() -> None:
            data = yaml.safe_load(source.read_text())
            data["contacts"].append(NEW_CONTACT)
            source.write_text(yaml.safe_dump(data))

        return change


class TestFilesAdapterOnJson(AdapterConformance):
    @pytest.fixture
    def source(self, tmp_path: Path, sophie_practice_data: dict[str, Any]) -> Path:
        path = tmp_path / "practice.json"
        path.write_text(json.dumps(sophie_practice_data))
        return path

    @pytest.fixture
    def sophie_adapter(self, source: Path) -> Adapter:
        return FilesAdapter(source)

    @pytest.fixture
    def sophie_adapter_change(self, source: Path) -> Callable[[], None]:
        def change() -> None:
            data = json.loads(source.read_text())
            data["appointments"][1]["status"] = "unscheduled"
            source.write_text(json.dumps(data))

        return change

    @pytest.fixture
    def sophie_adapter_broken(self, tmp_path: Path) -> Adapter:
        path = tmp_path / "broken.json"
        path.write_text('{"practice": ')
        return FilesAdapter(path)


class ChangeLogAdapter(Adapter):
    """A reference incremental adapter over an in-memory source with a change log."""

    name = "change-log"
    supports_incremental = True
    supports_events = True

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = copy.deepcopy(data)
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.reachable = True

    def fetch(self) -> Snapshot:
        if not self.reachable:
            raise SourceUnavailableError("change-log source is down")
        return parse_snapshot(self.data, source=self.name)

    def log_contact(self, contact: dict[str, Any]) -> None:
        self.data["contacts"].append(contact)
        self.data["as_of"] = contact["at"]
        self.log.append(("contacts", contact))

    def fetch_since(self, watermark: Watermark | None) -> IncrementalResult:
        snapshot = self.fetch()
        if watermark is None:
            return IncrementalResult.full(snapshot, watermark=str(len(self.log)))
        changed: dict[str, Any] = {"as_of": snapshot.as_of}
        for section, record in self.log[int(watermark):]:
            changed.setdefault(section, []).append(record)
        return IncrementalResult.delta(changed, watermark=str(len(self.log)))

    def events(self, since: Watermark | None = None) -> Iterator[AdapterEvent]:
        for position, (_, record) in enumerate(self.log[int(since or 0):], start=int(since or 0) + 1):
            yield AdapterEvent(kind=AdapterEventKind.CONTACT_LOGGED, record_id=record["id"], at=record["at"],
                               patient_id=record["patient_id"], watermark=str(position))


class TestChangeLogAdapter(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self, sophie_practice_data: dict[str, Any]) -> ChangeLogAdapter:
        return ChangeLogAdapter(sophie_practice_data)

    @pytest.fixture
    def sophie_adapter_broken(self, sophie_practice_data: dict[str, Any]) -> Adapter:
        adapter = ChangeLogAdapter(sophie_practice_data)
        adapter.reachable = False
        return adapter

    @pytest.fixture
    def sophie_adapter_change(self, sophie_adapter: ChangeLogAdapter) -> Callable[[], None]:
        return lambda: sophie_adapter.log_contact({**NEW_CONTACT, "at": "2026-03-05T11:50:00-05:00"})


def test_events_report_what_changed(sophie_practice_data: dict[str, Any]) -> None:
    adapter = ChangeLogAdapter(sophie_practice_data)
    adapter.log_contact(NEW_CONTACT)
    [event] = adapter.events()
    assert (event.kind.section, event.record_id, event.watermark) == ("contacts", "ct-new", "1")
    assert list(adapter.events(since=event.watermark)) == []


def test_changes_merge_by_identity_and_deletions_remove(sophie_practice_data: dict[str, Any]) -> None:
    base = parse_snapshot(sophie_practice_data)
    changes = SnapshotChanges.model_validate({
        "as_of": "2026-03-05T12:00:00-05:00",
        "appointments": [{"id": "a-2", "patient_id": "p-2", "status": "unscheduled"}],
        "deleted": {"contacts": ["ct-1"]},
    })
    merged = IncrementalResult.delta(changes, watermark="w2").apply(base)
    assert [a.status for a in merged.appointments] == ["scheduled", "unscheduled"]
    assert merged.contacts == []
    assert merged.as_of.hour == 12
    assert changes.counts() == {"appointments": 1, "contacts": 1}


def test_changes_that_break_references_are_refused(sophie_practice_data: dict[str, Any]) -> None:
    from sophie.errors import IntegrityError

    base = parse_snapshot(sophie_practice_data)
    result = IncrementalResult.delta({"as_of": base.as_of, "deleted": {"patients": ["p-2"]}}, watermark="w")
    with pytest.raises(IntegrityError, match="patient_id 'p-2' names no record"):
        result.apply(base)


def test_changes_need_a_base_snapshot() -> None:
    from sophie.errors import ConfigurationError

    result = IncrementalResult.delta({"as_of": "2026-03-05T12:00:00Z"}, watermark="w")
    with pytest.raises(ConfigurationError, match="fetch_since\\(None\\) first"):
        result.apply(None)


def test_bad_changes_are_a_typed_data_error() -> None:
    from sophie.errors import AdapterDataError

    with pytest.raises(AdapterDataError, match="do not fit the model"):
        IncrementalResult.delta({"as_of": "2026-03-05T12:00:00", "deleted": {"teeth": ["1"]}}, watermark="w")


def test_a_stale_snapshot_is_a_typed_error(sophie_practice_data: dict[str, Any]) -> None:
    from datetime import timedelta

    from sophie.adapters.base import StaleSnapshotError, ensure_fresh

    snapshot = parse_snapshot(sophie_practice_data)
    ensure_fresh(snapshot, now=snapshot.as_of + timedelta(minutes=5), max_age=timedelta(minutes=15))
    with pytest.raises(StaleSnapshotError, match="practice canned is 1:00:00 old") as caught:
        ensure_fresh(snapshot, now=snapshot.as_of + timedelta(hours=1), max_age=timedelta(minutes=15))
    assert isinstance(caught.value, SourceUnavailableError)


BAD_ADAPTERS = '''
import logging
from datetime import datetime
from sophie.adapters.base import Adapter
from sophie.model import Snapshot, parse_snapshot
from sophie.testing import AdapterConformance, canned_practice_data
import pytest

class Flaky(Adapter):
    name = "flaky"
    calls = 0
    def fetch(self):
        data = canned_practice_data()
        type(self).calls += 1
        if type(self).calls % 2 == 0:
            data["contacts"] = []
        return parse_snapshot(data)

class Naive(Adapter):
    name = "naive"
    def fetch(self):
        snapshot = parse_snapshot(canned_practice_data())
        return snapshot.model_copy(update={"as_of": datetime(2026, 3, 5, 11, 45)})

class Chatty(Adapter):
    name = "chatty"
    def fetch(self):
        snapshot = parse_snapshot(canned_practice_data())
        for p in snapshot.patients:
            logging.getLogger("chatty").debug("read %s %s", p.first_name, p.last_name)
        return snapshot

class FirstNamer(Adapter):
    name = "first-namer"
    def fetch(self):
        snapshot = parse_snapshot(canned_practice_data())
        logging.getLogger("first-namer").info("calling %s about %s", snapshot.patients[0].first_name, "tp-1")
        return snapshot

class LastNamer(Adapter):
    name = "last-namer"
    def fetch(self):
        snapshot = parse_snapshot(canned_practice_data())
        print(f"family {snapshot.patients[1].last_name}: 2 records")
        return snapshot

class Careless(Adapter):
    name = "careless"
    def fetch(self):
        raise OSError("connection refused")

class TestFlaky(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return Flaky()

class TestNaive(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return Naive()

class TestChatty(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return Chatty()

class TestFirstNamer(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return FirstNamer()

class TestLastNamer(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return LastNamer()

class TestCareless(AdapterConformance):
    @pytest.fixture
    def sophie_adapter(self):
        return Naive()

    @pytest.fixture
    def sophie_adapter_broken(self):
        return Careless()
'''


def test_the_kit_catches_bad_adapters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=BAD_ADAPTERS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "-rf")
    failed = {line.split("::")[1] + "::" + line.split("::")[2].split(" ")[0]
              for line in result.stdout.lines if line.startswith("FAILED")}
    assert "TestFlaky::test_fetching_twice_gives_the_same_practice" in failed
    assert "TestNaive::test_every_time_is_timezone_aware" in failed
    assert "TestChatty::test_fetch_logs_no_patient_names" in failed
    assert "TestCareless::test_an_unreadable_source_raises_a_typed_error" in failed
    assert "TestFirstNamer::test_fetch_logs_no_patient_names" in failed  # "Iris" alone, in a log line
    assert "TestLastNamer::test_fetch_logs_no_patient_names" in failed  # "Vale" alone, printed
    for adapter in ("TestChatty", "TestFirstNamer", "TestLastNamer"):
        assert not any(name.startswith(f"{adapter}::") and "logs" not in name for name in failed), failed
    result.stdout.fnmatch_lines(["*patient names appear in the logs or output (patient ids ?'p-1', 'p-2'?)*"])
    result.stdout.fnmatch_lines(["*patient names appear in the logs or output (patient ids ?'p-1'?)*"])


def test_the_kit_explains_a_missing_adapter_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing=textwrap.dedent("""
        from sophie.testing import AdapterConformance

        class TestMine(AdapterConformance):
            pass
    """))
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "-k", "fetch_returns")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*define a fixture named 'sophie_adapter'*"])


def test_optional_checks_skip_with_a_reason_naming_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_minimal=textwrap.dedent("""
        import pytest
        from sophie.adapters.files import FilesAdapter
        from sophie.testing import AdapterConformance

        class TestMine(AdapterConformance):
            @pytest.fixture
            def sophie_adapter(self, tmp_path, sophie_practice_data):
                import json
                path = tmp_path / "p.json"
                path.write_text(json.dumps(sophie_practice_data))
                return FilesAdapter(path)
    """))
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "-rs")
    result.assert_outcomes(passed=11, skipped=2)
    result.stdout.fnmatch_lines(["*define a fixture named 'sophie_adapter_broken'*"])


def test_canned_practice_is_valid_and_logging_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        snapshot = parse_snapshot(canned_practice_data())
    assert snapshot.counts()["patients"] == 2
    assert all(count >= 1 for count in snapshot.counts().values())

"""Plugin loading through real entry points: discovery, broken plugins, conflicts, switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sophie.errors import PluginConflictError, PluginLoadError, UnknownNameError
from sophie.plugins.manager import Plugins, hookimpl
from sophie.plugins.records import AdapterInfo

GOOD = """
from sophie.plugins.manager import hookimpl
from sophie.plugins.records import AdapterInfo, RulePackSource
from sophie.adapters.files import FilesAdapter

@hookimpl
def sophie_adapters():
    yield AdapterInfo("acme-pms", lambda source=None: FilesAdapter(source), "Acme PMS export files")
"""
BROKEN = "raise ImportError('the acme driver is not installed')\n"
CONFLICTING = """
from sophie.plugins.manager import hookimpl
from sophie.plugins.records import AdapterInfo

@hookimpl
def sophie_adapters():
    yield AdapterInfo("demo", lambda source=None: None, "a second demo")
"""


def make_distribution(root: Path, dist: str, plugins: dict[str, str]) -> Path:
    """Write an installed-looking distribution: modules plus a .dist-info with entry points."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = ["[sophie]"]
    for name, source in plugins.items():
        module = f"{dist.replace('-', '_')}_{name.replace('-', '_')}"
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        lines.append(f"{name} = {module}")
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return root


def run_sophie(*args: str, path: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_builtins_register_through_the_same_hooks() -> None:
    plugins = Plugins(entry_points_enabled=False)
    assert sorted(plugins.adapters()) == ["demo", "files", "opendental"]
    [builtin] = plugins.describe()
    assert builtin.name == "sophie.builtin"
    assert builtin.provides["adapters"] == ["demo", "files", "opendental"]
    assert "business_age" in builtin.provides["rule_functions"]


def test_a_plugin_registered_in_code_adds_an_adapter() -> None:
    class Extra:
        @hookimpl
        def sophie_adapters(self):
            yield AdapterInfo("Extra-PMS", lambda source=None: None, "extra")

    plugins = Plugins(entry_points_enabled=False, extra=[Extra()])
    assert sorted(plugins.adapters()) == ["demo", "extra-pms", "files", "opendental"]


def test_unknown_adapter_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'files'"):
        Plugins(entry_points_enabled=False).adapter("fils")


def test_two_plugins_claiming_one_name_are_rejected() -> None:
    class Twin:
        @hookimpl
        def sophie_adapters(self):
            yield AdapterInfo("demo", lambda source=None: None)

    with pytest.raises(PluginConflictError, match="adapter 'demo' is provided by more than one plugin"):
        Plugins(entry_points_enabled=False, extra=[Twin()]).adapters()


def test_a_hook_returning_the_wrong_type_is_reported_not_fatal() -> None:
    class Sloppy:
        @hookimpl
        def sophie_adapters(self):
            yield "not a record"

    plugins = Plugins(entry_points_enabled=False, extra=[Sloppy()])
    assert sorted(plugins.adapters()) == ["demo", "files", "opendental"]
    assert "returned a str, not a AdapterInfo" in str(plugins.problems[0])
    with pytest.raises(PluginLoadError):
        Plugins(entry_points_enabled=False, extra=[Sloppy()], strict=True).adapters()


def test_entry_point_plugin_appears_in_sophie_plugins(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-fakepms", {"fakepms": GOOD})
    result = run_sophie("plugins", "--format", "json", path=root)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    acme = next(p for p in data["plugins"] if p["name"] == "fakepms")
    assert (acme["distribution"], acme["version"]) == ("sophie-fakepms", "1.2.3")
    assert acme["provides"] == {"adapters": ["acme-pms"]}


def test_a_broken_plugin_is_reported_and_the_host_keeps_working(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-fakepms", {"fakepms": GOOD, "broken": BROKEN})
    result = run_sophie("plugins", path=root)
    assert result.returncode == 0
    assert "acme-pms" in result.stdout
    assert "plugin 'broken' from sophie-fakepms 1.2.3 failed to load: ImportError: the acme driver is not installed" in result.stderr
    strict = run_sophie("plugins", "--strict", path=root)
    assert strict.returncode == 2
    assert "failed to load" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_conflicting_entry_point_is_a_clear_error(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-twin", {"twin": CONFLICTING})
    result = run_sophie("plugins", path=root)
    assert result.returncode == 2
    assert "adapter 'demo' is provided by more than one plugin: sophie.builtin, twin" in result.stderr


def test_plugins_can_be_switched_off(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-fakepms", {"fakepms": GOOD, "broken": BROKEN})
    off = run_sophie("plugins", "--format", "json", path=root, env={"SOPHIE_DISABLE_PLUGINS": "1"})
    assert [p["name"] for p in json.loads(off.stdout)["plugins"]] == ["sophie.builtin"]
    skip = run_sophie("plugins", "--format", "json", path=root, env={"SOPHIE_DISABLE_PLUGINS": "broken"})
    data = json.loads(skip.stdout)
    assert [p["name"] for p in data["plugins"]] == ["sophie.builtin", "fakepms"]
    assert data["problems"] == []


def test_nothing_is_loaded_at_import_time(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-fakepms", {"broken": BROKEN, "fakepms": GOOD})
    code = "import sys, sophie; print(sorted(m for m in sys.modules if m.startswith('sophie_fakepms')))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


OBSERVER = """
import os
from sophie.plugins.manager import hookimpl

@hookimpl
def sophie_task_changed(change):
    with open(os.environ["OBSERVED_FILE"], "a") as out:
        out.write(f"{change.kind} {change.task.id}\\n")
"""
FAILING_OBSERVER = """
from sophie.plugins.manager import hookimpl

@hookimpl
def sophie_task_changed(change):
    raise RuntimeError("observer down")
"""


def test_observers_see_every_committed_change_and_cannot_break_the_run(tmp_path: Path) -> None:
    from snapshot_data import EXAMPLE_SNAPSHOT

    root = make_distribution(tmp_path / "site", "sophie-watcher", {"watcher": OBSERVER, "grumpy": FAILING_OBSERVER})
    observed = tmp_path / "observed.txt"
    args = ("run", "--adapter", "files", "--source", str(EXAMPLE_SNAPSHOT), "--now", "2026-03-05T11:50:00-05:00",
            "--db", f"sqlite:///{tmp_path / 'l.db'}", "--format", "json")
    result = run_sophie(*args, path=root, env={"OBSERVED_FILE": str(observed)})
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert observed.read_text().splitlines() == [f"{c['change']} {c['task']['id']}" for c in changes]
    assert result.stderr.count("observer grumpy failed: RuntimeError: observer down") == len(changes)


# -- sophie_task_changed through pluggy, fired by the library -----------------------------

NOW = "2026-03-05T12:00:00-05:00"


class Recorder:
    """Observers in every form pluggy accepts; each writes what it saw into ``calls``."""

    def __init__(self, db_path: Path) -> None:
        self.calls: list[str] = []
        self.db_path = db_path

    @hookimpl
    def sophie_task_changed(self) -> None:  # fewer arguments than the specification
        self.calls.append("no-args")


class NewStyleWrapper:
    def __init__(self, calls: list[str], db_path: Path) -> None:
        self.calls = calls
        self.db_path = db_path

    @hookimpl(wrapper=True)
    def sophie_task_changed(self, change):
        import sqlite3

        with sqlite3.connect(self.db_path) as other:  # another connection: sees committed rows only
            [(committed,)] = other.execute("SELECT count(*) FROM task WHERE id = ?", (change.task.id,)).fetchall()
        self.calls.append(f"wrapper:{change.kind}:{'committed' if committed else 'NOT COMMITTED'}")
        result = yield
        self.calls.append("wrapper:after")
        return result


class OldStyleWrapper:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl(hookwrapper=True)
    def sophie_task_changed(self, change):
        self.calls.append(f"hookwrapper:{change.task.id}")
        yield


def run_example_cycle(db: Path, plugins: Plugins | None):
    from datetime import datetime

    from sophie.execution import SqliteLedger, run_cycle
    from sophie.model import parse_snapshot
    from sophie.rules import load_pack
    from sophie.testing import canned_practice_data

    snapshot = parse_snapshot(canned_practice_data())
    with SqliteLedger(str(db)) as ledger:
        return run_cycle(snapshot, [load_pack("example")], ledger, now=datetime.fromisoformat(NOW), plugins=plugins)


def test_a_zero_argument_observer_and_wrappers_see_every_change_of_a_library_run_cycle(tmp_path: Path) -> None:
    db = tmp_path / "sophie.db"
    recorder = Recorder(db)
    plugins = Plugins(
        entry_points_enabled=False,
        extra=[recorder, NewStyleWrapper(recorder.calls, db), OldStyleWrapper(recorder.calls)],
    )
    result = run_example_cycle(db, plugins)
    assert result.changes and result.observer_errors == ()
    per_change = [
        [f"hookwrapper:{change.task.id}", f"wrapper:{change.kind}:committed", "no-args", "wrapper:after"]
        for change in result.changes
    ]
    assert recorder.calls == [call for calls in per_change for call in calls]


def test_a_raising_observer_is_reported_by_name_and_the_changes_stand(tmp_path: Path) -> None:
    class Grumpy:
        __name__ = "grumpy"

        @hookimpl
        def sophie_task_changed(self, change):
            raise RuntimeError(f"observer down at {change.kind}")

    result = run_example_cycle(tmp_path / "sophie.db", Plugins(entry_points_enabled=False, extra=[Grumpy()]))
    assert result.observer_errors == tuple(
        f"observer grumpy failed: RuntimeError: observer down at {change.kind}" for change in result.changes
    )
    again = run_example_cycle(tmp_path / "sophie.db", Plugins(entry_points_enabled=False))
    assert {str(change.kind) for change in again.changes} <= {"touched"}  # the first cycle's tasks were kept


def test_run_cycle_tells_the_installed_plugins_by_default(tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "site", "sophie-watcher", {"watcher": OBSERVER})
    observed = tmp_path / "observed.txt"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from sophie.execution import SqliteLedger, run_cycle
        from sophie.model import parse_snapshot
        from sophie.rules import load_pack
        from sophie.testing import canned_practice_data
        from datetime import datetime

        with SqliteLedger({str(tmp_path / 'l.db')!r}) as ledger:
            result = run_cycle(parse_snapshot(canned_practice_data()), [load_pack("example")], ledger,
                               now=datetime.fromisoformat({NOW!r}))
        print(len(result.changes))
    """)
    environment = {**os.environ, "PYTHONPATH": str(root), "OBSERVED_FILE": str(observed)}
    environment.pop("SOPHIE_DISABLE_PLUGINS", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0
    assert len(observed.read_text().splitlines()) == int(done.stdout)

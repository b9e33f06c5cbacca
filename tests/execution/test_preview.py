"""sophie preview: per role and person, day one vs backlog, drain days, new tasks a day; nothing written."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from sophie.adapters.demo.practice import DemoPractice, DemoSettings
from sophie.cli import cli
from sophie.execution import ExecutionSettings
from sophie.execution.preview import business_mornings, preview
from sophie.rules import load_pack


def test_preview_splits_day_one_by_capacity_and_counts_new_tasks_without_a_ledger(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    snapshot = DemoPractice(DemoSettings(seed=3, patients=300)).snapshot()
    staff = [m.model_copy(update={"capacity": 4}) if m.id == snapshot.staff[0].id else m for m in snapshot.staff]
    snapshot = snapshot.model_copy(update={"staff": staff})
    packs = [load_pack("dental-core")]
    result = preview(snapshot, packs, snapshot.as_of, settings=ExecutionSettings(capacity=7), days=3)
    assert os.listdir(tmp_path) == []  # no ledger, no file
    assert len(result.mornings) == 3 and all(m < snapshot.as_of for m in result.mornings)
    total = sum(load.findings for load in result.roles.values())
    assert total == sum(load.findings for load in result.people.values()) > 0
    for person, load in result.people.items():
        assert load.day - load.urgent <= result.capacity[person]
        assert load.findings == load.day + load.backlog
        if load.backlog:
            assert load.drain_days == -(-load.backlog // result.capacity[person])
    assert result.capacity[snapshot.staff[0].id] == 4
    assert any(load.backlog for load in result.people.values())
    assert all(len(load.new_per_day) == 3 for load in result.roles.values())


def test_business_mornings_are_openings_of_earlier_business_days():
    snapshot = DemoPractice(DemoSettings(seed=1, patients=200)).snapshot()
    calendar = snapshot.index.calendar
    mornings = business_mornings(calendar, snapshot.as_of, 4)
    assert len(mornings) == 5 and mornings == sorted(mornings)
    assert all(calendar.is_open(m) and calendar.is_business_day(calendar.local_date(m)) for m in mornings)
    assert calendar.local_date(mornings[-1]) < calendar.local_date(snapshot.as_of)


def test_sophie_preview_json_and_table_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["preview", "--adapter", "demo", "--days", "2", "--now", "2026-03-02T07:30:00-05:00", "--capacity", "10"]
    out = runner.invoke(cli, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert set(data) == {"practice", "now", "mornings", "roles", "people"}
    for person in data["people"].values():
        assert person["day_one"] - person["urgent"] <= person["capacity"] == 10
        assert person["top_rules"] and {"mean", "max", "days"} <= set(person["new_per_day"])
    table = runner.invoke(cli, args)
    assert table.exit_code == 0 and "Nothing was written" in table.output
    assert os.listdir(tmp_path) == []


def test_sophie_preview_reads_the_practice_of_sophie_toml_and_the_flags_override_it(tmp_path, monkeypatch):
    """As `sophie run` does: the file's adapter, source, packs, parameters and capacity; flags win."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--adapter", "demo"]).exit_code == 0
    toml = (tmp_path / "sophie.toml").read_text()
    toml = toml.replace("# No source:", 'source = "seed=3&patients=300"\n# No source:').replace("default = 30", "default = 6")
    (tmp_path / "sophie.toml").write_text(toml)
    before = sorted(os.listdir(tmp_path))

    def people(*flags: str) -> dict:
        out = runner.invoke(cli, ["preview", "--days", "1", "--format", "json", *flags])
        assert out.exit_code == 0, out.output
        return json.loads(out.output)["people"]

    from_file = people()
    assert {p["capacity"] for p in from_file.values()} == {6}
    practice = DemoPractice(DemoSettings(seed=3, patients=300))
    snapshot = practice.snapshot()
    expected = preview(snapshot, [load_pack("dental-core")], snapshot.as_of, settings=ExecutionSettings(capacity=6),
                       days=1)  # fmt: skip
    assert {person: load["findings"] for person, load in from_file.items()} == {
        person: load.findings for person, load in expected.people.items()
    }
    assert {p["capacity"] for p in people("--capacity", "9").values()} == {9}
    assert sorted(os.listdir(tmp_path)) == before  # nothing written
    missing = CliRunner().invoke(cli, ["preview", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2

"""Rules tried on real data: snapshots exported from any adapter, and the demo read at its own moment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sophie.adapters import DemoAdapter, load_snapshot_file


def sophie(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("name", ["practice.json", "practice.yaml"])
def test_an_exported_snapshot_reads_back_as_the_same_practice(tmp_path: Path, name: str) -> None:
    result = sophie("snapshot", "export", "--adapter", "demo", "--out", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert load_snapshot_file(tmp_path / name) == DemoAdapter().fetch()
    assert not list(tmp_path.glob(".*partial"))


def test_an_export_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    result = sophie("snapshot", "export", "--adapter", "demo", "--out", "missing/dir/p.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sophie: error: cannot write missing/dir/p.json: No such file or directory"
    ]


def test_explain_without_a_practice_says_how_to_give_one(tmp_path: Path) -> None:
    result = sophie("explain", "--pack", "example", "--rule", "r", "--subject", "s", cwd=tmp_path)
    assert result.returncode == 2
    assert "--adapter NAME" in result.stderr and "--source FILE" in result.stderr


def test_run_on_the_demo_reads_it_at_the_moment_sophie_demo_does(tmp_path: Path) -> None:
    result = sophie("run", "--adapter", "demo", "--format", "json", "--db", f"sqlite:///{tmp_path / 'l.db'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = {change["task"]["created_at"] for change in json.loads(result.stdout)["changes"]}
    assert created == {DemoAdapter().fetch().as_of.isoformat()}


def test_a_rule_failing_on_a_real_subject_fails_sophie_test(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "pack: p\nversion: 1.0.0\nrules:\n  - id: r.bad\n    title: divides by a count\n    for: patient\n"
        "    when: 10 / count(a for a in patient.appointments) > 1\n"
        "    task: {title: x, owner: front_desk, due: 1 business_day}\n",
        encoding="utf-8",
    )
    result = sophie("test", str(pack), "--adapter", "demo", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(line.startswith("  FAIL r.bad on p-") for line in lines), lines[:5]
    assert lines[-1].startswith("0 passed, ") and lines[-1].endswith(" failed") and lines[-1] != "0 passed, 0 failed"


SMALL_DEMO = '[practice]\nadapter = "demo"\nsource = "seed=3&patients=300"\npacks = ["dental-core"]\n'


def test_explain_export_and_test_read_the_practice_of_sophie_toml(tmp_path: Path) -> None:
    """An analyst in a configured practice's folder needs no --adapter/--source (nor the PMS password on the line)."""
    (tmp_path / "sophie.toml").write_text(SMALL_DEMO, encoding="utf-8")
    practice = DemoAdapter(seed=3, patients=300).fetch()

    exported = sophie("snapshot", "export", "--out", "p.json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert load_snapshot_file(tmp_path / "p.json") == practice  # the file's practice, at the demo's own morning

    plan = next(p for p in practice.treatment_plans if p.status.value in ("presented", "accepted"))
    args = ("explain", "--pack", "dental-core", "--rule", "tx.unscheduled.first_touch", "--subject", plan.id)
    from_file = sophie(*args, "--format", "json", cwd=tmp_path)
    from_flags = sophie(*args, "--format", "json", "--adapter", "files", "--source", "p.json",
                        "--now", practice.as_of.isoformat(), cwd=tmp_path)  # fmt: skip
    assert from_file.returncode == 0, from_file.stderr
    explained, reread = json.loads(from_file.stdout), json.loads(from_flags.stdout)
    assert explained["now"] == reread["now"] == practice.as_of.isoformat()
    assert explained["fires"] is reread["fires"] is True
    for part in (explained, reread):  # money reads back from the file as an equal number with fewer zeros
        part["finding"].pop("evidence")
        part.pop("tree")
    assert explained == reread

    tested = sophie("test", "dental-core", "--config", "sophie.toml", "--rule", "recall.overdue", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "  recall.overdue: " in tested.stdout  # evaluated on the practice, not only the pack's own tests

    wrong = sophie("explain", *args[1:], "--practice", "north", cwd=tmp_path)
    assert wrong.returncode == 2 and "no practice has id 'north'" in wrong.stderr
    mixed = sophie("snapshot", "export", "--source", "p.json", cwd=tmp_path)
    assert mixed.returncode == 2 and "--source needs --adapter" in mixed.stderr

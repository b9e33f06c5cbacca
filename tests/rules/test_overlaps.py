"""Rules that overlap: a warning when two rules give one owner a task for the same subjects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sophie.adapters import DemoAdapter
from sophie.model import Snapshot
from sophie.rules import load_pack
from sophie.rules.overlaps import find_overlaps

CONFIRM = """\
pack: front-office
version: 0.1.0
rules:
  - id: confirm.tomorrow
    title: Tomorrow's visit is not confirmed
    for: appointment
    when: |
      appointment.status == "scheduled"
      and not appointment.confirmed
      and appointment.start > now
      and appointment.start - now <= hours(24)
    task:
      title: "Confirm {appointment.patient.first_name}"
      owner: OWNER
      priority: high
      due: now + business_hours(2)
"""


def sophie(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo() -> Snapshot:
    return DemoAdapter().fetch()


def pack_file(where: Path, owner: str) -> Path:
    path = where / "confirm.yaml"
    path.write_text(CONFIRM.replace("OWNER", owner), encoding="utf-8")
    return path


def test_a_rule_repeating_dental_cores_confirmation_is_found(tmp_path: Path, demo: Snapshot) -> None:
    packs = [load_pack("dental-core"), load_pack(str(pack_file(tmp_path, "scheduling_coordinator")))]
    warnings = find_overlaps(packs, demo, demo.as_of, practice="the demo practice")
    assert len(warnings) == 1
    warning = warnings[0]
    assert (warning.file, warning.line, warning.severity, warning.rule_id) == (
        str(tmp_path / "confirm.yaml"), 4, "warning", "confirm.tomorrow"
    )
    assert warning.message.startswith("rule confirm.tomorrow overlaps rule sched.unconfirmed.24h (pack dental-core, ")
    assert "both give scheduling_coordinator a task for the same " in warning.message
    assert " appointments on the demo practice, e.g. a-" in warning.message
    assert warning.message.endswith("keep one, or narrow a condition")


def test_the_same_subjects_for_another_owner_are_not_an_overlap(tmp_path: Path, demo: Snapshot) -> None:
    packs = [load_pack("dental-core"), load_pack(str(pack_file(tmp_path, "front_desk")))]
    assert find_overlaps(packs, demo, demo.as_of) == []


def test_dental_core_alone_does_not_overlap_itself(demo: Snapshot) -> None:
    assert find_overlaps([load_pack("dental-core")], demo, demo.as_of) == []


def test_sophie_check_warns_and_still_exits_0(tmp_path: Path) -> None:
    pack_file(tmp_path, "scheduling_coordinator")
    result = sophie("check", "dental-core", "confirm.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("confirm.yaml:4:1: warning: rule confirm.tomorrow overlaps rule sched.unconfirmed.24h")
    as_json = json.loads(sophie("check", "dental-core", "confirm.yaml", "--format", "json", cwd=tmp_path).stdout)
    assert [d["severity"] for d in as_json["diagnostics"]] == ["warning"]

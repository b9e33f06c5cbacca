"""``sophie inspect`` and ``sophie schema snapshot``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from snapshot_data import EXAMPLE_SNAPSHOT, minimal_snapshot


def sophie(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_inspect_prints_counts_openings_and_age() -> None:
    result = sophie("inspect", str(EXAMPLE_SNAPSHOT), "--now", "2026-03-05T12:45:00-05:00")
    assert result.returncode == 0, result.stderr
    assert "Smile Dental" in result.stdout
    assert "age 1h 0m" in result.stdout
    assert "op-1@2026-03-05T13:00" in result.stdout


def test_inspect_json_is_data() -> None:
    result = sophie("inspect", str(EXAMPLE_SNAPSHOT), "--format", "json", "--now", "2026-03-05T11:45:00-05:00")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["counts"]["patients"] == 4
    assert data["openings"]["count"] == 2
    assert data["openings"]["first"][0] == {
        "id": "op-1@2026-03-05T13:00",
        "start": "2026-03-05T13:00:00-05:00",
        "end": "2026-03-05T14:00:00-05:00",
        "minutes": 60,
        "provider_id": "prov-1",
        "operatory_id": "op-1",
    }
    assert data["data_age_seconds"] == 0


def test_inspect_json_snapshot_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(minimal_snapshot(patients=[{"id": "p-1", "first_name": "A", "last_name": "B"}])))
    result = sophie("inspect", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["patients"] == 1


def test_bad_snapshot_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    data = minimal_snapshot(
        patients=[{"id": "p-1", "first_name": "A", "last_name": "B", "status": "alive", "shoe": 1}],
        appointments=[{"id": "a-1", "patient_id": "p-2", "status": "planned"}],
    )
    data["as_of"] = "2026-03-05T11:45:00"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = sophie("inspect", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"sophie: error: {path}: ") for line in lines)
    assert "Traceback" not in result.stderr
    assert any("patients[0] (id=p-1).shoe: unknown field" in line for line in lines)


def test_dangling_reference_exits_2(tmp_path: Path) -> None:
    data = minimal_snapshot(appointments=[{"id": "a-1", "patient_id": "p-2", "status": "planned"}])
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(data))
    result = sophie("inspect", str(path))
    assert result.returncode == 2
    assert "appointments[0] (id=a-1).patient_id: patient_id 'p-2' names no record in patients" in result.stderr


def test_files_that_are_not_json_or_yaml(tmp_path: Path) -> None:
    broken_json = tmp_path / "x.json"
    broken_json.write_text('{"practice": ,}')
    broken_yaml = tmp_path / "x.yaml"
    broken_yaml.write_text("practice: [unclosed\n")
    binary = tmp_path / "x.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path in (broken_json, broken_yaml, binary, tmp_path / "missing.json"):
        result = sophie("inspect", str(path))
        assert result.returncode == 2, path
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    result = sophie("inspect", str(path))
    assert result.returncode == 2
    assert "anchors and aliases are not allowed" in result.stderr


def test_naive_now_flag_is_a_usage_error() -> None:
    result = sophie("inspect", str(EXAMPLE_SNAPSHOT), "--now", "2026-03-05T11:45:00")
    assert result.returncode == 2
    assert "has no UTC offset" in result.stderr


def test_schema_snapshot_is_a_json_schema_that_validates_the_example() -> None:
    result = sophie("schema", "snapshot")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) >= {"practice", "as_of", "patients", "balances"}
    assert schema["additionalProperties"] is False
    assert "Patient" in schema["$defs"]

"""The pack author's commands, driven as a user would: check, test, explain, schema pack, functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sophie.cli.commands import rules_commands

check_command = rules_commands.check_command
explain_command = rules_commands.explain_command
functions_command = rules_commands.functions_command
schema_pack_command = rules_commands.schema_pack_command
run_tests_command = rules_commands.test_command

ROOT = Path(__file__).resolve().parents[2]
MALFORMED = Path(__file__).parent / "malformed"

GOOD = """\
pack: mine
version: 0.1.0
params:
  days: 2
rules:
  - id: stalled
    title: Stalled plan
    for: treatment_plan as plan
    when: plan.status == "presented" and business_age(plan.presented_at) >= business_days(params.days)
    task:
      title: "Call {plan.patient.first_name}"
      owner: treatment_coordinator
      due: 1 business_day
    tests:
      - name: fires
        now: 2026-03-05T10:00:00-05:00
        given:
          patients: [{id: p-1, first_name: Ana, last_name: Lima}]
          treatment_plans: [{id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-02T10:00:00-05:00}]
        expect: [{subject: tp-1, owner: treatment_coordinator}]
      - name: wrongly expects silence
        now: 2026-03-05T10:00:00-05:00
        given:
          patients: [{id: p-1, first_name: Ana, last_name: Lima}]
          treatment_plans: [{id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-02T10:00:00-05:00}]
        expect: []
      - name: wrong owner
        now: 2026-03-05T10:00:00-05:00
        given:
          patients: [{id: p-1, first_name: Ana, last_name: Lima}]
          treatment_plans: [{id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-02T10:00:00-05:00}]
        expect: [{subject: tp-1, owner: front_desk}]
"""

SNAPSHOT = """\
practice:
  id: t
  name: Test Dental
  timezone: America/New_York
  hours: {mon: [["08:00", "17:00"]], tue: [["08:00", "17:00"]], wed: [["08:00", "17:00"]],
          thu: [["08:00", "17:00"]], fri: [["08:00", "17:00"]]}
as_of: 2026-03-05T10:00:00-05:00
patients:
  - {id: p-1, first_name: Ana, last_name: Lima}
treatment_plans:
  - {id: tp-1, patient_id: p-1, status: presented, presented_at: 2026-03-02T10:00:00-05:00}
procedures:
  - {id: pr-1, patient_id: p-1, code: D2740, fee: 1200.00, status: planned, treatment_plan_id: tp-1}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def good_pack(tmp_path: Path) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    path = tmp_path / "snap.yaml"
    path.write_text(SNAPSHOT, encoding="utf-8")
    return path


def test_check_a_clean_pack_says_ok(runner: CliRunner) -> None:
    result = runner.invoke(check_command, ["example"])
    assert result.exit_code == 0
    assert result.stdout == "ok: example (1 rule)\n"


def test_check_prints_every_problem_and_a_count(runner: CliRunner) -> None:
    bad = str(MALFORMED / "pack_unknown_key_rule.yaml")
    result = runner.invoke(check_command, [bad, "example"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:2:1: error: missing required key 'rules' (the list of rules)",
        f"{bad}:4:1: error: unknown key 'rule'; expected one of pack, version, description, roles, params, rules "
        "(did you mean 'rules'?)",
        "ok: example (1 rule)",
        "2 errors",
    ]


def test_check_formats_for_ci_and_programs(runner: CliRunner) -> None:
    bad = str(MALFORMED / "task_unknown_role_typo.yaml")
    github = runner.invoke(check_command, ["--format", "github", bad])
    assert github.exit_code == 1
    assert github.stdout.startswith(f"::error file={bad},line=11,col=14::unknown role 'treatment_cordinator'")
    as_json = runner.invoke(check_command, ["--format", "json", bad])
    data = json.loads(as_json.stdout)
    assert data["diagnostics"][0]["line"] == 11
    assert data["diagnostics"][0]["suggestion"] == "treatment_coordinator"
    assert data["ok"] == []


def test_check_an_unknown_pack_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(check_command, ["exampel"])
    assert result.exit_code == 2
    assert result.stderr == "sophie: error: unknown pack 'exampel'; did you mean 'example'?\n"
    assert "Traceback" not in result.output


def test_test_runs_every_test_and_ends_with_the_count(runner: CliRunner) -> None:
    result = runner.invoke(run_tests_command, ["example"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "5 passed, 0 failed"
    assert lines[0] == "PASS treatment.unscheduled.first-touch/fires three business days after presentation"


def test_test_reports_failures_with_expected_and_actual(runner: CliRunner, good_pack: Path) -> None:
    result = runner.invoke(run_tests_command, [str(good_pack)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "PASS stalled/fires"
    assert lines[1] == (
        f"FAIL stalled/wrongly expects silence ({good_pack}:21): expected nothing, got [tp-1 (treatment_coordinator)]"
    )
    assert lines[2] == (
        f"FAIL stalled/wrong owner ({good_pack}:27): expected [tp-1 (front_desk)], got [tp-1 (treatment_coordinator)]"
    )
    assert lines[-1] == "1 passed, 2 failed"


def test_test_of_a_pack_that_does_not_load_exits_2(runner: CliRunner) -> None:
    bad = str(MALFORMED / "fixture_missing_field.yaml")
    result = runner.invoke(run_tests_command, [bad])
    assert result.exit_code == 2
    assert result.stdout == ""
    # A located pack error is printed as it is, without a second "sophie: error:" in front.
    assert result.stderr.startswith(f"{bad}:18:15: error: test fixture:")


def test_test_can_select_rules(runner: CliRunner, good_pack: Path) -> None:
    result = runner.invoke(run_tests_command, [str(good_pack), "--rule", "nothing"])
    assert result.exit_code == 0
    assert result.stdout == "0 passed, 0 failed\n"


def test_explain_shows_each_condition_and_the_task(runner: CliRunner, snapshot_file: Path) -> None:
    args = [
        "--pack",
        "example",
        "--source",
        str(snapshot_file),
        "--rule",
        "treatment.unscheduled.first-touch",
        "--subject",
        "tp-1",
        "--now",
        "2026-03-05T10:00:00-05:00",
    ]
    result = runner.invoke(explain_command, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "treatment.unscheduled.first-touch on treatment_plan tp-1 at 2026-03-05T10:00:00-05:00: fires"
    assert any(line.strip() == 'plan.status == "presented" => true' for line in lines)
    assert any(line.strip() == "not plan.scheduled => true" for line in lines)
    assert lines[-1].startswith(
        "  task: 'Call Ana about unscheduled treatment ($1,200.00)' owner=treatment_coordinator"
    )
    quiet = runner.invoke(explain_command, [*args, "--param", "first_touch_days=5", "--format", "json"])
    data = json.loads(quiet.stdout)
    assert data["fires"] is False
    assert data["finding"] is None
    assert data["subject"] == {"type": "treatment_plan", "id": "tp-1"}
    assert data["tree"]["value"] is False


def test_explain_input_errors_are_one_line_on_stderr(runner: CliRunner, snapshot_file: Path) -> None:
    base = ["--pack", "example", "--source", str(snapshot_file), "--now", "2026-03-05T10:00:00-05:00"]
    unknown_rule = runner.invoke(explain_command, [*base, "--rule", "treatment.unscheduled", "--subject", "tp-1"])
    assert unknown_rule.exit_code == 2
    assert unknown_rule.stderr.startswith("sophie: error: unknown rule 'treatment.unscheduled'")
    unknown_subject = runner.invoke(
        explain_command, [*base, "--rule", "treatment.unscheduled.first-touch", "--subject", "tp-9"]
    )
    assert unknown_subject.exit_code == 2
    assert unknown_subject.stderr == "sophie: error: unknown treatment_plan 'tp-9'; did you mean 'tp-1'?\n"
    bad_param = runner.invoke(
        explain_command, [*base, "--rule", "treatment.unscheduled.first-touch", "--subject", "tp-1", "--param", "x=1"]
    )
    assert bad_param.exit_code == 2
    assert "unknown parameter 'x'" in bad_param.stderr
    assert "Traceback" not in unknown_rule.output + unknown_subject.output + bad_param.output


def test_schema_pack_prints_a_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(schema_pack_command, [])
    schema = json.loads(result.stdout)
    assert schema["title"] == "sophie rule pack"
    assert "rules" in schema["properties"]


def test_schema_pack_path_writes_a_stable_file(runner: CliRunner, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = runner.invoke(schema_pack_command, ["--path"], env=env)
    second = runner.invoke(schema_pack_command, ["--path"], env=env)
    assert first.exit_code == 0
    assert first.stdout == second.stdout == f"{tmp_path}/sophie/schemas/pack.v1.json\n"
    assert json.loads(Path(first.stdout.strip()).read_text(encoding="utf-8"))["$id"] == "urn:sophie:schema:pack:v1"


def test_functions_lists_functions_and_fields(runner: CliRunner) -> None:
    table = runner.invoke(functions_command, [], terminal_width=200)
    assert table.exit_code == 0
    assert "business_age(" in table.stdout
    assert "unscheduled_total" in table.stdout
    data = json.loads(runner.invoke(functions_command, ["--format", "json"]).stdout)
    names = {f["name"] for f in data["functions"]}
    assert {"business_age", "business_days", "any", "count", "days_since"} <= names
    plan_fields = {f["name"]: f["type"] for f in data["entities"]["treatment_plan"]}
    assert plan_fields["presented_at"] == "datetime?"
    assert plan_fields["patient"] == "patient"


def test_the_installed_cli_runs_pack_tests() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sophie", "test", "example"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "5 passed, 0 failed"

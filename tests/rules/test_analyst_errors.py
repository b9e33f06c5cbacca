"""Errors an analyst meets on a first pack: the root cause once, and what to do about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sophie.cli.app import SophieGroup
from sophie.cli.commands import rules_commands

check_command = rules_commands.check_command

PACK = """\
pack: {name}
version: {version}
params:
  first_touch_days: 2
rules:
  - id: stalled
    title: Stalled plan
    for: treatment_plan as plan
    when: plan.{field} == "presented" and business_age(plan.presented_at) >= business_days(params.first_touch_days)
    task:
      title: "Call {{plan.patient.first_name}}"
      owner: treatment_coordinator
      due: 1 business_day
"""

TESTS = """\
- rule: stalled
  name: fires
  now: 2026-03-05T10:00:00-05:00
  given: {}
  expect: []
- rule: stalled
  name: quiet
  now: 2026-03-05T10:00:00-05:00
  given: {}
  expect: []
"""


def write_pack(tmp_path: Path, *, name: str = "front-office", version: str = "0.1.0", field: str = "status") -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(PACK.format(name=name, version=version, field=field), encoding="utf-8")
    return path


def check(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(check_command, list(args))
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    return result.exit_code, lines


@pytest.mark.parametrize(("name", "version"), [("front-office", "0.1"), ("Front Office", "0.1.0"), ("Front Office", "1")])
def test_a_bad_pack_header_is_reported_once_and_its_params_still_count(tmp_path: Path, name: str, version: str) -> None:
    code, lines = check(str(write_pack(tmp_path, name=name, version=version)))
    assert code == 1
    assert not any("unknown parameter" in line for line in lines), lines
    assert len(lines) == (name != "front-office") + (version != "0.1.0")


def test_a_broken_rule_does_not_make_every_test_of_it_an_unknown_rule(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, field="statuss")
    (tmp_path / "mine.tests.yaml").write_text(TESTS, encoding="utf-8")
    code, lines = check(str(pack))
    assert code == 1
    assert lines == [f"{pack}:9:16: error: treatment_plan has no field 'statuss' (did you mean 'status'?)"]


def test_a_test_of_a_rule_the_pack_does_not_have_is_still_reported(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    (tmp_path / "mine.tests.yaml").write_text(TESTS.replace("rule: stalled\n  name: quiet", "rule: staled\n  name: quiet"))
    code, lines = check(str(pack))
    assert code == 1
    assert lines == [f"{tmp_path / 'mine.tests.yaml'}:6:9: error: no rule 'staled' in pack front-office (did you mean 'stalled'?)"]


def test_sophie_test_prints_a_located_error_as_it_is(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, field="statuss")
    result = CliRunner().invoke(SophieGroup(commands={"test": rules_commands.test_command}), ["test", str(pack)])
    assert result.exit_code == 2
    assert result.output.startswith(f"{pack}:9:16: error: treatment_plan has no field")
    assert "sophie: error:" not in result.output


def test_a_fixture_field_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    fixture = TESTS.replace("given: {}", "given: {appointments: [{id: a1, patient_id: p1, status: planned, hygeine: true}]}", 1)
    (tmp_path / "mine.tests.yaml").write_text(fixture, encoding="utf-8")
    _, lines = check(str(pack))
    assert any(line.endswith("appointments[0] (id=a1).hygeine: unknown field (did you mean 'hygiene'?)") for line in lines), lines


def test_a_number_in_quotes_says_to_drop_the_quotes(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    pack.write_text(pack.read_text().replace('plan.status == "presented"', 'plan.total >= "1000"'))
    _, lines = check(str(pack))
    assert lines == [
        f"{pack}:9:11: error: cannot compare an amount of money with text; "
        "the quotes make '1000' text: write the number without quotes (1000)"
    ]


def test_a_function_named_by_its_meaning_suggests_the_real_one(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    pack.write_text(pack.read_text().replace('plan.status == "presented"', "days_ago(plan.presented_at) > 3"))
    _, lines = check(str(pack))
    assert lines == [
        f"{pack}:9:11: error: unknown function 'days_ago'; sophie functions lists them all (did you mean 'days_since'?)"
    ]


@pytest.mark.parametrize(
    ("indent", "expected"),
    [
        (5, "line 13 is indented 5 spaces, which lines up with no mapping above it: indent 'due' by 6 spaces or 4 spaces"),
        (8, "line 13 is indented 8 spaces, more than 'owner' on line 12 (6): if 'due' is a key of the same mapping, indent it by 6 spaces"),
    ],
)
def test_a_mis_indented_line_says_which_and_how(tmp_path: Path, indent: int, expected: str) -> None:
    pack = write_pack(tmp_path)
    pack.write_text(pack.read_text().replace("      due:", " " * indent + "due:"))
    _, lines = check(str(pack))
    assert len(lines) == 1
    assert lines[0].startswith(f"{pack}:13:"), lines
    assert expected in lines[0]


def test_a_nul_byte_is_reported_at_its_own_line_and_column(tmp_path: Path) -> None:
    pack = write_pack(tmp_path)
    pack.write_text(pack.read_text().replace("Stalled plan", "Stalled\x00plan"))
    _, lines = check(str(pack))
    assert lines == [f"{pack}:7:19: error: invalid YAML: character U+0000 is not allowed here; remove it"]

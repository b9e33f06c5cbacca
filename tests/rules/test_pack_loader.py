"""Loading packs: compiled form, templates, roles, tests files, YAML traps, load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophie.errors import RuleError, UnknownNameError
from sophie.rules import compile_pack, load_pack, parse_yaml
from sophie.rules.packs.catalog import available_packs, find_pack, find_tests_file
from sophie.rules.packs.loader import CompiledPack

MINIMAL = """\
pack: demo
version: 1.0.0
{extra}rules:
  - id: r1
    title: T
    for: {for_}
    when: {when}
    task:
      title: {title}
      owner: {owner}
      due: 1 business_day
"""


def load(text: str) -> CompiledPack:
    return compile_pack(parse_yaml(text, file="p.yaml"))


def minimal(**values: str) -> str:
    fields = {"extra": "", "for_": "patient", "when": "patient.insured", "title": "x", "owner": "front_desk"}
    fields.update(values)
    return MINIMAL.format(**fields)


def test_a_rule_compiles_to_its_checked_parts() -> None:
    pack = load(minimal(for_="treatment_plan as plan", when='plan.status == "presented"'))
    rule = pack.rule("r1")
    assert (rule.entity_type, rule.alias, rule.pack, rule.version) == ("treatment_plan", "plan", "demo", "1.0.0")
    assert rule.when.text == 'plan.status == "presented"'
    assert rule.owner.literal == "front_desk"
    assert rule.priority.literal == "normal"
    assert rule.resolve == "auto"
    assert rule.enabled
    assert rule.key is None
    assert (rule.file, rule.line) == ("p.yaml", 4)


def test_the_content_hash_changes_with_the_rule_text_only() -> None:
    one = load(minimal()).rule("r1").content_hash
    same = load(minimal() + "# a comment changes nothing\n").rule("r1").content_hash
    other = load(minimal(when="not patient.insured")).rule("r1").content_hash
    assert one == same != other


def test_an_unknown_rule_id_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'first-touch'"):
        load(minimal().replace("id: r1", "id: first-touch")).rule("first-tuch")


def test_declared_roles_and_staff_owners_are_accepted() -> None:
    pack = load(minimal(extra="roles: [recall_specialist]\n", owner="recall_specialist"))
    assert "recall_specialist" in pack.roles
    assert load(minimal(owner="staff:s-17")).rule("r1").owner.literal == "staff:s-17"


def test_an_owner_expression_is_checked_as_text() -> None:
    rule = load(minimal(owner='\'"front_desk" if patient.insured else "office_manager"\'')).rule("r1")
    assert rule.owner.expression is not None


def test_yaml_1_1_traps_do_not_bite() -> None:
    text = minimal(extra="params:\n  country: NO\n  on: yes\n  time: 1:30\n")
    pack = load(text.replace("version: 1.0.0", "version: '1.0.0'"))
    assert pack.params == {"country": "NO", "on": "yes", "time": "1:30"}


def test_numbers_where_text_is_expected_keep_the_characters_written() -> None:
    pack = load(minimal(title="2024", owner="front_desk").replace("id: r1", "id: 007"))
    assert pack.rules[0].id == "007"
    assert pack.rules[0].task_title.text == "2024"


def test_duration_parameters_become_durations() -> None:
    from sophie.model.calendar import business_days

    pack = load(minimal(extra="params:\n  wait: 2 business_days\n"))
    assert pack.params["wait"] == business_days(2)


def test_templates_escape_braces_and_apply_filters() -> None:
    from sophie.rules.language.templates import Placeholder

    pack = load(
        minimal(
            for_="treatment_plan as plan",
            when="plan.total > 0",
            title='"{{ {plan.total|money} }} for {plan.patient.last_name|upper}"',
        )
    )
    template = pack.rule("r1").task_title
    parts = template.parts
    assert parts[0] == "{ "
    assert isinstance(parts[1], Placeholder) and parts[1].filter == "money"
    assert parts[2] == " } for "
    assert isinstance(parts[3], Placeholder) and parts[3].filter == "upper"


def test_a_tests_file_beside_the_pack_is_loaded_and_checked(tmp_path: Path) -> None:
    pack_file = tmp_path / "mine.yaml"
    pack_file.write_text(minimal(), encoding="utf-8")
    tests = tmp_path / "mine.tests.yaml"
    tests.write_text("- rule: r1\n  name: quiet\n  now: 2026-03-05T10:00:00Z\n  expect: []\n", encoding="utf-8")
    assert find_tests_file(pack_file) == tests
    pack = load_pack(pack_file)
    assert [t.name for t in pack.rule("r1").tests] == ["quiet"]
    tests.write_text("- rule: r11\n  name: quiet\n  now: 2026-03-05T10:00:00Z\n  expect: []\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_pack(pack_file)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{tests}:1:9: error: no rule 'r11' in pack demo (did you mean 'r1'?)"
    ]


def test_a_tests_file_must_be_a_list(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(minimal(), encoding="utf-8")
    (tmp_path / "mine.tests.yaml").write_text("rule: r1\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"mine\.tests\.yaml:1:1: error: a tests file is a list"):
        load_pack(tmp_path / "mine.yaml")


def test_packs_are_found_by_name_path_or_directory(tmp_path: Path) -> None:
    assert "example" in available_packs()
    assert find_pack("example").name == "example.yaml"
    folder = tmp_path / "mypack"
    folder.mkdir()
    (folder / "pack.yaml").write_text(minimal(), encoding="utf-8")
    assert find_pack(folder) == folder / "pack.yaml"
    assert load_pack(str(folder)).name == "demo"
    with pytest.raises(UnknownNameError, match="unknown pack 'exampel'; did you mean 'example'"):
        find_pack("exampel")
    extra = {"mine": folder / "pack.yaml"}
    assert load_pack("mine", extra=extra).name == "demo"


def _big_pack(rules: int) -> str:
    lines = ["pack: big", "version: 1.0.0", "params:", "  days: 2", "rules:"]
    kinds = [
        (
            "treatment_plan as plan",
            'plan.status == "presented" and business_age(plan.presented_at) >= business_days(params.days) '
            "and not plan.scheduled",
            '"Call {plan.patient.first_name} about {plan.unscheduled_total|money}"',
        ),
        (
            "claim",
            'claim.status == "sent" and days_since(claim.sent_at) > 30 + {n} and claim.outstanding > 0',
            '"Follow up claim {claim.id} ({claim.outstanding|money})"',
        ),
        (
            "patient",
            'patient.status == "active" and count(c for c in patient.contacts if c.topic == "recall") < {n}',
            '"Recall {patient.first_name} {patient.last_name}"',
        ),
        (
            "appointment as appt",
            'appt.status == "broken" and appt.patient.next_appointment == None',
            '"Rebook {appt.patient.first_name}"',
        ),
    ]
    for n in range(rules):
        for_, when, title = kinds[n % len(kinds)]
        lines += [
            f"  - id: rule-{n}",
            f"    title: Rule {n}",
            f"    for: {for_}",
            f"    when: {when.replace('{n}', str(n))}",
            "    task:",
            f"      title: {title}",
            "      owner: front_desk",
            "      priority: normal",
            "      due: 1 business_day",
            "    escalate:",
            "      - after: 2 business_days",
            "        to: office_manager",
        ]
    return "\n".join(lines) + "\n"


def test_a_hundred_rule_pack_loads_whole() -> None:
    # How fast it loads is measured in benchmarks/bench_rules.py, not asserted here.
    pack = compile_pack(parse_yaml(_big_pack(100), file="big.yaml"))
    assert len(pack.rules) == 100
    assert len({rule.id for rule in pack.rules}) == 100
    assert all(rule.escalate for rule in pack.rules)


def test_fixture_numbers_where_the_model_expects_text_keep_their_characters() -> None:
    text = minimal(for_="procedure", when='procedure.tooth == "14"') + (
        "    tests:\n"
        "      - name: numeric ids\n"
        "        now: 2026-03-05T10:00:00Z\n"
        "        given:\n"
        "          patients: [{id: 1, first_name: Ana, last_name: Lima}]\n"
        "          procedures: [{id: 7, patient_id: 1, code: D2740, fee: 10, status: planned, tooth: 14}]\n"
        "        expect: [{subject: 7}]\n"
    )
    pack = load(text)
    (test,) = pack.rule("r1").tests
    assert test.snapshot.procedures[0].tooth == "14"
    assert test.snapshot.patients[0].id == "1"
    assert test.expect == (("7", None),)


def test_templates_render_with_filters_and_braces() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sophie.model import parse_snapshot
    from sophie.rules.language.context import EvalContext

    pack = load(
        minimal(
            for_="treatment_plan as plan",
            when="plan.total > 0",
            title='"{{x}} {plan.patient.last_name|upper} owes {plan.total|money} since '
            '{plan.presented_at|date}{plan.decided_at}"',
        )
    )
    practice = {"id": "t", "name": "T", "timezone": "America/New_York", "hours": {"mon": [["08:00", "17:00"]]}}
    snapshot = parse_snapshot(
        dict(
            practice=practice,
            as_of="2026-03-05T10:00:00-05:00",
            patients=[{"id": "p-1", "first_name": "Ana", "last_name": "Lima"}],
            treatment_plans=[
                {"id": "tp-1", "patient_id": "p-1", "status": "presented", "presented_at": "2026-03-02T23:30:00-05:00"}
            ],
            procedures=[
                {
                    "id": "pr-1",
                    "patient_id": "p-1",
                    "code": "D1",
                    "fee": 1234.5,
                    "status": "planned",
                    "treatment_plan_id": "tp-1",
                }
            ],
        )
    )
    context = EvalContext.build(snapshot.index, datetime(2026, 3, 5, tzinfo=ZoneInfo("UTC")), {})
    plan = snapshot.index.get("treatment_plan", "tp-1")
    assert plan is not None
    assert pack.rule("r1").task_title.render(context, plan) == "{x} LIMA owes $1,234.50 since Mar 2"

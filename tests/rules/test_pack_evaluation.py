"""evaluate(): findings, business-time due dates, parameters, captured errors, determinism."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sophie.errors import ConfigurationError
from sophie.model import parse_snapshot
from sophie.rules import compile_pack, evaluate, load_pack, parse_param_overrides, parse_yaml
from sophie.rules.packs.loader import CompiledPack

PRACTICE: dict[str, Any] = {
    "id": "t",
    "name": "Test Dental",
    "timezone": "America/New_York",
    "hours": {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}


def minimal_snapshot(**sections: Any) -> dict[str, Any]:
    """Raw snapshot data with a practice open 08-12 and 13-17 New York time, weekdays."""
    data: dict[str, Any] = {"practice": copy.deepcopy(PRACTICE), "as_of": "2026-03-05T11:45:00-05:00"}
    data.update(copy.deepcopy(sections))
    return data


NY = ZoneInfo("America/New_York")
THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=NY)


def pack_from(text: str, name: str = "t.yaml") -> CompiledPack:
    return compile_pack(parse_yaml(text, file=name))


def plans_snapshot(*plans: tuple[str, str, str, float], as_of: str = "2026-03-05T10:00:00-05:00") -> Any:
    patients = [{"id": f"p-{n}", "first_name": f"Pat{n}", "last_name": "Doe"} for n in range(1, len(plans) + 1)]
    treatment_plans = []
    procedures = []
    for n, (plan_id, status, presented_at, fee) in enumerate(plans, start=1):
        treatment_plans.append({"id": plan_id, "patient_id": f"p-{n}", "status": status, "presented_at": presented_at})
        procedures.append(
            {
                "id": f"pr-{n}",
                "patient_id": f"p-{n}",
                "code": "D2740",
                "fee": fee,
                "status": "planned",
                "treatment_plan_id": plan_id,
            }
        )
    data = minimal_snapshot(patients=patients, treatment_plans=treatment_plans, procedures=procedures)
    data["as_of"] = as_of
    return parse_snapshot(data)


RULE = """\
pack: {name}
version: 1.2.0
params:
  first_touch_days: 2
  threshold: 1000.0
rules:
  - id: {rule_id}
    title: Presented treatment is not scheduled
    for: treatment_plan as plan
    when: |
      plan.status == "presented"
      and business_age(plan.presented_at) >= business_days(params.first_touch_days)
      and not plan.scheduled
    task:
      title: "Call {{plan.patient.first_name}} ({{plan.unscheduled_total|money}})"
      owner: treatment_coordinator
      priority: '"high" if plan.unscheduled_total >= params.threshold else "normal"'
      due: {due}
"""


def rule_pack(name: str = "p", rule_id: str = "tx.first-touch", due: str = "1 business_day") -> CompiledPack:
    return pack_from(RULE.format(name=name, rule_id=rule_id, due=due))


def test_a_stalled_plan_becomes_one_finding_with_owner_priority_due_and_title() -> None:
    snapshot = plans_snapshot(
        ("tp-1", "presented", "2026-03-02T10:00:00-05:00", 1200.0),
        ("tp-2", "presented", "2026-03-04T10:00:00-05:00", 300.0),
        ("tp-3", "declined", "2026-03-02T10:00:00-05:00", 300.0),
    )
    result = evaluate([rule_pack()], snapshot, THURSDAY_10)
    assert result.complete
    assert [f.subject_id for f in result.findings] == ["tp-1"]
    finding = result.findings[0]
    assert finding.rule_id == "tx.first-touch"
    assert finding.pack == "p"
    assert finding.version == "1.2.0"
    assert finding.subject_type == "treatment_plan"
    assert finding.key == "tp-1"
    assert finding.owner == "treatment_coordinator"
    assert finding.priority == "high"
    assert finding.title == "Call Pat1 ($1,200.00)"
    assert finding.patient_id == "p-1"
    assert finding.due_at == datetime(2026, 3, 6, 10, 0, tzinfo=NY)
    assert finding.evidence["plan.status"] == "presented"
    assert finding.evidence["plan.scheduled"] is False
    assert finding.evidence["plan.presented_at"] == "2026-03-02T10:00:00-05:00"
    assert len(finding.content_hash) == 16
    assert set(result.evaluated["tx.first-touch"]) == {"tp-1", "tp-2", "tp-3"}
    assert set(result.rule_seconds) == {"tx.first-touch"}


def test_due_time_is_counted_in_business_time_across_the_weekend() -> None:
    snapshot = plans_snapshot(("tp-1", "presented", "2026-02-25T10:00:00-05:00", 100.0))
    friday_late = datetime(2026, 3, 6, 16, 30, tzinfo=NY)
    by_days = evaluate([rule_pack(due="1 business_day")], snapshot, friday_late)
    assert by_days.findings[0].due_at == datetime(2026, 3, 9, 16, 30, tzinfo=NY)
    by_hours = evaluate([rule_pack(due="2 business_hours")], snapshot, friday_late)
    assert by_hours.findings[0].due_at == datetime(2026, 3, 9, 9, 30, tzinfo=NY)
    elapsed = evaluate([rule_pack(due="2 hours")], snapshot, friday_late)
    assert elapsed.findings[0].due_at == datetime(2026, 3, 6, 18, 30, tzinfo=NY)


def test_a_due_expression_gives_the_due_time() -> None:
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 100.0))
    result = evaluate([rule_pack(due="plan.presented_at + days(7)")], snapshot, THURSDAY_10)
    assert result.findings[0].due_at == datetime(2026, 3, 9, 10, 0, tzinfo=NY)


def test_parameters_override_pack_defaults() -> None:
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 1200.0))
    pack = rule_pack()
    assert evaluate([pack], snapshot, THURSDAY_10, {"first_touch_days": 5}).findings == ()
    assert evaluate([pack], snapshot, THURSDAY_10, {"p.first_touch_days": 5}).findings == ()
    normal = evaluate([pack], snapshot, THURSDAY_10, {"threshold": 5000})
    assert normal.findings[0].priority == "normal"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"first_touch_dayz": 5}, "unknown parameter 'first_touch_dayz'; did you mean 'first_touch_days'?"),
        ({"first_touch_days": "5"}, "parameter first_touch_days of pack p takes a whole number"),
        ({"first_touch_days": 2.5}, "takes a whole number"),
        ({"first_touch_days": True}, "takes a whole number"),
        ({"threshold": "high"}, "takes a number"),
        ({"other.first_touch_days": 1}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_configuration_errors(params: dict[str, object], message: str) -> None:
    snapshot = plans_snapshot()
    with pytest.raises(ConfigurationError, match=message):
        evaluate([rule_pack()], snapshot, THURSDAY_10, params)


def test_cli_parameter_text_is_typed_by_the_default() -> None:
    pack = pack_from(
        "pack: p\nversion: 1.0.0\nparams: {n: 2, x: 1.5, on: true, wait: 2 business_days, codes: [D1110]}\nrules: []\n"
    )
    overrides = parse_param_overrides([pack], ["n=5", "x=2", "on=no", "wait=3 business_days", "codes=D1,D2"])
    assert overrides == {"n": 5, "x": 2.0, "on": False, "wait": "3 business_days", "codes": ["D1", "D2"]}
    snapshot = plans_snapshot()
    evaluate([pack], snapshot, THURSDAY_10, overrides)
    with pytest.raises(ConfigurationError, match="--param n"):
        parse_param_overrides([pack], ["n=five"])
    with pytest.raises(ConfigurationError, match="NAME=VALUE"):
        parse_param_overrides([pack], ["n"])


def test_one_bad_subject_is_captured_and_the_run_goes_on() -> None:
    pack = pack_from(
        """\
pack: p
version: 1.0.0
rules:
  - id: ratio
    title: T
    for: treatment_plan as plan
    when: 1000 / plan.total > 1
    task: {title: "x", owner: front_desk, due: 1 day}
  - id: owner-from-data
    title: T
    for: treatment_plan as plan
    when: plan.status == "presented"
    task: {title: "x", owner: 'plan.status', due: 1 day}
"""
    )
    snapshot = plans_snapshot(
        ("tp-1", "presented", "2026-03-02T10:00:00-05:00", 0.0),
        ("tp-2", "presented", "2026-03-02T10:00:00-05:00", 50.0),
    )
    result = evaluate([pack], snapshot, THURSDAY_10)
    assert not result.complete
    assert [(f.rule_id, f.subject_id) for f in result.findings] == [("ratio", "tp-2")]
    errors = {(e.rule_id, e.subject_id) for e in result.errors}
    assert ("ratio", "tp-1") in errors
    assert ("owner-from-data", "tp-1") in errors and ("owner-from-data", "tp-2") in errors
    assert result.evaluated["ratio"] == frozenset({"tp-2"})
    owner_error = next(e for e in result.errors if e.rule_id == "owner-from-data")
    assert "not a known role" in owner_error.message
    assert "owner-from-data" in str(owner_error.as_exception())


def test_findings_come_in_pack_rule_and_subject_order_and_repeat_exactly() -> None:
    first = rule_pack(name="a", rule_id="a.rule")
    second = rule_pack(name="b", rule_id="b.rule")
    snapshot = plans_snapshot(
        ("tp-2", "presented", "2026-03-02T10:00:00-05:00", 10.0),
        ("tp-1", "presented", "2026-03-02T10:00:00-05:00", 10.0),
    )
    one = evaluate([first, second], snapshot, THURSDAY_10)
    two = evaluate([first, second], snapshot, THURSDAY_10)
    assert [(f.pack, f.subject_id) for f in one.findings] == [
        ("a", "tp-2"),
        ("a", "tp-1"),
        ("b", "tp-2"),
        ("b", "tp-1"),
    ]
    assert one.findings == two.findings
    assert one.evaluated == two.evaluated


def test_disabled_rules_are_not_evaluated() -> None:
    text = RULE.format(name="p", rule_id="r", due="1 day") + "    enabled: false\n"
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 10.0))
    result = evaluate([pack_from(text)], snapshot, THURSDAY_10)
    assert result.findings == ()
    assert "r" not in result.evaluated


def test_two_packs_with_one_rule_id_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="rule id 'same' is in both pack a and pack b"):
        evaluate([rule_pack("a", "same"), rule_pack("b", "same")], plans_snapshot(), THURSDAY_10)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        evaluate([rule_pack()], plans_snapshot(), datetime(2026, 3, 5, 10, 0))


def test_balances_use_the_guarantor_id_as_subject_and_patient() -> None:
    pack = pack_from(
        """\
pack: p
version: 1.0.0
rules:
  - id: overdue
    title: T
    for: balance
    when: balance.over_90 > 0
    task: {title: "Collect {balance.over_90|money}", owner: financial_coordinator, due: 3 business_days}
"""
    )
    data = minimal_snapshot(
        patients=[{"id": "g-1", "first_name": "Gia", "last_name": "Roe"}],
        balances=[{"patient_id": "g-1", "over_90": 125.5}],
    )
    result = evaluate([pack], parse_snapshot(data), THURSDAY_10)
    assert [(f.subject_id, f.patient_id, f.title) for f in result.findings] == [("g-1", "g-1", "Collect $125.50")]


def test_the_example_pack_fires_on_a_plan_presented_three_business_days_ago() -> None:
    pack = load_pack("example")
    snapshot = plans_snapshot(("tp-1", "presented", "2026-03-02T10:00:00-05:00", 1200.0))
    result = evaluate([pack], snapshot, THURSDAY_10)
    assert [(f.subject_id, f.owner, f.priority) for f in result.findings] == [("tp-1", "treatment_coordinator", "high")]
    rule = pack.rule("treatment.unscheduled.first-touch")
    assert [(step.to, step.priority) for step in rule.escalate] == [
        ("office_manager", "urgent"),
        ("owner_dentist", None),
    ]
    assert rule.resolve == "auto"

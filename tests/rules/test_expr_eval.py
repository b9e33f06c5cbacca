"""What expressions mean: each construct, null semantics, money, time and business time.

Every case runs through the reference interpreter, the compiled closure and (for
conditions) the fused evaluator, which must all agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from snapshot_data import minimal_snapshot
from sophie.model import SnapshotIndex, parse_snapshot
from sophie.model.calendar import business_days, business_hours
from sophie.rules.language.compilation.compiler import compile_conditions, compile_expression
from sophie.rules.language.context import EvalContext
from sophie.rules.language.expressions import Scope, check_expression
from sophie.rules.language.interpreter import explain, interpret
from sophie.rules.language.types import ExprType, type_of_value

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 5, 11, 45, tzinfo=NY)  # a Thursday, open
PARAMS: dict[str, object] = {
    "days_wait": 5,
    "ratio": 0.5,
    "word": "presented",
    "codes": ["D2740", "D0120"],
    "wait": business_days(5),
    "nothing": None,
}


def build_index() -> SnapshotIndex:
    data = minimal_snapshot(
        patients=[
            {"id": "p-1", "first_name": "Ana", "last_name": "Diaz", "birth_date": "1980-01-01"},
            {"id": "p-2", "first_name": "Bo", "last_name": "Li", "primary_provider_id": None},
        ],
        appointments=[
            {"id": "a-1", "patient_id": "p-1", "status": "scheduled",
             "start": "2026-03-10T09:00:00-04:00", "end": "2026-03-10T10:00:00-04:00"},
            {"id": "a-2", "patient_id": "p-1", "status": "completed",
             "start": "2026-01-10T09:00:00-05:00", "end": "2026-01-10T09:30:00-05:00"},
            {"id": "a-3", "patient_id": "p-2", "status": "broken", "broken_kind": "cancelled"},
        ],
        procedures=[
            {"id": "pr-1", "patient_id": "p-1", "code": "D2740", "fee": 600, "status": "planned",
             "treatment_plan_id": "tp-1"},
            {"id": "pr-2", "patient_id": "p-1", "code": "D0120", "fee": "250.50", "status": "planned",
             "treatment_plan_id": "tp-1", "appointment_id": "a-1"},
            {"id": "pr-3", "patient_id": "p-2", "code": "D1110", "fee": 100, "status": "completed"},
        ],
        treatment_plans=[
            {"id": "tp-1", "patient_id": "p-1", "status": "presented", "presented_at": "2026-02-26T10:15:00-05:00"},
            {"id": "tp-2", "patient_id": "p-2", "status": "draft"},
        ],
        claims=[
            {"id": "c-1", "patient_id": "p-1", "kind": "primary", "status": "sent", "sent_at": "2026-01-20T09:00:00-05:00",
             "billed": 1000, "expected": 800, "procedure_ids": ["pr-1"]},
            {"id": "c-2", "patient_id": "p-2", "kind": "primary", "status": "draft", "billed": 50},
        ],
        contacts=[
            {"id": "ct-1", "patient_id": "p-1", "at": "2026-03-01T10:00:00-05:00", "channel": "phone",
             "direction": "out", "topic": "treatment", "outcome": "left_message"},
        ],
        recalls=[{"id": "r-1", "patient_id": "p-1", "kind": "prophy", "due_date": "2026-02-01"}],
        balances=[{"patient_id": "p-1", "over_30": 100}],
    )
    data["as_of"] = "2026-03-05T11:45:00-05:00"
    return parse_snapshot(data).index


INDEX = build_index()
CONTEXT = EvalContext.build(INDEX, NOW, PARAMS)
PARAM_TYPES: dict[str, ExprType] = {name: type_of_value(value) for name, value in PARAMS.items()}
ALIASES = {"treatment_plan": "plan"}


def values(text: str, subject: str = "tp-1", entity: str = "treatment_plan") -> list[object]:
    """Return the value by interpreter and by compiled closure (they must be equal)."""
    scope = Scope(ALIASES.get(entity, entity), entity, PARAM_TYPES)
    checked = check_expression(text, scope)
    view = INDEX.get(entity, subject)
    assert view is not None
    return [interpret(checked, CONTEXT, view), compile_expression(checked)(CONTEXT, view)]


def value(text: str, subject: str = "tp-1", entity: str = "treatment_plan") -> object:
    by_interpreter, by_compiler = values(text, subject, entity)
    assert by_interpreter == by_compiler and type(by_interpreter) is type(by_compiler), (by_interpreter, by_compiler)
    return by_interpreter


def fires(text: str, subject: str = "tp-1", entity: str = "treatment_plan") -> bool:
    """Return whether a condition fires, checking the fused evaluator agrees with the others."""
    scope = Scope(ALIASES.get(entity, entity), entity, PARAM_TYPES)
    checked = check_expression(text, scope, expect=ExprType("bool"))
    view = INDEX.get(entity, subject)
    assert view is not None
    result = compile_conditions(entity, [checked])(CONTEXT, [view])
    assert not result.errors, result.errors
    fused = result.matches[0] == [view]
    assert fused is (value(text, subject, entity) is True)
    return fused


# -- literals, names, attributes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("-2", -2),
        ("2.5", 2.5),
        ('"text"', "text"),
        ("true", True),
        ("False", False),
        ("null", None),
        ("None", None),
        ("[1, 2, 3]", [1, 2, 3]),
        ("[]", []),
        ("plan.id", "tp-1"),
        ("plan.patient.first_name", "Ana"),
        ("plan.patient.age", 46),
        ("practice.name", "Test Dental"),
        ("params.days_wait", 5),
        ("params.codes", ["D2740", "D0120"]),
        ("today", date(2026, 3, 5)),
    ],
)
def test_literals_names_and_attributes(text: str, expected: object) -> None:
    assert value(text) == expected


def test_now_is_the_evaluation_instant() -> None:
    assert value("now") == NOW


def test_an_enum_field_compares_with_its_string_value() -> None:
    assert fires('plan.status == "presented"')
    assert fires("plan.status == params.word")
    assert not fires('plan.status != "presented"')


# -- null semantics -------------------------------------------------------------------------------


def test_an_attribute_of_null_is_null() -> None:
    assert value("plan.patient.next_appointment.start", subject="tp-2") is None
    assert value("plan.patient.primary_provider.name", subject="tp-2") is None


def test_arithmetic_with_null_is_null() -> None:
    assert value("plan.presented_at + days(1)", subject="tp-2") is None
    assert value("plan.patient.age + 1", subject="tp-2") is None
    assert value("1 + plan.patient.age", subject="tp-2") is None
    assert value("-plan.patient.age", subject="tp-2") is None
    assert value("params.nothing", subject="tp-2") is None


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordering_with_null_is_false_on_either_side(op: str) -> None:
    assert value(f"plan.presented_at {op} now", subject="tp-2") is False
    assert value(f"now {op} plan.presented_at", subject="tp-2") is False
    assert value(f"plan.patient.age {op} null", subject="tp-1") is False


def test_equality_with_null_works() -> None:
    assert fires("plan.presented_at == None", subject="tp-2")
    assert fires("plan.presented_at is None", subject="tp-2")
    assert fires("plan.presented_at != null")
    assert fires("plan.presented_at is not None")
    assert fires("null == null")


def test_and_or_not_treat_null_as_false_and_give_booleans() -> None:
    assert value("plan.patient.next_appointment.confirmed and true", subject="tp-2") is False
    assert value("plan.patient.next_appointment.confirmed or true", subject="tp-2") is True
    assert value("plan.patient.next_appointment.confirmed or false", subject="tp-2") is False
    assert value("not plan.patient.next_appointment.confirmed", subject="tp-2") is True
    assert value("1 if plan.patient.next_appointment.confirmed else 2", subject="tp-2") == 2


def test_a_condition_that_ends_null_does_not_fire() -> None:
    assert value("plan.patient.next_appointment.confirmed", subject="tp-2") is None
    assert not fires("plan.patient.next_appointment.confirmed", subject="tp-2")


def test_membership_in_null_is_false() -> None:
    assert value('"x" in plan.patient.primary_provider_id', subject="tp-2") is False
    assert value('"x" not in plan.patient.primary_provider_id', subject="tp-2") is True
    assert value("plan.patient.primary_provider_id in params.codes", subject="tp-2") is False


def test_aggregates_over_null_see_no_items() -> None:
    assert value("any(x for x in null)") is False
    assert value("all(x for x in null)") is True
    assert value("count(x for x in null)") == 0
    assert value("sum(x for x in null)") == 0
    assert value("min(x for x in null)") is None


# -- numbers and money -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan.total", Decimal("850.50")),
        ("plan.total == 850.5", True),
        ("plan.total > 850.49", True),
        ("plan.total * 2", Decimal("1701.00")),
        ("plan.total / 2", Decimal("425.25")),
        ("plan.total * params.ratio", Decimal("425.250")),
        ("plan.total + 0.1 == 850.6", True),
        ("plan.total % 100", Decimal("50.50")),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("1 + 2 * 3", 7),
        ("-plan.total", Decimal("-850.50")),
        ("0 < plan.total < 1000", True),
        ("0 < plan.total < 500", False),
        ("1 < 2 < 3 < 2", False),
    ],
)
def test_numbers_and_money_interoperate_exactly(text: str, expected: object) -> None:
    assert value(text) == expected


def test_a_float_literal_next_to_money_becomes_an_exact_decimal() -> None:
    # 0.1 as a float is slightly more than 0.1; as money it is exactly 0.1.
    assert value("plan.total - 850.4 == 0.1") is True


def test_division_by_zero_is_an_error_for_that_subject() -> None:
    checked = check_expression("1 / (plan.total - plan.total) > 1", Scope("plan", "treatment_plan"))
    view = INDEX.get("treatment_plan", "tp-1")
    assert view is not None
    with pytest.raises(ZeroDivisionError):
        interpret(checked, CONTEXT, view)
    with pytest.raises(ZeroDivisionError):
        compile_expression(checked)(CONTEXT, view)
    result = compile_conditions("treatment_plan", [checked])(CONTEXT, [view])
    assert result.matches == [[]]
    assert [(i, v.id) for i, v, _ in result.errors] == [(0, "tp-1")]
    assert result.errors[0][2].startswith("DivisionByZero") or "division" in result.errors[0][2].lower()


# -- text, lists, if/else ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('plan.patient.first_name + " " + plan.patient.last_name', "Ana Diaz"),
        ('lower(plan.patient.first_name) == "ana"', True),
        ("upper(plan.status)", "PRESENTED"),
        ("len(plan.patient.first_name)", 3),
        ("len(plan.procedures)", 2),
        ('"n" in plan.patient.first_name', True),
        ('plan.status in ["presented", "accepted"]', True),
        ('plan.status not in ["presented", "accepted"]', False),
        ("any(p.code in params.codes for p in plan.procedures)", True),
        ('"high" if plan.total >= 800 else "normal"', "high"),
        ('"high" if plan.total >= 900 else "normal"', "normal"),
        ("plan.total if plan.scheduled else 0", Decimal(0)),
        ("coalesce(plan.decided_at, plan.presented_at) == plan.presented_at", True),
        ("coalesce(params.nothing, 3)", 3),
        ("max(1, 5, 3)", 5),
        ("min(plan.patient.age, 30)", 30),
        ("max(plan.patient.age, null)", 46),
        ("[p.fee for p in plan.procedures] == []" if False else "len([1, 2]) == 2", True),
    ],
)
def test_text_lists_and_branches(text: str, expected: object) -> None:
    assert value(text) == expected


# -- aggregates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any(p.fee > 500 for p in plan.procedures)", True),
        ("any(p.fee > 5000 for p in plan.procedures)", False),
        ('all(p.status == "planned" for p in plan.procedures)', True),
        ("all(p.fee > 300 for p in plan.procedures)", False),
        ("count(p for p in plan.procedures if p.fee > 300)", 1),
        ("count(p.fee > 300 for p in plan.procedures)", 1),
        ("count(p for p in plan.procedures)", 2),
        ("len(p for p in plan.procedures if p.appointment is None)", 1),
        ("sum(p.fee for p in plan.procedures)", Decimal("850.50")),
        ("sum(p.fee for p in plan.procedures if p.fee < 300)", Decimal("250.50")),
        ("min(p.fee for p in plan.procedures)", Decimal("250.50")),
        ("max(p.fee for p in plan.procedures)", Decimal("600")),
        ("max(a.start for a in plan.patient.appointments)", datetime(2026, 3, 10, 9, 0, tzinfo=NY)),
        ("sum(a.duration for a in plan.patient.appointments)", timedelta(minutes=90)),
        ("any(any(c.status == \"sent\" for c in p.claims) for p in plan.procedures)", True),
        ("count(c for c in plan.patient.contacts if c.topic == \"treatment\" and c.at > plan.presented_at)", 1),
        ("any([true, false])", True),
        ("all([true, null])", False),
        ("sum([1, 2, null])", 3),
        ("min(params.codes)", "D0120"),
    ],
)
def test_aggregates(text: str, expected: object) -> None:
    assert value(text) == expected


def test_aggregates_of_a_patient_with_no_items() -> None:
    assert value("any(c.at > now for c in plan.patient.contacts)", subject="tp-2") is False
    assert value("max(c.at for c in plan.patient.contacts)", subject="tp-2") is None
    assert value("sum(c.billed for c in plan.patient.claims if c.status == \"sent\")", subject="tp-2") == 0


# -- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age(plan.presented_at)", NOW - datetime(2026, 2, 26, 10, 15, tzinfo=NY)),
        ("age(plan.presented_at) > days(7)", True),
        ("age(plan.presented_at) > days(8)", False),
        ("plan.presented_at <= now - days(7)", True),
        ("now - plan.presented_at > weeks(1)", True),
        ("days_since(plan.presented_at)", 7),
        ("date(plan.presented_at)", date(2026, 2, 26)),
        ("date(plan.presented_at) == today", False),
        ("today - date(plan.presented_at) == days(7)", True),
        ("minutes(90) == hours(1.5)", True),
        ("hours(1) * 2 == minutes(120)", True),
        ("days(1) / hours(1)", 24.0),
    ],
)
def test_dates_times_and_durations(text: str, expected: object) -> None:
    assert value(text) == expected


def test_adding_days_keeps_the_wall_clock_time_across_dst() -> None:
    # DST starts on 2026-03-08 in New York: 10:15 EST + 14 days is 10:15 EDT.
    assert value("plan.presented_at + days(14)") == datetime(2026, 3, 12, 10, 15, tzinfo=NY)
    assert value("plan.presented_at + hours(24 * 14)") == datetime(2026, 3, 12, 10, 15, tzinfo=NY)


def test_days_since_takes_dates_and_datetimes() -> None:
    assert value("days_since(recall.due_date)", subject="r-1", entity="recall") == 32
    assert value("days_since(recall.patient.next_appointment.start)", subject="r-1", entity="recall") == -5


# -- business time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # presented Thu Feb 26 10:15; five business days later is Thu Mar 5 10:15, before now (11:45)
        ("business_age(plan.presented_at) >= business_days(5)", True),
        ("business_age(plan.presented_at) > business_days(5)", True),
        ("business_age(plan.presented_at) >= business_days(6)", False),
        ("business_age(plan.presented_at) < business_days(6)", True),
        ("business_age(plan.presented_at) <= business_days(5)", False),
        ("business_days(6) > business_age(plan.presented_at)", True),
        ("business_age(plan.presented_at) >= params.wait", True),
        ("business_age(plan.presented_at) >= business_days(params.days_wait + 1)", False),
        # open hours since: 1.75 + 4 (Thu) + 8 (Fri) + 24 (Mon-Wed) + 3.75 (today) = 41.5
        ("business_age(plan.presented_at) >= business_hours(41.5)", True),
        ("business_age(plan.presented_at) > business_hours(41.5)", False),
        ("business_age(plan.presented_at) >= business_hours(42)", False),
        ("business_age(plan.presented_at) <= business_hours(41.5)", True),
    ],
)
def test_business_age(text: str, expected: bool) -> None:
    assert fires(text) is expected


def test_business_age_of_null_never_holds() -> None:
    for op in (">=", ">", "<", "<="):
        assert not fires(f"business_age(plan.presented_at) {op} business_days(1)", subject="tp-2")


def test_adding_business_days_steps_over_the_weekend() -> None:
    assert value("plan.presented_at + business_days(2)") == datetime(2026, 3, 2, 10, 15, tzinfo=NY)


def test_business_time_matches_the_calendar() -> None:
    since = datetime(2026, 2, 26, 10, 15, tzinfo=NY)
    calendar = CONTEXT.calendar
    assert calendar.business_age_reached(since, NOW, business_days(5))
    assert calendar.business_time_between(since, NOW) == timedelta(hours=41.5)
    assert calendar.business_age_reached(since, NOW, business_hours(41.5))


# -- explain -----------------------------------------------------------------------------------


def test_explain_shows_each_condition_and_the_compared_values() -> None:
    checked = check_expression(
        'plan.status == "presented"\n  and plan.total > 1000\n  and not plan.scheduled',
        Scope("plan", "treatment_plan"),
    )
    view = INDEX.get("treatment_plan", "tp-1")
    assert view is not None
    node = explain(checked, CONTEXT, view)
    assert node.value is False
    assert [(child.text, child.value) for child in node.children] == [
        ('plan.status == "presented"', True),
        ("plan.total > 1000", False),
        ("not plan.scheduled", True),
    ]
    compare = node.children[1]
    assert [(child.text, child.value) for child in compare.children] == [
        ("plan.total", Decimal("850.50")),
        ("1000", Decimal(1000)),
    ]


def test_explain_reports_a_failing_part_without_stopping() -> None:
    checked = check_expression("plan.scheduled or 1 / (plan.total - plan.total) > 1", Scope("plan", "treatment_plan"))
    view = INDEX.get("treatment_plan", "tp-1")
    assert view is not None
    node = explain(checked, CONTEXT, view)
    assert node.error is not None
    assert node.children[0].value is False
    assert node.children[1].error is not None


def params_of(**values: Any) -> dict[str, object]:
    return dict(values)


@pytest.mark.parametrize("literal", ["0.1", "0.10", "0.2", "0", "params.ratio", "(plan.total - 850.4)", "0.1000001"])
def test_membership_compares_numbers_as_numbers_like_equality(literal: str) -> None:
    # plan tp-1 totals 850.50 (a decimal), so plan.total - 850.4 is the decimal 0.10, which
    # == finds equal to the float literal 0.1; membership must agree with ==.
    left = "(plan.total - 850.4)"
    for test in (f"{left} in [{literal}]", f"{left} in [7, {literal}]", f"{left} not in [{literal}]"):
        expected = fires(f"{left} == {literal}") is (" not in " not in test)
        assert fires(test) is expected, test


def test_a_money_value_is_found_among_float_literals() -> None:
    assert fires("(plan.total - 850.4) == 0.1")
    assert fires("(plan.total - 850.4) in [0.1]")
    assert not fires("(plan.total - 850.4) not in [0.5, 0.1]")
    assert fires("(plan.total - 850.4) in [params.ratio, 0.1]")


@pytest.mark.parametrize(
    "text",
    [
        "business_age(plan.presented_at) >= business_days(params.days_wait * 100000)",
        "business_age(plan.presented_at) >= business_hours(params.ratio * 1000000000)",
        "now - days(params.days_wait * 100000) < plan.presented_at",
        "business_age(plan.presented_at) >= business_days(-1000000)",
    ],
)
def test_durations_made_by_expressions_are_capped_like_literals(text: str) -> None:
    # A literal duration is at most 100,000 units; one an expression makes is held to the
    # same bound instead of walking the calendar for minutes.
    scope = Scope("plan", "treatment_plan", PARAM_TYPES)
    checked = check_expression(text, scope)
    view = INDEX.get("treatment_plan", "tp-1")
    for evaluate in (lambda: interpret(checked, CONTEXT, view), lambda: compile_expression(checked)(CONTEXT, view)):
        with pytest.raises(ValueError, match="at most 100000"):
            evaluate()
    result = compile_conditions("treatment_plan", [checked])(CONTEXT, [view])
    assert result.matches == [[]] and "at most 100000" in result.errors[0][2]

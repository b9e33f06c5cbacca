"""The checker: every construct accepted or named, exact positions, did-you-mean, types."""

from __future__ import annotations

import pytest

from sophie.rules.language.expressions import ExpressionError, ExpressionProblem, Scope, check_expression
from sophie.rules.language.types import (
    BOOL,
    BUSINESS_DURATION,
    DATETIME,
    DECIMAL,
    INT,
    NUMBER,
    STR,
    ExprType,
    entity_type,
)

SCOPE = Scope("plan", "treatment_plan", {"first_touch_days": INT, "threshold": NUMBER, "wait": BUSINESS_DURATION})


def problems(text: str, *, expect: ExprType | None = None, scope: Scope = SCOPE) -> list[ExpressionProblem]:
    with pytest.raises(ExpressionError) as caught:
        check_expression(text, scope, expect=expect)
    return list(caught.value.problems)


def only(text: str, **kwargs: object) -> tuple[int, int, str, str | None]:
    (problem,) = problems(text, **kwargs)  # type: ignore[arg-type]
    return problem.line, problem.column, problem.message, problem.suggestion


def type_of(text: str, scope: Scope = SCOPE) -> ExprType:
    return check_expression(text, scope).type


# -- accepted constructs and their types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "optional"),
    [
        ("true and false or not true", "bool", False),
        ("-plan.total", "decimal", False),
        ("plan.total + 1", "decimal", False),
        ("plan.total * 0.5", "decimal", False),
        ("1 + 2", "int", False),
        ("1 / 2", "number", False),
        ("7 % 2", "int", False),
        ("plan.patient.age + 1", "int", True),
        ('plan.status == "presented"', "bool", False),
        ("1 < 2 <= 3", "bool", False),
        ('plan.status in ["draft", "presented"]', "bool", False),
        ('"x" not in plan.patient.first_name', "bool", False),
        ("plan.presented_at is None", "bool", False),
        ("plan.presented_at is not None", "bool", False),
        ('"a" if plan.scheduled else "b"', "str", False),
        ('"a" if plan.scheduled else null', "str", True),
        ("[1, 2.5]", "list", False),
        ("days(3)", "duration", False),
        ("now - days(3)", "datetime", False),
        ("plan.presented_at + hours(2)", "datetime", True),
        ("now - plan.presented_at", "duration", True),
        ("today - date(plan.presented_at)", "duration", True),
        ("plan.presented_at + business_days(2)", "datetime", True),
        ("business_days(params.first_touch_days)", "business_duration", False),
        ("business_age(plan.presented_at) >= params.wait", "bool", False),
        ("age(plan.presented_at)", "duration", True),
        ("days_since(plan.presented_at)", "int", True),
        ("any(p.fee > 1 for p in plan.procedures)", "bool", False),
        ("count(p for p in plan.procedures)", "int", False),
        ("sum(p.fee for p in plan.procedures)", "decimal", False),
        ("min(p.fee for p in plan.procedures)", "decimal", True),
        ("max(a.start for a in plan.patient.appointments)", "datetime", True),
        ("len(plan.procedures)", "int", False),
        ("coalesce(plan.decided_at, plan.presented_at, now)", "datetime", False),
        ("lower(plan.status)", "str", False),
        ("practice.name", "str", False),
        ("params.threshold", "number", False),
        ("null", "none", True),
    ],
)
def test_accepted_constructs_have_the_expected_type(text: str, kind: str, optional: bool) -> None:
    result = type_of(text)
    assert (result.kind, result.optional) == (kind, optional)


def test_relations_type_as_entities_and_lists() -> None:
    assert type_of("plan.patient") == entity_type("patient")
    assert type_of("plan.patient.next_appointment") == entity_type("appointment", optional=True)
    assert type_of("plan.procedures").entity == "procedure"


def test_true_false_null_are_names_for_the_constants() -> None:
    assert check_expression("true", SCOPE).tree == check_expression("True", SCOPE).tree
    assert check_expression("null", SCOPE).tree == check_expression("None", SCOPE).tree


def test_money_meets_a_float_literal_as_an_exact_decimal() -> None:
    tree = check_expression("plan.total > 0.1", SCOPE).tree
    assert tree.operands[1].type == DECIMAL  # type: ignore[attr-defined]
    assert str(tree.operands[1].value) == "0.1"  # type: ignore[attr-defined]


def test_the_expected_type_is_enforced() -> None:
    assert check_expression("plan.scheduled", SCOPE, expect=BOOL).type == BOOL
    assert only("plan.total", expect=BOOL) == (
        1, 1, "a condition must be true or false, but this expression gives an amount of money", None
    )
    assert only("plan.total", expect=STR)[2] == "text is needed here, but this expression gives an amount of money"
    assert check_expression("now + days(1)", SCOPE, expect=DATETIME).type == DATETIME


# -- names, attributes and did-you-mean ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan.presnted_at", (1, 6, "treatment_plan has no field 'presnted_at'", "presented_at")),
        ("plan.patient.frist_name", (1, 14, "patient has no field 'frist_name'", "first_name")),
        ("pln.status", (1, 1, "unknown name 'pln'", "plan")),
        ("treatment_plan.status", (1, 1, "unknown name 'treatment_plan'; the subject is called 'plan' here", "plan")),
        ("params.first_touch_dys", (1, 8, "unknown parameter 'first_touch_dys' (parameters: first_touch_days, "
                                          "threshold, wait)", "first_touch_days")),
        ("dayz(3)", (1, 1, "unknown function 'dayz'; sophie functions lists them all", "days")),
        ("days_ago(plan.presented_at) > 3", (1, 1, "unknown function 'days_ago'; sophie functions lists them all", "days_since")),
        ("plan.status == 'presnted'", (1, 16, "'presnted' is not a value plan.status can have (one of: draft, "
                                               "presented, accepted, declined, completed, inactive)", "presented")),
        ('plan.status in ["draft", "acepted"]', (1, 26, "'acepted' is not a value plan.status can have (one of: "
                                                         "draft, presented, accepted, declined, completed, "
                                                         "inactive)", "accepted")),
    ],
)
def test_misspellings_are_located_with_a_suggestion(text: str, expected: tuple[int, int, str, str]) -> None:
    assert only(text) == expected


def test_an_unknown_field_with_nothing_close_lists_the_fields() -> None:
    message = only("plan.xyz")[2]
    assert message.startswith("treatment_plan has no field 'xyz' (fields: id, patient_id, status,")


def test_a_function_used_as_a_value_says_to_call_it() -> None:
    assert only("days")[2].startswith("days is a function; call it, e.g.")


def test_a_list_has_no_fields() -> None:
    assert only("plan.procedures.fee")[2] == (
        "plan.procedures is a list of procedure, which has no field 'fee'; use e.g. any(x.fee ... for x in "
        "plan.procedures)"
    )


def test_a_loop_variable_is_only_visible_inside_its_generator() -> None:
    assert only("any(p.fee > 1 for p in plan.procedures) and p.fee > 1")[:3] == (1, 45, "unknown name 'p'")


# -- type errors with exact positions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan.patient.birth_date > 5", (1, 1, "cannot compare a date with a whole number")),
        ("plan.presented_at > today", (1, 1, "cannot compare a date and time with a date; use date(x) for the "
                                             "practice-local date of a date and time, or days_since(x)")),
        ("plan.total > \"x\"", (1, 1, "cannot compare an amount of money with text")),
        ("plan.scheduled < true", (1, 1, "true/false cannot be ordered with '<'")),
        ("plan.presented_at + 1", (1, 1, "cannot add a whole number to a date and time")),
        ("now - business_days(1)", (1, 1, "cannot subtract a business duration from a date and time; compare "
                                          "business_age(t) with business_days(n), or add business time to a date "
                                          "and time")),
        ("not plan.total", (1, 5, "'not' needs true or false, but this is an amount of money")),
        ("plan.scheduled and 1", (1, 20, "'and' needs true or false, but this is a whole number")),
        ("1 if plan.total else 2", (1, 6, "the condition of if/else needs true or false, but this is an amount of "
                                          "money")),
        ("plan.status in 3", (1, 16, "'in' needs a list or text on the right, but this is a whole number")),
        ("plan.patient is plan", (1, 17, "'is' only compares with None (write x is None); use '==' to compare values")),
        ("days(1, 2)", (1, 1, "days() takes 1 argument, got 2")),
        ("coalesce(1)", (1, 1, "coalesce() takes at least 2 arguments, got 1")),
        ("days(\"3\")", (1, 6, "days() needs a number here, but this is text")),
        ("business_days(1.5)", (1, 15, "business_days() needs a whole number here, but this is a number")),
        ("business_age(plan.presented_at) >= days(3)", (1, 1, "compare business_age(...) with business_days(n) or "
                                                               "business_hours(n), not with a duration; for elapsed "
                                                               "time use age(t)")),
        ("business_age(plan.presented_at) + 1", (1, 1, "business_age(...) can only be compared with "
                                                       "business_days(n) or business_hours(n)")),
        ("business_age(plan.presented_at) == business_days(1)", (1, 1, "business_age(...) can be compared only "
                                                                        "with >=, >, < or <=")),
        ("1 < business_age(plan.presented_at) < 2", (1, 1, "business_age comparisons cannot be chained; join them "
                                                           "with 'and'")),
        ("count(plan.procedures)", (1, 1, "count() takes a generator, e.g. count(x for x in xs if ...); use len(xs) "
                                          "for a list")),
        ("any(p.fee for p in plan.procedures)", (1, 5, "any() needs true/false values, but the items are an amount "
                                                       "of money")),
        ("any(p for p in plan.total)", (1, 16, "can only loop over a list, but this is an amount of money")),
        ("sum(p.id for p in plan.procedures)", (1, 5, "sum() adds numbers or durations, not text")),
    ],
)
def test_type_errors_are_reported_at_their_position(text: str, expected: tuple[int, int, str]) -> None:
    assert only(text)[:3] == expected


def test_all_problems_of_one_expression_are_reported() -> None:
    found = problems('plan.stauts == "x"\n  and plan.total > "y"\n  and dayz(1) > 0')
    assert [(p.line, p.column) for p in found] == [(1, 6), (2, 7), (3, 7)]
    assert [p.suggestion for p in found] == ["status", None, "days"]


def test_multi_line_positions_are_relative_to_the_expression_text() -> None:
    text = 'plan.status == "presented"\nand business_age(plan.presented_at) >= business_days(2)\nand plan.sheduled'
    assert only(text) == (3, 10, "treatment_plan has no field 'sheduled'", "scheduled")


def test_columns_count_characters_not_bytes() -> None:
    assert only('"héllo wörld" == plan.idd')[:2] == (1, 23)


def test_syntax_errors_are_located() -> None:
    assert only("plan.status ==")[:3] == (1, 15, "syntax error: invalid syntax")
    assert only("plan.status == == 1")[:2] == (1, 16)
    assert only("plan.total >\n  and 1")[:2] == (2, 3)


def test_literal_bounds() -> None:
    assert only("10000000000000000")[2] == "this number is too large (integers must be below 10**15)"
    assert only("1e300")[2] == "this number is too large (numbers must be below 10**15)"
    assert only('"' + "a" * 1001 + '"')[2] == "this text is too long (1001 characters; at most 1000)"


def test_a_loop_variable_may_not_hide_another_name() -> None:
    assert only("any(plan.scheduled for plan in plan.procedures)")[2] == (
        "the loop variable 'plan' hides another name; choose a different one"
    )
    messages = [p.message for p in problems("any(any(p.fee > 1 for p in p.claims) for p in plan.procedures)")]
    assert messages == ["the loop variable 'p' hides another name; choose a different one"]


def test_an_unknown_entity_type_in_the_scope_is_rejected() -> None:
    with pytest.raises(LookupError, match="entity type"):
        Scope("x", "spaceship")


def test_problems_print_with_their_suggestion() -> None:
    (problem,) = problems("plan.presnted_at")
    assert str(problem) == "1:6: treatment_plan has no field 'presnted_at' (did you mean 'presented_at'?)"

"""The compiler: fused evaluation, hoisting, captured errors, fallbacks, generated source."""

from __future__ import annotations

import ast
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from snapshot_data import minimal_snapshot
from sophie.errors import ConfigurationError
from sophie.model import View, parse_snapshot
from sophie.rules.language.compilation.compiler import (
    ConditionResults,
    compile_conditions,
    compile_expression,
    generated_source,
)
from sophie.rules.language.context import EvalContext
from sophie.rules.language.expressions import CheckedExpression, Scope, check_expression
from sophie.rules.language.functions import FunctionRegistry, RuleFunction
from sophie.rules.language.interpreter import interpret
from sophie.rules.language.types import BOOL, INT, STR

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 5, 11, 45, tzinfo=NY)
SNAPSHOT = parse_snapshot(
    minimal_snapshot(
        patients=[{"id": f"p-{n}", "first_name": f"P{n}", "last_name": "X"} for n in range(1, 4)],
        treatment_plans=[
            {"id": "tp-1", "patient_id": "p-1", "status": "presented", "presented_at": "2026-02-26T10:15:00-05:00"},
            {"id": "tp-2", "patient_id": "p-2", "status": "draft"},
            {"id": "tp-3", "patient_id": "p-3", "status": "presented", "presented_at": "2026-03-05T09:00:00-05:00"},
        ],
        procedures=[
            {"id": "pr-1", "patient_id": "p-1", "code": "D2740", "fee": 900, "status": "planned",
             "treatment_plan_id": "tp-1"},
            {"id": "pr-3", "patient_id": "p-3", "code": "D0120", "fee": 0, "status": "planned",
             "treatment_plan_id": "tp-3"},
        ],
    )
)
INDEX = SNAPSHOT.index
PLANS = INDEX.subjects("treatment_plan")


def context(**params: object) -> EvalContext:
    return EvalContext.build(INDEX, NOW, {"n": 2, **params})


def checked(text: str, registry: FunctionRegistry | None = None) -> CheckedExpression:
    return check_expression(text, Scope("plan", "treatment_plan", {"n": INT}), expect=BOOL, functions=registry)


def ids(views: list[View]) -> list[str]:
    return [view.id for view in views]


def run(texts: list[str], **params: object) -> ConditionResults:
    return compile_conditions("treatment_plan", [checked(text) for text in texts])(context(**params), PLANS)


def test_each_condition_gets_its_own_matches_in_order() -> None:
    result = run(['plan.status == "presented"', 'plan.status == "draft"', "plan.total > 100"])
    assert [ids(m) for m in result.matches] == [["tp-1", "tp-3"], ["tp-2"], ["tp-1"]]
    assert result.errors == []


def test_one_failing_subject_is_captured_and_everything_else_still_runs() -> None:
    result = run(["1000 / plan.total > 1", 'plan.status == "presented"'])
    assert [ids(m) for m in result.matches] == [["tp-1"], ["tp-1", "tp-3"]]
    assert [(i, view.id) for i, view, _ in result.errors] == [(0, "tp-2"), (0, "tp-3")]
    assert all(message.startswith(("DivisionByZero", "InvalidOperation")) for _, _, message in result.errors)


def test_a_failing_run_constant_falls_back_and_keeps_short_circuit_semantics() -> None:
    # params.n is declared a whole number but given text at run time: business_days("x") fails,
    # but only subjects that reach it may report the failure.
    result = run(['plan.status == "presented" and business_age(plan.presented_at) >= business_days(params.n)',
                  'plan.status == "draft"'], n="x")
    assert [ids(m) for m in result.matches] == [[], ["tp-2"]]
    assert [(i, view.id) for i, view, _ in result.errors] == [(0, "tp-1"), (0, "tp-3")]


def test_a_broken_subject_view_falls_back_to_per_condition_evaluation() -> None:
    broken = type(PLANS[0]).__new__(type(PLANS[0]))
    broken.id = "tp-broken"  # every other slot is unset
    result = compile_conditions("treatment_plan", [checked('plan.id == "tp-broken"'), checked("plan.scheduled")])(
        context(), [*PLANS, broken]
    )
    assert [ids(m) for m in result.matches] == [["tp-broken"], ["tp-2"]]
    assert [(i, view.id) for i, view, _ in result.errors] == [(1, "tp-broken")]


def test_the_fused_evaluator_agrees_with_the_interpreter() -> None:
    texts = [
        'plan.status == "presented" and business_age(plan.presented_at) >= business_days(params.n)',
        "age(plan.presented_at) > days(5) or plan.presented_at is None",
        "any(p.fee > 500 for p in plan.procedures) and not plan.scheduled",
        "count(p for p in plan.procedures if p.fee == 0) >= 1",
        "plan.presented_at + business_days(1) < now",
    ]
    ctx = context()
    exprs = [checked(text) for text in texts]
    result = compile_conditions("treatment_plan", exprs)(ctx, PLANS)
    for expr, matches in zip(exprs, result.matches, strict=True):
        assert matches == [plan for plan in PLANS if interpret(expr, ctx, plan) is True], expr.text


def test_run_constants_are_hoisted_out_of_the_subject_loop() -> None:
    source = generated_source("treatment_plan", [checked("plan.presented_at <= now - days(14)"),
                                                  checked("business_age(plan.presented_at) >= business_days(3)")])
    loop = source.split("for s in subjects:")[1]
    prelude = source.split("for s in subjects:")[0]
    assert "_bcut(cal, now" in prelude and "_wsub(ctx, now, h" in prelude
    assert "days" not in loop and "_bcut" not in loop


def test_shared_attributes_are_loaded_once_per_subject() -> None:
    source = generated_source(
        "treatment_plan",
        [checked('plan.status == "presented"'), checked('plan.status == "draft" and plan.patient.insured'),
         checked("plan.patient.insured")],
    )
    assert source.count("s.status") == 1
    assert source.count(".insured") == 1


def test_generated_source_contains_no_analyst_text() -> None:
    hostile = '"); __import__("os").system("id"); ("'
    text = f'plan.status == "draft" or any(zz_user_name.code == {hostile!r} for zz_user_name in plan.procedures)'
    source = generated_source("treatment_plan", [checked(text)])
    assert "zz_user_name" not in source
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)}
    fixed = {"ctx", "subjects", "s", "now", "today", "practice", "params", "cal", "errors", "fail", "error",
             "Exception", "any", "all", "sum", "min", "max", "len", "_Results", "_msg", "_slow", "_slow_one",
             "_it", "n", "values", "x"}
    assert all(name in fixed or re.fullmatch(r"_?[a-z]\d+|_agg\d+", name) for name in names), names
    assert attributes <= {"now", "calendar", "append", "status", "procedures", "code"}, attributes
    assert hostile in {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)}


def test_a_condition_for_another_entity_type_is_rejected() -> None:
    claim = check_expression("claim.billed > 1", Scope("claim", "claim"), expect=BOOL)
    with pytest.raises(ConfigurationError, match="written for claim"):
        compile_conditions("treatment_plan", [claim])


def test_no_conditions_give_no_matches() -> None:
    assert compile_conditions("treatment_plan", [])(context(), PLANS) == ConditionResults([], [])


def test_a_compiled_expression_computes_run_constants_once_per_context() -> None:
    calls: list[int] = []

    def counted(n: int) -> int:
        calls.append(n)
        return n

    registry = FunctionRegistry.builtin()
    registry.register(RuleFunction("counted", (INT,), INT, counted, "counts its calls"))
    expr = compile_expression(checked("len(plan.procedures) < counted(params.n)", registry))
    ctx = context()
    assert [expr(ctx, plan) for plan in PLANS] == [True, True, True]
    assert calls == [2]
    expr(context(), PLANS[0])
    assert calls == [2, 2]


def test_a_compiled_expression_gives_any_type_of_value() -> None:
    expr = check_expression('"urgent" if plan.total > 500 else "normal"', Scope("plan", "treatment_plan"), expect=STR)
    assert [compile_expression(expr)(context(), plan) for plan in PLANS] == ["urgent", "normal", "normal"]


def test_a_hundred_conditions_compile_into_one_runner() -> None:
    templates = [
        'plan.status == "presented" and business_age(plan.presented_at) >= business_days({n})',
        "any(p.fee > {n}00 for p in plan.procedures) and not plan.scheduled",
        "age(plan.presented_at) > days({n}) and plan.patient.next_appointment is None",
        'count(c for c in plan.patient.contacts if c.topic == "treatment") < {n}',
        "plan.unscheduled_total >= {n}50.5 or plan.total > {n}000",
    ]
    texts = [templates[i % len(templates)].format(n=i % 9 + 1) for i in range(100)]
    exprs = [checked(text) for text in texts]  # how fast: benchmarks/bench_rules.py
    evaluate = compile_conditions("treatment_plan", exprs)
    result: Any = evaluate(context(), PLANS)
    assert len(result.matches) == 100 and result.errors == []


# -- cut-offs are exact at their boundaries ---------------------------------------------------------

BOUNDARY_NOW = datetime(2026, 3, 5, 11, 45, tzinfo=NY)  # a Thursday, open
BOUNDARY_CASES = [
    # (presented_at, condition, expected)
    ("2026-02-26T16:45:00+00:00", "age(plan.presented_at) >= days(7)", True),  # exactly 7 days ago
    ("2026-02-26T16:45:00+00:00", "age(plan.presented_at) > days(7)", False),
    ("2026-02-26T16:45:00+00:00", "age(plan.presented_at) <= days(7)", True),
    ("2026-02-26T16:45:00+00:00", "age(plan.presented_at) < days(7)", False),
    ("2026-02-26T16:45:00+00:00", "days(7) <= age(plan.presented_at)", True),
    ("2026-03-02T00:00:00-05:00", "days_since(plan.presented_at) >= 3", True),  # local midnight, 3 days ago
    ("2026-03-02T00:00:00-05:00", "days_since(plan.presented_at) > 3", False),
    ("2026-03-02T00:00:00-05:00", "days_since(plan.presented_at) <= 3", True),
    ("2026-03-02T00:00:00-05:00", "days_since(plan.presented_at) < 3", False),
    ("2026-03-01T23:59:59.999999-05:00", "days_since(plan.presented_at) > 3", True),  # a microsecond earlier
    ("2026-03-01T23:59:59.999999-05:00", "days_since(plan.presented_at) <= 3", False),
    ("2026-03-01T23:59:59.999999-05:00", "3 < days_since(plan.presented_at)", True),
    ("2026-03-03T11:45:00-05:00", "business_age(plan.presented_at) >= business_days(2)", True),  # same wall time
    ("2026-03-03T11:45:00-05:00", "business_age(plan.presented_at) > business_days(2)", False),
    ("2026-03-03T11:45:00-05:00", "business_age(plan.presented_at) < business_days(2)", False),
    ("2026-03-03T11:45:00-05:00", "business_age(plan.presented_at) <= business_days(2)", True),
    ("2026-03-05T10:45:00-05:00", "business_age(plan.presented_at) >= business_hours(1)", True),
    ("2026-03-05T10:45:00-05:00", "business_age(plan.presented_at) > business_hours(1)", False),
]


@pytest.mark.parametrize(("presented_at", "text", "expected"), BOUNDARY_CASES)
def test_time_cutoffs_are_exact_at_the_boundary(presented_at: str, text: str, expected: bool) -> None:
    data = minimal_snapshot(
        patients=[{"id": "p-1", "first_name": "A", "last_name": "B"}],
        treatment_plans=[{"id": "tp-1", "patient_id": "p-1", "status": "presented", "presented_at": presented_at}],
    )
    index = parse_snapshot(data).index
    ctx = EvalContext.build(index, BOUNDARY_NOW, {})
    expr = checked(text)
    plans = index.subjects("treatment_plan")
    assert interpret(expr, ctx, plans[0]) is expected
    assert compile_expression(expr)(ctx, plans[0]) is expected
    assert (compile_conditions("treatment_plan", [expr])(ctx, plans).matches == [plans]) is expected

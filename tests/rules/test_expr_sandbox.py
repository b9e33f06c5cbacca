"""The second barrier: with the checker's attribute rule switched off, no path reads an
attribute that is not a declared field or derived value of the entity type.

The checker refuses ``plan.__class__`` and its kin. These tests replace the checker's
attribute rule with one that accepts any name, and show that the reference interpreter,
the compiled closure and the fused evaluator each refuse such names on their own.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest
from test_expr_eval import CONTEXT, INDEX

from sophie.errors import ForbiddenAttributeError, SophieError
from sophie.model.fields import ENTITY_TYPES
from sophie.rules.language import checker as checker_module
from sophie.rules.language.compilation.compiler import compile_conditions, compile_expression
from sophie.rules.language.expressions import Scope, check_expression
from sophie.rules.language.expressions_ir import Attr, Node
from sophie.rules.language.interpreter import interpret
from sophie.rules.language.types import BOOL

FORBIDDEN = ["__class__", "__dict__", "model_config", "_x", "record", "__init__", "__slots__",
             "entity_type", "field_names", "model_dump", "__weakref__"]
SCOPE = Scope("plan", "treatment_plan", {})


@pytest.fixture
def checker_attribute_rule_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the checker accept any attribute of an entity, typed ``bool?``."""
    original = checker_module._Checker.attribute

    def permissive(self: Any, node: ast.Attribute) -> Node | None:
        declared = any(node.attr in fields for fields in ENTITY_TYPES.values())
        if declared and node.attr != "first_name":
            return original(self, node)  # type: ignore[no-any-return]
        obj = self.visit(node.value)
        return Attr(BOOL.with_optional(True), self.span(node), obj, node.attr)

    monkeypatch.setattr(checker_module._Checker, "attribute", permissive)


def plan() -> Any:
    return INDEX.get("treatment_plan", "tp-1")


@pytest.mark.usefixtures("checker_attribute_rule_off")
@pytest.mark.parametrize("name", FORBIDDEN)
def test_the_interpreter_refuses_undeclared_attributes(name: str) -> None:
    expr = check_expression(f"plan.{name}", SCOPE)  # the switched-off checker lets it through
    with pytest.raises(ForbiddenAttributeError, match=name):
        interpret(expr, CONTEXT, plan())


@pytest.mark.usefixtures("checker_attribute_rule_off")
@pytest.mark.parametrize("name", FORBIDDEN)
def test_the_interpreter_refuses_them_on_related_entities_too(name: str) -> None:
    expr = check_expression(f"plan.patient.{name}", SCOPE)
    with pytest.raises(ForbiddenAttributeError):
        interpret(expr, CONTEXT, plan())


@pytest.mark.usefixtures("checker_attribute_rule_off")
@pytest.mark.parametrize("name", FORBIDDEN)
def test_the_compiled_closure_refuses_undeclared_attributes(name: str) -> None:
    expr = check_expression(f"plan.patient.{name}", SCOPE)
    with pytest.raises(ForbiddenAttributeError, match=name):
        compile_expression(expr)(CONTEXT, plan())


@pytest.mark.usefixtures("checker_attribute_rule_off")
@pytest.mark.parametrize("name", FORBIDDEN)
def test_the_fused_evaluator_refuses_undeclared_attributes(name: str) -> None:
    exprs = [check_expression(f"plan.{name} == True", SCOPE), check_expression(f"plan.patient.{name} == True", SCOPE)]
    for expr in exprs:
        with pytest.raises(ForbiddenAttributeError, match=name):
            compile_conditions("treatment_plan", [expr])(CONTEXT, INDEX.subjects("treatment_plan"))


@pytest.mark.usefixtures("checker_attribute_rule_off")
def test_a_declared_field_of_another_entity_type_is_refused_too() -> None:
    # ``first_name`` is a patient field, not a plan field: the interpreter looks at the
    # value it holds, not at what the checker claimed.
    expr = check_expression("plan.first_name", SCOPE)
    with pytest.raises(ForbiddenAttributeError):
        interpret(expr, CONTEXT, plan())


def test_the_refusal_is_a_sophie_error_and_an_attribute_error() -> None:
    assert issubclass(ForbiddenAttributeError, SophieError)
    assert issubclass(ForbiddenAttributeError, AttributeError)


def test_declared_fields_and_derived_values_still_evaluate_on_every_path() -> None:
    expr = check_expression("plan.patient.first_name == 'Ana' and plan.total > 0", SCOPE)
    assert interpret(expr, CONTEXT, plan()) is True
    assert compile_expression(expr)(CONTEXT, plan()) is True
    results = compile_conditions("treatment_plan", [expr])(CONTEXT, INDEX.subjects("treatment_plan"))
    assert [view.id for view in results.matches[0]] == ["tp-1"]



"""Checking calls: registered functions, aggregates and their generators.

Only functions named directly can be called, with positional arguments; a generator
``(x for v in xs if c)`` is accepted only as the sole argument of an aggregate.
"""

from __future__ import annotations

import ast
import difflib
from typing import TYPE_CHECKING

from sophie.rules.language.expressions_ir import Aggregate, Call, Node, Var
from sophie.rules.language.expressions_typing import Checking, accepts, ordering_problem
from sophie.rules.language.types import ANY, BOOL, INT, ExprType, unify

if TYPE_CHECKING:
    from sophie.rules.language.functions import RuleFunction

__all__ = ["check_call"]

_ORDERABLE = frozenset({"int", "number", "decimal", "str", "date", "datetime", "duration", "none", "any"})
_SUMMABLE = frozenset({"int", "number", "decimal", "duration", "none", "any"})
_METHOD_HINTS = {"lower": "lower(x)", "upper": "upper(x)", "format": "a template placeholder", "get": "x.field"}


_SAME_MEANING: dict[str, str] = {
    "days_ago": "days_since",
    "days_between": "days_since",
    "days_old": "days_since",
    "ago": "age",
    "elapsed": "age",
    "time_since": "age",
    "business_days_since": "business_age",
    "business_days_ago": "business_age",
    "workdays": "business_days",
    "weekdays": "business_days",
    "size": "len",
    "length": "len",
    "total": "sum",
    "ifnull": "coalesce",
    "nvl": "coalesce",
    "isnull": "coalesce",
    "to_date": "date",
    "lowercase": "lower",
}
"""Names analysts reach for that mean one of the language's functions (did-you-mean by meaning)."""


def _meant_function(name: str, known: list[str]) -> str | None:
    """Return the function an unknown name most likely means: by meaning first, then by spelling."""
    meant = _SAME_MEANING.get(name.lower())
    if meant in known:
        return meant
    close = difflib.get_close_matches(name, known, n=1)
    return close[0] if close else None


def check_call(checker: Checking, node: ast.Call) -> Node | None:
    """Return the IR of a call, or ``None`` after reporting its problems."""
    func = node.func
    if not isinstance(func, ast.Name):
        if isinstance(func, ast.Attribute):
            hint = _METHOD_HINTS.get(func.attr)
            checker.problem(
                checker.attr_span(func),
                f"method calls such as .{func.attr}() are not allowed; only the rule functions can be called"
                + (f" (use {hint})" if hint else ""),
            )
        else:
            checker.problem(node, "only functions named directly can be called, e.g. days(3)")
        return None
    ok = True
    for keyword in node.keywords:
        if keyword.arg is None:
            checker.problem(keyword.value, "'**' unpacking is not allowed")
        else:
            checker.problem(keyword, f"keyword arguments are not allowed ({keyword.arg}=...); pass arguments in order")
        ok = False
    function = checker.functions.get(func.id)
    if function is None:
        checker.problem(
            func,
            f"unknown function {func.id!r}; sophie functions lists them all",
            _meant_function(func.id, checker.functions.names()),
        )
    if function is None or not ok:
        _visit_quietly(checker, node.args)
        return None
    return _aggregate(checker, node, function) if function.aggregate else _plain_call(checker, node, function)


def _visit_quietly(checker: Checking, args: list[ast.expr]) -> None:
    """Visit arguments only to report the problems inside them."""
    for arg in args:
        if not isinstance(arg, ast.GeneratorExp):
            checker.visit(arg)


def _generator_misuse(checker: Checking, node: ast.Call, name: str) -> bool:
    misused = [arg for arg in node.args if isinstance(arg, ast.GeneratorExp)]
    for arg in misused:
        where = "only argument of " + name + "()" if name else "only argument of an aggregate"
        checker.problem(arg, f"a generator (x for x in ...) can only be the {where}")
    return bool(misused)


def _plain_call(checker: Checking, node: ast.Call, function: RuleFunction) -> Node | None:
    if _generator_misuse(checker, node, ""):
        return None
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        checker.problem(node, "'*' unpacking is not allowed")
        return None
    args = checker.visit_all(node.args)
    if args is None:
        return None
    name, expected, given = function.name, len(function.params), len(args)
    if (given < expected) if function.variadic else (given != expected):
        least = "at least " if function.variadic else ""
        plural = "" if expected == 1 else "s"
        checker.problem(node, f"{name}() takes {least}{expected} argument{plural}, got {given}")
        return None
    ok = True
    for i, (arg, syntax) in enumerate(zip(args, node.args, strict=True)):
        param = function.params[min(i, expected - 1)]
        if not accepts(param, arg.type):
            checker.problem(syntax, f"{name}() needs {param.describe()} here, but this is {arg.type.describe()}")
            ok = False
    if not ok:
        return None
    result = function.returns
    if function.type_rule is not None:
        ruled = function.type_rule([arg.type for arg in args])
        if isinstance(ruled, str):
            checker.problem(node, ruled)
            return None
        result = ruled
    if function.propagates_null and any(arg.type.optional for arg in args):
        result = result.with_optional(True)
    return Call(result, checker.span(node), function, tuple(args))


def _aggregate(checker: Checking, node: ast.Call, function: RuleFunction) -> Node | None:
    name, args = function.name, node.args
    if len(args) == 1 and isinstance(args[0], ast.GeneratorExp):
        return _generator(checker, node, function, args[0])
    if _generator_misuse(checker, node, name):
        return None
    if name in ("min", "max") and len(args) >= 2:
        return _min_max_of_values(checker, node, function)
    if len(args) != 1:
        checker.problem(node, f"{name}() takes one list or one generator, got {len(args)} arguments")
        return None
    if name == "count":
        checker.problem(node, "count() takes a generator, e.g. count(x for x in xs if ...); use len(xs) for a list")
        return None
    arg = checker.visit(args[0])
    if arg is None:
        return None
    kind = arg.type.kind
    if name == "len":
        if kind not in ("list", "str", "none", "any"):
            checker.problem(args[0], f"len() needs a list or text, but this is {arg.type.describe()}")
            return None
        return Call(INT.with_optional(arg.type.optional), checker.span(node), function, (arg,))
    if kind not in ("list", "none", "any"):
        checker.problem(args[0], f"{name}() needs a list or a generator, but this is {arg.type.describe()}")
        return None
    item = arg.type.item or ANY
    result = _result_type(checker, name, item, args[0])
    if result is None:
        return None
    return Aggregate(result, checker.span(node), name, arg)


def _result_type(checker: Checking, name: str, item: ExprType, at: ast.AST) -> ExprType | None:
    """Return the type of ``name`` over items of type ``item`` (reporting a problem if none)."""
    if name in ("any", "all"):
        if item.kind not in ("bool", "none", "any"):
            checker.problem(at, f"{name}() needs true/false values, but the items are {item.describe()}")
            return None
        return BOOL
    if name in ("count", "len"):
        return INT
    if name == "sum":
        if item.kind not in _SUMMABLE:
            checker.problem(at, f"sum() adds numbers or durations, not {item.describe()}")
            return None
        return item.plain() if item.kind not in ("none", "any") else ExprType("any", optional=True)
    if item.kind not in _ORDERABLE:
        checker.problem(at, f"{name}() needs values that can be ordered, not {item.describe()}")
        return None
    return item.plain().with_optional(True)


def _min_max_of_values(checker: Checking, node: ast.Call, function: RuleFunction) -> Node | None:
    args = checker.visit_all(node.args)
    if args is None:
        return None
    merged: ExprType | None = args[0].type
    for arg in args[1:]:
        merged = None if merged is None else unify(merged, arg.type)
    if merged is None or ordering_problem("<", merged, merged) is not None:
        kinds = ", ".join(arg.type.describe() for arg in args)
        checker.problem(node, f"{function.name}() needs values of one orderable type, got {kinds}")
        return None
    result = merged.plain().with_optional(all(arg.type.optional for arg in args))
    return Call(result, checker.span(node), function, tuple(args))


def _generator(checker: Checking, node: ast.Call, function: RuleFunction, gen: ast.GeneratorExp) -> Node | None:
    ok = True
    if len(gen.generators) != 1:
        checker.problem(gen.generators[1].target, "only one 'for' is allowed in a generator")
        ok = False
    comp = gen.generators[0]
    if comp.is_async:
        checker.problem(gen, "'async for' is not allowed")
        ok = False
    if len(comp.ifs) > 1:
        checker.problem(comp.ifs[1], "only one 'if' is allowed in a generator; join conditions with 'and'")
        ok = False
    target = comp.target
    if not isinstance(target, ast.Name):
        checker.problem(target, "the loop variable must be one plain name")
        checker.visit(comp.iter)
        return None
    if not _loop_name_ok(checker, target):
        checker.visit(comp.iter)
        return None
    var_name = target.id
    iterable = checker.visit(comp.iter)
    if iterable is not None and iterable.type.kind not in ("list", "none", "any"):
        checker.problem(comp.iter, f"can only loop over a list, but this is {iterable.type.describe()}")
        iterable = None
    item = (iterable.type.item if iterable is not None else None) or ANY
    slot = checker.next_slot
    checker.next_slot += 1
    checker.loops[var_name] = Var(item, checker.span(target), "loop", slot)
    element = checker.visit(gen.elt)
    condition = checker.visit(comp.ifs[0]) if comp.ifs else None
    del checker.loops[var_name]
    if condition is not None and not checker.is_condition(condition, "the 'if' of a generator", comp.ifs[0]):
        ok = False
    if not ok or iterable is None or element is None or (comp.ifs and condition is None):
        return None
    result = _result_type(checker, function.name, element.type, gen.elt)
    if result is None:
        return None
    return Aggregate(result, checker.span(node), function.name, iterable, slot, element, condition, var_name)


def _loop_name_ok(checker: Checking, target: ast.Name) -> bool:
    name = target.id
    if name.startswith("_"):
        checker.problem(target, "names starting with '_' are not allowed")
        return False
    taken = {checker.scope.subject, "params", "practice", "now", "today", "true", "false", "null"}
    if name in taken or name in checker.loops:
        checker.problem(target, f"the loop variable {name!r} hides another name; choose a different one")
        return False
    return True

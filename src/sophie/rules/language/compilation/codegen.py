"""Python source generation from the typed IR.

The emitter turns IR nodes into Python expression source. What reaches that source:
identifiers the emitter invents (``_v1``, ``_t2``, ``h3``); operators from its own fixed
tables; parameter names, only as ``repr`` string keys; literals, only as ``repr`` of
``None``, bools, ints, floats and strings (anything else, such as a ``Decimal``, is bound in
the namespace by name); and attribute names, which come from the analyst's text. Those are
the one piece of analyst text written as code, so each is checked here, at generation time,
against :data:`~sophie.model.fields.READABLE_NAMES` (the declared fields and derived values
of the entity type read from), independently of the checker: any other name raises
:class:`~sophie.errors.ForbiddenAttributeError` before source is generated.

Semantics follow :mod:`sophie.rules.language.interpreter` exactly; null guards are emitted only
where a value's type is optional, and values that are the same for the whole run
(``now - days(14)``, parameters, business-time cut-offs) are hoisted into a prelude.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sophie.errors import ForbiddenAttributeError
from sophie.model.fields import READABLE_NAMES
from sophie.rules.language.compilation.codegen_aggregates import emit_aggregate
from sophie.rules.language.compilation.codegen_time import emit_business_compare, emit_time_cutoff
from sophie.rules.language.expressions_ir import (
    Aggregate,
    Arith,
    Attr,
    BusinessAgeCompare,
    Call,
    Compare,
    Cond,
    Const,
    ListExpr,
    Logic,
    Neg,
    Node,
    Not,
    Param,
    ToDecimal,
    Var,
    children,
)
from sophie.rules.language.functions.builtin import (
    business_add,
    business_age_holds,
    business_cutoff,
    concat,
    contains,
    days_back,
    elapsed_between,
    local_day_start,
    wall_add,
    wall_sub,
)

__all__ = ["Emitter", "base_namespace", "readable_name", "subject_chain"]

_ATOM = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9.e+-]*|\(-[0-9][0-9.e+-]*\)|'[^'\\]*'|\"[^\"\\]*\")\Z")
_ORDER = frozenset({"<", "<=", ">", ">="})
_PY_OPS = {"not_in": "not in", "is_not": "is not"}
_CONTEXT_OPS = {"+b": "_badd", "+w": "_wadd", "-w": "_wsub", "-e": "_esub"}


def _to_decimal(value: object) -> object:
    return Decimal(repr(value)) if isinstance(value, float) else value


def _call_null_safe(function: Callable[..., object], *args: object) -> object:
    return None if any(arg is None for arg in args) else function(*args)


def _call_null_safe_ctx(function: Callable[..., object], context: object, *args: object) -> object:
    return None if any(arg is None for arg in args) else function(context, *args)


def base_namespace() -> dict[str, Any]:
    """Return the globals generated code runs with: only what the emitter refers to."""
    builtins = {"any": any, "all": all, "sum": sum, "min": min, "max": max, "len": len, "Exception": Exception}
    return {
        "__builtins__": builtins,
        "_dec": _to_decimal,
        "_in": contains,
        "_cat": concat,
        "_nullsafe": _call_null_safe,
        "_nullsafe_ctx": _call_null_safe_ctx,
        "_badd": business_add,
        "_wadd": wall_add,
        "_wsub": wall_sub,
        "_esub": elapsed_between,
        "_bage": business_age_holds,
        "_bcut": business_cutoff,
        "_daysback": days_back,
        "_daystart": local_day_start,
        "_td0": timedelta(0),
    }


def subject_chain(node: Node) -> tuple[str, ...] | None:
    """Return the attribute names of ``subject.a.b…``, or ``None`` if ``node`` is not such a chain."""
    names: list[str] = []
    while isinstance(node, Attr):
        names.append(node.name)
        node = node.obj
    if isinstance(node, Var) and node.kind == "subject" and names:
        return tuple(reversed(names))
    return None


class Emitter:
    """Emits Python expression source for IR nodes, sharing one namespace.

    Args:
        namespace: The generated code's globals; constants and functions are added to it.
        hoist: Move run-constant sub-expressions into :attr:`prelude`.
        preload: Chains ``subject.a.b`` to load once per subject into :attr:`loads`
            (``None`` to load nothing ahead).
        lazy_cutoffs: Compute business-time cut-offs only when the run has many subjects
            (the generated code must bind ``_many``); a few subjects are cheaper to test
            directly than the cut-off's search is to run.
    """

    def __init__(
        self,
        namespace: dict[str, Any],
        *,
        hoist: bool,
        preload: frozenset[tuple[str, ...]] | None = None,
        lazy_cutoffs: bool = False,
    ):
        self.namespace = namespace
        self.hoist_enabled = hoist
        self.lazy_cutoffs = lazy_cutoffs
        self.preload = preload or frozenset()
        self.prelude: list[tuple[str, str]] = []
        self.helpers: list[str] = []
        self.loads: list[tuple[str, str]] = []
        self._hoisted: dict[str, str] = {}
        self._loaded: dict[tuple[str, ...], str] = {}
        self._constants: dict[tuple[str, str], str] = {}
        self._refs: dict[int, str] = {}
        self._counter = 0
        self._run_constant: dict[int, bool] = {}

    # -- names -------------------------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        """Return a new identifier starting with ``prefix``."""
        self._counter += 1
        return f"{prefix}{self._counter}"

    def ref(self, value: object, prefix: str = "_f") -> str:
        """Bind an object (a function, a frozenset) in the namespace; return its name."""
        key = id(value)
        if key not in self._refs:
            name = self.fresh(prefix)
            self.namespace[name] = value
            self._refs[key] = name
        return self._refs[key]

    def constant(self, value: object) -> str:
        """Return source for a checked literal value: its ``repr``, or a namespace name."""
        if value is None or type(value) in (bool, int, str):
            text = repr(value)
            return f"({text})" if text.startswith("-") else text
        if type(value) is float:
            return f"({value!r})"
        key = (type(value).__name__, repr(value))
        if key not in self._constants:
            name = self.fresh("_k")
            self.namespace[name] = value
            self._constants[key] = name
        return self._constants[key]

    # -- entry point -------------------------------------------------------------------------

    def emit(self, node: Node) -> str:
        """Return Python source computing ``node``."""
        if self.hoist_enabled and not isinstance(node, Const | Var) and self.is_run_constant(node):
            return self.hoist(self.emit_node(node))
        chain = subject_chain(node) if self.preload else None
        if chain is not None and chain in self.preload:
            return self.load(chain, node)
        return self.emit_node(node)

    def hoist(self, source: str) -> str:
        """Compute ``source`` once per run in the prelude; return the local holding it."""
        if source not in self._hoisted:
            name = self.fresh("h")
            self.prelude.append((name, source))
            self._hoisted[source] = name
        return self._hoisted[source]

    def load(self, chain: tuple[str, ...], node: Node) -> str:
        """Load ``subject.<chain>`` once per subject; return the local holding it."""
        if chain not in self._loaded:
            source = self.emit_node(node)
            name = self.fresh("p")
            self.loads.append((name, source))
            self._loaded[chain] = name
        return self._loaded[chain]

    def is_run_constant(self, node: Node) -> bool:
        """Whether ``node`` has one value for the whole run (no subject, no loop variable)."""
        key = id(node)
        if key not in self._run_constant:
            if isinstance(node, Var):
                result = node.kind in ("now", "today", "practice")
            elif isinstance(node, Aggregate):
                result = False
            else:
                result = all(self.is_run_constant(child) for child in children(node))
            self._run_constant[key] = result
        return self._run_constant[key]

    def bind(self, source: str) -> tuple[str, str]:
        """Return (first use, later uses) of a value: a walrus temp unless it is an atom."""
        if _ATOM.match(source):
            return source, source
        temp = self.fresh("_t")
        return f"({temp} := {source})", temp

    # -- nodes -------------------------------------------------------------------------------

    def emit_node(self, node: Node) -> str:
        """Return Python source computing ``node`` itself (hoisting and loading its parts)."""
        if isinstance(node, Const):
            return self.constant(node.value)
        if isinstance(node, Var):
            return {"subject": "s", "loop": f"_v{node.slot}"}.get(node.kind, node.kind)
        if isinstance(node, Param):
            return f"params[{node.name!r}]"
        if isinstance(node, Attr):
            name = readable_name(node)
            obj = self.emit(node.obj)
            if not node.obj.type.optional:
                return f"{obj}.{name}"
            first, later = self.bind(obj)
            return f"(None if {first} is None else {later}.{name})"
        if isinstance(node, Not):
            return f"(not {self.emit(node.operand)})"
        if isinstance(node, Neg):
            return self.null_safe(node.operand, lambda value: f"(-{value})")
        if isinstance(node, ToDecimal):
            return f"_dec({self.emit(node.operand)})"
        if isinstance(node, Logic):
            parts = [self.truth(operand) for operand in node.operands]
            return "(" + f" {node.op} ".join(parts) + ")"
        if isinstance(node, Arith):
            return self.arith(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, BusinessAgeCompare):
            return self.business_compare(node)
        if isinstance(node, Cond):
            return f"({self.emit(node.body)} if {self.emit(node.test)} else {self.emit(node.orelse)})"
        if isinstance(node, ListExpr):
            return "[" + ", ".join(self.emit(item) for item in node.items) + "]"
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Aggregate):
            return self.aggregate(node)
        raise TypeError(f"unknown IR node {type(node).__name__}")

    def truth(self, node: Node) -> str:
        """Return source that is ``True`` only if ``node`` is (null counts as false)."""
        source = self.emit(node)
        return f"({source} is True)" if node.type.optional else source

    def null_safe(self, node: Node, make: Callable[[str], str]) -> str:
        """Return ``make(value)``, or ``None`` when the value is null."""
        source = self.emit(node)
        if not node.type.optional:
            return make(source)
        first, later = self.bind(source)
        return f"(None if {first} is None else {make(later)})"

    def arith(self, node: Arith) -> str:
        """Return source for ``+ - * / %`` (null if either side is, left side first)."""
        left, right = self.emit(node.left), self.emit(node.right)

        def combine(a: str, b: str) -> str:
            helper = _CONTEXT_OPS.get(node.op) or ("_cat" if node.op == "+" and node.type.kind == "str" else None)
            if helper == "_cat":
                return f"_cat({a}, {b})"
            return f"{helper}(ctx, {a}, {b})" if helper else f"({a} {node.op} {b})"

        if not (node.left.type.optional or node.right.type.optional):
            return combine(left, right)
        checks, refs = [], []
        for side, source in ((node.left, left), (node.right, right)):
            first, ref = self.bind(source)
            if side.type.optional or first != ref:  # a temporary also keeps left-to-right order
                checks.append(f"{first} is None")
            refs.append(ref)
        return f"(None if {' or '.join(checks)} else {combine(refs[0], refs[1])})"

    def compare(self, node: Compare) -> str:
        """Return source for a (chained) comparison; each middle operand is evaluated once."""
        operands, ops = node.operands, node.ops
        if self.hoist_enabled and len(ops) == 1 and ops[0] in _ORDER:
            rewritten = emit_time_cutoff(self, node)
            if rewritten is not None:
                return rewritten
        sources = []
        for i, operand in enumerate(operands):
            if i and ops[i - 1] in ("in", "not_in") and _constant_items(operand) and not _numbers(operands[i - 1]):
                values = frozenset(item.value for item in operand.items)  # type: ignore[attr-defined]
                sources.append(self.constant(values))
            else:
                sources.append(self.emit(operand))
        guarded = [
            op in _ORDER and (operands[i].type.optional or operands[i + 1].type.optional) for i, op in enumerate(ops)
        ]
        bound = []
        for j, source in enumerate(sources):
            middle = 0 < j < len(sources) - 1
            touches_guard = (j > 0 and guarded[j - 1]) or (j < len(ops) and guarded[j])
            bound.append(self.bind(source) if middle or touches_guard else (source, source))
        pairs = []
        for i, op in enumerate(ops):
            left_first, left_ref = bound[i] if i == 0 else (bound[i][1], bound[i][1])
            right_first, right_ref = bound[i + 1]
            pairs.append(self.pair(op, operands[i], operands[i + 1], (left_first, left_ref), (right_first, right_ref)))
        return "(" + " and ".join(pairs) + ")"

    def pair(self, op: str, left: Node, right: Node, left_src: tuple[str, str], right_src: tuple[str, str]) -> str:
        """Return source for one comparison; sources are (first use, later uses)."""
        (left_first, left_ref), (right_first, right_ref) = left_src, right_src
        if op in _ORDER:
            if not (left.type.optional or right.type.optional):
                return f"{left_first} {op} {right_first}"
            checks = [
                f"{first} is not None"
                for side, first, ref in ((left, left_first, left_ref), (right, right_first, right_ref))
                if side.type.optional or first != ref
            ]
            return " and ".join([*checks, f"{left_ref} {op} {right_ref}"])
        if op in ("==", "!=") and (_is_none(left) or _is_none(right)):
            other, other_node = (right_first, right) if _is_none(left) else (left_first, left)
            if isinstance(other_node, Const):
                return repr((other_node.value is None) == (op == "=="))
            return f"{other} is {'not ' if op == '!=' else ''}None"
        if op in ("in", "not_in") and (
            right.type.optional or (right.type.kind == "str" and left.type.optional) or _numbers(left)
        ):
            test = f"_in({left_first}, {right_first})"
            return test if op == "in" else f"(not {test})"
        return f"{left_first} {_PY_OPS.get(op, op)} {right_first}"

    def business_compare(self, node: BusinessAgeCompare) -> str:
        """Return source for ``business_age(t) <op> d``, through a per-run cut-off when ``d`` is fixed."""
        return emit_business_compare(self, node)

    def call(self, node: Call) -> str:
        """Return source calling a registered function (null in, null out, if it says so)."""
        function = node.function
        impl = self.ref(function.impl)
        args = [self.emit(arg) for arg in node.args]
        context = ["ctx"] if function.needs_context else []
        if not (function.propagates_null and any(arg.type.optional for arg in node.args)):
            return f"{impl}({', '.join(context + args)})"
        if len(args) == 1:
            first, later = self.bind(args[0])
            return f"(None if {first} is None else {impl}({', '.join([*context, later])}))"
        helper = "_nullsafe_ctx" if context else "_nullsafe"
        return f"{helper}({', '.join([impl, *context, *args])})"

    def aggregate(self, node: Aggregate) -> str:
        """Return source for an aggregate (a call of a generated loop function)."""
        return emit_aggregate(self, node)


def readable_name(node: Attr) -> str:
    """Return the attribute name of ``node`` if the model lets rules read it, else refuse.

    Raises:
        ForbiddenAttributeError: If the object is not an entity, or the name is not one of
            its entity type's declared fields and derived values.
    """
    obj_type = node.obj.type
    entity = obj_type.entity if obj_type.kind == "entity" and obj_type.entity else ""
    if node.name not in READABLE_NAMES.get(entity, ()) or not node.name.isidentifier():
        raise ForbiddenAttributeError(entity, node.name)
    return node.name


def _numbers(node: Node) -> bool:
    """Whether membership of ``node`` must compare numbers as numbers (money against float literals)."""
    return node.type.kind in ("decimal", "number", "any")


def _is_none(node: Node) -> bool:
    return isinstance(node, Const) and node.value is None


def _constant_items(node: Node) -> bool:
    return isinstance(node, ListExpr) and all(
        isinstance(item, Const) and isinstance(item.value, str | int | float | Decimal | bool) for item in node.items
    )

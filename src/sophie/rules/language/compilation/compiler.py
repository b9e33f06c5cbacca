"""Compile checked expressions into fast Python functions.

Two forms, both generated from the typed IR by :mod:`sophie.rules.language.compilation.codegen` (never from
the analyst's text) and both agreeing with :mod:`sophie.rules.language.interpreter`:

- :func:`compile_expression`: one closure ``(context, subject) -> value`` for owner,
  priority and due expressions and template placeholders. Run-constant parts are computed
  once per context and cached.
- :func:`compile_conditions`: one *fused* function per entity type that evaluates many
  ``when`` conditions in a single pass over the subjects. It hoists per-run constants
  (``now``, parameters, ``now - days(14)``, business-time cut-offs) out of the loop, loads
  attributes the conditions share once per subject into locals, and evaluates every
  condition inline inside its own ``try``, so one bad record is reported in
  :attr:`ConditionResults.errors` and never stops the run.
"""

from __future__ import annotations

import re
import types
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sophie.errors import ConfigurationError
from sophie.rules.language.compilation.codegen import Emitter, base_namespace, subject_chain
from sophie.rules.language.expressions_ir import Logic, Node, walk
from sophie.rules.language.interpreter import error_message

if TYPE_CHECKING:
    from sophie.model import View
    from sophie.rules.language.context import EvalContext
    from sophie.rules.language.expressions import CheckedExpression

__all__ = [
    "CUTOFF_MIN_SUBJECTS",
    "CompiledExpression",
    "ConditionResults",
    "compile_conditions",
    "compile_expression",
    "generated_source",
]

_RUN_LOCALS = (("now", "ctx.now"), ("today", "ctx.today"), ("practice", "ctx.practice"),
               ("params", "ctx.params"), ("cal", "ctx.calendar"))


@dataclass
class ConditionResults:
    """What a fused evaluation found.

    Attributes:
        matches: Per condition (in the order given), the subjects for which it is ``True``.
        errors: ``(condition index, subject, message)`` for each condition that failed on a
            subject; the other conditions and subjects are still evaluated.
    """

    matches: list[list[View]] = field(default_factory=list)
    errors: list[tuple[int, View, str]] = field(default_factory=list)


CUTOFF_MIN_SUBJECTS = 64
"""From this many subjects a fused run finds each business-time cut-off once (a search of
about fifty calendar steps); below it, each subject's business age is measured directly."""


def _run_locals(body: str) -> list[str]:
    """Return the statements binding the run-level locals that ``body`` uses."""
    return [f"{name} = {source}" for name, source in _RUN_LOCALS if re.search(rf"\b{name}\b", body)]


def _define(source: str, namespace: dict[str, Any]) -> None:
    """Compile generated source and add each function it defines to ``namespace``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        # safe: source generated from the checked IR, never from user text
        code = compile(source, "<sophie rules>", "exec")  # safe: generated from the checked IR
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            namespace[constant.co_name] = types.FunctionType(constant, namespace, constant.co_name)


def _build(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Define the generated functions and return the one called ``name``."""
    _define(source, namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def _plain_function(expr: CheckedExpression) -> Callable[[EvalContext, View], object]:
    """Compile ``expr`` with everything evaluated per call (exact short-circuit semantics)."""
    namespace = base_namespace()
    emitter = Emitter(namespace, hoist=False)
    value = emitter.emit(expr.tree)
    lines = [*emitter.helpers, "def _plain(ctx, s):", *(f"    {line}" for line in _run_locals(value)),
             f"    return {value}"]
    return _build("\n".join(lines) + "\n", "_plain", namespace)


class CompiledExpression:
    """A compiled expression: call it as ``compiled(context, subject)``.

    Values that are the same for the whole run are computed once per context. If computing
    them fails (a parameter of the wrong kind, say), the expression falls back to evaluating
    everything per subject, so the failure is raised only by subjects that reach it.

    Attributes:
        expr: The checked expression.
        source: The generated Python source (for debugging and ``sophie explain``).
    """

    def __init__(self, expr: CheckedExpression) -> None:
        self.expr = expr
        namespace = base_namespace()
        emitter = Emitter(namespace, hoist=True)
        value = emitter.emit(expr.tree)
        hoisted = [name for name, _ in emitter.prelude]
        prelude = [f"{name} = {source}" for name, source in emitter.prelude]
        lines = [*emitter.helpers, "def _prepare(ctx):", *(f"    {line}" for line in _run_locals("\n".join(prelude)))]
        lines += [*(f"    {line}" for line in prelude), f"    return ({', '.join(hoisted)}{',' if hoisted else ''})"]
        lines += ["def _evaluate(ctx, s, _hoisted):"]
        if hoisted:
            lines.append(f"    {', '.join(hoisted)}{',' if len(hoisted) == 1 else ''} = _hoisted")
        lines += [*(f"    {line}" for line in _run_locals(value)), f"    return {value}"]
        self.source = "\n".join(lines) + "\n"
        _define(self.source, namespace)
        self._prepare: Callable[[EvalContext], tuple[object, ...]] = namespace["_prepare"]
        self._evaluate: Callable[[EvalContext, View, tuple[object, ...] | None], object] = namespace["_evaluate"]
        self._plain = _plain_function(expr) if hoisted else None
        self._cache: tuple[weakref.ref[EvalContext], tuple[object, ...] | None] | None = None

    def prepared(self, context: EvalContext) -> tuple[object, ...] | None:
        """Return the run-constant values for ``context`` (``None`` if computing them failed)."""
        cache = self._cache
        if cache is None or cache[0]() is not context:
            try:
                values: tuple[object, ...] | None = self._prepare(context)
            except Exception:  # re-raised per subject by the plain variant
                values = None
            cache = (weakref.ref(context), values)
            self._cache = cache
        return cache[1]

    def __call__(self, context: EvalContext, subject: View) -> object:
        """Return the expression's value for ``subject``."""
        values = self.prepared(context)
        if values is None and self._plain is not None:
            return self._plain(context, subject)
        return self._evaluate(context, subject, values)


def compile_expression(expr: CheckedExpression) -> CompiledExpression:
    """Compile one checked expression into a function ``(context, subject) -> value``."""
    return CompiledExpression(expr)


def generated_source(entity_type: str, conditions: Sequence[CheckedExpression]) -> str:
    """Return the Python source :func:`compile_conditions` generates (for reading and tests)."""
    return _FusedBuilder(entity_type, conditions).source


class _FusedBuilder:
    """Generates the fused evaluator of several conditions over one entity type.

    Conditions that start with the same conjunct (``plan.status == "presented" and …``)
    share one test of it per subject; the rest of each runs only when it holds.
    """

    def __init__(self, entity_type: str, conditions: Sequence[CheckedExpression]) -> None:
        for expr in conditions:
            if expr.scope.entity_type != entity_type:
                raise ConfigurationError(
                    f"condition {expr.text!r} is written for {expr.scope.entity_type}, not {entity_type}"
                )
        self.namespace = base_namespace()
        emitter = Emitter(self.namespace, hoist=True, preload=_shared_chains(conditions), lazy_cutoffs=True)
        blocks = [self.block(emitter, group) for group in _groups(conditions)]
        prelude = [f"{name} = {source}" for name, source in emitter.prelude]
        count = len(conditions)
        lines = [*emitter.helpers, "def _run(ctx, subjects):"]
        body = "\n".join(prelude + blocks + [source for _, source in emitter.loads])
        lines += [f"    {line}" for line in _run_locals(body)]
        if "_many" in body:
            lines.append(f"    _many = len(subjects) >= {CUTOFF_MIN_SUBJECTS}")
        if prelude:
            lines += ["    try:", *(f"        {line}" for line in prelude), "    except Exception:",
                      "        return _slow(ctx, subjects)"]
        lines += [f"    m{i} = []" for i in range(count)] + [f"    a{i} = m{i}.append" for i in range(count)]
        if not count:
            lines.append("    return _Results([], [])")
        lines += ["    errors = []", "    fail = errors.append", "    for s in subjects:"]
        if emitter.loads:
            appends = ", ".join(f"a{i}" for i in range(count))
            lines += ["        try:", *(f"            {name} = {source}" for name, source in emitter.loads)]
            lines += ["        except Exception:", f"            _slow_one(ctx, s, [{appends}], fail)"]
            lines += ["            continue"]
        lines += blocks or ["        pass"]
        lines.append("    return _Results([" + ", ".join(f"m{i}" for i in range(count)) + "], errors)")
        self.source = "\n".join(lines) + "\n"

    @staticmethod
    def block(emitter: Emitter, group: list[tuple[int, Node]]) -> str:
        """Return the loop-body statements for one condition, or a group sharing a first conjunct."""
        if len(group) == 1:
            i, tree = group[0]
            return "\n".join(_guarded(i, emitter.emit(tree), "        "))
        first = group[0][1]
        assert isinstance(first, Logic)
        shared = emitter.emit(first.operands[0])
        lines = ["        try:", f"            shared = {shared}", "        except Exception as error:",
                 "            shared = False"]
        lines += [f"            fail(({i}, s, _msg(error)))" for i, _ in group]
        lines.append("        if shared:")
        for i, tree in group:
            assert isinstance(tree, Logic)
            rest = tree.operands[1:]
            test = emitter.emit(rest[0]) if len(rest) == 1 else emitter.emit(Logic(tree.type, tree.span, "and", rest))
            lines += _guarded(i, test, "            ")
        return "\n".join(lines)


def _guarded(i: int, test: str, indent: str) -> list[str]:
    return [f"{indent}try:", f"{indent}    if {test}:", f"{indent}        a{i}(s)",
            f"{indent}except Exception as error:", f"{indent}    fail(({i}, s, _msg(error)))"]


def _groups(conditions: Sequence[CheckedExpression]) -> list[list[tuple[int, Node]]]:
    """Group conditions by their first ``and`` operand, keeping first-appearance order."""
    groups: dict[object, list[tuple[int, Node]]] = {}
    for i, expr in enumerate(conditions):
        tree = expr.tree
        key: object = ("alone", i)
        if isinstance(tree, Logic) and tree.op == "and":
            key = tree.operands[0]
        groups.setdefault(key, []).append((i, tree))
    return list(groups.values())


def _shared_chains(conditions: Sequence[CheckedExpression]) -> frozenset[tuple[str, ...]]:
    """Return the ``subject.a.b`` chains worth loading once per subject.

    Direct attributes of the subject are always loaded (one slot read each); longer chains
    when two or more conditions use them.
    """
    uses: Counter[tuple[str, ...]] = Counter()
    for expr in conditions:
        uses.update({chain for chain in map(subject_chain, walk(expr.tree)) if chain is not None})
    chosen = {chain for chain, n in uses.items() if len(chain) == 1 or n >= 2}
    return frozenset(chain for chain in chosen if all(chain[:k] in chosen for k in range(1, len(chain))))


def compile_conditions(
    entity_type: str, conditions: Sequence[CheckedExpression]
) -> Callable[[EvalContext, Sequence[View]], ConditionResults]:
    """Compile many ``when`` conditions over one entity type into one fused evaluator.

    Args:
        entity_type: The entity type every condition is written for.
        conditions: The checked conditions, in the order results are reported.

    Returns:
        A function ``(context, subjects) -> ConditionResults``. It never raises for a
        subject's data: failures are captured per condition and subject.

    Raises:
        ConfigurationError: If a condition was checked for another entity type.
    """
    builder = _FusedBuilder(entity_type, conditions)
    fallbacks: dict[bool, list[Callable[[EvalContext, View], object]]] = {}

    def fallback(hoisted: bool) -> list[Callable[[EvalContext, View], object]]:
        """Per-condition evaluators for the rare slow paths, compiled on first need."""
        if hoisted not in fallbacks:
            make = CompiledExpression if hoisted else _plain_function
            fallbacks[hoisted] = [make(expr) for expr in conditions]
        return fallbacks[hoisted]

    def slow_one(context: EvalContext, subject: View, appends: list[Callable[[View], None]],
                 fail: Callable[[tuple[int, View, str]], None]) -> None:
        for i, evaluate in enumerate(fallback(hoisted=False)):
            try:
                if evaluate(context, subject) is True:
                    appends[i](subject)
            except Exception as error:  # captured per subject, like the fast path
                fail((i, subject, error_message(error)))

    def slow(context: EvalContext, subjects: Sequence[View]) -> ConditionResults:
        results = ConditionResults([[] for _ in conditions], [])
        appends = [matches.append for matches in results.matches]
        for subject in subjects:
            for i, closure in enumerate(fallback(hoisted=True)):
                try:
                    if closure(context, subject) is True:
                        appends[i](subject)
                except Exception as error:  # captured per subject, like the fast path
                    results.errors.append((i, subject, error_message(error)))
        return results

    builder.namespace.update(_slow=slow, _slow_one=slow_one, _msg=error_message, _Results=ConditionResults)
    run: Callable[[EvalContext, Sequence[View]], ConditionResults] = _build(builder.source, "_run", builder.namespace)
    run.source = builder.source  # type: ignore[attr-defined]
    return run

"""Time tests compiled to one comparison against a cut-off computed once per run.

``business_age(t) >= business_days(3)``, ``age(t) > days(7)`` and ``days_since(t) > 90``
each hold for exactly the instants on one side of a boundary that depends only on ``now``
(the calendar's steps and local dates never decrease as ``t`` grows). The prelude finds that
boundary once; each subject then costs one comparison instead of a calendar walk or a
timezone conversion. The reference interpreter evaluates the functions themselves, and the
differential test holds the two to the same answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sophie.rules.language.expressions_ir import BusinessAgeCompare, Call, Compare, Node

if TYPE_CHECKING:
    from sophie.rules.language.compilation.emitting import Emitting

__all__ = ["emit_business_compare", "emit_time_cutoff"]

_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">"}
# age(t) <op> d  <=>  t <op'> now - d   (age falls as t grows)
_AGE = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
# days_since(t) <op> n  <=>  t <op'> first instant of the local date today - n + shift
_DAYS_SINCE = {">": ("<", 0), ">=": ("<", 1), "<": (">=", 1), "<=": (">=", 0)}


def emit_business_compare(emitter: Emitting, node: BusinessAgeCompare) -> str:
    """Return source for ``business_age(t) <op> d``; a fixed ``d`` becomes a per-run cut-off."""
    since_first, since_ref = emitter.bind(emitter.emit(node.since))
    duration = emitter.emit(node.duration)
    op = repr(node.op)
    if emitter.hoist_enabled and emitter.is_run_constant(node.duration):
        search = f"_bcut(cal, now, {duration}, {op})"
        cutoff = emitter.hoist(f"({search} if _many else None)" if emitter.lazy_cutoffs else search)
        test = "<=" if node.op in (">=", ">") else ">"
        direct = f"_bage(cal, {since_ref}, now, {duration}, {op})"
        return (
            f"({since_first} is not None and {duration} is not None and "
            f"({since_ref} {test} {cutoff} if {cutoff} is not None else {direct}))"
        )
    duration_first, duration_ref = emitter.bind(duration)
    return (
        f"({since_first} is not None and {duration_first} is not None and "
        f"_bage(cal, {since_ref}, now, {duration_ref}, {op}))"
    )


def _time_call(node: Node) -> Call | None:
    if not isinstance(node, Call) or node.function.name not in ("age", "days_since"):
        return None
    return node if node.function.impl.__module__ == "sophie.rules.language.functions.builtin" else None


def emit_time_cutoff(emitter: Emitting, node: Compare) -> str | None:
    """Return ``age(t)``/``days_since(t)`` against a run constant as a cut-off test, or ``None``."""
    left, right = node.operands
    op = node.ops[0]
    call = _time_call(left)
    other = right
    if call is None:
        call, other, op = _time_call(right), left, _FLIP[op]
    if call is None or not emitter.is_run_constant(other) or emitter.is_run_constant(call):
        return None
    subject = call.args[0]
    if call.function.name == "age":
        cutoff = emitter.hoist(f"(now - {emitter.emit(other)})")
        test = _AGE[op]
    elif other.type.kind != "int":
        return None
    elif subject.type.kind == "date":
        cutoff = emitter.hoist(f"_daysback(today, {emitter.emit(other)})")
        test = _AGE[op]
    else:
        test, shift = _DAYS_SINCE[op]
        cutoff = emitter.hoist(f"_daystart(ctx, {emitter.emit(other)}, {shift})")
    first, ref = emitter.bind(emitter.emit(subject))
    return f"({first} is not None and {ref} {test} {cutoff})"

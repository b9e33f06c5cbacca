"""Aggregates compiled to small generated functions with plain ``for`` loops.

``any(p.fee > 500 for p in plan.procedures)`` becomes a call of a generated function that
loops over the list and returns early, which is several times cheaper than a generator
expression for the short lists a snapshot holds, and keeps the loop's temporaries local.
Values the loop body reads from the enclosing function (per-subject loads, run constants,
outer loop variables) are passed in as arguments.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import TYPE_CHECKING

from sophie.rules.language.expressions_ir import Aggregate
from sophie.rules.language.functions.builtin import LIST_IMPLS

if TYPE_CHECKING:
    from sophie.rules.language.compilation.emitting import Emitting

__all__ = ["emit_aggregate"]

_OUTER_NAME = re.compile(r"^(?:p\d+|h\d+|_v\d+|s|now|today|practice|params|cal|ctx)\Z")
_EMPTY = {"any": "False", "all": "True", "count": "0", "len": "0", "min": "None", "max": "None"}


def _outer_names(source: str, own: str) -> list[str]:
    """Return the enclosing function's names that ``source`` reads (string literals skipped)."""
    names: set[str] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string != own and _OUTER_NAME.match(token.string):
            names.add(token.string)
    return sorted(names)


def emit_aggregate(emitter: Emitting, node: Aggregate) -> str:
    """Return source calling a generated loop function for ``node`` (a null list counts as empty)."""
    items = emitter.emit(node.iterable)
    if node.element is None:
        return f"{emitter.ref(LIST_IMPLS[node.name])}({items})"
    name, loop = node.name, f"_v{node.slot}"
    start = "_td0" if node.element.type.kind == "duration" else "0"
    counts_only = name == "len" or (name == "count" and node.element.type.kind != "bool")
    condition = emitter.emit(node.condition) if node.condition is not None else None
    element = None if counts_only else emitter.emit(node.element)
    body = ["    if _it is None:", f"        return {_EMPTY.get(name, start)}"] if node.iterable.type.optional else []
    if counts_only and condition is None:
        body.append("    return len(_it)")
    else:
        body += _loop(name, loop, condition, element, optional=node.element.type.optional, start=start)
    text = "\n".join(body)
    outer = _outer_names(text, loop)
    helper = emitter.fresh("_agg")
    emitter.helpers.append("\n".join([f"def {helper}({', '.join(['_it', *outer])}):", text]))
    return f"{helper}({', '.join([items, *outer])})"


def _loop(name: str, loop: str, condition: str | None, element: str | None, *, optional: bool, start: str) -> list[str]:
    lines = [f"    for {loop} in _it:"]
    if condition is not None:
        lines += [f"        if not {condition}:", "            continue"]
    if name == "any":
        return [*lines, f"        if {element}:", "            return True", "    return False"]
    if name == "all":
        return [*lines, f"        if not {element}:", "            return False", "    return True"]
    if name in ("count", "len"):
        count = [f"        if {element}:", "            n += 1"] if element is not None else ["        n += 1"]
        return ["    n = 0", *lines, *count, "    return n"]
    keep = ["        if x is not None:", "            values.append(x)"] if optional else ["        values.append(x)"]
    lines = ["    values = []", *lines, f"        x = {element}", *keep]
    if name == "sum":
        return [*lines, f"    return sum(values, {start})"]
    return [*lines, f"    return {name}(values) if values else None"]

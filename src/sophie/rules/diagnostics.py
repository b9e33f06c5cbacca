"""Located diagnostics for pack files, and the text YAML took from their scalars.

:class:`Collector` gathers ``FILE:LINE:COL`` diagnostics for one file, placing each
at a value, a key or a character inside a scalar; :func:`describe_error` words one
pydantic error in the pack's terms (with a did-you-mean from :func:`suggest`).
:func:`textify` gives back the characters written where a model wants text but YAML
read a number or a boolean (``version: 1.0``, ``id: 123``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sophie.errors import MAX_SHOWN_PROBLEMS, Diagnostic
from sophie.rules.packs.yaml_source import PathKey, SourceMap

__all__ = [
    "Collector",
    "describe_error",
    "describe_value",
    "known_keys",
    "model_at",
    "suggest",
    "text_fields",
    "textify",
]


def suggest(word: str, known: Any) -> str | None:
    """Return the closest of ``known`` to ``word`` (difflib), or ``None`` if none is close."""
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.6)
    return close[0] if close else None


def model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the model that validates the mapping at ``loc`` under ``model``, if one does."""
    current: type[BaseModel] = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        info = fields.get(str(part))
        if info is None:
            return None
        found = _model_in(info.annotation)
        if found is None:
            return None
        current = found
    return current


def known_keys(model: type[BaseModel]) -> list[str]:
    """Return the keys ``model`` accepts, as written in YAML."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    args = getattr(annotation, "__args__", ())
    return bool(args) and str in args and not any(a in args for a in (int, float, bool))


def text_fields(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, bool | type[BaseModel]]:
    """Return, for each key of ``data``, whether ``model`` wants text there (or a nested model)."""
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    result: dict[str, bool | type[BaseModel]] = {}
    for key in data:
        annotation = fields.get(key)
        if annotation is None:
            continue
        nested = _model_in(annotation)
        result[key] = nested if nested is not None else _is_text(annotation)
    return result


def textify(model: type[BaseModel], data: Any, path: PathKey, source: SourceMap, *, skip: tuple[str, ...] = ()) -> None:
    """Give back their text to plain scalars that YAML read as numbers or booleans.

    Where ``model`` expects text, ``version: 1.0``, ``id: 123`` or ``tooth: 14`` mean the
    characters written, not a float or an int; this puts those characters back (in place)
    so that the models see what the analyst typed.
    """
    if not isinstance(data, dict):
        return
    for key, wanted in text_fields(model, data).items():
        if key in skip:
            continue
        value = data[key]
        if wanted is True and isinstance(value, int | float) and not isinstance(value, bool):
            span = source.scalar((*path, key))
            if span is not None and span.style == "":
                data[key] = span.value
        elif isinstance(wanted, type):
            if isinstance(value, list):
                for number, item in enumerate(value):
                    textify(wanted, item, (*path, key, number), source)
            else:
                textify(wanted, value, (*path, key), source)


_TYPE_WORDS = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
}


def describe_value(value: Any) -> str:
    """Return how a message shows a value that had the wrong type: its kind, or a short repr."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_error(error: Mapping[str, Any], model: type[BaseModel]) -> tuple[str, str | None]:
    """Return a plain message and a did-you-mean for one pydantic error under ``model``."""
    kind = error["type"]
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    if kind == "sophie":
        return str(ctx.get("message", error["msg"])), ctx.get("suggestion")
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        known = known_keys(parent) if parent is not None else []
        where = f"; expected one of {', '.join(known)}" if known else ""
        return f"unknown key {loc[-1]!r}{where}", suggest(str(loc[-1]), known)
    if kind == "missing":
        return f"missing required key {loc[-1]!r}", None
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {describe_value(error.get('input'))}", None
    if kind == "string_too_short":
        return "must not be empty", None
    if kind == "timezone_aware":
        return "a datetime needs a UTC offset, e.g. 2026-03-05T10:00:00-05:00", None
    if kind.startswith("datetime"):
        return f"expected a datetime like 2026-03-05T10:00:00-05:00, got {describe_value(error.get('input'))}", None
    message = str(error["msg"])
    return message.removeprefix("Value error, "), None


class Collector:
    """Collects located diagnostics for one file.

    Attributes:
        source: The file's source map.
        items: The diagnostics found so far.
    """

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.items: list[Diagnostic] = []

    def at(
        self,
        path: PathKey,
        message: str,
        *,
        key: bool = False,
        rule_id: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        """Add a diagnostic at the value (or key) at ``path``."""
        self.items.append(self.source.diagnostic(path, message, key=key, rule_id=rule_id, suggestion=suggestion))

    def in_scalar(
        self, path: PathKey, offset: int, message: str, *, rule_id: str | None = None, suggestion: str | None = None
    ) -> None:
        """Add a diagnostic at character ``offset`` of the scalar at ``path``."""
        mark = self.source.mark_in_scalar(path, offset)
        self.items.append(Diagnostic(self.source.file, mark.line, mark.column, message, rule_id, suggestion))

    def validation(
        self, error: ValidationError, model: type[BaseModel], path: PathKey, *, rule_id: str | None = None
    ) -> None:
        """Add one diagnostic per error of a pydantic validation of ``model`` at ``path``."""
        for item in error.errors(include_url=False):
            loc = tuple(item["loc"])
            message, suggestion = describe_error(item, model)
            if loc and loc[-1] == "[key]":
                self.at((*path, *loc[:-1]), message, key=True, rule_id=rule_id, suggestion=suggestion)
            elif item["type"] == "missing":
                self.at((*path, *loc[:-1]), message, rule_id=rule_id)
            else:
                key = item["type"] == "extra_forbidden"
                self.at((*path, *loc), message, key=key, rule_id=rule_id, suggestion=suggestion)

    def sorted(self) -> list[Diagnostic]:
        """Return the diagnostics in file order, without repeats.

        At most :data:`~sophie.errors.MAX_SHOWN_PROBLEMS` are returned; past that, one more
        diagnostic (at the last one shown) says how many were left out.
        """
        unique = sorted(dict.fromkeys(self.items), key=lambda d: (d.file, d.line, d.column))
        hidden = len(unique) - MAX_SHOWN_PROBLEMS
        if hidden <= 0:
            return unique
        shown = unique[:MAX_SHOWN_PROBLEMS]
        last = shown[-1]
        return [*shown, Diagnostic(last.file, last.line, last.column, f"and {hidden} more problems")]

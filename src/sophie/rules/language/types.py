"""The types of rule expressions, how model fields map onto them, and function signatures.

An :class:`ExprType` is what the checker infers for every sub-expression before any data
is seen. Numbers come in three kinds that interoperate (``int``, ``number`` for floats,
``decimal`` for money); ``optional`` marks values that may be ``None`` at run time, which is
what lets the compiler emit null guards only where they are needed. A :class:`RuleFunction`
is the typed signature (and implementation) of a function expressions may call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum

from sophie.model import FieldType
from sophie.model.calendar import BusinessDuration

__all__ = [
    "ANY",
    "BOOL",
    "BUSINESS_AGE",
    "BUSINESS_DURATION",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "DURATION",
    "INT",
    "KINDS",
    "NONE",
    "NUMBER",
    "NUMERIC_KINDS",
    "STR",
    "ExprType",
    "RuleFunction",
    "TypeRule",
    "entity_type",
    "from_field_type",
    "list_of",
    "text_of",
    "type_of_value",
    "unify",
]

KINDS: tuple[str, ...] = (
    "bool",
    "int",
    "number",
    "decimal",
    "str",
    "date",
    "datetime",
    "duration",
    "business_duration",
    "business_age",
    "entity",
    "list",
    "params",
    "none",
    "any",
)
"""Every kind an :class:`ExprType` may have."""

NUMERIC_KINDS = frozenset({"int", "number", "decimal"})
"""Kinds that take part in arithmetic with one another."""

_WORDS = {
    "bool": "true/false",
    "int": "a whole number",
    "number": "a number",
    "decimal": "an amount of money",
    "str": "text",
    "date": "a date",
    "datetime": "a date and time",
    "duration": "a duration",
    "business_duration": "a business duration",
    "business_age": "a business age",
    "params": "the parameter group",
    "none": "null",
    "any": "a value",
}


@dataclass(frozen=True)
class ExprType:
    """The static type of an expression.

    Attributes:
        kind: One of :data:`KINDS`.
        entity: The entity type, for kind ``entity`` and for lists of entities.
        item: The item type of a list.
        choices: For closed string vocabularies (enums), the allowed values.
        optional: Whether the value may be ``None`` at run time.
        fields: For kind ``params``: parameter name to type.
    """

    kind: str
    entity: str | None = None
    item: ExprType | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    fields: Mapping[str, ExprType] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown expression type kind {self.kind!r}")

    def __str__(self) -> str:
        if self.kind == "entity":
            text = str(self.entity)
        elif self.kind == "list":
            text = f"list[{self.entity or self.item or 'any'}]"
        else:
            text = self.kind
        return text + ("?" if self.optional and self.kind not in ("none", "any") else "")

    @property
    def is_numeric(self) -> bool:
        """Whether this is ``int``, ``number`` or ``decimal``."""
        return self.kind in NUMERIC_KINDS

    def describe(self) -> str:
        """Return the type in plain words for error messages, e.g. ``a date (or null)``."""
        if self.kind == "entity":
            text = f"a {self.entity}"
        elif self.kind == "list":
            inner = self.entity or (self.item.kind if self.item else "value")
            text = f"a list of {inner}"
        else:
            text = _WORDS.get(self.kind, self.kind)
        if self.optional and self.kind not in ("none", "any"):
            text += " (or null)"
        return text

    def with_optional(self, optional: bool = True) -> ExprType:
        """Return this type with ``optional`` set (or cleared)."""
        return self if self.optional == optional else replace(self, optional=optional)

    def plain(self) -> ExprType:
        """Return this type without choices and without ``optional``."""
        if not self.choices and not self.optional:
            return self
        return replace(self, choices=(), optional=False)


BOOL = ExprType("bool")
INT = ExprType("int")
NUMBER = ExprType("number")
DECIMAL = ExprType("decimal")
STR = ExprType("str")
DATE = ExprType("date")
DATETIME = ExprType("datetime")
DURATION = ExprType("duration")
BUSINESS_DURATION = ExprType("business_duration")
BUSINESS_AGE = ExprType("business_age")
NONE = ExprType("none", optional=True)
ANY = ExprType("any", optional=True)


def entity_type(name: str, *, optional: bool = False) -> ExprType:
    """Return the type of one record of entity type ``name``."""
    return ExprType("entity", entity=name, optional=optional)


def list_of(item: ExprType) -> ExprType:
    """Return the type of a list whose items have type ``item``."""
    if item.kind == "entity":
        return ExprType("list", entity=item.entity, item=item.with_optional(False))
    return ExprType("list", item=item)


def from_field_type(ft: FieldType) -> ExprType:
    """Return the expression type of a model field."""
    if ft.kind == "list":
        if ft.entity is not None:
            return ExprType("list", entity=ft.entity, item=entity_type(ft.entity), optional=ft.optional)
        item = from_field_type(ft.item) if ft.item is not None else ANY
        return ExprType("list", item=item, optional=ft.optional)
    return ExprType(ft.kind, entity=ft.entity, choices=ft.choices, optional=ft.optional)


def type_of_value(value: object) -> ExprType:
    """Return the type of a parameter value (a pack's default or a practice's override).

    ``bool`` is checked before ``int`` (a bool is an int in Python); a list takes the
    unified type of its items.

    Raises:
        TypeError: For values that cannot be parameters (mappings, objects).
    """
    if value is None:
        return NONE
    simple: list[tuple[type, ExprType]] = [
        (bool, BOOL),
        (int, INT),
        (float, NUMBER),
        (Decimal, DECIMAL),
        (BusinessDuration, BUSINESS_DURATION),
        (timedelta, DURATION),
        (datetime, DATETIME),
        (date, DATE),
    ]
    for python_type, expr_type in simple:
        if isinstance(value, python_type):
            return expr_type
    if isinstance(value, Enum | str):
        return STR
    if isinstance(value, list | tuple):
        item: ExprType | None = None
        for element in value:
            element_type = type_of_value(element)
            item = element_type if item is None else unify(item, element_type)
            if item is None:
                raise TypeError(f"list parameter mixes values of different types: {value!r}")
        return list_of(item if item is not None else ANY)
    raise TypeError(f"cannot use a {type(value).__name__} as a rule parameter")


def unify(a: ExprType, b: ExprType) -> ExprType | None:
    """Return the type both ``a`` and ``b`` fit in (for if/else branches and list items).

    Numbers widen (``int`` < ``number`` < ``decimal``), ``null`` makes the other optional,
    and choices are merged. Returns ``None`` when the two cannot mix.
    """
    optional = a.optional or b.optional
    if a.kind == "none":
        return b.with_optional(True)
    if b.kind == "none":
        return a.with_optional(True)
    if a.kind == "any" or b.kind == "any":
        return ANY
    if a.is_numeric and b.is_numeric:
        order = ("int", "number", "decimal")
        kind = max(a.kind, b.kind, key=order.index)
        return ExprType(kind, optional=optional)
    if a.kind != b.kind:
        return None
    if a.kind == "entity":
        return a.with_optional(optional) if a.entity == b.entity else None
    if a.kind == "list":
        if a.entity != b.entity:
            return None
        if a.item is None or b.item is None:
            return a.with_optional(optional)
        item = unify(a.item, b.item)
        return None if item is None else replace(list_of(item), optional=optional)
    choices = tuple(dict.fromkeys(a.choices + b.choices)) if a.choices and b.choices else ()
    return ExprType(a.kind, choices=choices, optional=optional)


# -- the signature of a function rule expressions can call --------------------------------

TypeRule = Callable[[Sequence[ExprType]], "ExprType | str"]


@dataclass(frozen=True)
class RuleFunction:
    """A function rule expressions can call.

    Attributes:
        name: The name analysts write, e.g. ``days``.
        params: Parameter types, in order.
        returns: The return type (when every argument is non-null).
        impl: The implementation; called ``impl(*args)``, or ``impl(context, *args)``
            when ``needs_context``.
        doc: One line for analysts.
        needs_context: Whether ``impl`` takes the :class:`~sophie.rules.language.context.EvalContext`.
        propagates_null: If true, a ``None`` argument gives ``None`` without calling ``impl``.
        variadic: If true, the last parameter may repeat (``coalesce(a, b, c)``).
        example: An example call for the documentation.
        type_rule: For functions whose result depends on argument types: given the argument
            types, the result type, or an error message.
        aggregate: One of the functions that also take a generator (``any``, ``sum`` …).
        param_names: Parameter names for the documentation.
        usage: The call form for the documentation, when the types alone do not say it.
    """

    name: str
    params: tuple[ExprType, ...]
    returns: ExprType
    impl: Callable[..., object]
    doc: str
    needs_context: bool = False
    propagates_null: bool = True
    variadic: bool = False
    example: str = ""
    type_rule: TypeRule | None = None
    aggregate: bool = False
    param_names: tuple[str, ...] = ()
    usage: str = ""

    def signature(self) -> str:
        """Return the call form for documentation, e.g. ``days(n: number) -> duration``."""
        if self.usage:
            return self.usage
        names = self.param_names or tuple(f"x{i + 1}" if len(self.params) > 1 else "x" for i in range(len(self.params)))
        params = ", ".join(f"{name}: {param}" for name, param in zip(names, self.params, strict=False))
        if self.variadic:
            params += ", ..."
        return f"{self.name}({params}) -> {self.returns}"


def text_of(value: object) -> str:
    """Return a value as plain text (an enum member as its value)."""
    return str(value.value) if isinstance(value, Enum) else str(value)

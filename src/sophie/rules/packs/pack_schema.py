"""The shape of a rule pack file, as pydantic models (and, from them, its JSON Schema).

These models check structure and spelling: unknown keys, missing keys, wrong
types, rule ids, semantic versions, durations, the ``for`` clause, priority
words. What needs the whole pack or the expression checker (roles, expressions,
templates, fixtures) is checked by :mod:`sophie.rules.packs.loader`, which reports both
kinds of problem in one list of located diagnostics (see :mod:`sophie.rules.diagnostics`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sophie.model import SUBJECT_TYPES
from sophie.rules.diagnostics import describe_value, suggest
from sophie.rules.language.durations import DURATION_UNITS, DurationSyntaxError, parse_duration

__all__ = [
    "PRIORITIES",
    "RESERVED_NAMES",
    "Escalation",
    "Expectation",
    "Pack",
    "PackTestCase",
    "ParamValue",
    "Rule",
    "RuleTest",
    "Task",
    "parse_for",
]

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
"""Priority words, lowest first."""

RESERVED_NAMES: frozenset[str] = frozenset(
    {
        "params",
        "practice",
        "now",
        "today",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "for",
        "True",
        "False",
        "None",
        "true",
        "false",
        "null",
        "lambda",
    }
)
"""Names a ``for ... as <alias>`` alias cannot take."""

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")
_PACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}\Z")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}\Z")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?\Z"
)


def _json_pattern(regex: re.Pattern[str]) -> str:
    """Return a pattern for JSON Schema, whose end anchor is "$" (Python writes it as backslash-Z)."""
    return regex.pattern.replace("\\Z", "$")


_FOR = re.compile(r"^\s*(?P<type>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\s(?P<as>\S+)\s+(?P<alias>\S+)\s*)?\Z")


def _problem(message: str, suggestion: str | None = None) -> PydanticCustomError:
    return PydanticCustomError("sophie", "{message}", {"message": message, "suggestion": suggestion})


def _rule_id(value: str) -> str:
    if not _RULE_ID.match(value):
        raise _problem(f"rule id {value!r} must be letters, digits, '.', '_' or '-' (at most 100), e.g. claims.unsent")
    return value


def _pack_name(value: str) -> str:
    if not _PACK_NAME.match(value):
        raise _problem(f"pack name {value!r} must be lower-case letters, digits, '.', '_' or '-', e.g. dental-core")
    return value


def _semver(value: str) -> str:
    if not _SEMVER.match(value):
        raise _problem(f"version {value!r} is not a semantic version MAJOR.MINOR.PATCH, e.g. 1.0.0")
    return value


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise _problem(f"{value!r} must be a lower_snake_case name")
    return value


def _duration(value: str) -> str:
    try:
        parse_duration(value)
    except DurationSyntaxError as err:
        raise _problem(str(err), err.suggestion) from None
    return value


def _priority(value: str) -> str:
    if value not in PRIORITIES:
        raise _problem(f"unknown priority {value!r}; use one of {', '.join(PRIORITIES)}", suggest(value, PRIORITIES))
    return value


def _resolve_mode(value: str) -> str:
    if value not in ("auto", "manual"):
        raise _problem(f"resolve must be 'auto' or 'manual', got {value!r}", suggest(value, ("auto", "manual")))
    return value


def parse_for(text: str) -> tuple[str, str]:
    """Parse a rule's ``for`` clause, ``"<entity type> [as <alias>]"``.

    Returns:
        The entity type and the name the subject is bound to (the alias, or the type name).

    Raises:
        PydanticCustomError: For bad syntax, an unknown entity type (with a did-you-mean)
            or an alias that is reserved.
    """
    match = _FOR.match(text)
    if match is None or (match.group("as") is not None and match.group("as") != "as"):
        raise _problem(f"'for' must be '<entity type>' or '<entity type> as <name>', got {text!r}")
    entity = match.group("type")
    if entity not in SUBJECT_TYPES:
        raise _problem(
            f"unknown entity type {entity!r}; rules can be written for {', '.join(SUBJECT_TYPES)}",
            suggest(entity, SUBJECT_TYPES),
        )
    alias = match.group("alias") or entity
    if not _NAME.match(alias):
        raise _problem(f"alias {alias!r} must be a lower_snake_case name, e.g. 'plan'")
    if alias in RESERVED_NAMES:
        raise _problem(f"alias {alias!r} is a reserved name; choose another, e.g. 'subject'")
    return entity, alias


def _for_clause(value: str) -> str:
    parse_for(value)
    return value


RuleId = Annotated[str, AfterValidator(_rule_id), Field(json_schema_extra={"pattern": _json_pattern(_RULE_ID)})]
Name = Annotated[str, AfterValidator(_name), Field(json_schema_extra={"pattern": _json_pattern(_NAME)})]
_UNIT_WORDS = sorted({*DURATION_UNITS, *(unit[:-1] for unit in DURATION_UNITS)}, key=len, reverse=True)
DURATION_PATTERN = rf"^\s*\d+\s*({'|'.join(_UNIT_WORDS)})\s*$"
"""What editors accept as a duration: a whole number and a unit, singular or plural (``2 business_days``)."""
LOOKS_LIKE_DURATION_PATTERN = r"^\s*\d+\s*[A-Za-z_]+\s*$"
"""A number and one word: meant as a duration, so the word must be a unit (``2 busines_days`` is not)."""

DurationText = Annotated[
    str,
    AfterValidator(_duration),
    Field(
        description=f"'<n> <unit>', unit one of {', '.join(DURATION_UNITS)} (singular too)",
        examples=["1 business_day", "2 business_days", "4 business_hours", "30 minutes", "1 week"],
        json_schema_extra={"pattern": DURATION_PATTERN},
    ),
]
PriorityWord = Annotated[str, AfterValidator(_priority), Field(json_schema_extra={"enum": list(PRIORITIES)})]
_SCALAR_PARAM = (bool, int, float, str)


def _param_value(value: Any) -> Any:
    if isinstance(value, _SCALAR_PARAM):
        return value
    if isinstance(value, list) and all(isinstance(item, _SCALAR_PARAM) for item in value):
        kinds = {type(item) for item in value}
        if len(kinds) > 1 and not kinds <= {int, float}:
            raise _problem("a list parameter holds values of one kind (all numbers, or all text)")
        return value
    raise _problem(f"a parameter is a number, text, true/false or a list of those, not {describe_value(value)}")


_PARAM_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": ["number", "string", "boolean"]},
        {"type": "array", "items": {"type": ["number", "string", "boolean"]}},
    ]
}
ParamValue = Annotated[Any, AfterValidator(_param_value), WithJsonSchema(_PARAM_SCHEMA)]
"""What a pack parameter may hold: a number, text (a duration text becomes a duration), a flag or a list."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


class Task(_Strict):
    """What the task made for each finding says, who owns it and when it is due."""

    title: str = Field(
        min_length=1,
        description="Template: text with {expression} placeholders and an optional |filter, e.g. "
        "'Call {plan.patient.first_name} ({plan.unscheduled_total|money})'. Write {{ and }} for braces.",
    )
    owner: str = Field(
        min_length=1,
        description="A role (e.g. treatment_coordinator), staff:<id>, or an expression giving either.",
        examples=["treatment_coordinator", "front_desk", "staff:s-1"],
    )
    priority: str = Field(
        default="normal",
        description="low | normal | high | urgent, or an expression giving one "
        '(quote string literals: \'"high" if plan.total >= 1000 else "normal"\').',
        json_schema_extra={"anyOf": [{"enum": list(PRIORITIES)}, {"type": "string"}]},
    )
    due: str = Field(
        min_length=1,
        description="A duration after the task opens (e.g. '1 business_day'), or an expression giving a datetime.",
        examples=["1 business_day", "4 business_hours", "opening.start - hours(1)"],
        json_schema_extra={
            "anyOf": [{"pattern": DURATION_PATTERN}, {"not": {"pattern": LOOKS_LIKE_DURATION_PATTERN}}]
        },
    )
    key: str | None = Field(
        default=None,
        description="Template naming the stall (default: the subject's id); one task per distinct key.",
    )
    continues: str | None = Field(
        default=None,
        min_length=1,
        description="The id of the rule whose stall this rule's finding is the next stage of (e.g. a 24-hour "
        "confirmation call continues the 72-hour one): the open task carries on, retitled and re-owned, "
        "instead of a new task. Both rules must name the stall alike (the same key template).",
        examples=["sched.unconfirmed.72h"],
    )


class Escalation(_Strict):
    """One step up the ladder when a task is still open after its due time."""

    after: DurationText = Field(description="Business time after `due` passes, e.g. '2 business_days'.")
    to: str | None = Field(default=None, description="A role or staff:<id> to hand the task to.")
    priority: PriorityWord | None = Field(default=None, description="The priority from this step on.")


class Expectation(_Strict):
    """One finding a test expects: a subject, or a group (its rendered key and its members)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=False,
        json_schema_extra={"oneOf": [{"required": ["subject"]}, {"required": ["group"]}]},
    )

    subject: str | None = Field(
        default=None, min_length=1, description="The subject's id (for an opening, its opening id; for a group, "
        "its first member)."
    )  # fmt: skip
    group: str | None = Field(
        default=None, min_length=1, description="A group's rendered key (the rule's task.key), instead of subject."
    )
    members: list[str] | None = Field(
        default=None, min_length=1, description="With group: the ids of every member of the group, in any order."
    )
    owner: str | None = Field(default=None, description="The expected owner (a role or staff:<id>).")

    @model_validator(mode="after")
    def _one_of_subject_or_group(self) -> Expectation:
        if (self.subject is None) == (self.group is None):
            raise ValueError("write either subject: <id> or group: <key> (with its members)")
        if self.members is not None and self.group is None:
            raise ValueError("members: goes with group: <key>")
        return self


class RuleTest(_Strict):
    """A test of one rule: a snapshot fragment, a time, and every finding expected."""

    name: str = Field(min_length=1, description="What the test shows, e.g. 'fires three business days later'.")
    now: AwareDatetime = Field(description="The evaluation time, with a UTC offset.")
    given: dict[str, Any] = Field(
        default_factory=dict,
        description="A snapshot fragment: any sections, optional practice (default: Mon-Fri 08:00-17:00 UTC) "
        "and as_of (default: now).",
    )
    params: dict[Name, ParamValue] = Field(default_factory=dict, description="Parameter overrides for this test.")
    expect: list[Expectation] = Field(description="Every finding of the rule (exhaustive); [] means it must not fire.")


class PackTestCase(RuleTest):
    """A test in a ``<pack>.tests.yaml`` file: a rule test that names its rule."""

    rule: RuleId = Field(description="The id of the rule under test.")


class Rule(_Strict):
    """One rule: which subjects it looks at, when it fires, and the task it makes."""

    id: RuleId = Field(description="Unique in the pack, e.g. treatment.unscheduled.first-touch.")
    title: str = Field(min_length=1, description="A short name for people.")
    description: str | None = Field(default=None, description="Why the rule exists; what the stall costs.")
    for_: Annotated[str, AfterValidator(_for_clause)] = Field(
        alias="for",
        description="'<entity type> [as <alias>]', e.g. 'treatment_plan as plan'.",
        examples=[f"{entity}" for entity in SUBJECT_TYPES],
        json_schema_extra={"pattern": rf"^({'|'.join(SUBJECT_TYPES)})(\s+as\s+[a-z_][a-z0-9_]*)?$"},
    )
    when: str = Field(min_length=1, description="An expression; the rule fires for subjects where it is true.")
    task: Task
    escalate: list[Escalation] = Field(default_factory=list, description="Steps, in order of `after`.")
    resolve: Annotated[str, AfterValidator(_resolve_mode)] = Field(
        default="auto",
        description="auto: the task closes when `when` stops holding; manual: only people close it.",
        json_schema_extra={"enum": ["auto", "manual"]},
    )
    enabled: StrictBool = Field(default=True, description="false turns the rule off without deleting it.")
    tests: list[RuleTest] = Field(default_factory=list, description="Tests run by `sophie test`.")


class Pack(_Strict):
    """A rule pack: a named, versioned set of rules with their parameters and tests."""

    pack: Annotated[str, AfterValidator(_pack_name)] = Field(
        description="The pack's name, e.g. dental-core.", json_schema_extra={"pattern": _json_pattern(_PACK_NAME)}
    )
    version: Annotated[str, AfterValidator(_semver)] = Field(
        description="Semantic version, e.g. 1.0.0.", json_schema_extra={"pattern": _json_pattern(_SEMVER)}
    )
    description: str | None = Field(default=None, description="What the pack is for.")
    roles: list[Name] = Field(default_factory=list, description="Roles the pack uses beyond the built-in ones.")
    params: dict[Name, ParamValue] = Field(
        default_factory=dict,
        description="Parameter defaults (rules read them as params.<name>); overridable per practice.",
    )
    rules: list[Rule] = Field(description="The rules, evaluated in this order.")

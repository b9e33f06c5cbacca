"""Tasks in words: evidence as money, times in the practice's zone, durations as people say them (pages and CLI).

A task's evidence is keyed by the rule's expressions (``age(plan.presented_at)``) with
JSON values (``"3 days, 3:33:23"``, ``"861.00"``, ISO times). The pages show the simple
ones as a sentence-like list (``Presented: 3 days ago``) and keep the rest under
"all evidence", every value rendered the same way. Nothing here is trusted: templates
escape it all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sophie.execution.tasks import JsonValue, Task

__all__ = [
    "Candidate",
    "EvidenceLine",
    "candidates",
    "evidence_lines",
    "local_time",
    "money",
    "relative_due",
    "value_text",
]

_TIMEDELTA = re.compile(r"^(?:(-?\d+) days?, )?(-?\d+):(\d\d):(\d\d)(?:\.\d+)?$")
_BUSINESS = re.compile(r"^(\d+(?:\.\d+)?) business_(day|hour|minute)s?$")
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
_SIMPLE_KEY = re.compile(r"^(?:[a-z_]+\()?[a-z_]+(?:\.[a-z_0-9]+)+\)?$")
_MONEY_WORDS = ("fee", "total", "amount", "expected", "paid", "balance", "over_30", "over_60", "over_90", "billed",
                "estimate", "current", "outstanding")  # fmt: skip
_FUNCTION_WORDS = {
    "age": "{} (how long ago)",
    "business_age": "{} (business time ago)",
    "days_since": "days since {}",
    "count": "number of {}",
}
_MAX_TEXT = 200


def money(value: Decimal | float | int | str) -> str:
    """Return an amount as ``$1,234.00`` (``-$5.00`` when negative)."""
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def local_time(value: datetime | str, zone: str) -> str:
    """Return a time in the practice's zone, as ``Mon Dec 7, 8:00 AM``."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a %b} {local.day}, {local.hour % 12 or 12}:{local:%M %p}"


def _duration_words(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86_400:
        text = f"{int(seconds // 86_400)} days"
    elif seconds >= 86_400:
        text = "1 day"
    elif seconds >= 7_200:
        text = f"{int(seconds // 3_600)} hours"
    elif seconds >= 3_600:
        text = "1 hour"
    else:
        minutes = max(1, int(seconds // 60))
        text = f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"-{text}" if delta.total_seconds() < 0 else text


def value_text(key: str, value: JsonValue, zone: str) -> str:
    """Return one evidence value in words (money, local time, durations, yes/no)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    last = key.rsplit(".", 1)[-1].rstrip(")")
    if isinstance(value, int | float | str) and any(word in last for word in _MONEY_WORDS):
        try:
            return money(value)
        except (InvalidOperation, ValueError):
            pass
    if isinstance(value, str):
        found = _TIMEDELTA.match(value)
        if found:
            days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
            return _duration_words(timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds))
        business = _BUSINESS.match(value)
        if business:
            amount, unit = business.groups()
            return f"{amount} business {unit}" + ("" if amount == "1" else "s")
        if _ISO_TIME.match(value):
            try:
                return local_time(value, zone)
            except ValueError:
                pass
        return value[:_MAX_TEXT]
    if isinstance(value, list):
        return ", ".join(value_text(key, item, zone) for item in value[:10]) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_text(k, v, zone)}" for k, v in list(value.items())[:10])
    return str(value)[:_MAX_TEXT]


def _label(key: str) -> str:
    function, _, inner = key.partition("(")
    if inner:
        words = inner.rstrip(")").split(".")[-1].replace("_", " ")
        return _FUNCTION_WORDS.get(function, function.replace("_", " ") + " of {}").format(words).capitalize()
    return key.split(".", 1)[-1].replace(".", " ").replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One piece of why a task exists.

    Attributes:
        label: What it is, in words (or the rule's expression for complex ones).
        value: Its value, in words.
        simple: Whether it reads plainly (shown first; the rest under "all evidence").
    """

    label: str
    value: str
    simple: bool


def evidence_lines(task: Task) -> list[EvidenceLine]:
    """Return a task's evidence in words, plain facts first (parameters and candidates left out).

    A group's evidence (``members``, ``count`` and ``group.sum(...)`` totals) reads as one
    subject's when the group has one member, and as one line per member (its plain facts,
    at most :data:`MAX_MEMBER_LINES` members) with the group's totals when it has several.
    """
    lines = _lines(task.evidence, task.timezone)
    lines.sort(key=lambda line: not line.simple)
    return lines


MAX_MEMBER_LINES = 10
"""How many of a group's members :func:`evidence_lines` lists one by one (the rest are counted)."""

_GROUP_WORDS = {"sum": "{} (all records)", "min": "smallest {} (all records)", "max": "largest {} (all records)",
                "count": "number of {} (all records)"}  # fmt: skip


def _lines(evidence: Mapping[str, JsonValue], zone: str) -> list[EvidenceLine]:
    lines = []
    members = evidence.get("members")
    alone = isinstance(members, list) and len(members) == 1  # its totals are its own values
    for key, value in evidence.items():
        if key in ("candidates", "members", "count") or "params." in key or (alone and key.startswith("group.")):
            continue
        if key.startswith("group."):
            function, _, inner = key.removeprefix("group.").partition("(")
            words = inner.rstrip(")").split(".")[-1].replace("_", " ")
            label = _GROUP_WORDS.get(function, function.replace("_", " ") + " of {}").format(words).capitalize()
            lines.append(EvidenceLine(label[:_MAX_TEXT], value_text(key, value, zone), True))
            continue
        simple = bool(_SIMPLE_KEY.match(key)) and not key.startswith(("days(", "business_days(", "hours("))
        text = value_text(key, value, zone)
        lines.append(EvidenceLine(_label(key) if simple else key[:_MAX_TEXT], text, simple))
    if isinstance(members, list):
        lines.extend(_member_lines([member for member in members if isinstance(member, Mapping)], zone))
    return lines


def _member_lines(members: list[Mapping[str, JsonValue]], zone: str) -> list[EvidenceLine]:
    """Return a group's members in words: one member's facts as its own, else one line per member."""

    def facts(member: Mapping[str, JsonValue]) -> list[EvidenceLine]:
        evidence = member.get("evidence")
        return _lines(evidence, zone) if isinstance(evidence, Mapping) else []

    if len(members) == 1:
        return facts(members[0])
    lines = [EvidenceLine("Records in this task", str(len(members)), True)]
    for member in members[:MAX_MEMBER_LINES]:
        kind = str(member.get("type") or "record").replace("_", " ")
        label = f"{kind} {member.get('id', '?')}"[:_MAX_TEXT]
        plain = [line for line in facts(member) if line.simple][:4]
        value = "; ".join(f"{line.label.lower()}: {line.value}" for line in plain) or "(no plain facts)"
        lines.append(EvidenceLine(label, value, True))
    if len(members) > MAX_MEMBER_LINES:
        lines.append(EvidenceLine("More records", f"{len(members) - MAX_MEMBER_LINES} not listed", True))
    return lines


@dataclass(frozen=True, slots=True)
class Candidate:
    """A patient who could fill an opening, and what to offer them.

    Attributes:
        rank: 1 for the best.
        name: First name and last initial.
        offer: What to offer (the need the opening would meet).
        minutes: How long the visit takes.
        source: Where the need comes from (ASAP list, unscheduled treatment...).
    """

    rank: int
    name: str
    offer: str
    minutes: str
    source: str


def candidates(evidence: Mapping[str, JsonValue]) -> list[Candidate]:
    """Return an opening task's ranked candidates (empty for other tasks)."""
    ranked = evidence.get("candidates")
    if not isinstance(ranked, list):
        return []
    found = []
    for number, item in enumerate(ranked, start=1):
        if isinstance(item, Mapping):
            found.append(
                Candidate(number, str(item.get("name") or "?")[:80], str(item.get("need") or "")[:_MAX_TEXT],
                          str(item.get("minutes") or ""), str(item.get("source") or "").replace("_", " "))
            )  # fmt: skip
    return found


def relative_due(due: datetime, now: datetime) -> str:
    """Return how a due time stands: ``overdue by 2 days``, ``due in 3 hours``."""
    delta = due - now
    if delta.total_seconds() < 0:
        return f"overdue by {_duration_words(-delta)}"
    return f"due in {_duration_words(delta)}"

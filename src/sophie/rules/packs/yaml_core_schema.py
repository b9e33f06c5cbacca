"""How a plain YAML scalar resolves under the YAML 1.2 core schema.

Only ``true``/``false`` (any case style) are booleans, so ``yes``, ``no``, ``on``,
``off`` and ``NO`` stay text; integers are decimal, ``0o`` octal or ``0x`` hex; there
are no sexagesimal numbers (``1:30`` is text) and no timestamps.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["resolve_plain"]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)\Z")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"^0o[0-7]+\Z")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)\Z")


def resolve_plain(text: str) -> Any:
    """Return what the plain (unquoted, untagged) scalar ``text`` means: null, a flag, a number or text."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _INT_OCT.match(text):
        return int(text[2:], 8)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text

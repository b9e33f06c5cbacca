"""The typed records that registration hooks return.

Names are normalised to lower case. A plugin returns these from its hook
implementations; sophie checks them (a wrong type is reported against the plugin)
and rejects two records of one kind with the same name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sophie.adapters.base import Adapter

__all__ = ["AdapterFactory", "AdapterInfo", "NotifierInfo", "RulePackSource"]

_NAME = re.compile(r"^[a-z][a-z0-9_.-]*\Z")

AdapterFactory = Callable[..., "Adapter"]
"""Called as ``factory(source=SOURCE_OR_NONE)``; returns a ready adapter."""


def _normal_name(kind: str, name: str) -> str:
    normal = name.strip().lower()
    if not _NAME.match(normal):
        raise ValueError(f"{kind} name {name!r} must start with a letter and use only a-z, 0-9, '_', '-', '.'")
    return normal


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter a plugin provides.

    Attributes:
        name: What users type after ``--adapter``.
        factory: Builds the adapter: ``factory(source=...)``.
        description: One line for ``sophie plugins``.
    """

    name: str
    factory: AdapterFactory
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _normal_name("adapter", self.name))


@dataclass(frozen=True)
class NotifierInfo:
    """A notifier a plugin provides.

    Attributes:
        name: The notifier's name in configuration.
        factory: Builds the notifier from its settings.
        description: One line for ``sophie plugins``.
    """

    name: str
    factory: Callable[..., Any]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _normal_name("notifier", self.name))


@dataclass(frozen=True)
class RulePackSource:
    """A rule pack a plugin ships, referred to by name.

    Attributes:
        name: The pack's name (``--pack NAME``); must match the ``pack:`` key in the file.
        path: The pack's YAML file. Tests may sit beside it as ``<name>.tests.yaml``.
        description: One line for ``sophie plugins``.
    """

    name: str
    path: Path
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _normal_name("rule pack", self.name))

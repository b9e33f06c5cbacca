"""Pack parameters: defaults with overrides applied, checked against each default's type.

:func:`resolve_params` gives each pack its parameters for one evaluation (a name
applies to every pack declaring it, ``<pack>.<name>`` to one); :func:`coerce_param`
checks one override; :func:`parse_param_overrides` types the ``name=value`` texts of
``--param`` by each default's type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sophie.errors import ConfigurationError
from sophie.model.calendar import BusinessDuration
from sophie.rules.diagnostics import suggest
from sophie.rules.language.durations import DurationSyntaxError, parse_duration
from sophie.rules.language.types import type_of_value
from sophie.rules.probes import plain_value

if TYPE_CHECKING:
    from sophie.rules.packs.compiled_pack import CompiledPack

__all__ = ["coerce_param", "parse_param_overrides", "resolve_params"]


def _of(pack: str | None) -> str:
    return f" of pack {pack}" if pack else ""


def coerce_param(pack: str | None, name: str, default: object, value: object) -> object:
    """Return ``value`` as an override of parameter ``name`` (default ``default``) of ``pack``.

    ``pack`` (the pack's name) is only used in messages; ``None`` leaves it out.

    Raises:
        ConfigurationError: When the value's type does not fit the default's.
    """
    if isinstance(default, timedelta | BusinessDuration) and isinstance(value, str):
        try:
            return parse_duration(value).value()
        except DurationSyntaxError as err:
            raise ConfigurationError(f"parameter {name}{_of(pack)}: {err}") from None
    try:
        wanted, got = type_of_value(default), type_of_value(value)
    except TypeError as err:
        raise ConfigurationError(f"parameter {name}{_of(pack)}: {err}") from None
    same = wanted.kind == got.kind
    widening = wanted.kind in ("number", "decimal") and got.kind in ("int", "number")
    lists = wanted.kind == got.kind == "list" and (
        wanted.item is None or got.item is None or got.item.kind in (wanted.item.kind, "any")
    )
    if (wanted.kind == "list" and not lists) or not (same or widening):
        raise ConfigurationError(
            f"parameter {name}{_of(pack)} takes {wanted.describe()} (default {plain_value(default)!r}), "
            f"got {plain_value(value)!r}"
        )
    return tuple(value) if isinstance(value, list) else value


def _targets(packs: Sequence[CompiledPack], name: str) -> list[tuple[int, str]]:
    found = [(number, name) for number, pack in enumerate(packs) if name in pack.params]
    if not found and "." in name:
        prefix, short = name.rsplit(".", 1)
        found = [(n, short) for n, pack in enumerate(packs) if pack.name == prefix and short in pack.params]
    if not found:
        known = sorted({p for pack in packs for p in pack.params})
        hint = suggest(name, known)
        raise ConfigurationError(
            f"unknown parameter {name!r}" + (f"; did you mean {hint!r}?" if hint else f" (known: {', '.join(known)})")
        )
    return found


def resolve_params(packs: Sequence[CompiledPack], params: Mapping[str, object] | None) -> list[dict[str, object]]:
    """Return each pack's parameters: its defaults with ``params`` applied.

    A name applies to every pack that declares it; ``<pack>.<name>`` names one pack.

    Raises:
        ConfigurationError: For a name no pack declares, or a value of the wrong type.
    """
    resolved = [dict(pack.params) for pack in packs]
    for name, value in (params or {}).items():
        for number, short in _targets(packs, name):
            pack = packs[number]
            resolved[number][short] = coerce_param(pack.name, short, pack.params[short], value)
    return resolved


def _parse_text(default: object, text: str) -> object:
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, Decimal):
        return Decimal(text)
    if isinstance(default, list | tuple):
        item = default[0] if default else ""
        return [_parse_text(item, part.strip()) for part in text.split(",") if part.strip()]
    return text


def parse_param_overrides(packs: Sequence[CompiledPack], pairs: Sequence[str]) -> dict[str, object]:
    """Turn ``name=value`` texts (``--param``) into typed overrides, by each default's type.

    Raises:
        ConfigurationError: For a malformed pair, an unknown name or a value of the wrong type.
    """
    overrides: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigurationError(f"--param takes NAME=VALUE, got {pair!r}")
        number, short = _targets(packs, name)[0]
        default = packs[number].params[short]
        try:
            overrides[name] = _parse_text(default, text)
        except (ValueError, InvalidOperation) as err:
            raise ConfigurationError(f"--param {name}: {err}") from None
    return overrides

"""Reading ``sophie.toml``: stdlib ``tomllib``, then the models, with every error located.

``tomllib`` locates syntax errors but not a value that parses and is wrong; for those
the key's line is found by scanning the file's text for its table headers and keys, so
every problem reads ``FILE:LINE: key a.b.c: message``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sophie.config.models import LedgerConfig, PracticeConfig, ServerConfig, SophieConfig
from sophie.errors import ConfigurationError

__all__ = ["CONFIG_FILE_NAME", "ConfigFileError", "find_config", "key_lines", "load_config", "parse_config"]

CONFIG_FILE_NAME = "sophie.toml"
"""The file commands read from the current directory when ``--config`` is not given."""

_TOP_KEYS = ("ledger", "practice", "defaults", "practices", "server")
_MERGED_TABLES = ("ownership", "capacity", "params", "adapter_settings")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_SYNTAX_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


class ConfigFileError(ConfigurationError):
    """A configuration file that cannot be used, located at a line (and key).

    Attributes:
        path: The file.
        line: The 1-based line of the problem (0 when the whole file is concerned).
        key: The dotted key concerned, when there is one.
    """

    def __init__(self, path: str, line: int, message: str, *, key: str | None = None, column: int | None = None):
        self.path, self.line, self.key = path, line, key
        where = f"{path}:{line}:" if line else f"{path}:"
        if column is not None:
            where += f"{column}:"
        super().__init__(f"{where} " + (f"key {key}: " if key else "") + message)


def _parts(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", dotted)]


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Return the line of every table header and key in a TOML text, by its full path.

    Arrays of tables count their entries: the second ``[[practices]]`` is ``("practices", 1)``.
    Keys inside inline tables are not listed (their enclosing key's line stands for them).
    """
    lines: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str | int, ...], int] = {}
    current: tuple[str | int, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith(("#",)) and "=" not in raw.split("]")[0]:
            names = _parts(header.group(2))
            path: list[str | int] = []
            for name in names[:-1]:  # an inner array of tables resolves to its latest entry
                path.append(name)
                if tuple(path) in counts:
                    path.append(counts[tuple(path)] - 1)
            path.append(names[-1])
            if header.group(1) == "[[":
                index = counts.get(tuple(path), 0)
                counts[tuple(path)] = index + 1
                path.append(index)
            current = tuple(path)
            lines.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            lines.setdefault((*current, *_parts(key.group(1))), number)
    return lines


def _locate(lines: Mapping[tuple[str | int, ...], int], loc: Sequence[str | int]) -> int:
    for size in range(len(loc), 0, -1):
        if tuple(loc[:size]) in lines:
            return lines[tuple(loc[:size])]
    return 0


def _dotted(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _merge(defaults: Mapping[str, Any], practice: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in practice.items():
        if key in _MERGED_TABLES and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _error(
    path: str, lines: Mapping[tuple[str | int, ...], int], loc: Sequence[str | int], message: str
) -> ConfigFileError:
    return ConfigFileError(path, _locate(lines, loc), message, key=_dotted(loc) or None)


def _validated(
    model: type[Any],
    data: object,
    loc: tuple[str | int, ...],
    path: str,
    lines: Mapping[tuple[str | int, ...], int],
    fallback: tuple[str | int, ...] | None = None,
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = (*loc, *(part for part in first["loc"] if part != "__root__"))
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        elif first["type"] == "missing":
            message = "is required"
        if fallback is not None and _locate(lines, where) == _locate(lines, loc):
            alternative = (*fallback, *where[len(loc) :])
            if _locate(lines, alternative) and len(alternative) > len(fallback):
                raise _error(path, lines, alternative, message) from None
        raise _error(path, lines, where, message) from None


def parse_config(text: str, *, path: str = CONFIG_FILE_NAME) -> SophieConfig:
    """Return the configuration a TOML text describes (``path`` only names it in errors).

    Raises:
        ConfigFileError: The text is not TOML, or a key is unknown, missing or has a bad value.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = _SYNTAX_AT.search(str(err))
        message = _SYNTAX_AT.sub("", str(err)).strip()
        if found:
            raise ConfigFileError(path, int(found.group(1)), message, column=int(found.group(2))) from None
        raise ConfigFileError(path, 0, message) from None
    lines = key_lines(text)
    for key in data:
        if key not in _TOP_KEYS:
            raise _error(path, lines, (key,), f"unknown table; use {', '.join(_TOP_KEYS)}")
    single, group = "practice" in data, "practices" in data
    if single == group:
        message = "has both [practice] and [[practices]]" if single else "names no [practice] (or [[practices]])"
        raise ConfigFileError(path, 0, f"the file {message}")
    if "defaults" in data and not group:
        raise _error(path, lines, ("defaults",), "[defaults] goes with [[practices]] (a group); use [practice]")
    for table in ("ledger", "server", "defaults", "practice"):
        if table in data and not isinstance(data[table], dict):
            raise _error(path, lines, (table,), "must be a table")
    practices: list[PracticeConfig] = []
    if single:
        practices.append(_validated(PracticeConfig, data["practice"], ("practice",), path, lines))
        if practices[0].id is not None:
            raise _error(path, lines, ("practice", "id"), "a single practice has no id; use [[practices]] for a group")
    else:
        entries = data["practices"]
        if not isinstance(entries, list) or not entries:
            raise _error(path, lines, ("practices",), "must be one or more [[practices]] tables")
        defaults = data.get("defaults", {})
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            loc: tuple[str | int, ...] = ("practices", index)
            if not isinstance(entry.get("id"), str) or not entry["id"].strip():
                raise _error(path, lines, (*loc, "id"), "each practice of a group needs an id")
            if entry["id"] in seen:
                raise _error(path, lines, (*loc, "id"), f"practice id {entry['id']!r} appears twice")
            seen.add(entry["id"])
            merged = _merge(defaults, entry)
            practices.append(_validated(PracticeConfig, merged, loc, path, lines, fallback=("defaults",)))
    ledger = _validated(LedgerConfig, data.get("ledger", {}), ("ledger",), path, lines)
    server = _validated(ServerConfig, data.get("server", {}), ("server",), path, lines)
    return SophieConfig(path=Path(path), ledger=ledger, practices=tuple(practices), server=server)


def load_config(path: str | Path) -> SophieConfig:
    """Read and check a ``sophie.toml``.

    Raises:
        ConfigFileError: The file cannot be read, is not TOML, or has a bad key (located).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigFileError(str(path), 0, f"cannot read the file: {getattr(err, 'strerror', None) or err}") from None
    return parse_config(text, path=str(path))


def find_config(explicit: str | Path | None, *, directory: Path | None = None) -> Path | None:
    """Return the configuration file a command uses: ``explicit``, else ``./sophie.toml`` if present.

    Raises:
        ConfigFileError: ``explicit`` names a file that does not exist.
    """
    if explicit is not None:
        if not Path(explicit).is_file():
            raise ConfigFileError(str(explicit), 0, "no such file")
        return Path(explicit)
    candidate = (directory or Path.cwd()) / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None

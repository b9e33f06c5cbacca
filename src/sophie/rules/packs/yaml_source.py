"""Safe YAML that remembers where every value came from.

Pack files are read from PyYAML's event stream (libyaml when available) by a small
composer of our own, so that nothing but plain data can come out of a file:

- anchors, aliases and merge keys (``<<``) are refused (they are how a few lines of
  YAML expand into gigabytes, and packs do not need them);
- explicit tags other than the core schema's (``!!str``, ``!!int``, ``!!float``,
  ``!!bool``, ``!!null``, ``!!map``, ``!!seq``) are refused, so ``!!python/object``
  never gets near a constructor;
- duplicate mapping keys are errors, not "last one wins";
- size, nesting depth and node count are capped before any work is done.

Plain scalars are resolved with the YAML 1.2 core schema (see
:mod:`sophie.rules.packs.yaml_core_schema`): only ``true``/``false`` are booleans (``yes``,
``no``, ``on``, ``off`` and ``NO`` stay text), there are no sexagesimal numbers
(``1:30`` is text) and no timestamps (datetimes stay text and are parsed by the
models that expect them). Mapping keys are always text.

Every value is recorded in a :class:`SourceMap` under its path (``("rules", 0,
"when")``), so that any later problem can be reported as ``FILE:LINE:COL``; places
inside a scalar are found by :mod:`sophie.rules.packs.scalar_positions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sophie.errors import Diagnostic, RuleError
from sophie.rules.packs.scalar_positions import LineIndex, Mark, ScalarSpan, mark_in_scalar
from sophie.rules.packs.yaml_core_schema import resolve_plain

__all__ = [
    "DEFAULT_LIMITS",
    "Mark",
    "PathKey",
    "ScalarSpan",
    "SourceMap",
    "YamlDocument",
    "YamlLimits",
    "parse_yaml",
    "read_yaml_file",
]

PathKey = tuple[str | int, ...]
"""The path of a value inside a document: mapping keys and sequence indexes."""

_YAML = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "null", "map", "seq"))

try:  # libyaml is faster and its parser is not recursive
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class YamlLimits:
    """Caps applied before and while reading a file.

    Attributes:
        max_bytes: Largest file accepted, in bytes of UTF-8.
        max_depth: Deepest nesting of mappings and sequences.
        max_nodes: Most values (scalars, mappings, sequences) in one file.
    """

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 250_000


DEFAULT_LIMITS = YamlLimits()


@dataclass
class _Node:
    kind: str  # "scalar" | "seq" | "map"
    start: Mark
    end: Mark
    tag: str | None = None
    value: str = ""
    style: str = ""
    start_index: int = 0
    end_index: int = 0
    items: list[_Node] = field(default_factory=list)
    pairs: list[tuple[_Node, _Node]] = field(default_factory=list)


class SourceMap:
    """Where each value of a document sits in its file.

    Attributes:
        file: The file name used in diagnostics.
        text: The whole source text.
    """

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self._values: dict[PathKey, Mark] = {}
        self._keys: dict[PathKey, Mark] = {}
        self._scalars: dict[PathKey, ScalarSpan] = {}
        self._lines = LineIndex(text)

    def value_mark(self, path: PathKey) -> Mark | None:
        """Return where the value at ``path`` starts, or ``None`` when there is no such value."""
        return self._values.get(tuple(path))

    def key_mark(self, path: PathKey) -> Mark | None:
        """Return where the mapping key of the entry at ``path`` starts."""
        return self._keys.get(tuple(path))

    def scalar(self, path: PathKey) -> ScalarSpan | None:
        """Return the source span of the scalar at ``path`` (for positions inside it)."""
        return self._scalars.get(tuple(path))

    def locate(self, path: PathKey, *, key: bool = False) -> Mark:
        """Return the best position for ``path``: the value (or its key), else the nearest parent."""
        path = tuple(path)
        if key and path in self._keys:
            return self._keys[path]
        while path:
            if path in self._values:
                return self._values[path]
            path = path[:-1]
        return self._values.get((), Mark(1, 1))

    def mark_in_scalar(self, path: PathKey, offset: int) -> Mark:
        """Return the file position of character ``offset`` of the scalar's value at ``path``.

        Exact for plain scalars on one line and for literal blocks (``|``); best effort
        for folded blocks (``>``), multi-line plain scalars and quoted scalars with escapes.
        """
        span = self._scalars.get(tuple(path))
        if span is None:
            return self.locate(path)
        return mark_in_scalar(self._lines, span, offset)

    def diagnostic(
        self,
        path: PathKey,
        message: str,
        *,
        key: bool = False,
        rule_id: str | None = None,
        suggestion: str | None = None,
    ) -> Diagnostic:
        """Return a diagnostic located at ``path`` (its key when ``key`` is true)."""
        mark = self.locate(path, key=key)
        return Diagnostic(self.file, mark.line, mark.column, message, rule_id=rule_id, suggestion=suggestion)

    def _record(self, path: PathKey, node: _Node, key: _Node | None) -> None:
        self._values[path] = node.start
        if key is not None:
            self._keys[path] = key.start
        if node.kind == "scalar":
            self._scalars[path] = ScalarSpan(node.style, node.value, node.start, node.start_index, node.end_index)


@dataclass(frozen=True)
class YamlDocument:
    """A YAML document as plain Python values, with the position of each.

    Attributes:
        data: ``dict``/``list``/``str``/``int``/``float``/``bool``/``None`` values.
        source: Where each value came from.
    """

    data: Any
    source: SourceMap


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[Diagnostic] = []

    def add(self, mark: Mark, message: str) -> None:
        self.found.append(Diagnostic(self.file, mark.line, mark.column, message))

    def fail(self, mark: Mark, message: str) -> RuleError:
        self.add(mark, message)
        return RuleError(self.found)


def _mark(event_mark: Any) -> Mark:
    return Mark(event_mark.line + 1, event_mark.column + 1)


def _index(event_mark: Any) -> int:
    return int(event_mark.index)


def _events(text: str) -> Iterator[Any]:
    loader = _Loader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def _check_node_event(event: Any, problems: _Problems) -> None:
    mark = _mark(event.start_mark)
    if event.anchor is not None:
        problems.add(mark, f"anchors and aliases are not allowed (found anchor &{event.anchor})")
    tag = event.tag
    if tag is not None and tag != "!" and tag not in _ALLOWED_TAGS:
        shown = "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag
        problems.add(mark, f"tag {shown} is not allowed; packs hold plain text, numbers, lists and mappings")


def _compose(text: str, problems: _Problems, limits: YamlLimits) -> _Node | None:
    """Build the node tree from the event stream, iteratively (no recursion limit to hit)."""
    stack: list[_Node] = []
    root: _Node | None = None
    documents = 0
    nodes = 0
    for event in _events(text):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise problems.fail(_mark(event.start_mark), "a pack file holds one YAML document; remove the '---'")
            continue
        if isinstance(event, yaml.AliasEvent):
            raise problems.fail(
                _mark(event.start_mark), f"anchors and aliases are not allowed (found alias *{event.anchor})"
            )
        if isinstance(event, yaml.CollectionEndEvent):
            node = stack.pop()
            node.end = _mark(event.end_mark)
            node.end_index = _index(event.end_mark)
            root = _attach(stack, node, problems) or root
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        nodes += 1
        if nodes > limits.max_nodes:
            raise problems.fail(_mark(event.start_mark), f"the file has more than {limits.max_nodes} values")
        _check_node_event(event, problems)
        start = _mark(event.start_mark)
        if isinstance(event, yaml.ScalarEvent):
            node = _Node("scalar", start, _mark(event.end_mark), event.tag, event.value, event.style or "")
            node.start_index, node.end_index = _index(event.start_mark), _index(event.end_mark)
            root = _attach(stack, node, problems) or root
        else:
            kind = "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
            if len(stack) >= limits.max_depth:
                raise problems.fail(start, f"the file is nested more than {limits.max_depth} levels deep")
            tag = getattr(event, "tag", None)
            stack.append(_Node(kind, start, start, tag, start_index=_index(event.start_mark)))
    return root


def _attach(stack: list[_Node], node: _Node, problems: _Problems) -> _Node | None:
    """Attach ``node`` to its parent; return it when it is the document root."""
    if not stack:
        return node
    parent = stack[-1]
    if parent.kind == "seq":
        parent.items.append(node)
    elif parent.pairs and parent.pairs[-1][1] is _PENDING:
        parent.pairs[-1] = (parent.pairs[-1][0], node)
    else:
        if node.kind != "scalar":
            problems.add(node.start, "mapping keys must be plain text, not lists or mappings")
        elif node.style == "" and node.value == "<<":
            problems.add(node.start, "merge keys (<<) are not allowed; write the keys out")
        else:
            for key, _ in parent.pairs:
                if key.kind == "scalar" and key.value == node.value:
                    problems.add(node.start, f"duplicate key {node.value!r} (first at line {key.start.line})")
                    break
        parent.pairs.append((node, _PENDING))
    return None


_PENDING = _Node("scalar", Mark(0, 0), Mark(0, 0))


def _scalar_value(node: _Node, problems: _Problems) -> Any:
    tag = node.tag
    if tag is None:
        return resolve_plain(node.value) if node.style == "" else node.value
    if tag in ("!", _YAML + "str"):
        return node.value
    if tag not in _ALLOWED_TAGS:
        return node.value  # already reported
    value = resolve_plain(node.value)
    wanted = tag[len(_YAML) :]
    types = {"int": (int,), "float": (float, int), "bool": (bool,), "null": (type(None),)}.get(wanted, ())
    if not isinstance(value, types) or (wanted != "bool" and isinstance(value, bool)):
        problems.add(node.start, f"{node.value!r} is not a valid !!{wanted}")
        return node.value
    return float(value) if wanted == "float" and isinstance(value, int | float) else value


def _convert(node: _Node, path: PathKey, key: _Node | None, source: SourceMap, problems: _Problems) -> Any:
    source._record(path, node, key)
    if node.kind == "scalar":
        return _scalar_value(node, problems)
    if node.tag not in (None, "!", _YAML + node.kind):
        return None
    if node.kind == "seq":
        return [_convert(item, (*path, i), None, source, problems) for i, item in enumerate(node.items)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.pairs:
        name = key_node.value
        if key_node.kind != "scalar" or name in result:
            continue
        result[name] = _convert(value_node, (*path, name), key_node, source, problems)
    return result


def _syntax_message(err: yaml.MarkedYAMLError, text: str) -> str:
    problem = err.problem or "invalid YAML"
    mark = err.problem_mark
    if "\\t" in problem or (mark is not None and text[mark.index : mark.index + 1] == "\t"):
        return "tab characters cannot indent YAML; use spaces"
    indentation = _indentation_hint(err, text)
    if indentation:
        return indentation
    message = f"invalid YAML: {problem}"
    if err.context:
        message += f" ({err.context})"
    return message


def _indentation_hint(err: yaml.MarkedYAMLError, text: str) -> str | None:
    """Explain a mapping broken by a mis-indented line, in the analyst's terms."""
    bad = err.problem_mark
    if bad is None:
        return None
    lines = text.splitlines()
    row = lines[bad.line] if bad.line < len(lines) else ""
    indent = _indent_of(row)
    word = row.strip().split(":", 1)[0][:40] or "this line"
    above = next(
        (n for n in range(bad.line - 1, -1, -1) if lines[n].strip() and not lines[n].lstrip().startswith("#")), None
    )
    if above is None:
        return None
    prev = _indent_of(lines[above])
    prev_word = lines[above].strip().lstrip("- ").split(":", 1)[0][:40]
    start = err.context_mark
    if "block mapping" in (err.context or "") and start is not None and start.line != bad.line:
        levels = sorted({prev, start.column}, reverse=True)
        choices = " or ".join(f"{n} spaces" for n in levels)
        return (
            f"line {bad.line + 1} is indented {indent} spaces, which lines up with no mapping above it: "
            f"indent {word!r} by {choices} to make it a key of the mapping it belongs to "
            f"({prev_word!r} on line {above + 1} is at {prev})"
        )
    if "mapping values are not allowed" in (err.problem or "") and indent > prev and bad.line != above:
        return (
            f"line {bad.line + 1} is indented {indent} spaces, more than {prev_word!r} on line {above + 1} "
            f"({prev}): if {word!r} is a key of the same mapping, indent it by {prev} spaces"
        )
    return None


def _indent_of(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _reader_problem(err: yaml.reader.ReaderError, text: str) -> tuple[Mark, str]:
    """Locate a character YAML refuses (a NUL byte, a control character) at its own line and column."""
    before = text[: err.position]
    line = before.count("\n") + 1
    column = err.position - (before.rfind("\n") + 1) + 1
    character = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "\0")
    return Mark(line, column), f"invalid YAML: character U+{character:04X} is not allowed here; remove it"


def parse_yaml(text: str, *, file: str = "<string>", limits: YamlLimits = DEFAULT_LIMITS) -> YamlDocument:
    """Parse one YAML document safely, keeping the position of every value.

    Args:
        text: The YAML source.
        file: The name used in diagnostics.
        limits: Size, depth and node caps.

    Returns:
        The plain data and its source map.

    Raises:
        RuleError: Every problem found (syntax, anchors, tags, duplicate keys, limits),
            each located.
    """
    problems = _Problems(file)
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_bytes:
        raise problems.fail(Mark(1, 1), f"the file is {size} bytes; the limit is {limits.max_bytes}")
    try:
        root = _compose(text, problems, limits)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise problems.fail(_mark(mark) if mark else Mark(1, 1), _syntax_message(err, text)) from None
    except yaml.reader.ReaderError as err:
        raise problems.fail(*_reader_problem(err, text)) from None
    except yaml.YAMLError as err:
        raise problems.fail(Mark(1, 1), f"invalid YAML: {err}") from None
    except (RecursionError, MemoryError, OverflowError) as err:
        raise problems.fail(Mark(1, 1), f"the file cannot be read safely ({type(err).__name__})") from None
    source = SourceMap(file, text)
    data = None if root is None else _convert(root, (), None, source, problems)
    if root is None:
        source._values[()] = Mark(1, 1)
    if problems.found:
        raise RuleError(problems.found)
    return YamlDocument(data, source)


def read_yaml_file(path: str | Path, *, limits: YamlLimits = DEFAULT_LIMITS, name: str | None = None) -> YamlDocument:
    """Read a YAML file safely (see :func:`parse_yaml`).

    Args:
        path: The file.
        limits: Size, depth and node caps; the size is checked before reading.
        name: The file name to show in diagnostics (default: ``path`` as given).

    Raises:
        RuleError: The file cannot be read, is not UTF-8, or is not acceptable YAML.
    """
    file = name or str(path)
    problems = _Problems(file)
    location = Path(path)
    try:
        size = location.stat().st_size
        if size > limits.max_bytes:
            raise problems.fail(Mark(1, 1), f"the file is {size} bytes; the limit is {limits.max_bytes}")
        raw = location.read_bytes()
    except OSError as err:
        raise problems.fail(Mark(1, 1), f"cannot read the file: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise problems.fail(Mark(line, 1), "the file is not UTF-8 text") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_yaml(text, file=file, limits=limits)

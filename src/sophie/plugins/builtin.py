"""sophie's own adapters, rule packs and rule functions, registered through the public hooks.

Third-party plugins use exactly the same hooks; nothing built in is special-cased.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sophie.adapters.demo.adapter import DemoAdapter
from sophie.adapters.opendental import plugin as opendental_plugin
from sophie.notifiers.plugin import sophie_notifiers
from sophie.plugins.hookspecs import hookimpl
from sophie.plugins.records import AdapterInfo, RulePackSource

if TYPE_CHECKING:
    from sophie.adapters.base import Adapter
    from sophie.rules.language.functions import RuleFunction

__all__ = ["sophie_adapters", "sophie_notifiers", "sophie_rule_functions", "sophie_rule_packs"]

PACKS_DIR = Path(__file__).parent.parent / "rules" / "packs" / "builtin"


def _files(source: str | None = None) -> Adapter:
    from sophie.adapters.files import FilesAdapter
    from sophie.errors import ConfigurationError

    if not source:
        raise ConfigurationError("the files adapter needs --source PATH (a snapshot .json or .yaml file)")
    return FilesAdapter(source)


def _demo(source: str | None = None) -> Adapter:
    return DemoAdapter()


@hookimpl
def sophie_adapters() -> Iterator[AdapterInfo]:
    """The ``demo`` and ``files`` adapters."""
    yield AdapterInfo("demo", _demo, "a deterministic synthetic practice with planted stalls")
    yield AdapterInfo("files", _files, "a snapshot from a JSON or YAML file (--source PATH)")
    yield from opendental_plugin.sophie_adapters()


@hookimpl
def sophie_rule_packs() -> Iterator[RulePackSource]:
    """The packs shipped inside the package (``rules/packs/builtin/<name>.yaml``)."""
    for path in sorted(PACKS_DIR.glob("*.yaml")):
        if not path.name.endswith(".tests.yaml"):
            yield RulePackSource(path.stem, path, f"built-in pack {path.stem}")


@hookimpl
def sophie_rule_functions() -> Iterator[RuleFunction]:
    """The built-in functions of the rule language."""
    from sophie.rules.language.functions import FunctionRegistry

    registry = FunctionRegistry.builtin()
    for name in registry.names():
        function = registry.get(name)
        if function is not None:
            yield function

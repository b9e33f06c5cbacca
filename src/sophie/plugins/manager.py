"""Loading plugins and asking them what they provide.

:class:`Plugins` wraps a pluggy manager. It registers sophie's built-ins first,
then loads the ``sophie`` entry points one by one: a plugin that fails to import
is reported (``problems``) and blocked, so one broken plugin never stops the host;
``strict=True`` raises instead. Setting ``SOPHIE_DISABLE_PLUGINS=1`` loads no
third-party plugin; a comma-separated list of entry-point names blocks just those.
Nothing is loaded at import time.

pluggy does the work: entry points are loaded with ``load_setuptools_entrypoints``
(one name at a time, so a broken one is reported and the rest still load), skipped
names are ``set_blocked``, and distributions come from ``list_plugin_distinfo``. Every
hook is called through pluggy's hook callers: the observer through ``hook.sophie_task_changed``,
registration hooks once per plugin through ``subset_hook_caller`` so that each record is
attributed to the plugin that returned it.

Example:
    >>> plugins = Plugins()
    >>> sorted(plugins.adapters())
    ['demo', 'files']
"""

from __future__ import annotations

import difflib
import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from sophie.errors import PluginConflictError, PluginError, PluginLoadError, UnknownNameError
from sophie.plugins import builtin as builtin_plugin
from sophie.plugins.hookspecs import PROJECT_NAME, SophieSpecs, hookimpl
from sophie.plugins.records import AdapterInfo, NotifierInfo, RulePackSource

if TYPE_CHECKING:
    from sophie.rules.language.functions import FunctionRegistry
    from sophie.rules.packs.loader import CompiledPack

__all__ = ["DISABLE_ENV", "PluginDescription", "Plugins", "hookimpl"]

DISABLE_ENV = "SOPHIE_DISABLE_PLUGINS"
BUILTIN_NAME = "sophie.builtin"

_Record = TypeVar("_Record")


@dataclass(frozen=True)
class PluginDescription:
    """One plugin as ``sophie plugins`` shows it.

    Attributes:
        name: The plugin's registered name (the entry point's name).
        distribution: The distribution that ships it.
        version: That distribution's version.
        provides: Kind (``adapters``, ``rule_packs``...) -> names it registers.
    """

    name: str
    distribution: str
    version: str
    provides: dict[str, list[str]] = field(default_factory=dict)


def _distribution(point: EntryPoint) -> str:
    dist = point.dist
    if dist is None:
        return "unknown ?"
    return f"{dist.metadata['Name'] or 'unknown'} {dist.version or '?'}"


class Plugins:
    """The plugins of one sophie host: built-ins first, then entry points.

    Args:
        strict: Raise :class:`~sophie.errors.PluginLoadError` on a broken plugin
            instead of reporting it in :attr:`problems`.
        entry_points_enabled: Load third-party plugins from entry points; ``None``
            reads ``SOPHIE_DISABLE_PLUGINS`` from the environment.
        extra: Plugin objects to register after the built-ins (tests, embedding).
    """

    def __init__(
        self,
        *,
        strict: bool = False,
        entry_points_enabled: bool | None = None,
        extra: Iterable[object] = (),
    ) -> None:
        self.strict = strict
        self.problems: list[PluginLoadError] = []
        self._manager = pluggy.PluginManager(PROJECT_NAME)
        self._manager.add_hookspecs(SophieSpecs)
        self._manager.register(builtin_plugin, name=BUILTIN_NAME)
        self._in_code: set[str] = set()
        for number, plugin in enumerate(extra):
            name = getattr(plugin, "__name__", None) or f"extra-{number}"
            self._manager.register(plugin, name=name)
            self._in_code.add(name)
        disabled = os.environ.get(DISABLE_ENV, "").strip()
        if entry_points_enabled is None:
            entry_points_enabled = disabled not in ("1", "true", "yes", "all")
        if entry_points_enabled:
            for name in (name.strip() for name in disabled.split(",")):
                if name and not self._manager.has_plugin(name):
                    self._manager.set_blocked(name)
            self._load_entry_points()
        self._manager.check_pending()
        self._cache: dict[str, Any] = {}
        self._owners: dict[str, dict[str, str]] = {}

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (``manager.hook.sophie_*`` calls the hooks)."""
        return self._manager

    def _load_entry_points(self) -> None:
        for point in sorted(entry_points(group=PROJECT_NAME), key=lambda p: p.name):
            if self._manager.has_plugin(point.name) or self._manager.is_blocked(point.name):
                continue
            try:
                self._manager.load_setuptools_entrypoints(PROJECT_NAME, name=point.name)
            except Exception as err:
                problem = PluginLoadError(
                    f"{type(err).__name__}: {err}", entry_point=point.name, distribution=_distribution(point)
                )
                if self.strict:
                    raise problem from err
                self.problems.append(problem)
                self._manager.set_blocked(point.name)

    def _source(self, plugin_name: str) -> tuple[str, str]:
        """Return (distribution, version) of a registered plugin."""
        if plugin_name == BUILTIN_NAME:
            return "sophie", _own_version()
        if plugin_name in self._in_code:
            return "(registered in code)", ""
        plugin = self._manager.get_plugin(plugin_name)
        for loaded, dist in self._manager.list_plugin_distinfo():
            if loaded is plugin:
                return dist.project_name or "unknown", dist.version or "?"
        return "unknown", "?"

    def _collect(self, hook_name: str, kind: str, record_type: type[_Record]) -> dict[str, _Record]:
        if hook_name in self._cache:
            return dict(self._cache[hook_name])
        found: dict[str, _Record] = {}
        owners: dict[str, list[str]] = {}
        for plugin_name, results in self._call_each_plugin(hook_name):
            for record in results:
                if not isinstance(record, record_type):
                    self._report(plugin_name, f"{hook_name} returned a {type(record).__name__}, "
                                 f"not a {record_type.__name__}", None)
                    continue
                name: str = getattr(record, "name")  # noqa: B009  # every record type has a name
                owners.setdefault(name, []).append(plugin_name)
                found[name] = record
        for name, plugin_names in owners.items():
            if len(plugin_names) > 1:
                raise PluginConflictError(kind, name, plugin_names)
        self._cache[hook_name] = found
        self._owners[hook_name.removeprefix("sophie_")] = {name: names[0] for name, names in owners.items()}
        return dict(found)

    def _call_each_plugin(self, hook_name: str) -> Iterator[tuple[str, list[object]]]:
        """Call a registration hook once per plugin that implements it (pluggy's subset callers).

        Yields (plugin name, records) in pluggy's calling order; a plugin whose
        implementation raises is reported and skipped.
        """
        registered = [(name, plugin) for name, plugin in self._manager.list_name_plugin() if plugin is not None]
        implementing = {impl.plugin_name for impl in getattr(self._manager.hook, hook_name).get_hookimpls()}
        for plugin_name, _plugin in registered:
            if plugin_name not in implementing:
                continue
            others = [plugin for name, plugin in registered if name != plugin_name]
            caller = self._manager.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                records = [record for result in caller() for record in (result or ())]
            except Exception as err:
                self._report(plugin_name, f"{hook_name} raised {type(err).__name__}: {err}", err)
                continue
            yield plugin_name, records

    def _report(self, plugin_name: str, message: str, cause: Exception | None) -> None:
        distribution, version = self._source(plugin_name)
        problem = PluginLoadError(message, entry_point=plugin_name, distribution=f"{distribution} {version}")
        if self.strict:
            raise problem from cause
        self.problems.append(problem)

    def adapters(self) -> dict[str, AdapterInfo]:
        """Return every registered adapter by name."""
        return self._collect("sophie_adapters", "adapter", AdapterInfo)

    def notifiers(self) -> dict[str, NotifierInfo]:
        """Return every registered notifier by name."""
        return self._collect("sophie_notifiers", "notifier", NotifierInfo)

    def rule_packs(self) -> dict[str, RulePackSource]:
        """Return every registered rule pack by name."""
        return self._collect("sophie_rule_packs", "rule pack", RulePackSource)

    def rule_functions(self) -> dict[str, Any]:
        """Return every registered rule function by name."""
        from sophie.rules.language.functions import RuleFunction

        return self._collect("sophie_rule_functions", "rule function", RuleFunction)

    def function_registry(self) -> FunctionRegistry:
        """Return every plugin's rule functions (the built-ins included) as one registry."""
        from sophie.rules.language.functions import FunctionRegistry

        if "function_registry" not in self._cache:
            functions = self.rule_functions()
            registry = FunctionRegistry(functions.values()) if functions else FunctionRegistry.builtin()
            self._cache["function_registry"] = registry
        registry_: FunctionRegistry = self._cache["function_registry"]
        return registry_

    def load_pack(self, ref: str | Path) -> CompiledPack:
        """Load and compile a pack by path or by the name a plugin registered it under.

        Its expressions are checked against every plugin's rule functions.

        Raises:
            RuleError: the pack has problems (every one, located).
            UnknownNameError: no file or registered pack by that name.
        """
        from sophie.rules.packs.catalog import load_pack

        packs = {name: source.path for name, source in self.rule_packs().items()}
        return load_pack(ref, functions=self.function_registry(), extra=packs)

    def adapter(self, name: str) -> AdapterInfo:
        """Return the adapter called ``name``.

        Raises:
            UnknownNameError: with the closest known name.
        """
        return _lookup("adapter", name, self.adapters())

    def rule_pack(self, name: str) -> RulePackSource:
        """Return the rule pack called ``name``.

        Raises:
            UnknownNameError: with the closest known name.
        """
        return _lookup("rule pack", name, self.rule_packs())

    def describe(self) -> list[PluginDescription]:
        """Describe every registered plugin: its distribution, version and what it provides."""
        collectors: dict[str, Callable[[], Mapping[str, Any]]] = {
            "adapters": self.adapters,
            "notifiers": self.notifiers,
            "rule_packs": self.rule_packs,
            "rule_functions": self.rule_functions,
        }
        names = [name for name, plugin in self._manager.list_name_plugin() if plugin is not None]
        provided: dict[str, dict[str, list[str]]] = {name: {} for name in names}
        for kind, collect in collectors.items():
            collect()
            for record_name, plugin_name in self._owners.get(kind, {}).items():
                provided.setdefault(plugin_name, {}).setdefault(kind, []).append(record_name)
        return [
            PluginDescription(name, *self._source(name), {k: sorted(v) for k, v in provided[name].items()})
            for name in names
        ]

    def notify_task_changed(self, change: object) -> list[PluginError]:
        """Call ``sophie_task_changed`` through pluggy for one committed change.

        Args:
            change: The committed :class:`~sophie.execution.tasks.TaskChange`.

        Returns:
            The error an observer raised (naming its plugin), or nothing. pluggy stops the
            call at the first implementation that raises; the change stays committed.
        """
        hook = self._manager.hook.sophie_task_changed
        try:
            hook(change=change)
        except Exception as err:
            culprit = _culprit(err, {impl.function.__code__: impl.plugin_name for impl in hook.get_hookimpls()})
            return [PluginError(f"observer {culprit} failed: {type(err).__name__}: {err}")]
        return []

    def notify_task_changes(self, changes: Iterable[object]) -> list[PluginError]:
        """Call ``sophie_task_changed`` for each committed change, in order; return every observer error."""
        if not self._manager.hook.sophie_task_changed.get_hookimpls():
            return []
        return [error for change in changes for error in self.notify_task_changed(change)]


def _culprit(err: BaseException, plugins_by_code: Mapping[CodeType, str]) -> str:
    """Name the plugin whose implementation raised ``err`` (the innermost one in its traceback)."""
    culprit = "?"
    for frame, _line in traceback.walk_tb(err.__traceback__):
        culprit = plugins_by_code.get(frame.f_code, culprit)
    return culprit


def _lookup(kind: str, name: str, known: Mapping[str, _Record]) -> _Record:
    record = known.get(name.lower())
    if record is None:
        close = difflib.get_close_matches(name, list(known), n=1)
        raise UnknownNameError(kind, name, known=list(known), suggestion=close[0] if close else None)
    return record


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sophie")
    except PackageNotFoundError:
        return "0.0.0"

"""The hooks a plugin can implement, in entry-point group ``sophie``.

A plugin is a module (or object) with functions named after these hooks and
marked with :data:`sophie.plugins.hookimpl`. Registration hooks return an
iterable of typed records; sophie collects the results of every plugin and
rejects two plugins that claim the same name. Observer hooks are called for each
event and their results are ignored.

Declare a plugin in your distribution's ``pyproject.toml``::

    [project.entry-points.sophie]
    my_pms = "sophie_my_pms.plugin"

Built-in adapters, packs and functions register through these same hooks
(``sophie.plugins.builtin``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sophie.plugins.records import AdapterInfo, NotifierInfo, RulePackSource
    from sophie.rules.language.functions import RuleFunction

__all__ = ["PROJECT_NAME", "SophieSpecs", "hookimpl", "hookspec"]

PROJECT_NAME = "sophie"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a method of :class:`SophieSpecs` as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a function as the implementation of a sophie hook (``from sophie.plugins import hookimpl``)."""


class SophieSpecs:
    """The hook specifications of sophie (all hooks start with ``sophie_``)."""

    @hookspec
    def sophie_adapters(self) -> Iterable[AdapterInfo]:
        """Register PMS adapters.

        Called once, when sophie first needs the list of adapters. Every plugin's
        results are collected; a name claimed twice is an error.

        Returns:
            An iterable of :class:`~sophie.plugins.records.AdapterInfo`.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_adapters():
                    yield AdapterInfo("my-pms", MyAdapter.from_source, "My PMS over its REST API")
        """
        return ()  # a specification: pluggy calls the implementations, never this body

    @hookspec
    def sophie_notifiers(self) -> Iterable[NotifierInfo]:
        """Register notifiers (ways of telling staff about their tasks).

        Returns:
            An iterable of :class:`~sophie.plugins.records.NotifierInfo`.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_notifiers():
                    yield NotifierInfo("pager", PagerNotifier, "Send pages")
        """
        return ()

    @hookspec
    def sophie_rule_functions(self) -> Iterable[RuleFunction]:
        """Register functions that rule expressions may call.

        Each function declares its parameter and return types, so rules that call
        it are type-checked before any data is seen.

        Returns:
            An iterable of :class:`~sophie.rules.language.functions.RuleFunction`.
        """
        return ()

    @hookspec
    def sophie_rule_packs(self) -> Iterable[RulePackSource]:
        """Register rule packs that users can refer to by name (``--pack NAME``).

        Returns:
            An iterable of :class:`~sophie.plugins.records.RulePackSource`.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_rule_packs():
                    yield RulePackSource("ortho-core", Path(__file__).parent / "ortho-core.yaml")
        """
        return ()

    @hookspec
    def sophie_task_changed(self, change: Any) -> None:
        """Observe a task change after the ledger committed it.

        Called once per change (created, touched, escalated, resolved, reopened,
        expired) with the committed change. Results are ignored; an observer that
        raises is reported and does not undo the change.

        Args:
            change: The committed task change.
        """

"""The hooks a plugin can implement, in entry-point group ``sophie``, and the markers for them.

A plugin is a module (or object) with functions named after these hooks and marked
with :data:`hookimpl` (``from sophie.plugins import hookimpl``). pluggy calls them: an
implementation may take fewer arguments than the specification (``def
sophie_task_changed():`` is fine), and may be a wrapper (``@hookimpl(wrapper=True)``)
or ordered with ``tryfirst``/``trylast``.

Registration hooks (``sophie_adapters``, ``sophie_notifiers``, ``sophie_rule_functions``,
``sophie_rule_packs``) return an iterable of typed records; sophie calls each plugin's
implementation on its own, so a record is attributed to its plugin, one plugin that
raises is reported without hiding the others, and two plugins claiming one name are
rejected. The observer hook (``sophie_task_changed``) is called through pluggy once per
committed change; its results are ignored.

None of the hooks is ``firstresult`` (every plugin's answer counts) or ``historic`` (a
plugin registered late does not need past calls replayed: registrations are collected
on demand and task changes are not kept for replay).

Declare a plugin in your distribution's ``pyproject.toml``::

    [project.entry-points.sophie]
    my_pms = "sophie_my_pms.plugin"

Built-in adapters, notifiers, packs and functions register through these same hooks
(``sophie.plugins.builtin``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sophie.execution.tasks import TaskChange
    from sophie.plugins.records import AdapterInfo, NotifierInfo, RulePackSource
    from sophie.rules.language.types import RuleFunction

__all__ = ["PROJECT_NAME", "SophieSpecs", "hookimpl", "hookspec"]

PROJECT_NAME = "sophie"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a method of :class:`SophieSpecs` as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a function as the implementation of a sophie hook (``from sophie.plugins import hookimpl``)."""


class SophieSpecs:
    """The hook specifications of sophie (all hooks start with ``sophie_``)."""

    @hookspec(firstresult=False, historic=False)
    def sophie_adapters(self) -> Iterable[AdapterInfo]:  # type: ignore[empty-body]
        """Register PMS adapters (where snapshots come from).

        When: the first time sophie needs the list of adapters (``--adapter NAME``,
        ``sophie plugins``, :func:`sophie.adapters.create_adapter`); the answer is kept
        for the life of the :class:`~sophie.plugins.manager.Plugins` object.

        Returns:
            An iterable of :class:`~sophie.plugins.records.AdapterInfo` (a generator is
            fine). Every plugin's records are collected; a name claimed by two plugins is
            an error naming both, and an implementation that raises or returns something
            else is reported against its plugin while the others still count.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_adapters():
                    yield AdapterInfo("my-pms", MyAdapter.from_source, "My PMS over its REST API")
        """

    @hookspec(firstresult=False, historic=False)
    def sophie_notifiers(self) -> Iterable[NotifierInfo]:  # type: ignore[empty-body]
        """Register notifiers (ways of telling staff about their tasks).

        When: the first time sophie builds a notifier by name
        (:func:`sophie.notifiers.registry.create_notifier`, ``sophie outbox deliver``) or
        lists plugins.

        Returns:
            An iterable of :class:`~sophie.plugins.records.NotifierInfo`. Collected from
            every plugin like adapters: one name, one plugin.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_notifiers():
                    yield NotifierInfo("pager", PagerNotifier, "Send pages")
        """

    @hookspec(firstresult=False, historic=False)
    def sophie_rule_functions(self) -> Iterable[RuleFunction]:  # type: ignore[empty-body]
        """Register functions that rule expressions may call.

        When: before a pack is loaded through :meth:`~sophie.plugins.manager.Plugins.load_pack`
        (the CLI loads every pack that way) and by ``sophie functions``. Each function
        declares its parameter and return types, so rules that call it are type-checked
        before any data is seen.

        Returns:
            An iterable of :class:`~sophie.rules.language.functions.RuleFunction`.
            Collected from every plugin; a name taken twice (or a built-in's name) is an
            error.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_rule_functions():
                    yield RuleFunction("weeks", (NUMBER,), DURATION, lambda n: timedelta(weeks=n), "n weeks")
        """

    @hookspec(firstresult=False, historic=False)
    def sophie_rule_packs(self) -> Iterable[RulePackSource]:  # type: ignore[empty-body]
        """Register rule packs that users can refer to by name (``--pack NAME``).

        When: the first time a pack is looked up by name, or plugins are listed.

        Returns:
            An iterable of :class:`~sophie.plugins.records.RulePackSource`. Collected from
            every plugin; one name, one plugin.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_rule_packs():
                    yield RulePackSource("ortho-core", Path(__file__).parent / "ortho-core.yaml")
        """

    @hookspec(firstresult=False, historic=False)
    def sophie_task_changed(self, change: TaskChange) -> None:
        """Observe a task change after the ledger committed it.

        When: once per change (created, touched, escalated, resolved, reopened, expired,
        verified) written by :func:`sophie.execution.run_cycle`, by
        :func:`sophie.execution.apply_evaluation` and by every cycle of ``sophie watch``,
        in the order written, after the transaction committed (never inside it).

        Args:
            change: The committed :class:`~sophie.execution.tasks.TaskChange`
                (``change.kind``, ``change.task``, ``change.previous``).

        Returns:
            Nothing; results are ignored. Implementations are called through pluggy,
            wrappers included, in pluggy's order (last registered first, ``tryfirst`` and
            ``trylast`` respected). If one raises, pluggy stops that call: sophie reports
            the error with the plugin's name (``CycleResult.observer_errors``, a warning in
            the CLI), the change stays committed and the next change is delivered as
            usual. An observer should therefore not raise.

        Example:
            .. code-block:: python

                @hookimpl
                def sophie_task_changed(change):
                    mirror.upsert(change.task.id, str(change.kind))  # ids only: titles may name patients
        """

"""What the aggregate and time-test generators see of the emitter (:class:`Emitting`).

:class:`~sophie.rules.language.compilation.codegen.Emitter` implements it and calls
:mod:`~sophie.rules.language.compilation.codegen_aggregates` and
:mod:`~sophie.rules.language.compilation.codegen_time` for the nodes they handle; those
modules take an :class:`Emitting`, so neither imports the emitter back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sophie.rules.language.expressions_ir import Node

__all__ = ["Emitting"]


class Emitting(Protocol):
    """The part of the emitter that generators of special nodes use.

    Attributes:
        hoist_enabled: Whether run-constant sub-expressions move into the prelude.
        lazy_cutoffs: Whether business-time cut-offs are computed only for many subjects.
        helpers: Source of generated helper functions, added to the compiled module.
    """

    hoist_enabled: bool
    lazy_cutoffs: bool
    helpers: list[str]

    def fresh(self, prefix: str) -> str:
        """Return a new identifier starting with ``prefix``."""
        ...

    def ref(self, value: object, prefix: str = "_f") -> str:
        """Bind an object in the generated code's namespace; return its name."""
        ...

    def emit(self, node: Node) -> str:
        """Return Python source computing ``node``."""
        ...

    def hoist(self, source: str) -> str:
        """Compute ``source`` once per run; return the local holding it."""
        ...

    def is_run_constant(self, node: Node) -> bool:
        """Whether ``node`` has one value for the whole run."""
        ...

    def bind(self, source: str) -> tuple[str, str]:
        """Return (first use, later uses) of a value."""
        ...

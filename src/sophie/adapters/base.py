"""The adapter contract: how a PMS hands sophie a snapshot.

An adapter reads one practice's data from somewhere (a PMS database, an API, a
file, a generator) and returns a validated :class:`~sophie.model.Snapshot`. It
raises :class:`~sophie.errors.AdapterError` subclasses when it cannot: the source
is unreachable (:class:`~sophie.errors.SourceUnavailableError`) or answered with
data that does not fit the model (:class:`~sophie.errors.SnapshotError` or
:class:`~sophie.errors.AdapterDataError`). A failed fetch never yields a partial
snapshot.

Example:
    A minimal adapter::

        class MyAdapter(Adapter):
            name = "my-pms"

            def fetch(self) -> Snapshot:
                rows = read_rows_somehow()
                return parse_snapshot(map_rows(rows), source="my-pms")
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sophie.model import Snapshot

__all__ = ["Adapter"]


class Adapter(ABC):
    """Base class of every adapter.

    Attributes:
        name: The name users select the adapter by (``sophie run --adapter NAME``).
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def fetch(self) -> Snapshot:
        """Read the practice and return a complete, validated snapshot.

        Raises:
            SourceUnavailableError: the source cannot be reached or read.
            SnapshotError: the data does not fit the model (every problem listed).
        """

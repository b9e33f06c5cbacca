"""Registers the ``opendental`` adapter through the ``sophie_adapters`` hook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sophie.plugins.hookspecs import hookimpl
from sophie.plugins.records import AdapterInfo

if TYPE_CHECKING:
    from sophie.adapters.base import Adapter

__all__ = ["create_opendental_adapter", "sophie_adapters"]


def create_opendental_adapter(source: str | None = None) -> Adapter:
    """Build the adapter from ``--source mysql://...`` or, without one, from ``SOPHIE_OD_*`` variables.

    Raises:
        ConfigurationError: no usable connection settings (the password is never shown).
    """
    from sophie.adapters.opendental.adapter import OpenDentalAdapter
    from sophie.adapters.opendental.settings import OpenDentalSettings

    settings = OpenDentalSettings.from_url(source) if source else OpenDentalSettings.from_env()
    return OpenDentalAdapter(settings)


@hookimpl
def sophie_adapters() -> Iterator[AdapterInfo]:
    """The ``opendental`` adapter."""
    yield AdapterInfo(
        "opendental",
        create_opendental_adapter,
        "an Open Dental MySQL/MariaDB database, read-only (--source mysql://user:pass@host:port/db)",
    )

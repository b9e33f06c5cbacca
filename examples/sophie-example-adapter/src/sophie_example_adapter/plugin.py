"""The plugin module named by the ``sophie`` entry point: one hook implementation per thing it adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sophie.plugins import AdapterInfo, RulePackSource, hookimpl
from sophie.rules.language.functions import RuleFunction
from sophie_example_adapter.adapter import AcmeAdapter
from sophie_example_adapter.functions import RULE_FUNCTIONS

PACKS = Path(__file__).parent / "packs"


@hookimpl
def sophie_adapters() -> Iterator[AdapterInfo]:
    """The ``acme`` adapter; ``--source`` is an export folder (default: the bundled sample)."""
    yield AdapterInfo("acme", AcmeAdapter.from_source, "Acme Dental CSV exports (--source FOLDER)")


@hookimpl
def sophie_rule_functions() -> Iterator[RuleFunction]:
    """``acme_lifetime_value`` and ``acme_is_vip``."""
    yield from RULE_FUNCTIONS


@hookimpl
def sophie_rule_packs() -> Iterator[RulePackSource]:
    """The ``acme-vip`` pack."""
    yield RulePackSource("acme-vip", PACKS / "acme-vip.yaml", "VIP follow-up for Acme practices")

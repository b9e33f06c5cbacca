"""sophie's conformance kit, run on the acme adapter: this is all a vendor has to write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sophie_example_adapter import AcmeAdapter

from sophie.testing import AdapterConformance


class TestAcmeAdapter(AdapterConformance):
    """Every check of the kit, on a private copy of the sample export."""

    @pytest.fixture
    def sophie_adapter(self, export: Path) -> AcmeAdapter:
        """The adapter under test."""
        return AcmeAdapter(export)

    @pytest.fixture
    def sophie_adapter_broken(self, tmp_path: Path) -> AcmeAdapter:
        """The adapter pointed at a folder that does not exist."""
        return AcmeAdapter(tmp_path / "no-export-here")

    @pytest.fixture
    def sophie_adapter_change(self, export: Path) -> Callable[[], None]:
        """A change to the export: one more logged call."""
        def log_a_call() -> None:
            with (export / "contacts.csv").open("a") as contacts:
                contacts.write("C-2,A-100,2026-03-05 11:40,phone,out,treatment,no_answer,S-2,2026-03-05 11:40\n")

        return log_a_call

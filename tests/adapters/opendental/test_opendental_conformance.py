"""The conformance kit passes on the Open Dental adapter against a real MariaDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from sophie.adapters.opendental import OpenDentalAdapter, OpenDentalSettings
from sophie.testing import AdapterConformance

if TYPE_CHECKING:
    from conftest import SeededDatabase


class TestOpenDental(AdapterConformance):
    """Every check reads the shared seeded database; the one change is undone after its test."""

    @pytest.fixture
    def sophie_adapter(self, seeded_shared: SeededDatabase) -> OpenDentalAdapter:
        return seeded_shared.adapter()

    @pytest.fixture
    def sophie_adapter_broken(self) -> OpenDentalAdapter:
        return OpenDentalAdapter(OpenDentalSettings(host="127.0.0.1", port=9, user="nobody", password="pw",
                                                    database="opendental", connect_timeout=2))  # fmt: skip

    @pytest.fixture
    def sophie_adapter_change(self, seeded_shared: SeededDatabase) -> Iterator[Callable[[], None]]:
        def change() -> None:
            seeded_shared.execute("UPDATE appointment SET Confirmed = 28 WHERE AptNum = 13")

        yield change
        seeded_shared.execute("UPDATE appointment SET Confirmed = 22 WHERE AptNum = 13")

"""Close the HTTP clients each test opened."""

from __future__ import annotations

import pytest
from web_fixtures import OPEN_CLIENTS


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()

"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapshot_data import EXAMPLE_SNAPSHOT


@pytest.fixture
def example_snapshot_path() -> Path:
    return EXAMPLE_SNAPSHOT

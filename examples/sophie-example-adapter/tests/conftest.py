"""Fixtures for the example plugin's tests: a private copy of the sample export for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sophie_example_adapter import SAMPLE_EXPORT


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A copy of the sample export that a test may change."""
    return Path(shutil.copytree(SAMPLE_EXPORT, tmp_path / "export"))

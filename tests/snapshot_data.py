"""Test data shared across the suite: the example snapshot and a minimal snapshot builder.

Imported by name (``from snapshot_data import ...``); pytest puts ``tests/`` on the path.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SNAPSHOT = ROOT / "examples" / "snapshots" / "cancellation-morning.yaml"

PRACTICE: dict[str, Any] = {
    "id": "t",
    "name": "Test Dental",
    "timezone": "America/New_York",
    "hours": {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}


def minimal_snapshot(**sections: Any) -> dict[str, Any]:
    """Return raw snapshot data with a default practice and the given sections."""
    data: dict[str, Any] = {"practice": copy.deepcopy(PRACTICE), "as_of": "2026-03-05T11:45:00-05:00"}
    data.update(copy.deepcopy(sections))
    return data

"""Test data shared across the suite: the example snapshot and a minimal snapshot builder.

Imported by name (``from snapshot_data import ...``); pytest puts ``tests/`` on the path.
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


_NEW_YORK = ZoneInfo("America/New_York")

OTHER_DEMO_MORNINGS = [
    datetime(2026, 3, 4, 8, 15, tzinfo=_NEW_YORK),  # a Wednesday
    datetime(2026, 3, 6, 7, 0, tzinfo=_NEW_YORK),  # a Friday: tomorrow is closed
    datetime(2026, 5, 26, 7, 45, tzinfo=_NEW_YORK),  # the Tuesday after Memorial Day
    datetime(2026, 11, 2, 7, 30, tzinfo=_NEW_YORK),  # the Monday after DST ends
    datetime(2026, 3, 5, 14, 0, tzinfo=_NEW_YORK),  # a Thursday afternoon: no plants about today
    datetime(2026, 3, 7, 11, 0, tzinfo=_NEW_YORK),  # a Saturday
]
"""Demo ``as_of`` values besides the default Monday, chosen for their calendar quirks."""

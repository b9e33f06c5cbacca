"""docs/opendental.md names every table and column the adapter reads."""

from __future__ import annotations

import re
from pathlib import Path

from sophie.adapters.opendental.queries import PATIENT_QUERIES, PRACTICE_QUERIES

DOC = Path(__file__).resolve().parents[3] / "docs" / "opendental.md"
NOT_COLUMNS = {"SELECT", "FROM", "JOIN", "LEFT", "WHERE", "IN", "ON", "AND"}


def _columns(query: str) -> set[str]:
    selected = query.split(" FROM ", 1)[0].removeprefix("SELECT ")
    names = {name.split(" AS ")[0].split(".")[-1].strip() for name in selected.split(",")}
    return {name for name in names if name not in NOT_COLUMNS}


def _tables(query: str) -> set[str]:
    return set(re.findall(r"(?:FROM|JOIN) (\w+)", query))


def test_every_column_and_table_read_is_documented() -> None:
    text = DOC.read_text()
    queries = list(PRACTICE_QUERIES.values()) + [query for query, _ in PATIENT_QUERIES.values()]
    missing = sorted(
        {f"column {c}" for q in queries for c in _columns(q) if f"`{c}`" not in text and c not in text}
        | {f"table {t}" for q in queries for t in _tables(q) if f"`{t}`" not in text}
    )
    assert missing == []

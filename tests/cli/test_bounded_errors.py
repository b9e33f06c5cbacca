"""Error output is bounded: many problems are summarised, and huge values are never echoed whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from snapshot_data import minimal_snapshot
from sophie.cli import cli
from sophie.errors import MAX_SHOWN_PROBLEMS, RuleError
from sophie.rules import compile_pack, parse_yaml


def inspect(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["inspect", str(path)], catch_exceptions=False)
    return result.exit_code, result.stderr.splitlines()


def test_thousands_of_duplicate_ids_print_a_few_dozen_lines(tmp_path: Path) -> None:
    patients = [{"id": "p-1", "first_name": "A", "last_name": "B"}] * 20_001
    path = tmp_path / "dups.json"
    path.write_text(json.dumps(minimal_snapshot(patients=patients)))
    code, lines = inspect(path)
    assert code == 2
    assert len(lines) == MAX_SHOWN_PROBLEMS + 1 and MAX_SHOWN_PROBLEMS <= 60
    assert "duplicate id 'p-1'" in lines[0]
    assert lines[-1] == f"sophie: error: {path}: and {20_000 - MAX_SHOWN_PROBLEMS} more problems"


def test_a_huge_bad_value_is_echoed_as_a_short_prefix(tmp_path: Path) -> None:
    huge = "9" * 5_000_000
    data = minimal_snapshot(patients=[{"id": "p-1", "first_name": "A", "last_name": "B", "birth_date": huge}])
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(data))
    code, lines = inspect(path)
    assert code == 2
    assert sum(len(line) for line in lines) < 400, lines[0][:300]
    assert "5000000 characters" in lines[0]


def test_a_pack_with_thousands_of_problems_reports_a_few_dozen() -> None:
    rules = "".join(f"  - id: r{n}\n    title: T\n    for: nothing\n" for n in range(2000))
    with pytest.raises(RuleError) as caught:
        compile_pack(parse_yaml(f"pack: p\nversion: 1.0.0\nrules:\n{rules}", file="p.yaml"))
    assert len(caught.value.diagnostics) == MAX_SHOWN_PROBLEMS + 1
    assert "more problems" in caught.value.diagnostics[-1].message

"""Deeply nested JSON (``[[[[...]]]]``, 50,000 deep) is bad input, never a crash.

A snapshot file gives exit 2 and a message naming the file and where the nesting went too
deep; an event line is skipped like any line that is not an event, and the next is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from snapshot_data import EXAMPLE_SNAPSHOT
from sophie.adapters.event_files import EventFilesAdapter
from sophie.adapters.files import read_data_file
from sophie.cli import cli
from sophie.errors import SnapshotError

DEEP = "[" * 50_000 + "]" * 50_000


def sophie(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def test_a_deep_snapshot_is_a_located_snapshot_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"practice":\n  ' + DEEP + "}")
    with pytest.raises(SnapshotError) as caught:
        read_data_file(path)
    text = "\n".join(caught.value.lines())
    assert "deep.json" in text and "line 2" in text and "nested too deeply" in text


@pytest.mark.parametrize("command", ["inspect", "run"])
def test_inspect_and_run_exit_2_on_a_deep_snapshot(tmp_path: Path, command: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    args = [str(path)] if command == "inspect" else ["--adapter", "files", "--source", str(path),
                                                     "--db", f"sqlite:///{tmp_path / 'x.db'}"]  # fmt: skip
    code, err = sophie(command, *args)
    assert code == 2, err
    assert "deep.json" in err and "nested too deeply" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_deep_event_line_is_skipped_and_the_next_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    events = tmp_path / "events.jsonl"
    good = {"kind": "appointment_created", "record_id": "a-1", "at": "2026-03-05T10:00:00-05:00"}
    deep_object = '{"kind": ' + DEEP + "}"
    events.write_text("\n".join([DEEP, deep_object, json.dumps(good)]) + "\n")
    adapter = EventFilesAdapter(EXAMPLE_SNAPSHOT, events)
    read = list(adapter.events())
    assert [(event.record_id, event.watermark) for event in read] == [("a-1", "lines:3")]
    assert "line 1: not an event; skipped" in caplog.text and "line 2: not an event; skipped" in caplog.text

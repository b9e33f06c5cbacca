"""The examples in README.md and docs/ run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DOCS = ["README.md", "docs/embedding.md"]


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", PYTHON_DOCS)
def test_python_examples_run(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code = blocks(ROOT / doc, "python")
    assert code, f"{doc} has no python example"
    namespace: dict[str, object] = {}
    for block in code:  # blocks of one page share their names, as a reader's session would
        exec(compile(block, doc, "exec"), namespace)


def shell_commands(path: Path) -> list[list[str]]:
    commands = []
    for block in blocks(path, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words and words[0] == "sophie" and "TASK_ID" not in words:
                commands.append(words[1:])
    return commands


def test_getting_started_commands_run(tmp_path: Path) -> None:
    commands = shell_commands(ROOT / "docs/getting-started.md")
    assert len(commands) >= 8
    for args in commands:
        args = [str(ROOT / a) if a.startswith("examples/") else a for a in args]
        result = subprocess.run(
            [sys.executable, "-m", "sophie", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
            check=False,
        )
        assert result.returncode == 0, (args, result.stderr)


def test_getting_started_tour_claims_hold(tmp_path: Path) -> None:
    source = str(ROOT / "examples/snapshots/cancellation-morning.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "sophie", "run", "--adapter", "files", "--source", source,
         "--now", "2026-03-05T11:50:00-05:00", "--format", "json", "--db", f"sqlite:///{tmp_path / 'l.db'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    import json

    tasks = {c["task"]["subject"]["id"]: c["task"] for c in json.loads(result.stdout)["changes"]}
    opening = tasks["op-1@2026-03-05T13:00"]
    assert (opening["owner_role"], opening["due_at"]) == ("scheduling_coordinator", "2026-03-05T12:45:00-05:00")
    assert tasks["tp-1"]["title"].startswith("Call Ana about treatment not yet scheduled")
    assert tasks["cl-1"]["owner_id"] == "s-4"  # the insurance coordinator (s-5) is out of office

"""Hostile text in practice data never breaks the terminal output, never drives the terminal.

Names from the PMS may hold rich markup (``Ana[/]``, ``[link=...]``), terminal escapes (a
screen clear, a title change) and other control characters. Every command shows them as
literal text, with the control characters removed, and exits as it would for plain names.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sophie.cli import cli

sys.path.insert(0, str(Path(__file__).parents[1] / "execution"))
from execution_fakes import PACK, clinic_data

THU = "2026-03-05T10:00:00-05:00"
PATIENT = "Ana[/]\x1b]0;pwned\x07\x1b[2J[link=https://evil.example]x[/link]\r\x9b31m[bold]"
PRACTICE = "Test[/] Dental\x1b[2J\x1b]8;;https://evil.example\x07"
OPERATORY = "Op[/link] 1\x1b[31m"
SHOWN_PATIENT = "Ana[/]]0;pwned[2J[link=https://evil.example]x[/link]31m[bold]"
SHOWN_PRACTICE = "Test[/] Dental[2J]8;;https://evil.example"
SHOWN_OPERATORY = "Op[/link] 1[31m"


def sophie(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def assert_safe(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output and "\r" not in output
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", output)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    data = clinic_data("2026-03-05T10:00")
    data["patients"][0]["first_name"] = PATIENT
    data["practice"]["name"] = PRACTICE
    data["operatories"][0]["name"] = OPERATORY
    snapshot = tmp_path / "practice.json"
    snapshot.write_text(json.dumps(data))
    pack = tmp_path / "exec-test.yaml"
    text = PACK.read_text(encoding="utf-8")
    pack.write_text(text.replace("Fill the opening {opening.id}", "Fill {opening.operatory.name} ({opening.id})"))
    return tmp_path / "sophie.db", snapshot, pack


def test_run_queue_and_task_show_print_hostile_names_literally(files: tuple[Path, Path, Path]) -> None:
    db, snapshot, pack = files
    code, out = sophie("run", "--adapter", "files", "--source", str(snapshot), "--pack", str(pack),
                       "--db", f"sqlite:///{db}", "--now", THU)  # fmt: skip
    assert code == 0, out
    assert_safe(out)
    assert "Ana[/]]0;pwned" in out and f"Fill {SHOWN_OPERATORY}" in out  # the table cuts long titles
    code, out = sophie("queue", "--db", f"sqlite:///{db}")
    assert code == 0, out
    assert_safe(out)
    assert "Ana[/]]0;pwned" in out
    code, out = sophie("queue", "--db", f"sqlite:///{db}", "--format", "json")
    assert_safe(out)  # JSON escapes them: \u001b, \u009b
    (task,) = [task for task in json.loads(out)["tasks"] if task["rule"] == "plan.unscheduled"]
    assert "Ana[/]" in task["title"] and "[link=https://evil.example]" in task["title"]
    task_id = task["id"]
    code, out = sophie("task", "show", task_id, "--db", f"sqlite:///{db}")
    assert code == 0, out
    assert_safe(out)
    assert f"Call {SHOWN_PATIENT} about" in out


def test_inspect_prints_a_hostile_practice_name_literally(files: tuple[Path, Path, Path]) -> None:
    _, snapshot, _ = files
    code, out = sophie("inspect", str(snapshot), "--now", THU)
    assert code == 0, out
    assert_safe(out)
    assert SHOWN_PRACTICE in out


def test_explain_prints_hostile_values_literally(files: tuple[Path, Path, Path]) -> None:
    _, snapshot, pack = files
    code, out = sophie("explain", "--pack", str(pack), "--source", str(snapshot), "--rule", "plan.unscheduled",
                       "--subject", "tp-1", "--now", THU)  # fmt: skip
    assert code == 0, out
    assert_safe(out)
    assert "Call Ana[/]" in out and "[link=https://evil.example]x[/link]" in out


def test_the_real_command_line_exits_0_with_the_text_shown(files: tuple[Path, Path, Path]) -> None:
    import subprocess

    db, snapshot, pack = files
    exe = shutil.which("sophie") or ""
    args = [exe] if exe else [sys.executable, "-m", "sophie"]
    result = subprocess.run([*args, "run", "--adapter", "files", "--source", str(snapshot), "--pack", str(pack),
                             "--db", f"sqlite:///{db}", "--now", THU],
                            capture_output=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"\x1b" not in result.stdout + result.stderr
    assert "Call" in result.stdout.decode() and "[/]" in result.stdout.decode()


def test_clean_and_cell_remove_every_control_character_and_escape_markup() -> None:
    from sophie.cli.render import cell, clean

    assert clean("a\x1b[2Jb\x07c\r\n\td\x9be\x7ff\u202eg") == "a[2Jbcdefg"
    assert clean("line 1\nline 2\x1b", lines=True) == "line 1\nline 2"
    assert cell("[link=https://evil.example]x[/link]") == "\\[link=https://evil.example]x\\[/link]"

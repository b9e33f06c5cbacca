"""docs/execution.md shows real output: its commands are run here and must print what it says.

Run with ``SOPHIE_UPDATE_DOCS=1`` to rewrite the outputs in the page after a deliberate change.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from sophie.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "execution.md"
BLOCK = re.compile(r"```console\n\$ sophie (?P<command>[^\n]*)\n(?P<output>.*?)```", re.DOTALL)


def render(text: str) -> str:
    def run(match: re.Match[str]) -> str:
        result = CliRunner().invoke(cli, shlex.split(match["command"]), catch_exceptions=False)
        output = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        return f"```console\n$ sophie {match['command']}\n{output}\n```"

    return BLOCK.sub(run, text)


def test_the_commands_in_the_execution_docs_print_what_the_docs_show(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text()
    rendered = render(text)
    if os.environ.get("SOPHIE_UPDATE_DOCS"):
        DOC.write_text(rendered)
    assert rendered == text
    assert len(BLOCK.findall(text)) >= 10


def test_the_python_examples_in_the_execution_docs_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0

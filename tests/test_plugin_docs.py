"""docs/plugins.md documents every hook, and its Python examples run as written."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sophie.plugins.hookspecs import SophieSpecs

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
HOOKS = sorted(name for name, _ in inspect.getmembers(SophieSpecs) if name.startswith("sophie_"))


def examples() -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in BLOCK.finditer(text)]


def section(hook: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"^## {hook}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return match.group(1) if match else ""


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_with_a_runnable_example(hook: str) -> None:
    body = section(hook)
    assert body, f"docs/plugins.md has no '## {hook}' section"
    assert "```python" in body, f"the {hook} section has no python example"
    assert f"def {hook}(" in body, f"the {hook} section's example does not implement the hook"


def test_the_hooks_are_the_ones_documented() -> None:
    assert HOOKS == ["sophie_adapters", "sophie_notifiers", "sophie_rule_functions", "sophie_rule_packs",
                     "sophie_task_changed"]


@pytest.mark.parametrize(("line", "code"), examples(), ids=[f"line-{line}" for line, _ in examples()])
def test_python_examples_run(line: int, code: str, tmp_path: Path) -> None:
    environment = {**os.environ, "SOPHIE_DISABLE_PLUGINS": "1"}
    first = code.splitlines()[0]
    if first.startswith("# file: "):
        name = first.removeprefix("# file: ").strip()
        (tmp_path / name).write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", name]
    else:
        command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=300,
                            check=False)
    assert result.returncode == 0, f"docs/plugins.md:{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    if first.startswith("# file: "):
        summary = result.stdout.splitlines()[-1]
        assert "failed" not in summary and "skipped" not in summary, summary

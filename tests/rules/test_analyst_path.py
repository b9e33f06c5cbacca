"""The analyst's path in docs/rule-packs.md runs as written: write a pack, check, test, try it on real data, explain."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rule-packs.md"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Trying rules on real data")
    return text[start : text.index("\n## ", start + 3)]


def sophie(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sophie", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_the_analyst_path_runs_as_written(tmp_path: Path) -> None:
    text = section()
    pack = re.search(r"```yaml\n# file: my-pack.yaml\n(.*?)```", text, re.S)
    assert pack is not None
    (tmp_path / "my-pack.yaml").write_text(pack.group(1), encoding="utf-8")
    commands = [shlex.split(line)[1:] for line in re.search(r"```bash\n(.*?)```", text, re.S).group(1).splitlines()]  # type: ignore[union-attr]
    assert [c[0] for c in commands] == ["check", "test", "test", "snapshot", "test", "explain"]
    outputs = {}
    for args in commands:
        result = sophie(args, tmp_path)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        outputs[" ".join(args)] = result.stdout
    assert (tmp_path / "practice.json").stat().st_size > 1_000_000
    assert "recall.lapsed on recall rc-61 at 2026-03-02T07:30:00-05:00: fires" in outputs[" ".join(commands[-1])]
    # The console example shows exactly what the command prints, and the exported file finds the same.
    shown = re.search(r"```console\n\$ sophie (.*?)\n(.*?)```", text, re.S)
    assert shown is not None
    assert outputs[shown.group(1)] == shown.group(2)
    from_file = outputs[" ".join(commands[4])].splitlines()
    assert from_file[-2:] == shown.group(2).splitlines()[-2:]

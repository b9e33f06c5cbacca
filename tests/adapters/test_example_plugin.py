"""The example plugin (examples/sophie-example-adapter) works as an installed plugin, without installing it.

Each test lays out an installed-looking distribution (a ``.dist-info`` with the example's
entry point) and puts it and the example's ``src`` on ``PYTHONPATH`` of a subprocess, so
these tests run everywhere, with or without ``pip install -e examples/sophie-example-adapter``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sophie-example-adapter"


def _entry_points() -> str:
    text = (EXAMPLE / "pyproject.toml").read_text()
    section = text.split("[project.entry-points.sophie]", 1)[1].split("\n[", 1)[0]
    lines = [line for line in section.strip().splitlines() if line and not line.startswith("#")]
    return "[sophie]\n" + "\n".join(line.replace('"', "") for line in lines) + "\n"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment variables under which the example looks installed (entry point read from its pyproject)."""
    site = tmp_path_factory.mktemp("site")
    info = site / "sophie_example_adapter-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sophie-example-adapter\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(_entry_points())
    path = os.pathsep.join([str(site), str(EXAMPLE / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path.rstrip(os.pathsep), "SOPHIE_DISABLE_PLUGINS": ""}


def run(args: list[str], environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environment, cwd=cwd,
                          timeout=300, check=False)


def test_the_example_passes_the_conformance_kit_and_its_own_tests(environment: dict[str, str]) -> None:
    result = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(EXAMPLE / "tests")], environment, EXAMPLE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "skipped" not in summary and "failed" not in summary, summary
    assert "TestAcmeAdapter" in run(["-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
                                     str(EXAMPLE / "tests")], environment, EXAMPLE).stdout


def test_the_example_appears_in_sophie_plugins(environment: dict[str, str], tmp_path: Path) -> None:
    result = run(["-m", "sophie", "plugins", "--format", "json", "--strict"], environment, tmp_path)
    assert result.returncode == 0, result.stderr
    acme = next(p for p in json.loads(result.stdout)["plugins"] if p["name"] == "acme")
    assert (acme["distribution"], acme["version"]) == ("sophie-example-adapter", "0.1.0")
    assert acme["provides"] == {
        "adapters": ["acme"],
        "rule_functions": ["acme_is_vip", "acme_lifetime_value"],
        "rule_packs": ["acme-vip"],
    }


def test_sophie_run_uses_the_example_adapter_and_pack(environment: dict[str, str], tmp_path: Path) -> None:
    result = run(["-m", "sophie", "run", "--adapter", "acme", "--pack", "acme-vip", "--now", "2026-03-05T12:00:00-06:00",
                  "--db", str(tmp_path / "sophie.db"), "--format", "json"], environment, tmp_path)
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [(c["change"], c["task"]["subject"]["id"], c["task"]["owner_role"]) for c in changes] == [
        ("created", "PL-1", "office_manager")
    ]

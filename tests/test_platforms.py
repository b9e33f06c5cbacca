"""sophie runs where practices run: nothing POSIX-only is needed at import time or to run a cycle.

Open Dental practices run Windows servers, where ``fcntl``, ``termios`` and friends do not
exist. These tests hide those modules (importing them raises ``ImportError``, as on
Windows) and run the CLI as a user would.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "sophie"
POSIX_ONLY = ("fcntl", "termios", "tty", "pty", "resource", "pwd", "grp")
SHIM = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None  # import raises ImportError\n"


@pytest.fixture
def windows_like(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import the POSIX-only modules."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM.format(names=POSIX_ONLY))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])}
    environment["SOPHIE_DISABLE_PLUGINS"] = "1"
    return environment


def sophie(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sophie", *args], capture_output=True, text=True,
                          env=environment, timeout=300, check=False)


def test_the_shim_hides_the_posix_modules(windows_like: dict[str, str]) -> None:
    for name in ("fcntl", "termios"):
        done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True,
                              env=windows_like, timeout=60, check=False)
        assert done.returncode != 0 and f"import of {name} halted" in done.stderr  # a ModuleNotFoundError


def test_every_command_module_imports_without_posix_modules(windows_like: dict[str, str]) -> None:
    code = "import sophie, sophie.cli, sophie.execution.realtime.watch, sophie.notifiers.email"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=windows_like, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_the_cli_runs_a_cycle_without_posix_modules(windows_like: dict[str, str], tmp_path: Path) -> None:
    assert sophie(windows_like, "--help").returncode == 0
    done = sophie(windows_like, "run", "--adapter", "demo", "--db", f"sqlite:///{tmp_path / 'sophie.db'}",
                  "--format", "json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["created"] > 0


def test_no_module_imports_a_posix_only_module_at_import_time() -> None:
    """Module-level imports only: a POSIX-only module may be imported inside a function that needs it."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            offenders += [f"{path.relative_to(SRC)}:{node.lineno} {name}" for name in names
                          if name.split(".")[0] in POSIX_ONLY]
    assert offenders == []


def test_an_unwritable_lock_directory_is_a_one_line_usage_error(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    done = sophie({**os.environ, "SOPHIE_DISABLE_PLUGINS": "1"}, "watch", "--adapter", "demo", "--once",
                  "--db", f"sqlite:///{not_a_directory / 'sophie.db'}")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("sophie: error: cannot create the watch lock ") and "writable directory" in line

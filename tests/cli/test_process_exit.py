"""The ``sophie`` process skips the last collector pass at exit (seconds after a large practice's cycle)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs after main's own handler
sys.argv = ["sophie", "functions", "--format", "json"]
from sophie.cli import main
main()
"""


def test_the_command_line_freezes_what_is_alive_before_python_shuts_down():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("frozen at exit: True")

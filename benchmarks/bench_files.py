"""``sophie run --adapter files`` against merely parsing the snapshot's JSON, at growing practice sizes.

Usage: python benchmarks/bench_files.py [PATIENTS ...]   (default: 5500 11000 22000)

For each size, in one run: a demo practice is written as a JSON snapshot file; then,
measured from outside (a fresh process each, best of ``REPEATS``), the wall time and
the CPU time of a process that only parses the file with ``json`` against those of
``sophie run --adapter files`` on it (a fresh SQLite ledger each time, so every run is
the write-heaviest first cycle; JSON output to /dev/null). The ratio of the two is the
number the target is about (<= 15x), and it should stay flat as the practice grows
(linear cost). Then, in this process, one cycle split into its steps (read, validate,
index, evaluate, reconcile + commit, print) shows where the time goes. The load average
is printed: on a shared machine the CPU-time ratio is the steadier one; compare ratios
within one run.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sophie.adapters import DemoAdapter
from sophie.adapters.files import collector_paused, read_data_file
from sophie.cli.commands.snapshot_commands import snapshot_text
from sophie.cli.render import print_json
from sophie.execution import open_ledger
from sophie.execution.engine import apply_evaluation, rules_by_id
from sophie.model import parse_snapshot
from sophie.rules import evaluate, load_pack

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
REPEATS = 3
SOPHIE = str(Path(sys.executable).with_name("sophie"))
PARSE = "import json, sys; from decimal import Decimal; json.loads(open(sys.argv[1], 'rb').read(), parse_float=Decimal)"


def timed(command: list[str]) -> tuple[float, float]:
    """Return (wall seconds, CPU seconds: user + system) of one run of ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(commands: list[list[str]]) -> tuple[float, float]:
    """Return the best wall time and the best CPU time over the runs of ``commands``."""
    times = [timed(command) for command in commands]
    return min(wall for wall, _ in times), min(cpu for _, cpu in times)


def run_commands(path: Path, directory: Path) -> list[list[str]]:
    """Return ``REPEATS`` ``sophie run`` commands on ``path``, each with a fresh ledger (the first cycle)."""
    return [
        [SOPHIE, "run", "--adapter", "files", "--source", str(path), "--pack", "dental-core",
         "--db", f"sqlite:///{directory / f'ledger-{path.stem}-{attempt}.db'}", "--now", NOW.isoformat(),
         "--format", "json"]
        for attempt in range(REPEATS)
    ]  # fmt: skip


def steps(path: Path, directory: Path) -> dict[str, float]:
    """Return the seconds of each step of one cycle, in this process, the collector paused as ``sophie run`` does."""
    with collector_paused():
        return _steps(path, directory)


def _steps(path: Path, directory: Path) -> dict[str, float]:
    packs = [load_pack("dental-core")]
    times: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name], mark = now - mark, now

    data = read_data_file(path)
    lap("read")
    snapshot = parse_snapshot(data, source=str(path))
    lap("validate")
    _ = snapshot.index
    lap("index")
    evaluation = evaluate(packs, snapshot, NOW)
    lap("evaluate")
    with open_ledger(f"sqlite:///{directory / 'steps.db'}") as ledger:
        result = apply_evaluation(ledger, snapshot, evaluation, rules=rules_by_id(packs), now=NOW)
    lap("reconcile + commit")
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        print_json(result.as_dict())  # as `--format json` prints it
    lap("print")
    return times


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:] if arg.isdigit()] or [5500, 11000, 22000]
    print(f"sophie run --adapter files vs parsing its JSON; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for patients in sizes:
            path = directory / f"practice-{patients}.json"
            snapshot = DemoAdapter(seed=1, patients=patients, as_of=NOW).fetch()
            path.write_text(snapshot_text(snapshot, yaml_format=False), encoding="utf-8")
            del snapshot
            parse, parse_cpu = best([[sys.executable, "-c", PARSE, str(path)]] * REPEATS)
            run, run_cpu = best(run_commands(path, directory))
            split = steps(path, directory)
            total = sum(split.values())
            parts = ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in split.items())
            print(f"  {patients:6d} patients ({path.stat().st_size / 2**20:5.1f} MiB), load {os.getloadavg()[0]:.2f}:"
                  f" wall: parse {parse:5.2f} s, sophie run {run:6.2f} s, ratio {run / parse:5.1f}x;"
                  f" CPU: parse {parse_cpu:5.2f} s, sophie run {run_cpu:6.2f} s, ratio {run_cpu / parse_cpu:5.1f}x,"
                  f" {run_cpu / patients * 1000:5.3f} s per 1k patients")  # fmt: skip
            print(f"         in this process, one cycle {total:5.2f} s: {parts}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""``sophie watch``: keep running; poll and consume events, reconcile, escalate, deliver.

Output: on a terminal, a status line that shows the last tick and the next wake, plus one
line per tick that changed tasks; otherwise (a pipe, a log collector) one JSON object per
tick. Both carry ids and counts only, never patient names.

Exit codes: 0 after ``--once``, ``--until`` or SIGINT/SIGTERM (the current cycle finishes
first); 2 for bad input, when another watcher holds the ledger's lock, or when the one
tick of ``--once`` could not read the practice.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

import click
from rich.status import Status

from sophie.cli.commands.execution_commands import record_directory
from sophie.cli.commands.outbox_commands import DIGEST_OPTIONS
from sophie.cli.config_options import CONFIG_OPTION, command_config, ledger_url, practice_from
from sophie.cli.options import DB_OPTION, AwareDateTime
from sophie.cli.ownership_options import ownership_options
from sophie.cli.render import cell, console, echo, json_text
from sophie.errors import AdapterError, LedgerError
from sophie.execution import SqliteLedger, sqlite_path
from sophie.execution.practice_setup import practice_setup
from sophie.execution.realtime.sweep import Sweep
from sophie.execution.realtime.watch import SimulatedClock, SystemClock, WatchClock, Watcher, WatchLock, WatchTick
from sophie.execution.stores.task_cache import CachedTaskLedger

if TYPE_CHECKING:
    from sophie.adapters.base import Adapter
    from sophie.notifiers.delivery import DeliveryWorker
    from sophie.plugins.manager import Plugins

__all__ = ["watch_command"]


def _adapter(name: str, source: str | None, events: str | None, clock: WatchClock, plugins: Plugins) -> Adapter:
    from sophie.adapters import DemoAdapter, create_adapter

    if name == "files" and source is not None:
        from sophie.adapters.event_files import EventFilesAdapter

        return EventFilesAdapter(source, events)
    if name == "demo" and source is None:
        demo = DemoAdapter(as_of=clock.now())
        if events == "simulate":
            from sophie.adapters.demo.events import DemoEventsAdapter

            return DemoEventsAdapter(demo.fetch(), clock.now)
        return demo
    return create_adapter(name, source=source, plugins=plugins)


def _delivery(
    path: str, console_notifier: bool, digests: bool = False, digest_at: tuple[str, ...] = ()
) -> DeliveryWorker | None:
    if not console_notifier or path == ":memory:":
        return None
    from sophie.cli.commands.outbox_commands import digest_settings
    from sophie.notifiers.delivery import DeliveryWorker
    from sophie.notifiers.registry import create_notifier
    from sophie.notifiers.sqlite_outbox import SqliteOutbox

    outbox = SqliteOutbox(path)
    if digests or digest_at:
        outbox.digests = digest_settings(outbox.practice_timezone(), digest_at)
    return DeliveryWorker(outbox, {"console": create_notifier("console")})


@contextmanager
def _watch_lock(path: str) -> Iterator[None]:
    """Hold the ledger's watch lock; a lock file that cannot be made is bad input (exit 2)."""
    lock = WatchLock(path)
    try:
        lock.acquire()
    except OSError as err:
        raise LedgerError(f"cannot take the watch lock {lock.path}: {err.strerror or err}") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _printer(output: str) -> tuple[Status | None, Callable[[WatchTick], None]]:
    out = console()
    terminal = output == "text" or (output == "auto" and out.is_terminal)
    status = out.status("sophie watch: starting") if terminal else None

    def on_tick(tick: WatchTick) -> None:
        if not terminal:
            echo(json_text(tick.as_log(), separators=(",", ":")))
            sys.stdout.flush()
            return
        record = tick.as_log()
        wake = "" if tick.next_wake is None else f"; next {tick.next_wake:%H:%M:%S}"
        if record.get("changes") or tick.error:
            counts = tick.result.counts() if tick.result is not None else {}
            what = tick.error or ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
            out.print(f"{tick.at:%Y-%m-%d %H:%M:%S} {cell(tick.trigger)}: {cell(what)}")
        if status is not None:
            status.update(
                f"sophie watch: {tick.trigger} at {tick.at:%H:%M:%S}, {record.get('open_tasks', '?')} open{wake}"
            )

    return status, on_tick


@click.command("watch")
@CONFIG_OPTION
@click.option("--practice", "practice_id", metavar="ID", help="The practice of a group's file to watch.")
@click.option("--adapter", default=None, help="Where the snapshot comes from (files, demo, or a plugin's).")
@click.option("--source", help="The adapter's source, e.g. the snapshot file for --adapter files.")
@click.option("--events", "events_path", metavar="FILE.jsonl",
              help="A JSON-lines file of change events (files); 'simulate' with --adapter demo.")  # fmt: skip
@click.option(
    "--interval", type=click.FloatRange(min=1), default=300, show_default=True, help="Seconds between full reads."
)
@click.option("--sweep", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Re-evaluate the practice a slice at a time between full reads, a whole round every "
                   "SECONDS (catches stalls that time alone makes true; for large practices).")  # fmt: skip
@click.option("--event-poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between checks of the events file.")  # fmt: skip
@click.option("--pack", "pack_refs", multiple=True, metavar="PACK", help="A rule pack by name or path (repeatable).")
@click.option("--param", "param_pairs", multiple=True, metavar="K=V", help="Override a pack parameter.")
@ownership_options
@DB_OPTION
@click.option("--once", is_flag=True, help="Run one tick (a full read and cycle) and exit.")
@click.option("--until", type=AwareDateTime(), help="Stop when the clock reaches this time.")
@click.option("--clock-start", type=AwareDateTime(), help="Run on a simulated clock starting here (tests, replays).")
@click.option("--clock-speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Simulated clock speed; 0 jumps straight to each wake-up.")  # fmt: skip
@click.option("--notify-console", is_flag=True, help="Deliver the outbox to the console each tick.")
@DIGEST_OPTIONS[0]
@DIGEST_OPTIONS[1]
@click.option("--output", type=click.Choice(["auto", "text", "json"]), default="auto", show_default=True,
              help="A status line (terminal) or JSON lines (otherwise).")  # fmt: skip
def watch_command(
    config_path: str | None,
    practice_id: str | None,
    adapter: str | None,
    source: str | None,
    events_path: str | None,
    interval: float,
    sweep: float | None,
    event_poll: float,
    pack_refs: tuple[str, ...],
    param_pairs: tuple[str, ...],
    owner_strategy: str,
    fixed_owner: tuple[str, ...],
    cover: tuple[str, ...],
    reopen_grace: str,
    capacity: int,
    db_url: str,
    once: bool,
    until: datetime | None,
    clock_start: datetime | None,
    clock_speed: float,
    notify_console: bool,
    digests: bool,
    digest_at: tuple[str, ...],
    output: str,
) -> None:
    """Keep running: read the practice, consume its events, reconcile, escalate as time passes.

    One watcher per ledger (a lock file beside it); SIGINT or SIGTERM finishes the current
    cycle and exits 0. See docs/watch.md.
    """
    from sophie.plugins.manager import Plugins
    from sophie.rules import parse_param_overrides

    config = command_config(config_path)
    practice = practice_from(
        config, practice_id, adapter=adapter, source=source, pack_refs=pack_refs, owner_strategy=owner_strategy,
        fixed_owner=fixed_owner, cover=cover, reopen_grace=reopen_grace, capacity=capacity,
    )  # fmt: skip
    url = ledger_url(db_url, config)
    path = sqlite_path(url)
    if not digests and not digest_at and practice.digests is not None:  # flags over the configuration
        digests, digest_at = True, practice.digests.at
    plugins = Plugins()
    setup = practice_setup(practice, plugins=plugins)
    packs, settings = setup.packs, setup.settings
    params = {**setup.params, **parse_param_overrides(packs, param_pairs)}
    clock: WatchClock = SystemClock() if clock_start is None else SimulatedClock(clock_start, clock_speed)
    source_adapter = _adapter(setup.adapter, setup.source, events_path, clock, plugins)
    stop = threading.Event()
    status, printer = _printer(output)
    failed: list[str] = []

    def on_tick(tick: WatchTick) -> None:
        if tick.error:
            failed[:] = [tick.error]
        elif tick.result is not None and watcher.snapshot is not None and path != ":memory:":
            record_directory(url, watcher.snapshot, config)  # a full read: names, roles, the huddle
            watcher.snapshot = None
        printer(tick)

    with _watch_lock(path), SqliteLedger(path, autocheckpoint=False) as store, _stop_on_signals(stop):
        ledger = CachedTaskLedger(store, path)
        watcher = Watcher(
            source_adapter,
            packs,
            ledger,
            clock=clock,
            interval=timedelta(seconds=interval),
            event_poll=timedelta(seconds=event_poll) if events_path else None,
            params=params,
            settings=settings,
            delivery=_delivery(path, notify_console, digests, digest_at),
            on_tick=on_tick,
            sweep=None if sweep is None else Sweep(timedelta(seconds=sweep)),
            plugins=plugins,
        )
        if status is not None:
            with status:
                watcher.run(stop, until=until, once=once)
        else:
            watcher.run(stop, until=until, once=once)
        ledger.close()
    source_adapter.close()
    if once and failed:  # one tick was asked for, and it could not read the practice
        raise AdapterError(f"the read failed: {failed[0]}")

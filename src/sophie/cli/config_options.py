"""``--config``: commands read ``sophie.toml`` (or the file named) and let flags override it.

A flag counts as given when it is on the command line (or in the environment); its
default never overrides the file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from sophie.cli.ownership_options import pairs as ownership_pairs
from sophie.config import PracticeConfig, SophieConfig, find_config, load_config
from sophie.errors import ConfigurationError
from sophie.execution.stores.ledger import is_postgres_url, sqlite_path

if TYPE_CHECKING:
    from sophie.model import Snapshot

__all__ = [
    "CONFIG_OPTION",
    "POSTGRES_SITE_DB",
    "PRACTICE_OPTION",
    "command_config",
    "configured_practice",
    "given",
    "ledger_url",
    "practice_from",
    "site_path",
]

POSTGRES_SITE_DB = "sophie.site.db"
"""The site store beside a PostgreSQL ledger when ``server.site_db`` names none (current directory)."""

CONFIG_OPTION = click.option(
    "--config", "config_path", metavar="FILE", default=None,
    help="The configuration file [default: ./sophie.toml when present].",
)  # fmt: skip


PRACTICE_OPTION = click.option(
    "--practice", "practice_id", metavar="ID", help="The practice of a group's configuration file."
)


def given(name: str) -> bool:
    """Whether the current command's parameter ``name`` was given (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def command_config(config_path: str | None) -> SophieConfig | None:
    """Return the configuration a command reads: ``--config``, else ``./sophie.toml`` if present.

    Raises:
        ConfigFileError: The file is missing (when named), unreadable or has a bad key.
    """
    path = find_config(config_path, directory=Path.cwd())
    return None if path is None else load_config(path)


def configured_practice(
    config_path: str | None, practice_id: str | None, now: datetime | None
) -> tuple[Snapshot, datetime] | None:
    """Read the practice of ``sophie.toml`` (or ``--config``) as ``sophie run`` reads it, and say when to act.

    For the commands that read a practice from ``--adapter``/``--source`` and fall back on
    the file when neither is given (``explain``, ``test --config``, ``snapshot export``). The
    adapter's secrets come from the environment, as for ``run``.

    Returns:
        The snapshot and the time to act at, or ``None`` when there is no file.

    Raises:
        ConfigurationError: ``--practice`` without a file, a bad file, or a missing secret.
    """
    from sophie.cli.options import moment_of
    from sophie.execution.practice_setup import practice_setup

    config = command_config(config_path)
    if config is None:
        if practice_id is not None:
            raise ConfigurationError("--practice needs a configuration file (sophie.toml or --config)")
        return None
    setup = practice_setup(config.practice(practice_id))
    snapshot = setup.fetch(now)
    return snapshot, moment_of(snapshot, setup.adapter, now)


def ledger_url(db_url: str, config: SophieConfig | None) -> str:
    """Return ``--db`` when given, else the file's ledger, else ``--db``'s default."""
    if config is None or given("db_url"):
        return db_url
    return config.ledger.resolved_url()


def practice_from(
    config: SophieConfig | None,
    practice_id: str | None,
    *,
    adapter: str | None,
    source: str | None,
    pack_refs: tuple[str, ...],
    owner_strategy: str,
    fixed_owner: tuple[str, ...],
    cover: tuple[str, ...],
    reopen_grace: str,
    capacity: int | None = None,
) -> PracticeConfig:
    """Return the practice a command runs: the file's, with the flags given laid over it.

    Raises:
        click.UsageError: Neither ``--adapter`` nor a configuration names an adapter.
        ConfigurationError: ``--practice`` names no practice of the file, or a group has several.
    """
    if config is None:
        if practice_id is not None:
            raise ConfigurationError("--practice needs a configuration file (sophie.toml or --config)")
        if adapter is None:
            raise click.UsageError("give --adapter, or write a sophie.toml first (`sophie init --adapter demo`)")
        practice = PracticeConfig(adapter=adapter)
    else:
        practice = config.practice(practice_id)
    update: dict[str, object] = {}
    if adapter is not None and adapter != practice.adapter:
        update.update(adapter=adapter, source=None, adapter_settings={})
    if source is not None:
        update["source"] = source
    if pack_refs:
        update["packs"] = pack_refs
    ownership: dict[str, object] = {}
    if given("owner_strategy"):
        ownership["strategy"] = owner_strategy
    if fixed_owner:
        ownership["fixed"] = ownership_pairs(fixed_owner, "--fixed-owner")
    if cover:
        ownership["cover"] = ownership_pairs(cover, "--cover")
    if given("reopen_grace"):
        ownership["reopen_grace"] = reopen_grace
    if ownership:
        update["ownership"] = practice.ownership.model_copy(update=ownership)
    if capacity is not None and given("capacity"):
        update["capacity"] = practice.capacity.model_copy(update={"default": capacity})
    return practice.model_copy(update=update) if update else practice


def site_path(db_url: str, config: SophieConfig | None) -> str:
    """Return the site store's file: the configuration's ``server.site_db``, else beside a SQLite ledger.

    A PostgreSQL ledger's site store is a local SQLite file too: ``server.site_db``, else
    ``sophie.site.db`` in the current directory.
    """
    if config is not None and config.server.site_db:
        return config.server.site_db
    if is_postgres_url(db_url):
        return POSTGRES_SITE_DB
    from sophie.web.site_store import site_store_path  # no web extra needed: the standard library's sqlite3

    return site_store_path(sqlite_path(db_url))

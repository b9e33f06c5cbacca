"""The settings of ``sophie.toml`` as frozen models (one practice, or a group of them).

The file's shape::

    [ledger]          url, or url_env (the variable holding a PostgreSQL URL with its password)
    [practice]        adapter, source, packs, params, adapter_settings
      [practice.ownership]  strategy, fixed, cover, reopen_grace
      [practice.capacity]   default
      [practice.digests]    at
      [[practice.notifiers]] kind, settings
    [server]          host, port, secret_env

A group of practices has ``[defaults]`` (the keys of ``[practice]``) and one
``[[practices]]`` table per practice, each with an ``id``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sophie.errors import ConfigurationError

__all__ = [
    "DEFAULT_LEDGER_URL",
    "CapacityConfig",
    "LedgerConfig",
    "NotifierConfig",
    "NotifierKind",
    "OwnershipConfig",
    "PracticeConfig",
    "ServerConfig",
    "SophieConfig",
    "resolve_env_keys",
]

DEFAULT_LEDGER_URL = "sqlite:///sophie.db"
"""The ledger used when the file names none (``sophie.db`` beside where sophie runs)."""

ParamValue = str | int | float | bool | list[str] | list[int] | list[float]
"""A pack parameter as TOML writes it."""

_STRATEGIES = ("least_open", "round_robin", "fixed")


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NotifierKind(StrEnum):
    """A built-in notification channel."""

    CONSOLE = "console"
    WEBHOOK = "webhook"
    EMAIL = "email"


def resolve_env_keys(settings: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return ``settings`` with every ``NAME_env`` key replaced by ``NAME`` = the variable's value.

    Secrets stay out of the file: ``password_env = "SOPHIE_SMTP_PASSWORD"`` becomes
    ``password`` = the value of ``SOPHIE_SMTP_PASSWORD``.

    Raises:
        ConfigurationError: A named variable is not set (the variable is named, never its value).
    """
    env = os.environ if env is None else env
    resolved: dict[str, Any] = {}
    for key, value in settings.items():
        if key.endswith("_env") and isinstance(value, str):
            if value not in env:
                raise ConfigurationError(f"setting {key}: the environment variable {value} is not set")
            resolved[key[: -len("_env")]] = env[value]
        else:
            resolved[key] = value
    return resolved


class LedgerConfig(_Settings):
    """Where the ledger lives.

    Attributes:
        url: ``sqlite:///PATH``, ``:memory:`` or ``postgresql://...`` (without a password).
        url_env: The environment variable holding the URL instead (for URLs with secrets).
    """

    url: str | None = None
    url_env: str | None = None

    def resolved_url(self, env: Mapping[str, str] | None = None) -> str:
        """Return the ledger URL, read from the environment when ``url_env`` is set.

        Raises:
            ConfigurationError: ``url_env`` names a variable that is not set.
        """
        if self.url_env is None:
            return self.url or DEFAULT_LEDGER_URL
        return str(resolve_env_keys({"url_env": self.url_env}, env)["url"])


class OwnershipConfig(_Settings):
    """Who gets a new task (the ``--owner-strategy``, ``--fixed-owner``, ``--cover``, ``--reopen-grace`` flags).

    Attributes:
        strategy: ``least_open``, ``round_robin`` or ``fixed``.
        fixed: Role -> staff id, for ``fixed``.
        cover: Role -> the role that covers for it when nobody holding it is in.
        reopen_grace: How long a task marked done may still show in the PMS before it reopens.
    """

    strategy: str = "least_open"
    fixed: dict[str, str] = Field(default_factory=dict)
    cover: dict[str, str] = Field(default_factory=dict)
    reopen_grace: str = "1 business_hour"

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in _STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; use one of {', '.join(_STRATEGIES)}")
        return value


class CapacityConfig(_Settings):
    """How many open tasks one person carries before more wait in a backlog.

    Attributes:
        default: The capacity of each person without one of their own.
    """

    default: Annotated[int, Field(ge=0)] = 30


class DigestsConfig(_Settings):
    """Non-urgent notifications gathered into one digest per person (on when the table is present).

    Attributes:
        at: The digest windows, practice-local ``HH:MM``.
    """

    at: tuple[str, ...] = ("08:00", "13:00")

    @field_validator("at")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one digest window")
        for text in value:
            parts = text.split(":")
            if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts) or text > "23:59" \
                    or int(parts[1]) > 59:  # fmt: skip
                raise ValueError(f"a digest window is HH:MM, not {text!r}")
        return value


class NotifierConfig(_Settings):
    """One notification channel.

    Attributes:
        kind: ``console``, ``webhook`` or ``email``.
        settings: The channel's settings; secrets as ``NAME_env`` keys naming a variable.
    """

    kind: NotifierKind
    settings: dict[str, Any] = Field(default_factory=dict)


class PracticeConfig(_Settings):
    """One practice: where its data comes from, which rules run, who owns what.

    Attributes:
        id: The practice's id in a group (``None`` for the single practice of a file).
        adapter: The adapter name (``demo``, ``files``, ``opendental`` or a plugin's).
        source: The adapter's source (a file, a URL), when it takes one.
        packs: Rule packs by name or path (empty: the default pack).
        params: Pack parameter overrides.
        adapter_settings: Extra settings for the adapter (``NAME_env`` keys read from the environment).
        ownership: Ownership settings.
        capacity: Capacity settings.
        digests: Digest windows (``None``: each notification goes at once).
        notifiers: Notification channels.
    """

    id: str | None = None
    adapter: str
    source: str | None = None
    packs: tuple[str, ...] = ()
    params: dict[str, ParamValue] = Field(default_factory=dict)
    adapter_settings: dict[str, Any] = Field(default_factory=dict)
    ownership: OwnershipConfig = Field(default_factory=OwnershipConfig)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    digests: DigestsConfig | None = None
    notifiers: tuple[NotifierConfig, ...] = ()

    @field_validator("adapter")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the adapter name is empty")
        return value


class ServerConfig(_Settings):
    """The staff pages' server (``sophie serve``).

    Attributes:
        host: The address to listen on (loopback by default; put a TLS proxy in front otherwise).
        port: The port.
        secret_env: Reserved for a session-signing key (sessions are kept in the site store, so none is needed).
        site_db: The SQLite file of accounts, tokens and the directory (default: beside a
            SQLite ledger, ``sophie.db`` -> ``sophie.site.db``).
    """

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8765
    secret_env: str = "SOPHIE_SERVER_SECRET"
    site_db: str | None = None


class SophieConfig(_Settings):
    """A whole ``sophie.toml``: the ledger, the practices and the server.

    Attributes:
        path: The file it was read from (``None`` when built in code).
        ledger: The ledger settings.
        practices: One practice, or each practice of a group with the defaults merged in.
        server: The server settings.
    """

    path: Path | None = None
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    practices: tuple[PracticeConfig, ...]
    server: ServerConfig = Field(default_factory=ServerConfig)

    def practice(self, practice_id: str | None = None) -> PracticeConfig:
        """Return the practice with ``practice_id``, or the only one when it is ``None``.

        Raises:
            ConfigurationError: No practice has that id, or the file has several and none was named.
        """
        where = f"{self.path}: " if self.path else ""
        if practice_id is None:
            if len(self.practices) != 1:
                ids = ", ".join(p.id or "?" for p in self.practices)
                raise ConfigurationError(f"{where}the file has {len(self.practices)} practices ({ids}); name one")
            return self.practices[0]
        for practice in self.practices:
            if practice.id == practice_id:
                return practice
        raise ConfigurationError(f"{where}no practice has id {practice_id!r}")

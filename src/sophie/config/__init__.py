"""``sophie.toml``: one file for a practice (or a group of them), its ledger and its server.

:func:`load_config` reads and checks a file; every problem is located (``FILE:LINE: key
a.b.c: message``). :func:`sophie.execution.practice_setup.practice_setup` turns a
:class:`PracticeConfig` into the adapter, packs, parameters and execution settings a
cycle uses.
"""

from __future__ import annotations

from sophie.config.loading import CONFIG_FILE_NAME, ConfigFileError, find_config, key_lines, load_config, parse_config
from sophie.config.models import (
    DEFAULT_LEDGER_URL,
    CapacityConfig,
    LedgerConfig,
    NotifierConfig,
    NotifierKind,
    OwnershipConfig,
    PracticeConfig,
    ServerConfig,
    SophieConfig,
    resolve_env_keys,
)
from sophie.config.starter import STARTER_ADAPTERS, starter_config

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_LEDGER_URL",
    "STARTER_ADAPTERS",
    "CapacityConfig",
    "ConfigFileError",
    "LedgerConfig",
    "NotifierConfig",
    "NotifierKind",
    "OwnershipConfig",
    "PracticeConfig",
    "ServerConfig",
    "SophieConfig",
    "find_config",
    "key_lines",
    "load_config",
    "parse_config",
    "resolve_env_keys",
    "starter_config",
]

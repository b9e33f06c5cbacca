"""The commented starter ``sophie init`` writes for an adapter."""

from __future__ import annotations

from sophie.errors import ConfigurationError

__all__ = ["STARTER_ADAPTERS", "starter_config"]

STARTER_ADAPTERS = ("demo", "files", "opendental")
"""The adapters ``sophie init --adapter`` has a starter for."""

_SOURCES = {
    "demo": """\
# The demo adapter makes up a realistic practice (same seed, same practice).
# No source: sophie reads it as of the time it runs.
""",
    "files": """\
# The files adapter reads a snapshot exported to JSON or YAML (see `sophie schema snapshot`).
source = "snapshot.json"
""",
    "opendental": """\
# Open Dental: a read-only MySQL/MariaDB user. The URL (with its password) stays out of
# this file: put it in the environment variable named here, e.g.
#   export SOPHIE_OD_URL='mysql://sophie_ro:PASSWORD@127.0.0.1:3306/opendental?timezone=America/Chicago'
adapter_settings = { url_env = "SOPHIE_OD_URL" }
# adapter_settings = { url_env = "SOPHIE_OD_URL", clinic = 2 }   # one clinic of a multi-clinic database
""",
}

_TEMPLATE = """\
# sophie.toml: one practice, its rules, its people and its pages.
# Every command run in this directory reads it (or pass --config PATH); flags override it.
# Reference: docs/configuration.md

[ledger]
# Where tasks and their audit trail are kept. SQLite beside this file by default;
# for PostgreSQL keep the URL (and its password) in the environment:
#   url_env = "SOPHIE_DB_URL"
url = "sqlite:///sophie.db"

[practice]
adapter = "{adapter}"
{source}
# Rule packs by name or path; `sophie rules` lists what is installed.
packs = ["dental-core"]

# Pack parameters (`sophie explain` shows them), e.g. how long a new task waits before
# its first touch:
# params = {{ first_touch_days = 2 }}

[practice.ownership]
# Who gets a new task: least_open (default), round_robin or fixed.
strategy = "least_open"
# fixed = {{ billing = "s-4" }}          # role = staff id, for strategy = "fixed"
# cover = {{ billing = "office_manager" }}   # who covers a role when nobody holding it is in
reopen_grace = "1 business_hour"

[practice.capacity]
# Open tasks one person carries before more wait in a backlog.
default = 30

# Notification channels; secrets come from the environment (keys ending in _env).
[[practice.notifiers]]
kind = "console"
# [[practice.notifiers]]
# kind = "webhook"
# settings = {{ url_env = "SOPHIE_WEBHOOK_URL" }}

[server]
# `sophie serve`: the staff pages. Loopback by default; put a TLS proxy in front to
# open them to the practice's network.
host = "127.0.0.1"
port = 8765
# Accounts, sessions and API tokens are kept in a site store beside the ledger
# (sophie.site.db); `sophie user add STAFF_ID` gives a person a password.
# site_db = "sophie.site.db"
"""


def starter_config(adapter: str) -> str:
    """Return the commented ``sophie.toml`` for ``adapter``.

    Raises:
        ConfigurationError: No starter exists for that adapter.
    """
    if adapter not in _SOURCES:
        raise ConfigurationError(f"no starter for adapter {adapter!r}; use one of {', '.join(STARTER_ADAPTERS)}")
    return _TEMPLATE.format(adapter=adapter, source=_SOURCES[adapter])

"""Connection and interpretation settings of the Open Dental adapter.

A source is a URL, ``mysql://USER:PASSWORD@HOST:PORT/DATABASE?timezone=America/Chicago``,
or, when no URL is given, the environment: ``SOPHIE_OD_URL``, else ``SOPHIE_OD_HOST``,
``SOPHIE_OD_PORT``, ``SOPHIE_OD_USER``, ``SOPHIE_OD_PASSWORD``, ``SOPHIE_OD_DATABASE`` and
``SOPHIE_OD_TIMEZONE``. The password never appears in ``repr``, logs or error messages:
:meth:`OpenDentalSettings.masked_url` shows ``***`` in its place.

What Open Dental leaves to each practice (the names of its confirmation statuses,
commlog types and user groups) is mapped by :class:`Interpretation`, with defaults that
fit Open Dental's shipped definitions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sophie.errors import ConfigurationError
from sophie.model.redaction import mask_url

__all__ = ["DEFAULT_HOURS", "Interpretation", "OpenDentalSettings", "mask_secret"]

DEFAULT_HOURS: dict[str, list[tuple[str, str]]] = {
    day: [("08:00", "12:00"), ("13:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")
}
"""Practice hours when none are configured (Open Dental keeps hours per provider schedule only)."""

DEFAULT_ROLE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("owner", ("owner_dentist",)),
    ("treatment coord", ("treatment_coordinator",)),
    ("hygiene coord", ("hygiene_coordinator",)),
    ("schedul", ("scheduling_coordinator",)),
    ("hygien", ("hygienist",)),
    ("assist", ("assistant",)),
    ("dentist", ("associate_dentist",)),
    ("doctor", ("associate_dentist",)),
    ("manager", ("office_manager",)),
    ("admin", ("office_manager",)),
    ("insurance", ("insurance_coordinator",)),
    ("claim", ("insurance_coordinator",)),
    ("billing", ("financial_coordinator",)),
    ("financ", ("financial_coordinator",)),
    ("collect", ("financial_coordinator",)),
    ("front", ("front_desk",)),
    ("recept", ("front_desk",)),
)
"""User group name fragments (lower case) and the sophie roles they give, first match per group."""

DEFAULT_COMMLOG_TOPICS: tuple[tuple[str, str], ...] = (
    ("confirm", "confirmation"),
    ("recall", "recall"),
    ("treat", "treatment"),
    ("tx", "treatment"),
    ("insur", "insurance"),
    ("claim", "insurance"),
    ("financ", "billing"),
    ("billing", "billing"),
    ("fin", "billing"),
    ("appt", "scheduling"),
    ("appointment", "scheduling"),
    ("sched", "scheduling"),
)
"""Commlog type fragments (definition ItemValue, then ItemName, lower case) and the contact topic they mean."""


def mask_secret(text: str, secret: str | None) -> str:
    """Return ``text`` with every occurrence of ``secret`` replaced by ``***``."""
    return text.replace(secret, "***") if secret else text


@dataclass(frozen=True)
class Interpretation:
    """How the practice's own definitions map onto sophie's vocabulary.

    Attributes:
        confirmed: ApptConfirmed definition names (any case) that count as confirmed, in place of
            the statuses Open Dental's own preferences name (``None``, the default: those).
        roles: User group name (any case) -> sophie roles; replaces the keyword defaults
            for the groups it names.
        commlog_topics: Commlog type name (any case) -> contact topic; replaces the
            keyword defaults for the types it names.
        missed_codes: Procedure codes charted for a missed appointment (no-show).
        cancelled_codes: Procedure codes charted for a cancelled appointment.
    """

    confirmed: frozenset[str] | None = None
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    commlog_topics: Mapping[str, str] = field(default_factory=dict)
    missed_codes: frozenset[str] = frozenset({"D9986"})
    cancelled_codes: frozenset[str] = frozenset({"D9987"})

    def is_confirmed(self, definition_name: str | None) -> bool:
        """Return whether a confirmation definition's name is one of the configured ``confirmed`` names."""
        if self.confirmed is None or definition_name is None:
            return False
        return definition_name.strip().lower() in self.confirmed

    def roles_for(self, group_name: str) -> tuple[str, ...]:
        """Return the sophie roles a user group gives (configured, else by keyword, else none)."""
        configured = {name.strip().lower(): roles for name, roles in self.roles.items()}
        name = group_name.strip().lower()
        if name in configured:
            return tuple(configured[name])
        return next((roles for fragment, roles in DEFAULT_ROLE_KEYWORDS if fragment in name), ())

    def topic_for(self, item_value: str, item_name: str) -> str:
        """Return the contact topic of a commlog type (configured, else by keyword, else ``other``)."""
        configured = {name.strip().lower(): topic for name, topic in self.commlog_topics.items()}
        if item_name.strip().lower() in configured:
            return configured[item_name.strip().lower()]
        for text in (item_value.strip().lower(), item_name.strip().lower()):
            for fragment, topic in DEFAULT_COMMLOG_TOPICS:
                if text and fragment in text:
                    return topic
        return "other"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Interpretation:
        """Read the overrides in the environment.

        ``SOPHIE_OD_CONFIRMED`` is a comma list of definition names; ``SOPHIE_OD_ROLES``
        and ``SOPHIE_OD_COMMLOG_TOPICS`` are JSON objects.

        Raises:
            ConfigurationError: a JSON setting that does not parse or has the wrong shape.
        """
        interpretation = cls()
        confirmed = env.get("SOPHIE_OD_CONFIRMED", "").strip()
        if confirmed:
            names = frozenset(name.strip().lower() for name in confirmed.split(",") if name.strip())
            interpretation = replace(interpretation, confirmed=names)
        roles = _json_object(env, "SOPHIE_OD_ROLES")
        if roles:
            if not all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in roles.values()):
                raise ConfigurationError('SOPHIE_OD_ROLES must map group names to lists of roles')
            interpretation = replace(interpretation, roles={k: tuple(v) for k, v in roles.items()})
        topics = _json_object(env, "SOPHIE_OD_COMMLOG_TOPICS")
        if topics:
            if not all(isinstance(v, str) for v in topics.values()):
                raise ConfigurationError("SOPHIE_OD_COMMLOG_TOPICS must map commlog type names to topics")
            interpretation = replace(interpretation, commlog_topics={k: str(v) for k, v in topics.items()})
        return interpretation


def _json_object(env: Mapping[str, str], name: str) -> dict[str, Any]:
    text = env.get(name, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigurationError(f"{name} is not valid JSON: {err.msg}") from err
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object")
    return value


@dataclass(frozen=True)
class OpenDentalSettings:
    """Where the Open Dental database is and how to read it.

    Attributes:
        host: The MySQL/MariaDB server.
        port: Its port.
        user: A user with SELECT rights only (see docs/opendental.md).
        password: Its password; never shown (``repr`` and errors mask it).
        database: The Open Dental database, usually ``opendental``.
        timezone: The practice's IANA zone: Open Dental stores local wall-clock times.
        clinic: Read one clinic only (``clinic.ClinicNum``); ``None`` reads every clinic.
        practice_id: The sophie practice id (default ``od-<database>``, plus ``-clinic-N``).
        hours: Practice hours per weekday (Open Dental keeps none practice-wide).
        connect_timeout: Seconds to wait for the server.
        interpretation: The practice's definition mappings.
        as_of: Read a copy of a database as if at this moment (replaying a restored
            backup, tests); ``None``, the default, uses the server's clock.
    """

    host: str
    database: str
    user: str
    password: str = field(default="", repr=False)
    port: int = 3306
    timezone: str = "America/New_York"
    clinic: int | None = None
    practice_id: str | None = None
    hours: Mapping[str, list[tuple[str, str]]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    connect_timeout: float = 10.0
    interpretation: Interpretation = field(default_factory=Interpretation)
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.as_of is not None and self.as_of.utcoffset() is None:
            raise ConfigurationError("as_of needs a UTC offset, e.g. 2026-03-05T11:45:00-05:00")
        if not self.host or not self.database or not self.user:
            raise ConfigurationError(f"{self.masked_url()}: an Open Dental source needs a host, a user and a database")

    @property
    def effective_practice_id(self) -> str:
        """The practice id the snapshot carries."""
        if self.practice_id:
            return self.practice_id
        return f"od-{self.database}" + (f"-clinic-{self.clinic}" if self.clinic is not None else "")

    def masked_url(self) -> str:
        """Return the source as a URL with the password replaced by ``***`` (safe to log)."""
        secret = ":***" if self.password else ""
        query = f"?timezone={self.timezone}" + (f"&clinic={self.clinic}" if self.clinic is not None else "")
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}/{self.database}{query}"

    @classmethod
    def from_url(cls, url: str, *, env: Mapping[str, str] | None = None) -> OpenDentalSettings:
        """Parse ``mysql://user:pass@host:port/db?timezone=...&clinic=N&practice_id=...``.

        Raises:
            ConfigurationError: not a mysql URL, or a bad port or clinic (the password is masked).
        """
        env = os.environ if env is None else env
        try:
            parts = urlsplit(url)
            port = parts.port or 3306
        except ValueError as err:
            raise ConfigurationError(f"{_masked_raw(url)}: not a valid mysql:// URL ({type(err).__name__})") from None
        if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
            raise ConfigurationError(f"{_masked_raw(url)}: use a mysql://user:password@host:port/database URL")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"timezone", "clinic", "practice_id", "connect_timeout", "as_of"})
        if unknown:
            raise ConfigurationError(f"{_masked_raw(url)}: unknown setting(s) {', '.join(unknown)}")
        return cls(
            host=parts.hostname or "",
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
            timezone=query.get("timezone") or env.get("SOPHIE_OD_TIMEZONE") or "America/New_York",
            clinic=_clinic(query.get("clinic") or env.get("SOPHIE_OD_CLINIC")),
            practice_id=query.get("practice_id"),
            connect_timeout=float(query.get("connect_timeout", "10")),
            interpretation=Interpretation.from_env(env),
            as_of=_instant(query.get("as_of")),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenDentalSettings:
        """Read ``SOPHIE_OD_URL``, or ``SOPHIE_OD_HOST``/``_PORT``/``_USER``/``_PASSWORD``/``_DATABASE``.

        Raises:
            ConfigurationError: neither a URL nor a host is set.
        """
        env = os.environ if env is None else env
        if env.get("SOPHIE_OD_URL"):
            return cls.from_url(env["SOPHIE_OD_URL"], env=env)
        if not env.get("SOPHIE_OD_HOST"):
            raise ConfigurationError("give --source mysql://user:password@host:port/database, or set SOPHIE_OD_URL")
        try:
            port = int(env.get("SOPHIE_OD_PORT", "3306"))
        except ValueError:
            raise ConfigurationError("SOPHIE_OD_PORT must be a number") from None
        return cls(
            host=env["SOPHIE_OD_HOST"],
            port=port,
            user=env.get("SOPHIE_OD_USER", ""),
            password=env.get("SOPHIE_OD_PASSWORD", ""),
            database=env.get("SOPHIE_OD_DATABASE", "opendental"),
            timezone=env.get("SOPHIE_OD_TIMEZONE") or "America/New_York",
            clinic=_clinic(env.get("SOPHIE_OD_CLINIC")),
            interpretation=Interpretation.from_env(env),
        )


def _clinic(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"clinic must be a ClinicNum (a number), not {value!r}") from None


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"as_of must be an ISO 8601 time with an offset, not {value!r}") from None


def _masked_raw(url: str) -> str:
    """Mask the password of a URL that may not even parse (no scheme, or in the query)."""
    return mask_url(url)

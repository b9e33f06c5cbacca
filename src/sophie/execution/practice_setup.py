"""From a practice's configuration to what one cycle needs: adapter, packs, parameters, settings.

``sophie run`` and ``sophie watch`` (and any worker running a group of practices) build
these from a :class:`~sophie.config.PracticeConfig`; flags on the command line are laid
over the configuration before this is called.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sophie.config.models import OwnershipConfig, PracticeConfig, resolve_env_keys
from sophie.errors import ConfigurationError
from sophie.execution.assignment import DEFAULT_LADDER, OwnershipStrategy
from sophie.execution.capacity import DEFAULT_CAPACITY
from sophie.execution.settings import ExecutionSettings
from sophie.model import BUILTIN_ROLES
from sophie.rules.language.durations import DurationSyntaxError, parse_duration

if TYPE_CHECKING:
    from sophie.model import Snapshot
    from sophie.plugins.manager import Plugins
    from sophie.rules import CompiledPack

__all__ = ["DEFAULT_PACKS", "PracticeSetup", "adapter_source", "execution_settings", "load_packs", "practice_setup"]

DEFAULT_PACKS = ("dental-core", "example")
"""Without packs named, the first of these that is installed runs."""


@dataclass(frozen=True)
class PracticeSetup:
    """What a cycle of one practice uses.

    Attributes:
        practice: The configuration it was built from.
        adapter: The adapter name.
        source: The adapter's source, secrets resolved (never print it).
        packs: The compiled packs.
        params: Typed parameter overrides.
        settings: The execution settings.
        plugins: The plugins the packs and adapter came from.
    """

    practice: PracticeConfig
    adapter: str
    source: str | None
    packs: Sequence[CompiledPack]
    params: Mapping[str, object]
    settings: ExecutionSettings
    plugins: Plugins

    def fetch(self, now: datetime | None) -> Snapshot:
        """Read the practice (the demo practice as of ``now``, or its own morning, when it has no source)."""
        from sophie.adapters import DemoAdapter, create_adapter

        if self.adapter == "demo":
            return DemoAdapter(**_demo_options(self.source), as_of=now).fetch()
        return create_adapter(self.adapter, source=self.source, plugins=self.plugins).fetch()


def _demo_options(source: str | None) -> dict[str, int]:
    """Read a demo practice's ``seed`` and ``patients`` from its source (``seed=3&patients=200``)."""
    if not source:
        return {}
    options: dict[str, int] = {}
    for name, value in parse_qsl(source.removeprefix("demo:").lstrip("?"), strict_parsing=True):
        if name not in ("seed", "patients") or not value.isdigit():
            raise ConfigurationError(f"demo source {source!r}: expected seed=N&patients=N")
        options[name] = int(value)
    return options


def _role(text: str, key: str) -> str:
    role = text.strip()
    if not role or not role.replace("_", "").isalnum():
        raise ConfigurationError(f"{key} {text!r}: a role is a word such as scheduling_coordinator")
    if role not in BUILTIN_ROLES:
        close = difflib.get_close_matches(role, BUILTIN_ROLES, n=1, cutoff=0.8)
        if close:
            raise ConfigurationError(f"{key}: unknown role {role!r}; did you mean {close[0]!r}?")
    return role


def execution_settings(ownership: OwnershipConfig, capacity: int = DEFAULT_CAPACITY) -> ExecutionSettings:
    """Return the execution settings an ownership configuration (and a capacity default) describes.

    Raises:
        ConfigurationError: A misspelt role or a bad ``reopen_grace`` duration.
    """
    fixed = {_role(role, "ownership.fixed"): staff for role, staff in ownership.fixed.items()}
    ladder = dict(DEFAULT_LADDER)
    for role, covering in ownership.cover.items():
        ladder[_role(role, "ownership.cover")] = _role(covering, "ownership.cover")
    try:
        grace = parse_duration(ownership.reopen_grace).value()
    except DurationSyntaxError as err:
        hint = f"; did you mean {err.suggestion!r}?" if err.suggestion else ""
        raise ConfigurationError(f"ownership.reopen_grace: {err}{hint}") from err
    return ExecutionSettings(
        strategy=OwnershipStrategy(ownership.strategy),
        ladder=ladder,
        fixed_owners=fixed,
        reopen_grace=grace,
        capacity=capacity,
    )


def adapter_source(practice: PracticeConfig, env: Mapping[str, str] | None = None) -> str | None:
    """Return the adapter's source: ``source``, or ``adapter_settings``' ``url``/``source`` (``*_env`` read).

    The other adapter settings become query parameters of a URL source (``clinic = 2`` on
    an Open Dental URL gives ``...?clinic=2``).

    Raises:
        ConfigurationError: A ``*_env`` variable is not set, or settings are given for a source that is not a URL.
    """
    settings: dict[str, Any] = resolve_env_keys(practice.adapter_settings, env)
    source = practice.source or settings.pop("url", None) or settings.pop("source", None)
    settings.pop("url", None)
    settings.pop("source", None)
    if not settings:
        return None if source is None else str(source)
    if source is None or not urlsplit(str(source)).scheme:
        raise ConfigurationError(f"adapter_settings {', '.join(sorted(settings))}: only a URL source takes settings")
    separator = "&" if "?" in str(source) else "?"
    return f"{source}{separator}{urlencode({key: str(value) for key, value in sorted(settings.items())})}"


def load_packs(refs: Sequence[str], plugins: Plugins) -> list[CompiledPack]:
    """Load packs by name or path, or the default pack when none is named."""
    if not refs:
        known = plugins.rule_packs()
        refs = [next((name for name in DEFAULT_PACKS if name in known), DEFAULT_PACKS[-1])]
    return [plugins.load_pack(ref) for ref in refs]


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_param_text(item) for item in value)
    return str(value)


def practice_setup(
    practice: PracticeConfig,
    *,
    plugins: Plugins | None = None,
    env: Mapping[str, str] | None = None,
    compiled: MutableMapping[tuple[str, ...], list[CompiledPack]] | None = None,
) -> PracticeSetup:
    """Build what a cycle of ``practice`` uses: load its packs, type its parameters, read its secrets.

    ``compiled`` shares compiled packs between the practices of a group: practices naming
    the same packs get the same (immutable) compiled packs, each with its own parameters.
    A worker of 200 practices otherwise compiles, and holds, ``dental-core`` 200 times.

    Raises:
        ConfigurationError: A bad parameter, setting or missing environment variable.
        RuleError: A pack has problems.
        UnknownNameError: No pack or adapter by a name.
    """
    from sophie.plugins.manager import Plugins
    from sophie.rules import parse_param_overrides

    plugins = plugins or Plugins()
    plugins.adapter(practice.adapter)  # an unknown adapter fails here, with a did-you-mean
    if compiled is None:
        packs = load_packs(practice.packs, plugins)
    else:
        packs = compiled.get(practice.packs) or compiled.setdefault(practice.packs, load_packs(practice.packs, plugins))
    pairs = [f"{name}={_param_text(value)}" for name, value in practice.params.items()]
    params = parse_param_overrides(packs, pairs)
    return PracticeSetup(
        practice=practice,
        adapter=practice.adapter,
        source=adapter_source(practice, env),
        packs=packs,
        params=params,
        settings=execution_settings(practice.ownership, practice.capacity.default),
        plugins=plugins,
    )

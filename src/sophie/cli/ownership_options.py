"""Ownership flags shared by ``sophie run`` and ``sophie watch``: who gets a new task.

``--owner-strategy`` picks how one holder of a role is chosen, ``--fixed-owner`` names the
person for a role under ``fixed``, ``--cover`` changes who covers for a role when nobody
holding it is in, ``--reopen-grace`` how long a task marked done may still show in the
PMS before it reopens, and ``--capacity`` how many tasks a person's day holds. See
:mod:`sophie.execution.assignment` and :mod:`sophie.execution.capacity`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sophie.execution.assignment import DEFAULT_LADDER, OwnershipStrategy
from sophie.execution.settings import DEFAULT_SETTINGS, ExecutionSettings
from sophie.model import BUILTIN_ROLES
from sophie.rules.language.durations import DurationSyntaxError, parse_duration

__all__ = ["ownership_options", "pairs", "settings_from"]

F = TypeVar("F", bound=Callable[..., Any])


def ownership_options(command: F) -> F:
    """Add the ownership flags to a command (they arrive as ``owner_strategy``, ``fixed_owner``, ...)."""
    options = [
        click.option("--owner-strategy", type=click.Choice([str(s) for s in OwnershipStrategy]),
                     default=str(DEFAULT_SETTINGS.strategy), show_default=True,
                     help="How one holder of a role gets a new task."),
        click.option("--fixed-owner", multiple=True, metavar="ROLE=STAFF_ID",
                     help="The person who gets a role's tasks under --owner-strategy fixed (repeatable)."),
        click.option("--cover", multiple=True, metavar="ROLE=ROLE",
                     help="Who covers for a role when nobody holding it is in (repeatable; "
                          "changes the default ladder)."),
        click.option("--reopen-grace", metavar="DURATION", default=str(DEFAULT_SETTINGS.reopen_grace),
                     show_default=True,
                     help="How long a task marked done may still show in the PMS before it reopens "
                          "(e.g. '2 business_hours', '30 minutes')."),
        click.option("--capacity", type=click.IntRange(0, 10_000), default=DEFAULT_SETTINGS.capacity,
                     show_default=True, metavar="N",
                     help="Tasks a business day a person can act on, unless their staff record sets "
                          "'capacity'; the rest waits in their backlog."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _role(text: str, flag: str) -> str:
    role = text.strip()
    if not role or not role.replace("_", "").isalnum():
        raise click.UsageError(f"{flag} {text!r}: a role is a word such as scheduling_coordinator")
    if role not in BUILTIN_ROLES:
        close = difflib.get_close_matches(role, BUILTIN_ROLES, n=1, cutoff=0.8)
        if close:
            raise click.UsageError(f"{flag}: unknown role {role!r}; did you mean {close[0]!r}?")
    return role


def pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    """Return ``ROLE=VALUE`` flags as a mapping (roles checked).

    Raises:
        click.UsageError: A malformed pair or a misspelt role.
    """
    found: dict[str, str] = {}
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not right.strip():
            raise click.UsageError(f"{flag} {value!r}: expected ROLE=VALUE")
        found[_role(left, flag)] = right.strip()
    return found


def settings_from(
    owner_strategy: str,
    fixed_owner: tuple[str, ...],
    cover: tuple[str, ...],
    reopen_grace: str,
    capacity: int = DEFAULT_SETTINGS.capacity,
) -> ExecutionSettings:
    """Return the execution settings the ownership flags describe.

    Raises:
        click.UsageError: For a malformed pair, a misspelt role or a bad duration (exit 2).
    """
    fixed = pairs(fixed_owner, "--fixed-owner")
    ladder = dict(DEFAULT_LADDER)
    for role, covering in pairs(cover, "--cover").items():
        ladder[role] = _role(covering, "--cover")
    try:
        grace = parse_duration(reopen_grace).value()
    except DurationSyntaxError as err:
        hint = f"; did you mean {err.suggestion!r}?" if err.suggestion else ""
        raise click.UsageError(f"--reopen-grace: {err}{hint}") from err
    return ExecutionSettings(
        strategy=OwnershipStrategy(owner_strategy),
        ladder=ladder,
        fixed_owners=fixed,
        reopen_grace=grace,
        capacity=capacity,
    )

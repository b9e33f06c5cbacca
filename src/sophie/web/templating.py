"""The Jinja2 environment of the staff pages (autoescaping on for every template)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from sophie.web.rendering import money

__all__ = ["templates"]


@cache
def templates() -> Environment:
    """Return the shared environment: templates from the package, HTML escaped, money as a global."""
    environment = Environment(
        loader=PackageLoader("sophie.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["money"] = money
    return environment

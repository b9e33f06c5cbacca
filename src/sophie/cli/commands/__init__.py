"""The ``sophie`` subcommands, one module per family of commands."""

from __future__ import annotations

"""The ``sophie`` command group and its error handling.

Every command parses flags, calls the library and prints. Errors that sophie
raises on purpose become one line per problem on stderr and exit code 2 (1 is
reserved for "the check or test found problems"); no traceback is shown.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from sophie.cli.render import echo
from sophie.errors import RuleError, SnapshotError, SophieError

__all__ = ["EXIT_FINDINGS", "EXIT_USAGE", "SophieGroup", "error_lines"]

EXIT_FINDINGS = 1
EXIT_USAGE = 2


def error_lines(error: SophieError) -> list[str]:
    """Return the lines to print for an error, one per problem, each ready for stderr.

    A rule pack's diagnostics are already located (``FILE:LINE:COL: error: ...``) and are
    printed as they are; every other problem reads ``sophie: error: ...``.
    """
    if isinstance(error, RuleError):
        return [str(d) for d in error.diagnostics]
    lines = error.lines() if isinstance(error, SnapshotError) else [str(error)]
    return [f"sophie: error: {line}" for line in lines]


class SophieGroup(click.Group):
    """A click group that turns sophie's errors into clean messages and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting sophie errors without a traceback."""
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            # Bad flags, arguments or subcommands anywhere below: one line, like every bad input.
            echo(f"sophie: error: {err.format_message()}", err=True)
            sys.exit(EXIT_USAGE)
        except SophieError as err:
            for line in error_lines(err):
                echo(line, err=True)
            sys.exit(EXIT_USAGE)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as err:  # a bug: say so plainly; SOPHIE_DEBUG=1 shows the traceback
            if os.environ.get("SOPHIE_DEBUG"):
                raise
            message = f"sophie: internal error: {type(err).__name__}: {err} (set SOPHIE_DEBUG=1 for details)"
            echo(message, err=True)
            sys.exit(70)

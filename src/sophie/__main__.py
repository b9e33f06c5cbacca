"""``python -m sophie``: the same as the ``sophie`` command."""

from __future__ import annotations

from sophie.cli import main

main()

"""sophie: the execution layer for dental practice-management systems."""

from __future__ import annotations

from sophie.errors import SophieError

__all__ = ["SophieError"]

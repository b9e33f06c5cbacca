"""The staff pages: My day, the huddle board, the scorecard and a JSON API (``sophie serve``)."""

from __future__ import annotations

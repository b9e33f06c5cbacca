"""Tasks in words for the pages: the wording lives in :mod:`sophie.execution.task_text`, shared with the CLI."""

from __future__ import annotations

from sophie.execution.task_text import (
    Candidate,
    EvidenceLine,
    candidates,
    evidence_lines,
    local_time,
    money,
    relative_due,
    value_text,
)

__all__ = [
    "Candidate",
    "EvidenceLine",
    "candidates",
    "evidence_lines",
    "local_time",
    "money",
    "relative_due",
    "value_text",
]

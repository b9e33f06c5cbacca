"""Secrets out of messages: the one function that masks a password in a connection URL.

Used wherever a database or source URL may reach an error message, a log line or the
terminal (the Open Dental source, the ledger's ``--db``).
"""

from __future__ import annotations

import re

__all__ = ["mask_url"]

_SECRET_PARAM = re.compile(
    r"(?P<key>(?:^|[?&;])(?:password|passwd|pwd|pass|secret|token|api_key|apikey)=)(?P<value>[^&;#]*)", re.IGNORECASE
)


def mask_url(text: str) -> str:
    """Return ``text`` with any password replaced by ``***``.

    Masks the password of ``scheme://user:password@host...``, of the same without a
    scheme (``user:password@host``), and the value of query parameters that carry one
    (``password=``, ``passwd=``, ``pwd=``, ``pass=``, ``secret=``, ``token=``).
    """
    text = _SECRET_PARAM.sub(lambda match: match["key"] + "***", text)
    scheme, sep, rest = text.rpartition("://") if "://" in text else ("", "", text)
    head, at, location = rest.rpartition("@")
    if not at:
        return text
    user, colon, _ = head.partition(":")
    if not colon:
        return text
    return f"{scheme}{sep}{user}:***@{location}"

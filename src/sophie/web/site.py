"""The running site's state and the request plumbing the pages and the API share.

One :class:`Site` per server: where the ledger and the site store are, the sessions, the
sign-in limiter and the clock. Each request opens its own ledger and store connections
(SQLite connections are cheap and per thread) through :meth:`Site.stores`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request

from sophie.execution.stores.ledger import ReportingLedger
from sophie.execution.stores.sqlite.ledger import open_ledger
from sophie.web.security import SESSION_COOKIE, SESSION_LIFETIME, Session, SessionStore, SignInLimiter
from sophie.web.site_store import SiteStore
from sophie.web.views import PageContext, Viewer

__all__ = ["Site", "Stores", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Stores:
    """A request's ledger and site store."""

    ledger: ReportingLedger
    site: SiteStore


@dataclass
class Site:
    """The server's state.

    Attributes:
        ledger_url: The ledger.
        site_path: The site store file.
        secure_cookies: Mark cookies ``Secure`` (everything but plain HTTP on loopback).
        clock: Returns the current time (a fixed time for demos and tests).
        limiter: The sign-in limiter.
        session_lifetime: Seconds a session lasts without use.
    """

    ledger_url: str
    site_path: str
    secure_cookies: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    session_lifetime: float = SESSION_LIFETIME
    _sessions: SessionStore | None = field(default=None, init=False, repr=False)

    @property
    def sessions(self) -> SessionStore:
        """The sessions, kept in the site store (opened on first use, shared by every request)."""
        if self._sessions is None:
            self._sessions = SessionStore(SiteStore(self.site_path), lifetime=self.session_lifetime)
        return self._sessions

    @contextmanager
    def ledger(self) -> Iterator[ReportingLedger]:
        """Open the ledger alone (a live stream holds it open)."""
        ledger = open_ledger(self.ledger_url)
        try:
            yield ledger
        finally:
            ledger.close()

    @contextmanager
    def stores(self) -> Iterator[Stores]:
        """Open the ledger and the site store for one request."""
        ledger = open_ledger(self.ledger_url)
        try:
            site = SiteStore(self.site_path)
            try:
                yield Stores(ledger, site)
            finally:
                site.close()
        finally:
            ledger.close()

    def session(self, request: Request) -> tuple[str | None, Session | None]:
        """Return the request's session id and live session (``None`` when signed out)."""
        session_id = request.cookies.get(SESSION_COOKIE)
        return session_id, self.sessions.get(session_id)

    def viewer_for(self, staff_id: str, stores: Stores) -> Viewer:
        """Return the viewer a signed-in staff member is (name and roles from the directory)."""
        entry = stores.site.staff().get(staff_id)
        if entry is None:
            return Viewer(f"staff:{staff_id}", staff_id, staff_id, ())
        return Viewer(f"staff:{staff_id}", staff_id, entry.name, entry.roles)

    def context(self, stores: Stores) -> PageContext:
        """Return the page context: now, the practice's zone and the staff directory."""
        now = self.clock()
        zone = "UTC"
        for practice_id in stores.ledger.practice_ids()[:1]:
            practice = stores.ledger.practice(practice_id)
            if practice is not None:
                zone = practice.timezone
        return PageContext(now.astimezone(ZoneInfo(zone)), zone, stores.site.staff())

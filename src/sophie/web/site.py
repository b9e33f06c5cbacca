"""The running site's state and the request plumbing the pages and the API share.

One :class:`Site` per server: where the ledger and the site store are, the sessions, the
sign-in limiter and the clock. Requests borrow their thread's ledger and store connections
through :meth:`Site.stores` (kept open between requests).
"""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request

from sophie.errors import ConfigurationError, LedgerError, UnknownNameError
from sophie.execution.stores.ledger import ReportingLedger, is_postgres_url, sqlite_path
from sophie.execution.stores.sqlite.ledger import SqliteLedger
from sophie.web.security import SESSION_COOKIE, SESSION_LIFETIME, Session, SessionStore, SignInLimiter
from sophie.web.site_store import SiteStore
from sophie.web.views import PageContext, Viewer

__all__ = ["Site", "Stores", "choose_practice", "is_loopback", "open_reporting_ledger"]


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
        practice_id: The practice served (``None``: the ledger's only one).
    """

    ledger_url: str
    site_path: str
    secure_cookies: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    session_lifetime: float = SESSION_LIFETIME
    practice_id: str | None = None
    _sessions: SessionStore | None = field(default=None, init=False, repr=False)
    _threads: threading.local = field(default_factory=threading.local, init=False, repr=False)

    @property
    def sessions(self) -> SessionStore:
        """The sessions, kept in the site store (opened on first use, shared by every request)."""
        if self._sessions is None:
            self._sessions = SessionStore(SiteStore(self.site_path), lifetime=self.session_lifetime)
        return self._sessions

    @contextmanager
    def ledger(self) -> Iterator[ReportingLedger]:
        """Open the ledger alone (a live stream holds it open)."""
        ledger = open_reporting_ledger(self.ledger_url)
        try:
            yield ledger
        finally:
            ledger.close()

    @contextmanager
    def stores(self) -> Iterator[Stores]:
        """Lend a request the ledger and the site store of its thread.

        Each thread keeps its connections open from one request to the next (opening a
        ledger checks its schema: milliseconds a page need not pay). Connections read in
        autocommit mode, so each read sees every commit made before it by any process. A
        request that fails on a store error closes them; the next one opens fresh ones.
        """
        held: Stores | None = getattr(self._threads, "stores", None)
        if held is None:
            ledger = open_reporting_ledger(self.ledger_url)
            try:
                held = Stores(ledger, SiteStore(self.site_path))
            except BaseException:
                ledger.close()
                raise
            self._threads.stores = held
        try:
            yield held
        except (LedgerError, sqlite3.Error):
            self._threads.stores = None
            held.ledger.close()
            held.site.close()
            raise

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
        """Return the page context: now, the practice's zone and its staff directory."""
        now = self.clock()
        zone = "UTC"
        chosen = [self.practice_id] if self.practice_id is not None else stores.ledger.practice_ids()[:1]
        for practice_id in chosen:
            practice = stores.ledger.practice(practice_id)
            if practice is not None:
                zone = practice.timezone
        staff = stores.site.staff()
        if self.practice_id is not None:
            staff = {sid: entry for sid, entry in staff.items() if entry.practice_id in (self.practice_id, "")}
        return PageContext(now.astimezone(ZoneInfo(zone)), zone, staff, self.practice_id)


def open_reporting_ledger(url: str) -> ReportingLedger:
    """Open the ledger a ``--db`` URL names, SQLite or PostgreSQL, for the pages' and the report's reads.

    Raises:
        ConfigurationError: A bad URL, or PostgreSQL without the ``[postgres]`` extra.
        LedgerError: The store cannot be opened.
    """
    if is_postgres_url(url):
        try:
            from sophie.execution.stores.postgres.ledger import PostgresLedger
        except ImportError as err:  # pragma: no cover - depends on the installed extras
            raise ConfigurationError("a postgresql:// ledger needs psycopg: pip install 'sophie[postgres]'") from err
        return PostgresLedger(url.strip())
    return SqliteLedger(sqlite_path(url))


def choose_practice(ledger: ReportingLedger, wanted: str | None) -> str | None:
    """Return the practice to serve or report: ``wanted``, else the ledger's only one (``None``: none yet).

    Raises:
        UnknownNameError: ``wanted`` is not a practice of the ledger.
        ConfigurationError: The ledger holds several practices and none was picked.
    """
    known = ledger.practice_ids()
    if wanted is not None:
        if wanted not in known:
            raise UnknownNameError("practice", wanted, known=known)
        return wanted
    if len(known) > 1:
        raise ConfigurationError(
            f"this ledger holds {len(known)} practices ({', '.join(known[:8])}); pick one with --practice"
        )
    return known[0] if known else None

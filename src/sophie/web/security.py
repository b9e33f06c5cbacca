"""Signing in and staying safe: argon2 passwords, server-side sessions, CSRF tokens, a sign-in limit.

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults: memory-hard).
- A session is a random 256-bit id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
  unless the server is plain HTTP on loopback); the site store keeps the id's SHA-256, who it
  belongs to and its CSRF token, so sessions survive a restart; one idle for
  :data:`SESSION_LIFETIME` is over, and signing out deletes it.
- Every form carries the session's CSRF token; a POST without the right one is refused (403).
- Sign-in is limited: after :data:`SIGN_IN_LIMIT` wrong passwords in a minute from one
  address, or for one staff id, further attempts are refused without being checked.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sophie.web.site_store import SiteStore, StaffEntry, token_digest

__all__ = [
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "SIGN_IN_LIMIT",
    "Session",
    "SessionStore",
    "SignInLimiter",
    "csrf_ok",
    "hash_password",
    "new_token",
    "verify_password",
]

SESSION_COOKIE = "sophie_session"
SESSION_LIFETIME = 8 * 3600.0
"""Seconds a session lasts without use (a working day)."""
SIGN_IN_LIMIT = 20
"""Wrong passwords allowed per minute, per address and per staff id."""

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password anyone has")


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches (an unknown account costs the same time as a wrong password)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """Return a new random token (sessions, CSRF, API tokens)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    """A signed-in person.

    Attributes:
        staff_id: Who.
        csrf: The token every form of the session carries.
        last_seen: When it was last used (seconds since the epoch).
        flash: A message for the next page (kind, text).
    """

    staff_id: str
    csrf: str
    last_seen: float
    flash: tuple[str, str] | None = None


_TOUCH_EVERY = 60.0  # seconds: a session's last use is written at most this often


class SessionStore:
    """Sessions kept in the site store, so a restarted server keeps everyone signed in.

    The cookie holds a random 256-bit id; the store keeps only its SHA-256 (someone who
    reads the store cannot sign in with what they find there). A session unused for
    ``lifetime`` seconds is over; signing out deletes it.

    Args:
        store: The site store (its connection is shared by the server's threads; calls hold a lock).
        lifetime: Seconds a session lasts without use.
        clock: Seconds since the epoch (a parameter for tests).
    """

    def __init__(self, store: SiteStore, *, lifetime: float = SESSION_LIFETIME,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._store = store
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()

    def create(self, staff_id: str) -> tuple[str, Session]:
        """Start a session; return its id (the cookie's value) and the session."""
        session_id, csrf, now = new_token(), new_token(), self._clock()
        with self._lock:
            self._store.add_session(token_digest(session_id), staff_id, csrf, now, idle_before=now - self.lifetime)
        return session_id, Session(staff_id, csrf, now)

    def get(self, session_id: str | None) -> Session | None:
        """Return the live session with that id, noting its use (``None``: none, or expired and now deleted)."""
        if not session_id:
            return None
        digest, now = token_digest(session_id), self._clock()
        with self._lock:
            row = self._store.session_row(digest)
            if row is None:
                return None
            staff_id, csrf, seen, flash_json = row
            if now - seen > self.lifetime:
                self._store.drop_session(digest)
                return None
            if now - seen >= _TOUCH_EVERY:
                self._store.touch_session(digest, now)
        flash = None
        if flash_json:
            kind, text = json.loads(flash_json)
            flash = (str(kind), str(text))
        return Session(staff_id, csrf, now, flash)

    def accounts_and_staff(self) -> tuple[list[str], dict[str, StaffEntry]]:
        """Return the staff ids with an account, and the practice's staff (for the first-account hint)."""
        with self._lock:
            return self._store.accounts(), self._store.staff()

    def flash(self, session_id: str | None, kind: str, text: str) -> None:
        """Leave a message for the session's next page."""
        if session_id:
            with self._lock:
                self._store.set_session_flash(token_digest(session_id), json.dumps([kind, text]))

    def take_flash(self, session_id: str | None) -> tuple[str, str] | None:
        """Return the session's pending message and clear it."""
        session = self.get(session_id)
        if session is None or session.flash is None:
            return None
        with self._lock:
            self._store.set_session_flash(token_digest(session_id or ""), None)
        return session.flash

    def end(self, session_id: str | None) -> None:
        """Sign a session out (its row is deleted)."""
        if session_id:
            with self._lock:
                self._store.drop_session(token_digest(session_id))


def csrf_ok(session: Session, submitted: str | None) -> bool:
    """Return whether a submitted CSRF token is the session's (compared in constant time)."""
    return submitted is not None and hmac.compare_digest(session.csrf.encode(), submitted.encode())


@dataclass
class SignInLimiter:
    """Counts wrong passwords per key (an address, a staff id) over a sliding minute."""

    limit: int = SIGN_IN_LIMIT
    window: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def allowed(self, *keys: str) -> bool:
        """Return whether another attempt may be checked for these keys."""
        now = time.monotonic()
        with self._lock:
            return all(len(self._recent(key, now)) < self.limit for key in keys)

    def failed(self, *keys: str) -> None:
        """Count a wrong password against each key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

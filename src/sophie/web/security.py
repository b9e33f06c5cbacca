"""Signing in and staying safe: argon2 passwords, server-side sessions, CSRF tokens, a sign-in limit.

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults: memory-hard).
- A session is a random 256-bit id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
  unless the server is plain HTTP on loopback); the server keeps who it belongs to and its
  CSRF token, and forgets it after :data:`SESSION_LIFETIME` idle.
- Every form carries the session's CSRF token; a POST without the right one is refused (403).
- Sign-in is limited: after :data:`SIGN_IN_LIMIT` wrong passwords in a minute from one
  address, or for one staff id, further attempts are refused without being checked.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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


@dataclass
class Session:
    """A signed-in person.

    Attributes:
        staff_id: Who.
        csrf: The token every form of the session carries.
        last_seen: ``time.monotonic()`` of the last request.
        flash: A message for the next page (kind, text).
    """

    staff_id: str
    csrf: str
    last_seen: float
    flash: tuple[str, str] | None = None


@dataclass
class SessionStore:
    """Sessions kept in the server's memory (a restart signs everyone out)."""

    lifetime: float = SESSION_LIFETIME
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, staff_id: str) -> tuple[str, Session]:
        """Start a session; return its id (the cookie's value) and the session."""
        session_id = new_token()
        session = Session(staff_id, new_token(), time.monotonic())
        with self._lock:
            self._sessions[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """Return the live session with that id, refreshing it (``None``: none or expired)."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.lifetime:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        """Sign a session out."""
        with self._lock:
            self._sessions.pop(session_id or "", None)


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

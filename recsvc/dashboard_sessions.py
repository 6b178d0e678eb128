"""The dashboard's logins in Redis: a session per login under a random id, and a bound on login attempts.

The browser holds only the session id, signed (``recsvc.http.dashboard``); Redis holds the digest of the key
it logged in with, so logging out or removing the key from ``RECSVC_API_KEYS`` ends the session.
"""

import hashlib
import secrets
import time

import redis

from recsvc.contract import keys
from recsvc.store import reachable

SESSION_TTL_S = 8 * 3_600
"""Seconds a dashboard session lasts after its login."""
LOGIN_WINDOW_S = 60
"""Seconds of one window of login attempts."""
DEFAULT_LOGIN_RATE = 10
"""Login attempts one client address may make per window (``RECSVC_DASHBOARD_LOGIN_RATE``)."""


def key_digest(key: bytes) -> str:
    """What a session keeps of the API key it logged in with."""
    return hashlib.sha256(key).hexdigest()


class DashboardSessions:
    """Opens, checks and ends dashboard sessions; bounds login attempts per client address."""

    def __init__(self, r: redis.Redis):
        self._redis = r

    def attempt(self, client: str, rate: int, now: float | None = None) -> bool:
        """Count a login attempt from ``client``: False when it is over ``rate`` in this window."""
        window = int(time.time() if now is None else now) // LOGIN_WINDOW_S * LOGIN_WINDOW_S
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(keys.dashboard_logins(window, client))
        pipe.expire(keys.dashboard_logins(window, client), 2 * LOGIN_WINDOW_S)
        with reachable():
            attempts, _ = pipe.execute()
        return attempts <= rate

    def open(self, key: bytes) -> str:
        """A new session for an operator who typed ``key`` (a configured one): its id."""
        session_id = secrets.token_urlsafe(24)
        with reachable():
            self._redis.set(keys.dashboard_session(session_id), key_digest(key), ex=SESSION_TTL_S)
        return session_id

    def key_digest(self, session_id: str) -> str | None:
        """The digest of the key the session logged in with, None for no such (or an expired) session."""
        with reachable():
            value = self._redis.get(keys.dashboard_session(session_id))
        return value.decode() if value is not None else None

    def close(self, session_id: str) -> None:
        """End a session."""
        with reachable():
            self._redis.delete(keys.dashboard_session(session_id))

"""The dashboard's logins in Redis (a session per login under a random id, a bound on login attempts), and the
secret rec_ids and sessions are signed with.

The browser holds only the session id, signed (``recsvc.http.dashboard``); Redis holds the digest of the key
it logged in with, so logging out or removing the key from ``RECSVC_API_KEYS`` ends the session.
"""

import hashlib
import logging
import secrets
import time

from recsvc.contract import keys
from recsvc.store.errors import StoreFull, StoreUnavailable
from recsvc.store.wire import Wire, guarded

log = logging.getLogger(__name__)

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

    def __init__(self, wire: Wire):
        self._wire = wire

    @guarded
    def attempt(self, client: str, rate: int, now: float | None = None) -> bool:
        """Count a login attempt from ``client``: False when it is over ``rate`` in this window."""
        window = int(time.time() if now is None else now) // LOGIN_WINDOW_S * LOGIN_WINDOW_S
        pipe = self._wire.pipeline()
        pipe.incr(keys.dashboard_logins(window, client))
        pipe.expire(keys.dashboard_logins(window, client), 2 * LOGIN_WINDOW_S)
        attempts, _ = pipe.execute()
        return attempts <= rate

    @guarded
    def open(self, key: bytes) -> str:
        """A new session for an operator who typed ``key`` (a configured one): its id."""
        session_id = secrets.token_urlsafe(24)
        self._wire.client.set(keys.dashboard_session(session_id), key_digest(key), ex=SESSION_TTL_S)
        return session_id

    @guarded
    def key_digest(self, session_id: str) -> str | None:
        """The digest of the key the session logged in with, None for no such (or an expired) session."""
        value = self._wire.client.get(keys.dashboard_session(session_id))
        return value.decode() if value is not None else None

    @guarded
    def close(self, session_id: str) -> None:
        """End a session."""
        self._wire.client.delete(keys.dashboard_session(session_id))


class TrackingSecret:
    """The random secret kept in Redis for signing rec_ids and dashboard sessions, when none is configured."""

    def __init__(self, wire: Wire):
        self._wire = wire

    def get(self) -> bytes | None:
        """The secret, made by whichever process asks first; None when Redis is full and holds none yet."""
        try:
            value = self._read_or_make()
        except StoreFull:
            log.warning("Redis is full and holds no tracking secret yet: rec_ids signed now will not verify")
            return None
        if value is None:
            raise StoreUnavailable("the tracking secret could not be stored")
        return value

    @guarded
    def _read_or_make(self) -> bytes | None:
        """Read first: a full Redis refuses even a SET NX of a key that exists."""
        r = self._wire.client
        value = r.get(keys.TRACKING_SECRET)
        if value is None:
            r.set(keys.TRACKING_SECRET, secrets.token_urlsafe(32), nx=True)
            value = r.get(keys.TRACKING_SECRET)
        return value

"""``rec_id``: each answer's id, naming the endpoint that served it, signed so the browser may report on it.

A rec_id is ``<code>.<expiry>.<nonce>.<signature>``. ``code`` names the endpoint, so no impression is
stored: an event that carries a rec_id is counted against its endpoint, and clicks over impressions is
the CTR. ``expiry`` is the unix second after which the browser may no longer report on it (keyed events
from the shop's servers are counted later too). ``signature`` is the URL-safe base64 (no padding) of
the first 16 bytes of HMAC-SHA256, keyed with the tracking secret, of ``<code>.<expiry>.<nonce>`` and
the answer's ``user_id`` (empty for lists not keyed by a user): a browser can report only on answers the
service gave, and only as the user they were for.
"""

import base64
import hmac
import secrets
import time

import redis
from flask import current_app

from recsvc.contract import keys
from recsvc.http.metrics import ATTRIBUTED, answered
from recsvc.store import StoreUnavailable

ENDPOINTS = {
    "u": "user_recommendations",
    "b": "batch",
    "a": "also_bought",
    "s": "similar",
    "p": "popular",
    "o": "category_offers",
    "n": "session",
    "v": "recently_viewed",
    "g": "buy_again",
}
CODES = {name: code for code, name in ENDPOINTS.items()}
REC_ID_TTL_S = 3_600
"""Seconds a rec_id stays good for reports from the browser."""
SECRET_EXTENSION = "recsvc.http.attribution.secret"


def tag(answer: dict, endpoint: str) -> dict:
    """Give an answer its signed rec_id and count it as an impression of the endpoint."""
    code = CODES[endpoint]
    unsigned = f"{code}.{int(time.time()) + REC_ID_TTL_S}.{secrets.token_urlsafe(6)}"
    answer["rec_id"] = f"{unsigned}.{_signature(tracking_secret(), unsigned, answer.get('user_id') or '')}"
    answered(endpoint, answer.get("source", "")).inc()
    return answer


def endpoint_of(rec_id: str) -> str | None:
    """The endpoint a rec_id came from, None if it is not one of ours."""
    code, dot, rest = rec_id.partition(".")
    return ENDPOINTS.get(code) if dot and rest else None


def verified_endpoint(rec_id: str, user_id: str = "", now: float | None = None) -> str | None:
    """The endpoint of a rec_id this service signed for ``user_id`` and that has not expired, else None."""
    unsigned, _, signature = rec_id.rpartition(".")
    code, _, rest = unsigned.partition(".")
    expiry_text = rest.partition(".")[0]
    if code not in ENDPOINTS or not (expiry_text.isascii() and expiry_text.isdigit() and len(expiry_text) <= 12):
        return None
    expected = _signature(tracking_secret(), unsigned, user_id)
    genuine = hmac.compare_digest(expected.encode(), signature.encode())
    moment = time.time() if now is None else now
    return ENDPOINTS[code] if genuine and moment < int(expiry_text) <= moment + REC_ID_TTL_S else None


def count_event(rec_id: str, event: str) -> None:
    """Count an event attributed to the answer it followed."""
    endpoint = endpoint_of(rec_id)
    if endpoint is not None:
        ATTRIBUTED.labels(endpoint, event).inc()


def tracking_secret() -> bytes:
    """The key rec_ids are signed with: ``RECSVC_TRACKING_SECRET``, else one random secret kept in Redis,
    so every worker and every restart signs alike. Read once per process."""
    secret = current_app.extensions.get(SECRET_EXTENSION)
    if secret is None:
        configured = str(current_app.config.get("TRACKING_SECRET") or "")
        secret = configured.encode() if configured else _shared_secret(current_app.extensions["recsvc"].store.redis)
        current_app.extensions[SECRET_EXTENSION] = secret
    return secret


def _shared_secret(r: redis.Redis) -> bytes:
    """The secret in Redis, made by whichever process asks first."""
    try:
        r.set(keys.TRACKING_SECRET, secrets.token_urlsafe(32), nx=True)
        value = r.get(keys.TRACKING_SECRET)
    except (redis.ConnectionError, redis.TimeoutError) as e:
        raise StoreUnavailable(str(e)) from e
    if value is None:
        raise StoreUnavailable("the tracking secret could not be stored")
    return value


def _signature(secret: bytes, unsigned: str, user_id: str) -> str:
    mac = hmac.digest(secret, f"{unsigned}\n{user_id}".encode(), "sha256")[:16]  # the one-shot C path
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")

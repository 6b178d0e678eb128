"""Signed user tokens: the shop's backend proves to a browser-facing read that the caller is this user.

A token is ``<expiry>.<signature>``: ``expiry`` the unix second it stops being valid (decimal digits),
``signature`` the URL-safe base64 (no padding) of HMAC-SHA256, keyed with ``RECSVC_TOKEN_SECRET``, of
the UTF-8 bytes of ``<expiry>.<user_id>``. A token is valid for one user, until its expiry, and only
if that expiry is at most ``MAX_TTL_S`` ahead: short-lived by construction.
"""

import base64
import hashlib
import hmac
import time

MAX_TTL_S = 24 * 3_600
"""Seconds ahead a token's expiry may lie; a token valid for longer is refused."""


def _signature(secret: str | bytes, user_id: str, expiry: int) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{expiry}.{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_token(secret: str | bytes, user_id: str, ttl_s: int = 900, now: float | None = None) -> str:
    """A token for ``user_id`` valid ``ttl_s`` seconds from ``now`` (default: the current time)."""
    if not secret:
        raise ValueError("a token needs a non-empty secret")
    expiry = int(time.time() if now is None else now) + int(ttl_s)
    return f"{expiry}.{_signature(secret, user_id, expiry)}"


def check_token(secret: str | bytes, user_id: str, token: str, now: float | None = None) -> bool:
    """True when ``token`` was made with ``secret`` for ``user_id`` and is still (and not too long) valid."""
    if not secret or not token:
        return False
    expiry_text, _, signature = token.partition(".")
    if not (expiry_text.isascii() and expiry_text.isdigit() and len(expiry_text) <= 12):
        return False
    expiry = int(expiry_text)
    moment = time.time() if now is None else now
    # compare before looking at the expiry, so a forged token takes as long as an expired one
    genuine = hmac.compare_digest(_signature(secret, user_id, expiry).encode(), signature.encode())
    return genuine and moment < expiry <= moment + MAX_TTL_S

"""API keys for the writing endpoints: ``RECSVC_API_KEYS`` (comma-separated), sent as ``X-API-Key``."""

import hmac
from collections.abc import Callable
from functools import wraps

from flask import current_app, request
from flask.typing import ResponseReturnValue

from recsvc.http.errors import ApiError

HEADER = "X-API-Key"


def api_keys() -> list[bytes]:
    """The configured keys; none configured means every write is refused."""
    configured = current_app.config.get("API_KEYS") or ""
    if not isinstance(configured, (list, tuple)):
        # create_app keeps RECSVC_API_KEYS a string; a config mapping may still pass a number or a list
        configured = str(configured).split(",")
    return [str(k).strip().encode() for k in configured if k and str(k).strip()]


def require_api_key(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Refuse the request with a 401 unless it carries a configured key (compared in constant time, never logged)."""

    @wraps(view)
    def checked(*args, **kwargs) -> ResponseReturnValue:
        sent = request.headers.get(HEADER, "").encode()
        # compare with every key so the time taken does not tell which one nearly matched
        matches = [hmac.compare_digest(sent, key) for key in api_keys()]
        if not sent or not any(matches):
            raise ApiError(401, f"a valid API key is required in the {HEADER} header", "unauthenticated")
        return view(*args, **kwargs)

    return checked

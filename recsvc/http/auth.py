"""Who may call what: API keys (``RECSVC_API_KEYS``, sent as ``X-API-Key``) for the shop's servers, and
signed user tokens (``recsvc.http.tokens``) for reads of one customer's data from the browser."""

import hmac
from collections.abc import Callable
from functools import wraps

from flask import current_app, request
from flask.typing import ResponseReturnValue

from recsvc.http.errors import ApiError
from recsvc.http.tokens import check_token

HEADER = "X-API-Key"
TOKEN_PARAMETER = "token"
TRUE = ("1", "true", "yes", "on")


def api_keys() -> list[bytes]:
    """The configured keys; none configured means every write is refused."""
    configured = current_app.config.get("API_KEYS") or ""
    if not isinstance(configured, (list, tuple)):
        # create_app keeps RECSVC_API_KEYS a string; a config mapping may still pass a number or a list
        configured = str(configured).split(",")
    return [str(k).strip().encode() for k in configured if k and str(k).strip()]


def has_api_key() -> bool:
    """True when the request carries a configured key (compared in constant time, never logged)."""
    sent = request.headers.get(HEADER, "").encode()
    # compare with every key so the time taken does not tell which one nearly matched
    matches = [hmac.compare_digest(sent, key) for key in api_keys()]
    return bool(sent) and any(matches)


def require_api_key(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Refuse the request with a 401 unless it carries a configured key."""

    @wraps(view)
    def checked(*args, **kwargs) -> ResponseReturnValue:
        if not has_api_key():
            raise ApiError(401, f"a valid API key is required in the {HEADER} header", "unauthenticated")
        return view(*args, **kwargs)

    return checked


def sent_token() -> str:
    """The user token of the request: ``Authorization: Bearer <token>``, else ``?token=``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.args.get(TOKEN_PARAMETER, "")


def authorize_user(user_id: str) -> None:
    """Refuse with a 401 unless the request has an API key or a valid token for ``user_id``."""
    if _proves_user(user_id):
        return
    raise ApiError(
        401,
        f"this read needs an API key in the {HEADER} header or a valid token for this user "
        "(Authorization: Bearer <token>, or ?token=)",
        "unauthenticated",
    )


def _proves_user(user_id: str) -> bool:
    """True when the request has an API key or a valid token for ``user_id``."""
    return has_api_key() or check_token(str(current_app.config.get("TOKEN_SECRET") or ""), user_id, sent_token())


def user_tokens_required() -> bool:
    """True when ``RECSVC_REQUIRE_USER_TOKEN`` makes every user-keyed read need a key or a token."""
    return str(current_app.config.get("REQUIRE_USER_TOKEN")).strip().lower() in TRUE


def authorize_user_read(user_id: str) -> None:
    """For reads keyed by a user that reveal no history by themselves: checked only when the setting asks."""
    if user_tokens_required():
        authorize_user(user_id)


def history_access(user_id: str) -> bool:
    """True when the request may see ``user_id``'s history (what they viewed, what they bought): it has an API key
    or a valid token for that user. Without either, a user-keyed read names no history item, or is refused (401)
    when ``RECSVC_REQUIRE_USER_TOKEN`` asks for a key or token on every such read."""
    headers = request.headers
    # an anonymous widget's request sends neither header nor ?token=: a few lookups, no HMAC
    sent = HEADER in headers or "Authorization" in headers or TOKEN_PARAMETER in request.args
    if sent and _proves_user(user_id):
        return True
    authorize_user_read(user_id)
    return False

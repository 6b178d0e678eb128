"""``rec_id``: each answer's id, naming the endpoint that served it, so events can be attributed.

The endpoint is encoded in the id (``<code>.<random>``), so no impression is stored: an event that
carries a rec_id is counted against its endpoint, and clicks over impressions is the CTR.
"""

import secrets

from recsvc.http.metrics import ANSWERS, ATTRIBUTED

ENDPOINTS = {
    "u": "user_recommendations",
    "b": "batch",
    "a": "also_bought",
    "s": "similar",
    "p": "popular",
    "o": "category_offers",
    "n": "session",
    "v": "recently_viewed",
}
CODES = {name: code for code, name in ENDPOINTS.items()}


def tag(answer: dict, endpoint: str) -> dict:
    """Give an answer its rec_id and count it as an impression of the endpoint."""
    answer["rec_id"] = f"{CODES[endpoint]}.{secrets.token_urlsafe(9)}"
    ANSWERS.labels(endpoint, answer.get("source", "")).inc()
    return answer


def endpoint_of(rec_id: str) -> str | None:
    """The endpoint a rec_id came from, None if it is not one of ours."""
    code, dot, rest = rec_id.partition(".")
    return ENDPOINTS.get(code) if dot and rest else None


def count_event(rec_id: str, event: str) -> None:
    """Count an event attributed to the answer it followed."""
    endpoint = endpoint_of(rec_id)
    if endpoint is not None:
        ATTRIBUTED.labels(endpoint, event).inc()

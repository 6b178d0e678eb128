"""Cache-Control on the answers: item and shop-wide lists may be kept briefly, a customer's never.

Popular, also-bought and similar are the same for everyone until the next publish or catalog
update, so browsers and CDNs may keep them ``RECSVC_CACHE_MAX_AGE`` seconds (default 60; 0 turns
it off), unless the request names a user (also-bought's ``user_id``) or sends a user token. Answers
about one customer are ``private, no-store``: a shared cache must never hand one
customer's picks, purchases or profile to another. Errors are never stored.
"""

from flask import Flask, Response, current_app, request

SHARED_LISTS = frozenset({"v1.popular", "v1.also_bought", "v1.similar"})
"""Endpoints whose answer depends only on the URL and the served version (unless it names a user)."""


def init_app(app: Flask) -> None:
    app.after_request(_cache_control)


def _cache_control(response: Response) -> Response:
    if "Cache-Control" in response.headers:
        return response
    max_age = int(current_app.config["CACHE_MAX_AGE"])
    names_a_user = "user_id" in request.args or "Authorization" in request.headers
    shared = request.endpoint in SHARED_LISTS and not names_a_user
    if request.method == "GET" and response.status_code == 200 and shared and max_age > 0:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        response.vary.add("Origin")
    elif request.path.startswith("/v1/"):
        response.headers["Cache-Control"] = "private, no-store"
    return response

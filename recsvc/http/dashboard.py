"""``/dashboard``: the operator's page, behind the API key.

The key is typed into a login form once and kept in an HttpOnly, SameSite=Strict cookie scoped to
``/dashboard``, never in a URL. The one write, rollback, also needs a form token derived from the key.
"""

import hashlib
import hmac

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from recsvc.admin.overview import overview
from recsvc.contract import versions
from recsvc.http.auth import api_keys, has_api_key
from recsvc.http.tracking import reports

COOKIE = "recsvc_dashboard_key"
COOKIE_MAX_AGE_S = 8 * 3_600
PATH = "/dashboard"

bp = Blueprint("dashboard", __name__, url_prefix=PATH, template_folder="templates")


def register(app: Flask) -> None:
    """Register the dashboard's pages."""
    app.add_template_filter(duration, "duration")
    app.register_blueprint(bp)


@bp.after_request
def _never_stored(response: Response) -> Response:
    """The dashboard shows an operator's view: no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"
    return response


def duration(seconds: float | None) -> str:
    """``3 h 12 min``, ``2 d 4 h``: an age for a person."""
    if seconds is None:
        return "unknown"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _cookie_key() -> str | None:
    """The key in the request's cookie when it is a configured one."""
    sent = request.cookies.get(COOKIE, "").encode()
    matches = [hmac.compare_digest(sent, key) for key in api_keys()]
    return sent.decode() if sent and any(matches) else None


def _form_token(key: str) -> str:
    """The token a dashboard form carries: another site cannot know it, even if a cookie were sent."""
    return hmac.new(key.encode(), b"recsvc dashboard form", hashlib.sha256).hexdigest()[:32]


def _login(message: str = "", status: int = 401) -> ResponseReturnValue:
    return render_template("login.html", message=message), status


def _page(key: str, message: str = "", status: int = 200) -> ResponseReturnValue:
    state = overview(current_app.extensions["recsvc"].store.redis, reports())
    return render_template("dashboard.html", state=state, form_token=_form_token(key), message=message), status


@bp.get("")
def dashboard() -> ResponseReturnValue:
    """The dashboard, or the login form without a valid cookie."""
    key = _cookie_key()
    return _page(key) if key else _login()


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Check the typed key and keep it in the cookie."""
    key = request.form.get("api_key", "")
    if not key or not any(hmac.compare_digest(key.encode(), k) for k in api_keys()):
        return _login("That key is not one of the API keys of this service.")
    response = redirect(PATH, code=303)
    response.set_cookie(
        COOKIE, key, max_age=COOKIE_MAX_AGE_S, path=PATH, httponly=True, samesite="Strict", secure=request.is_secure
    )
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Forget the key."""
    response = redirect(PATH, code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@bp.post("/rollback")
def rollback() -> ResponseReturnValue:
    """Serve a kept version again."""
    key = _cookie_key()
    if key is None:
        return _login()
    if not hmac.compare_digest(request.form.get("form_token", ""), _form_token(key)):
        return _page(key, "The form was out of date; nothing changed. Try again.", 400)
    version = request.form.get("version", "")
    try:
        versions.rollback(current_app.extensions["recsvc"].store.redis, version)
    except versions.UnknownVersion as e:
        return _page(key, str(e), 400)
    except versions.PublishFailed as e:  # a publish holds the lock: its switch would undo this one
        return _page(key, str(e), 409)
    return redirect(PATH, code=303)


@bp.get("/state.json")
def state() -> ResponseReturnValue:
    """The dashboard's figures as JSON, for the cookie or an X-API-Key header."""
    if _cookie_key() is None and not has_api_key():
        response: Response = jsonify(error={"code": "unauthenticated", "message": "log in or send X-API-Key"})
        return response, 401
    return jsonify(overview(current_app.extensions["recsvc"].store.redis, reports()))

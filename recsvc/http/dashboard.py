"""``/dashboard``: the operator's page, behind the API key.

The key is typed into a login form; each client address may try ``RECSVC_DASHBOARD_LOGIN_RATE`` times a minute.
A good key opens a session (``recsvc.store.sessions``) whose random id, signed with the tracking secret
(itsdangerous), is kept in an HttpOnly, SameSite=Strict cookie scoped to ``/dashboard``, Secure when the request
came over HTTPS (behind a TLS proxy: ``RECSVC_PROXY_HOPS``); the key itself is never in a cookie or a URL. The one
write, rollback, also needs a form token derived from the session. Every page forbids framing and runs only its
own inline style (``X-Frame-Options``, ``Content-Security-Policy`` with a nonce per page).
"""

import hashlib
import hmac
import secrets

from flask import Blueprint, Flask, Response, current_app, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, TimestampSigner

from recsvc.admin.overview import overview
from recsvc.contract import versions
from recsvc.http.attribution import tracking_secret
from recsvc.http.auth import api_keys, has_api_key
from recsvc.store.model import ModelStore
from recsvc.store.sessions import DEFAULT_LOGIN_RATE, SESSION_TTL_S, DashboardSessions, key_digest

COOKIE = "recsvc_dashboard_session"
PATH = "/dashboard"
SALT = "recsvc.dashboard.session"
"""Keeps a session id's signature apart from everything else signed with the tracking secret."""
CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""The dashboard's Content-Security-Policy: its own inline style (by a nonce per page), no script, no framing."""

bp = Blueprint("dashboard", __name__, url_prefix=PATH, template_folder="templates")


def register(app: Flask) -> None:
    """Register the dashboard's pages."""
    app.add_template_filter(duration, "duration")
    app.register_blueprint(bp)


@bp.before_request
def _style_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


@bp.after_request
def _never_stored(response: Response) -> Response:
    """The dashboard shows an operator's view: no cache may keep it, no other site may frame it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CSP.format(nonce=g.get("csp_nonce", ""))
    response.headers["X-Content-Type-Options"] = "nosniff"
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


def _store() -> ModelStore:
    return current_app.extensions["recsvc"].store


def _sessions() -> DashboardSessions:
    return _store().sessions


def _signer() -> TimestampSigner:
    return TimestampSigner(tracking_secret(), salt=SALT)


def _session() -> str | None:
    """The id of the request's session when its cookie is genuine, not expired, and its key still configured."""
    sent = request.cookies.get(COOKIE, "")
    if not sent:
        return None
    try:
        session_id = _signer().unsign(sent, max_age=SESSION_TTL_S).decode()
    except BadSignature:
        return None
    kept = _sessions().key_digest(session_id)
    matches = [hmac.compare_digest((kept or "").encode(), key_digest(key).encode()) for key in api_keys()]
    return session_id if kept and any(matches) else None


def _form_token(session_id: str) -> str:
    """The token a dashboard form carries: another site cannot know it, even if a cookie were sent."""
    return hmac.new(tracking_secret(), f"recsvc dashboard form\n{session_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _login(message: str = "", status: int = 401) -> ResponseReturnValue:
    return render_template("login.html", message=message), status


def _page(session_id: str, message: str = "", status: int = 200) -> ResponseReturnValue:
    state = overview(_store())
    return render_template("dashboard.html", state=state, form_token=_form_token(session_id), message=message), status


@bp.get("")
def dashboard() -> ResponseReturnValue:
    """The dashboard, or the login form without a valid session."""
    session_id = _session()
    return _page(session_id) if session_id else _login()


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Check the typed key (a bounded number of times a minute per client address) and open a session."""
    rate = int(current_app.config.get("DASHBOARD_LOGIN_RATE") or DEFAULT_LOGIN_RATE)
    if not _sessions().attempt(request.remote_addr or "", rate):
        return _login(f"Too many attempts: at most {rate} a minute. Wait a minute and try again.", 429)
    key = request.form.get("api_key", "").encode()
    matches = [hmac.compare_digest(key, k) for k in api_keys()]
    if not key or not any(matches):
        return _login("That key is not one of the API keys of this service.")
    signed = _signer().sign(_sessions().open(key)).decode()
    response = redirect(PATH, code=303)
    response.set_cookie(
        COOKIE, signed, max_age=SESSION_TTL_S, path=PATH, httponly=True, samesite="Strict", secure=request.is_secure
    )
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    session_id = _session()
    if session_id is not None:
        _sessions().close(session_id)
    response = redirect(PATH, code=303)
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@bp.post("/rollback")
def rollback() -> ResponseReturnValue:
    """Serve a kept version again."""
    session_id = _session()
    if session_id is None:
        return _login()
    if not hmac.compare_digest(request.form.get("form_token", ""), _form_token(session_id)):
        return _page(session_id, "The form was out of date; nothing changed. Try again.", 400)
    version = request.form.get("version", "")
    try:
        _store().versions.rollback(version)
    except versions.UnknownVersion as e:
        return _page(session_id, str(e), 400)
    except versions.PublishFailed as e:  # a publish holds the lock: its switch would undo this one
        return _page(session_id, str(e), 409)
    return redirect(PATH, code=303)


@bp.get("/state.json")
def state() -> ResponseReturnValue:
    """The dashboard's figures as JSON, for the session's cookie or an X-API-Key header."""
    if _session() is None and not has_api_key():
        response: Response = jsonify(error={"code": "unauthenticated", "message": "log in or send X-API-Key"})
        return response, 401
    return jsonify(overview(_store()))

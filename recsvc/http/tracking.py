"""``POST /v1/track``: impressions and clicks from the shop's pages, without a key.

Only reports on an answer the service gave are taken: the ``rec_id`` must be one it signed, not yet
expired, and for the user it names (``recsvc.http.attribution``); a click must be on an item the answer
showed: it carries the answer's item ids (``shown``), which must match the digest the rec_id signs. Each
client address may report ``RECSVC_TRACK_RATE`` times a minute (the browser's address as the trusted proxies
forward it: ``RECSVC_PROXY_HOPS``), and each viewer see a rec_id once and click in its list a few times
(``recsvc.store.reports``). The viewer is the user the answer was given to (asked for with the API key or
the user's token), else the page's visitor id. A counted click goes into the events stream as the viewer's
view of the clicked item, so the next training learns from it, and into ``/metrics`` and the CTR per list
like an impression.
"""

import re
import time

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from recsvc.contract.ids import is_valid_id
from recsvc.http.api import answers, checked_id
from recsvc.http.attribution import REC_ID_TTL_S, count_report, shows, verified_endpoint
from recsvc.http.errors import ApiError, invalid
from recsvc.http.events import DEFAULT_STREAM_MAXLEN
from recsvc.http.metrics import TRACKED
from recsvc.store.reports import DEFAULT_RATE, KINDS, BrowserReports

VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
"""A visitor id the widget made up (kept in the browser's localStorage)."""
VISITOR_PREFIX = "visitor:"
"""The user id of an anonymous visitor's clicks in the events stream: ``visitor:<visitor_id>``."""

bp = Blueprint("tracking", __name__, url_prefix="/v1")


def register(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


def reports() -> BrowserReports:
    """The browser's reports in Redis."""
    return answers().store.reports


@bp.post("/track")
def track() -> ResponseReturnValue:
    """Count an impression or a click on a list, reported by the shop's page.
    ---
    post:
      summary: Report an impression or a click from the browser (no key)
      description: The widget sends these by itself. rec_id must be the rec_id of an answer, at most an hour old;
        user_id must be the answer's user_id when it was asked for with the API key or that user's token. A click
        needs the clicked item_id, shown (the item ids of the answer, in its order; the click must be on one of
        them) and, unless the answer was given to its user, the visitor_id the page keeps; it is stored as that
        user's or visitor's view event for the next training. The body may be sent as text/plain
        (navigator.sendBeacon).
      tags: [events]
      requestBody:
        required: true
        content:
          application/json: {schema: TrackRequest}
          text/plain: {schema: TrackRequest}
      responses:
        200: {description: Whether the report was counted, content: {application/json: {schema: TrackAnswer}}}
        400: BadRequest
        429: TooManyRequests
        503: Unavailable
    """
    body = request.get_json(force=True, silent=True)  # sendBeacon posts JSON as text/plain
    if not isinstance(body, dict):
        raise invalid('the body must be a JSON object such as {"rec_id": "...", "type": "click", "item_id": "..."}')
    kind = body.get("type")
    if kind not in KINDS:
        raise invalid(f"type must be one of {', '.join(KINDS)}")
    rec_id, user_id = body.get("rec_id"), body.get("user_id")
    if user_id is not None:
        user_id = checked_id(user_id, "user_id")
    if not isinstance(rec_id, str) or not is_valid_id(rec_id):
        raise invalid("rec_id must be the rec_id of an answer")
    endpoint = verified_endpoint(rec_id, user_id or "")
    if endpoint is None and user_id is not None:  # asked for without the user's key or token: the visitor's
        endpoint, user_id = verified_endpoint(rec_id), None
    if endpoint is None:
        raise invalid("rec_id is not one this service gave (to this user_id), or it is more than an hour old")
    visitor = body.get("visitor_id")
    if visitor is not None and (not isinstance(visitor, str) or not VISITOR.fullmatch(visitor)):
        raise invalid("visitor_id must be 8 to 64 of A-Z a-z 0-9 _ -")
    click = _click(body, user_id, visitor) if kind == "click" else None
    now = time.time()
    rate = int(current_app.config.get("TRACK_RATE") or DEFAULT_RATE)
    # a cached answer reaches many visitors with one rec_id: each may report on it
    viewer = user_id or visitor or ""
    # remote_addr is the browser's address when RECSVC_PROXY_HOPS names the proxies in front (ProxyFix)
    refusal = reports().refusal(request.remote_addr or "", rec_id, viewer, kind, rate, REC_ID_TTL_S, now)
    if refusal == "rate":
        raise ApiError(429, f"at most {rate} reports a minute from one address", "too_many_requests")
    if refusal:
        return jsonify(counted=False, reason=f"this list's {kind}s were reported already"), 200
    if click is not None:
        click["timestamp"] = str(int(now))
        store = answers().store
        store.append_events([click], int(current_app.config.get("EVENTS_MAXLEN") or DEFAULT_STREAM_MAXLEN))
    reports().count(endpoint, kind, now)
    count_report(rec_id, kind)
    TRACKED.labels(endpoint, kind).inc()
    return jsonify(counted=True), 200


def _click(body: dict, user_id: str | None, visitor: str | None) -> dict[str, str]:
    """The stream fields of a reported click: a view of the item by the list's user or the page's visitor."""
    item_id = checked_id(body.get("item_id"), "item_id")
    shown = body.get("shown")
    if not isinstance(shown, list) or not all(isinstance(i, str) for i in shown):
        raise invalid("a click needs shown: the item ids of the answer, in its order")
    if not shows(body["rec_id"], shown, item_id):
        raise invalid("item_id was not shown in this rec_id's answer (shown must be its item ids, in its order)")
    if answers().store.item(item_id)[1] is None:
        raise invalid(f"item_id {item_id!r} is not an item of the served model")
    if user_id is None:
        if visitor is None:
            raise invalid("a click on a list not keyed by a user needs visitor_id: 8 to 64 of A-Z a-z 0-9 _ -")
        user_id = VISITOR_PREFIX + visitor
    return {"user_id": user_id, "item_id": item_id, "event": "view", "quantity": "1", "rec_id": body["rec_id"]}

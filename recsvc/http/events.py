"""``POST /v1/events``: store the shop's events in a Redis Stream before answering, and make them felt at once.

Each event is validated on its own: the good ones are kept, the bad ones reported by their index.
In the same round trip as the XADD, each user's live list (``keys.live``) gets the event, so a
purchase leaves that user's next answers and a new visitor's views drive their picks.
"""

import math
import time

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from recsvc.contract.events import EVENTS, event_code
from recsvc.contract.ids import ID_RULE, is_valid_id
from recsvc.contract.times import in_window, iso_seconds, number_seconds, window_rule
from recsvc.http.attribution import count_events
from recsvc.http.auth import require_api_key
from recsvc.http.errors import ApiError, invalid
from recsvc.http.metrics import EVENTS_RECEIVED

MAX_EVENTS = 1_000
MAX_QUANTITY = 10_000
DEFAULT_STREAM_MAXLEN = 10_000_000
"""Events the stream keeps (approximately) when ``RECSVC_EVENTS_MAXLEN`` is not set; training trims it sooner."""

bp = Blueprint("events", __name__, url_prefix="/v1")


def parse_event(raw: object, now: int) -> dict[str, str]:
    """The stream fields of one posted event; ValueError says what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError("an event must be a JSON object")
    fields: dict[str, str] = {}
    for name in ("user_id", "item_id"):
        value = raw.get(name)
        if not isinstance(value, str) or not is_valid_id(value):
            raise ValueError(f"{name} must be an id: {ID_RULE}")
        fields[name] = value
    event_name = raw.get("event")
    code = event_code(event_name) if isinstance(event_name, str) else None
    if code is None:
        raise ValueError(
            "event must be one of view, addtocart, purchase, wishlist (or pv, cart, buy, transaction, fav)"
        )
    fields["event"] = EVENTS[code]
    fields["timestamp"] = str(_timestamp(raw.get("timestamp"), now))
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity must be an integer from 1 to {MAX_QUANTITY}")
    fields["quantity"] = str(quantity)
    rec_id = raw.get("rec_id")
    if rec_id is not None:
        if not isinstance(rec_id, str) or not is_valid_id(rec_id):
            raise ValueError("rec_id must be the rec_id of an answer")
        fields["rec_id"] = rec_id
    return fields


def _timestamp(value, now: int) -> int:
    """Unix seconds from unix seconds or milliseconds or ISO-8601, within the contract's time rule (the trainer's:
    ``recsvc.contract.times``); now when absent."""
    if value is None:
        return now
    seconds = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if isinstance(value, float) or abs(value) < 2**63 else math.inf  # 1e400 is inf
        seconds = number_seconds(number) if math.isfinite(number) else math.inf
    elif isinstance(value, str):
        seconds = iso_seconds(value)
    if math.isnan(seconds):
        raise ValueError(f"timestamp {_shown(value)} is not unix seconds, milliseconds or ISO-8601")
    if not in_window(seconds, now):
        raise ValueError(f"timestamp {_shown(value)} {window_rule(now)}")
    return int(seconds)


def _shown(value) -> str:
    """A posted value as an error message quotes it: short, whatever its type."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _posted_events(body) -> list:
    """The list of events of a body: one event, a list of events, or {"events": [...]}."""
    if isinstance(body, dict) and "events" in body:
        body = body["events"]
    elif isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        raise invalid('the body must be an event, a list of events or {"events": [...]}')
    if len(body) > MAX_EVENTS:
        raise ApiError(413, f"at most {MAX_EVENTS} events per call, got {len(body)}")
    return body


@bp.post("/events")
@require_api_key
def post_events() -> ResponseReturnValue:
    """Record events (views, carts, purchases, wishlists) as they happen.
    ---
    post:
      summary: Record one event or up to 1,000
      description: Each event is stored in a Redis Stream before the answer, for the next training. A purchase
        leaves the user's answers at once; views and carts drive picks for users the model does not know yet.
        Bad events are reported by index; the good ones are kept. Needs an X-API-Key header.
      tags: [events]
      security: [{apiKey: []}]
      requestBody:
        required: true
        content: {application/json: {schema: EventsRequest}}
      responses:
        200: {description: What was accepted and what was not, content: {application/json: {schema: EventsAnswer}}}
        400: BadRequest
        401: Unauthenticated
        413: TooLarge
        503: Unavailable
    """
    posted = _posted_events(request.get_json(silent=True))
    now = int(time.time())
    accepted, errors = [], []
    for index, raw in enumerate(posted):
        try:
            accepted.append(parse_event(raw, now))
        except ValueError as e:
            errors.append({"index": index, "message": str(e)})
    if accepted:
        store = current_app.extensions["recsvc"].store
        store.append_events(accepted, int(current_app.config.get("EVENTS_MAXLEN") or DEFAULT_STREAM_MAXLEN))
    EVENTS_RECEIVED.labels("accepted").inc(len(accepted))
    EVENTS_RECEIVED.labels("rejected").inc(len(errors))
    if accepted:
        count_events(accepted)
    body = {"accepted": len(accepted), "rejected": len(errors), "errors": errors}
    if not accepted:
        message = f"no valid event; event {errors[0]['index']}: {errors[0]['message']}"
        return jsonify(error={"code": "invalid_argument", "message": message}, **body), 400
    return jsonify(body), 200

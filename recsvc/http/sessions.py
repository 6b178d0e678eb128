"""``POST /v1/sessions/recommendations``: picks for a visitor from the items of their session."""

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from recsvc.contract.events import VIEW, event_code
from recsvc.http.api import answers, checked_id, filters_from, json_object
from recsvc.http.attribution import tag
from recsvc.http.auth import authorize_user
from recsvc.http.errors import invalid
from recsvc.http.tracking import VISITOR, VISITOR_PREFIX

MAX_SESSION_ITEMS = 100

bp = Blueprint("sessions", __name__, url_prefix="/v1")


def session_events(items: object) -> list[tuple[int, str]]:
    """(event code, item id) from a list of item ids (views) or of {"item_id", "event"} objects."""
    if not isinstance(items, list) or len(items) > MAX_SESSION_ITEMS:
        raise invalid(
            f'items must be a list of at most {MAX_SESSION_ITEMS} item ids or {{"item_id": ..., "event": ...}} objects'
        )
    events = []
    for n, item in enumerate(items):
        code = VIEW
        if isinstance(item, dict):
            name = item.get("event", "view")
            given = event_code(name) if isinstance(name, str) else None
            if given is None:
                raise invalid(f"items[{n}].event must be view, addtocart, purchase or wishlist")
            code, item = given, item.get("item_id")
        events.append((code, checked_id(item, f"items[{n}]")))
    return events


@bp.post("/sessions/recommendations")
def session_recommendations() -> ResponseReturnValue:
    """Picks for a visitor from the items viewed or carted in this session.
    ---
    post:
      summary: Session picks for a visitor with no history
      description: The session's items are folded into the model at request time (the ALS user vector that best
        explains them) and the model's items are scored against it; the session's items themselves are left out.
        With user_id, that user's posted events count too and their purchases are left out, so user_id needs the API
        key or the user's token (401 without). Items the model does not know are ignored; with none known, popular
        items (source popular).
      tags: [users]
      requestBody:
        required: true
        content: {application/json: {schema: SessionRequest}}
      responses:
        200: {description: The picks, content: {application/json: {schema: SessionItems}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    body = json_object('{"items": ["sku-1", "sku-2"], "limit": 10}')
    events = session_events(body.get("items", []))
    user_id = body.get("user_id")
    if user_id is not None:
        user_id = checked_id(user_id, "user_id")
        authorize_user(user_id)  # the answer follows the user's events since training and leaves out their purchases
    visitor = body.get("visitor_id")
    if visitor is not None and (not isinstance(visitor, str) or not VISITOR.fullmatch(visitor)):
        raise invalid("visitor_id must be 8 to 64 of A-Z a-z 0-9 _ -")
    subject = VISITOR_PREFIX + visitor if visitor is not None and user_id is None else None
    answer = answers().session(events, filters_from(body, limit=body.get("limit")), user_id, subject)
    return jsonify(tag(answer, "session", subject))

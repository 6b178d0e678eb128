"""The retention endpoints of v1: buy-again, customer profiles and trigger lists for email.

Trigger lists name users, so they need an API key; buy-again and profiles reveal a customer's purchases
and segment, so they need the key or a signed token for that user (``recsvc.http.tokens``).
"""

import time

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from recsvc.contract.keys import TRIGGER_KINDS
from recsvc.contract.units import DAY
from recsvc.http import analytics
from recsvc.http.api import checked_id, filters_from, int_arg, json_object
from recsvc.http.attribution import tag
from recsvc.http.auth import authorize_user, require_api_key
from recsvc.http.errors import ApiError, invalid
from recsvc.read.retention import RetentionAnswers
from recsvc.read.triggers import MAX_SUPPRESS_DAYS, SUPPRESS_DAYS, WINDOWS, BadCursor, Triggers

MAX_PAGE = 1_000
MAX_CURSOR = 512
MAX_SENDS = 1_000
"""The most users one report of sends may name."""

bp = Blueprint("retention", __name__, url_prefix="/v1")


def retention() -> RetentionAnswers:
    """The app's buy-again and profile read model."""
    return current_app.extensions["recsvc.read.retention"]


def triggers() -> Triggers:
    """The app's trigger lists read model."""
    return current_app.extensions["recsvc.read.triggers"]


def register(app: Flask) -> None:
    """Attach the read models to the app and register the blueprint (and the retention figures' one)."""
    answers = app.extensions["recsvc"]
    app.extensions["recsvc.read.retention"] = RetentionAnswers(answers)
    app.extensions["recsvc.read.triggers"] = Triggers(app.extensions["recsvc.read.retention"])
    days = app.config.setdefault("SUPPRESS_DAYS", SUPPRESS_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_SUPPRESS_DAYS:
        raise ValueError(f"RECSVC_SUPPRESS_DAYS must be a whole number of days from 0 to {MAX_SUPPRESS_DAYS}")
    app.register_blueprint(bp)
    app.register_blueprint(analytics.bp)


@bp.get("/users/<id:user_id>/buy-again")
def buy_again(user_id: str) -> ResponseReturnValue:
    """Items a user bought that are due again (replenishment).
    ---
    get:
      summary: Buy it again
      description: The repeatable items the user bought, most due first, from each item's repurchase
        interval (its category's where the item has few repeats). Items nobody buys twice are never
        offered. Each reason is due_again with days_since_last_purchase, interval_days and times_bought.
        A user with none gets popular items with source "popular". Needs the X-API-Key header or a token
        for this user (an Authorization Bearer header, or the token parameter).
      tags: [users]
      security: [{apiKey: []}, {userToken: []}]
      parameters:
        - user_id
        - limit
        - category
        - exclude
        - token
      responses:
        200: {description: The items, content: {application/json: {schema: UserItems}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    user_id = checked_id(user_id, "user_id")
    authorize_user(user_id)
    return jsonify(tag(retention().buy_again(user_id, filters_from(request.args)), "buy_again"))


@bp.get("/users/<id:user_id>/profile")
def profile(user_id: str) -> ResponseReturnValue:
    """A customer's segment, at-risk flag and top categories.
    ---
    get:
      summary: Customer profile
      description: 'segment is one of new, repeat, vip, at_risk, lost (from recency, frequency and spend at
        training); at_risk is true when the user is past their usual interval between orders. Needs the
        X-API-Key header or a token for this user (an Authorization Bearer header, or the token parameter).'
      tags: [users]
      security: [{apiKey: []}, {userToken: []}]
      parameters:
        - user_id
        - token
      responses:
        200: {description: The profile, content: {application/json: {schema: Profile}}}
        400: BadRequest
        401: Unauthenticated
        503: Unavailable
    """
    user_id = checked_id(user_id, "user_id")
    authorize_user(user_id)
    return jsonify(retention().profile(user_id))


@bp.get("/triggers/<kind>")
@require_api_key
def trigger_list(kind: str) -> ResponseReturnValue:
    """Users to contact now, each with the items to show, paged with a cursor.
    ---
    get:
      summary: Trigger list for the email generator
      description: 'kind: replenishment (items due within `days`, default 7), category-interest (a category
        viewed on separate days within the last `days`, default 7, without a purchase), abandoned-cart
        (items in the cart for at least `hours`, default 24, not bought), win-back (users who became
        at risk within the last `days`, default 30), back-in-stock and price-drop (an item the user wished
        for, carted or viewed on separate days came back, or its price fell by the model''s price_drop_share,
        within the last `days`, default 7; each item''s reason gives the date and the old and new price).
        Every entry carries best_time, the hour and weekday the user usually shops at. Users reported
        sent a message of this kind (POST /v1/triggers/{kind}/sent) within `suppress_days` (default 7,
        RECSVC_SUPPRESS_DAYS; 0 turns it off) are left out. Pass next_cursor back as cursor for the next
        page; it is null on the last page. Needs the X-API-Key header.'
      tags: [triggers]
      security: [{apiKey: []}]
      parameters:
        - name: kind
          in: path
          required: true
          schema:
            type: string
            enum: [replenishment, category-interest, abandoned-cart, win-back, back-in-stock, price-drop]
        - {name: limit, in: query, description: users per page (1-1000), schema: {type: integer, default: 100}}
        - {name: items_per_user, in: query, schema: {type: integer, default: 5, minimum: 1, maximum: 100}}
        - {name: days, in: query, schema: {type: integer}}
        - {name: hours, in: query, description: abandoned-cart only, schema: {type: integer}}
        - {name: cursor, in: query, schema: {type: string}}
        - {name: suppress_days, in: query, schema: {type: integer, minimum: 0, maximum: 365}}
      responses:
        200: {description: One page of entries, content: {application/json: {schema: TriggerPage}}}
        400: BadRequest
        401: {description: Missing or wrong API key}
        404: NotFound
        503: Unavailable
    """
    known_kind(kind)
    window = WINDOWS[kind]
    other = "days" if window.name == "hours" else "hours"
    if request.args.get(other) is not None:
        raise invalid(f"{kind} takes {window.name}, not {other}")
    span = int_arg(window.name, window.default, low=0, high=window.maximum)
    limit = int_arg("limit", 100, high=MAX_PAGE)
    per_user = int_arg("items_per_user", 5)
    suppress = int_arg("suppress_days", suppress_default(), low=0, high=MAX_SUPPRESS_DAYS)
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise invalid("cursor is not one this service returned")
    try:
        return jsonify(triggers().page(kind, span, limit, per_user, cursor, suppress_days=suppress))
    except BadCursor as e:
        raise invalid(str(e)) from None


def suppress_default() -> int:
    """The app's suppression window in days (``RECSVC_SUPPRESS_DAYS``)."""
    return current_app.config["SUPPRESS_DAYS"]


@bp.post("/triggers/<kind>/sent")
@require_api_key
def report_sends(kind: str) -> ResponseReturnValue:
    """The email generator reports whom it sent a message of a kind, so the next lists leave them out.
    ---
    post:
      summary: Report sent trigger messages
      description: 'Body {"user_ids": [...], "sent_at": unix seconds (optional, default now)}, up to 1,000
        users a call. A later send replaces an earlier one; sends older than 365 days are forgotten.
        Needs the X-API-Key header.'
      tags: [triggers]
      security: [{apiKey: []}]
      parameters:
        - name: kind
          in: path
          required: true
          schema: {type: string}
      requestBody:
        required: true
        content: {application/json: {schema: SentReport}}
      responses:
        200: {description: How many sends were recorded, content: {application/json: {schema: SentRecorded}}}
        400: BadRequest
        401: {description: Missing or wrong API key}
        404: NotFound
        503: Unavailable
    """
    known_kind(kind)
    body = json_object('{"user_ids": ["u1", "u2"], "sent_at": 1764547200}')
    user_ids = body.get("user_ids")
    if not isinstance(user_ids, list) or not 1 <= len(user_ids) <= MAX_SENDS:
        raise invalid(f"user_ids must be a list of 1 to {MAX_SENDS:,} user ids")
    user_ids = [checked_id(u, "user_id") for u in user_ids]
    now = time.time()
    sent_at = body.get("sent_at", now)
    if isinstance(sent_at, bool) or not isinstance(sent_at, (int, float)) or not 0 <= sent_at <= now + DAY:
        raise invalid("sent_at must be a unix time in seconds, not in the future")
    retention().store.record_sends(kind, user_ids, float(sent_at), now - MAX_SUPPRESS_DAYS * DAY)
    return jsonify({"kind": kind, "recorded": len(set(user_ids))})


def known_kind(kind: str) -> None:
    """A 404 JSON for a trigger kind that does not exist."""
    if kind not in TRIGGER_KINDS:
        raise ApiError(404, f"unknown trigger kind {kind!r}; known: {', '.join(TRIGGER_KINDS)}")

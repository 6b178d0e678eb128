"""The v1 blueprint: parse and validate the request, ask ``Answers``, return JSON.

Each view's docstring carries its OpenAPI description after ``---``; ``openapi.py``
collects them into ``/openapi.json``.
"""

import math
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from recsvc.contract.ids import ID_RULE, is_valid_id
from recsvc.http.attribution import tag
from recsvc.http.auth import HEADER, authorize_user, history_access, require_api_key
from recsvc.http.errors import ApiError, invalid
from recsvc.read.answers import Answers
from recsvc.read.listing import Filters

MAX_LIMIT = 100
MAX_BATCH = 1_000
MAX_BATCH_ITEMS = 20_000
"""The most items one batch call may ask for (users times limit): one request's work stays bounded."""
MAX_EXCLUDE = 100
INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
"""An integer in a query string: decimal digits only (``5.9``, ``1e3`` and ``0x10`` are refused)."""

bp = Blueprint("v1", __name__, url_prefix="/v1")


def answers() -> Answers:
    """The app's read model."""
    return current_app.extensions["recsvc"]


def checked_id(value: object, name: str) -> str:
    """An id from the request, or a 400 saying what is wrong with it."""
    if not isinstance(value, str) or not is_valid_id(value):
        raise invalid(f"{name} must be an id: {ID_RULE}")
    return value


def int_arg(name: str, default: int, low: int = 1, high: int = MAX_LIMIT, value: Any = None) -> int:
    """An integer parameter within [low, high]: ``value`` if given (from a JSON body), else the query's."""
    raw = request.args.get(name) if value is None else value
    if raw is None:
        return default
    number = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():  # 10.0 from JSON, not 5.9 or 1e400
        number = int(raw)
    elif isinstance(raw, str) and INTEGER.fullmatch(raw):
        number = int(raw)
    if number is None or not low <= number <= high:
        raise invalid(f"{name} must be an integer from {low} to {high}")
    return number


def json_object(example: str) -> dict:
    """The request's JSON object body, or a 400 showing what one looks like."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid(f"the body must be a JSON object such as {example}")
    return body


def filters_from(args: Mapping[str, Any], limit: Any = None, default_limit: int = 10) -> Filters:
    """limit, category and exclude from query parameters or a JSON body."""
    category = args.get("category")
    if category is not None:
        category = checked_id(category, "category")
    exclude = args.get("exclude") or ()
    if isinstance(exclude, str):
        exclude = [e for e in exclude.split(",") if e]
    if not isinstance(exclude, (list, tuple)) or len(exclude) > MAX_EXCLUDE:
        raise invalid(f"exclude must be a list of at most {MAX_EXCLUDE} item ids")
    exclude = frozenset(checked_id(e, "exclude item id") for e in exclude)
    include_viewed = args.get("include_viewed")
    if include_viewed is not None:
        if isinstance(include_viewed, str) and include_viewed.lower() in ("true", "false", "1", "0"):
            include_viewed = include_viewed.lower() in ("true", "1")
        if not isinstance(include_viewed, bool):
            raise invalid("include_viewed must be true or false")
    return Filters(
        limit=int_arg("limit", default_limit, value=limit),
        category=category,
        exclude=exclude,
        include_viewed=include_viewed,
    )


@bp.get("/users/<id:user_id>/recommendations")
def recommendations(user_id: str) -> ResponseReturnValue:
    """Personalized picks for a user, without what they bought.
    ---
    get:
      summary: Personalized picks for a user
      description: Top items for the user from their purchases and views. A user the model does not know
        gets popular items with source "popular". With the API key or the user's token, items the user viewed
        and did not buy (reason recently_viewed) take at most 30% of the list unless include_viewed is given
        (besides them, the items browsed since training and their neighbours take the version's live_share
        of the places, GET /v1/model), and a reason because_you_bought or because_you_viewed names the history
        item (item_id). Without
        either, the answer names and re-offers nothing from the user's history (reason types only) and
        include_viewed=true is refused (401).
      tags: [users]
      security: [{}, {apiKey: []}, {userToken: []}]
      parameters:
        - user_id
        - token
        - limit
        - category
        - exclude
        - name: include_viewed
          in: query
          description: true re-offers every viewed item that ranks (needs the key or token), false none; default
            at most 30% of the list with the key or token, none without
          schema: {type: boolean}
      responses:
        200: {description: The picks, content: {application/json: {schema: UserItems}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    user_id = checked_id(user_id, "user_id")
    filters = filters_from(request.args)
    named = history_access(user_id)
    if filters.include_viewed and not named:
        raise ApiError(
            401,
            f"include_viewed=true needs an API key in the {HEADER} header or a valid token for this user",
            "unauthenticated",
        )
    answer = answers().recommendations(user_id, filters, named)
    return jsonify(tag(answer, "user_recommendations", bound=named))


@bp.get("/users/<id:user_id>/recently-viewed")
def recently_viewed(user_id: str) -> ResponseReturnValue:
    """What a user viewed and did not buy, most recent first (the re-finding widget).
    ---
    get:
      summary: Items a user viewed and did not buy
      description: Most recent first, reason recently_viewed; popular items fill the rest (source "popular"
        when there is nothing the user viewed to show). Needs the API key or the user's token.
      tags: [users]
      security: [{apiKey: []}, {userToken: []}]
      parameters:
        - user_id
        - token
        - limit
        - category
        - exclude
      responses:
        200: {description: The items, content: {application/json: {schema: UserItems}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    user_id = checked_id(user_id, "user_id")
    authorize_user(user_id)  # it reveals what the customer looked at
    answer = answers().recently_viewed(user_id, filters_from(request.args))
    return jsonify(tag(answer, "recently_viewed"))


@bp.get("/users/<id:user_id>/category-offers")
def category_offers(user_id: str) -> ResponseReturnValue:
    """The categories a user is drawn to, each with its best items.
    ---
    get:
      summary: Category offers for a user
      description: Categories viewed but not bought first (reason viewed_not_bought), then affinity, then
        popular categories; each with items the user did not buy. Where the shop's newest window showed its
        customers buying first in the best-sellers' categories they never bought from, those open the offers
        (GET /v1/model, category_offers_order). The categories the user browsed since training take their
        share of the places (GET /v1/model, live_share). Without the API key or the user's token, no item
        reason names an item of the user's history and no viewed item is offered again.
      tags: [users]
      security: [{}, {apiKey: []}, {userToken: []}]
      parameters:
        - user_id
        - token
        - name: limit
          in: query
          description: number of categories (1-100)
          schema: {type: integer, default: 3, minimum: 1, maximum: 100}
        - {name: items_per_category, in: query, schema: {type: integer, default: 4, minimum: 1, maximum: 100}}
      responses:
        200: {description: The offers, content: {application/json: {schema: CategoryOffers}}}
        400: BadRequest
        503: Unavailable
    """
    user_id = checked_id(user_id, "user_id")
    limit = int_arg("limit", 3)
    per_category = int_arg("items_per_category", 4)
    named = history_access(user_id)
    answer = answers().category_offers(user_id, limit, per_category, named)
    return jsonify(tag(answer, "category_offers", bound=named))


@bp.get("/items/<id:item_id>/also-bought")
def also_bought(item_id: str) -> ResponseReturnValue:
    """You bought X, see Y: what the buyers of an item bought, complements first.
    ---
    get:
      summary: Items bought by the buyers of an item
      description: With user_id, what that user bought is left out; that reveals their purchases, so user_id
        needs the API key or the user's token (401 without).
      tags: [items]
      security: [{}, {apiKey: []}, {userToken: []}]
      parameters:
        - item_id
        - limit
        - name: user_id
          in: query
          description: drop what this user already bought (needs the key or this user's token)
          schema: {type: string}
        - token
        - category
        - exclude
      responses:
        200: {description: The items, content: {application/json: {schema: ItemItems}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    item_id = checked_id(item_id, "item_id")
    user_id = request.args.get("user_id")
    if user_id is not None:
        user_id = checked_id(user_id, "user_id")
        authorize_user(user_id)  # the answer differs by what the user bought
    return jsonify(tag(answers().also_bought(item_id, filters_from(request.args), user_id), "also_bought"))


@bp.get("/items/<id:item_id>/similar")
def similar(item_id: str) -> ResponseReturnValue:
    """Items like an item (substitutes).
    ---
    get:
      summary: Items similar to an item
      tags: [items]
      parameters:
        - item_id
        - limit
        - category
        - exclude
      responses:
        200: {description: The items, content: {application/json: {schema: ItemItems}}}
        400: BadRequest
        404: NotFound
        503: Unavailable
    """
    return jsonify(tag(answers().similar(checked_id(item_id, "item_id"), filters_from(request.args)), "similar"))


@bp.post("/recommendations/batch")
@require_api_key
def batch() -> ResponseReturnValue:
    """Picks for many users at once, for the email generator.
    ---
    post:
      summary: Picks for up to 1,000 users
      description: At most 20,000 items a call (users x limit). Needs the X-API-Key header.
      tags: [users]
      security: [{apiKey: []}]
      requestBody:
        required: true
        content: {application/json: {schema: BatchRequest}}
      responses:
        200: {description: One result per user in request order, content: {application/json: {schema: BatchResults}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        413: TooLarge
        503: Unavailable
    """
    body = json_object('{"user_ids": ["u1", "u2"], "limit": 10}')
    user_ids = body.get("user_ids")
    if not isinstance(user_ids, list) or not user_ids:
        raise invalid("user_ids must be a non-empty list of user ids")
    if len(user_ids) > MAX_BATCH:
        raise ApiError(413, f"at most {MAX_BATCH} user_ids per call, got {len(user_ids)}")
    for n, user_id in enumerate(user_ids):
        checked_id(user_id, f"user_ids[{n}]")
    filters = filters_from(body, limit=body.get("limit"))
    if len(user_ids) * filters.limit > MAX_BATCH_ITEMS:
        raise invalid(
            f"a batch asks for at most {MAX_BATCH_ITEMS:,} items (users x limit): {len(user_ids)} users x limit "
            f"{filters.limit} is {len(user_ids) * filters.limit:,}; send fewer users per call or a smaller limit"
        )
    answer = answers().batch(user_ids, filters)
    for result in answer["results"]:
        tag(result, "batch", shown=False)  # read by email generators: their clicks come back as keyed events
    return jsonify(answer)


@bp.get("/popular")
def popular() -> ResponseReturnValue:
    """Popular items, overall or in a category; recent activity counts more.
    ---
    get:
      summary: Popular items
      tags: [items]
      parameters:
        - limit
        - category
        - exclude
      responses:
        200: {description: The items, content: {application/json: {schema: PopularItems}}}
        400: BadRequest
        404: NotFound
        503: Unavailable
    """
    return jsonify(tag(answers().popular(filters_from(request.args)), "popular"))


@bp.get("/model")
def model() -> ResponseReturnValue:
    """The served model: version, training time, counts, parameters, offline metrics where known.
    ---
    get:
      summary: The served model
      tags: [operations]
      responses:
        200: {description: The model summary, content: {application/json: {schema: Model}}}
        503: Unavailable
    """
    store = answers().store
    version = store.version()
    summary = store.summary(version).to_json()
    return jsonify({"model_version": version, **summary, "exploration": answers().exploration.summary(version)})

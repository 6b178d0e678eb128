"""``PUT /v1/catalog/items``: the shop's backend changes the served catalog, behind the API key.

The same change as ``recsvc catalog update`` (``recsvc.admin.catalog``): prices, availability, titles and other
attributes of known items, and new items (with a ``category_id`` of the version), answered from their content at
the next request of every service process.
"""

from dataclasses import asdict

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from recsvc.admin.catalog import CatalogError, NoVersion, UpdateUnderWay, update_items
from recsvc.http.api import answers, json_object
from recsvc.http.auth import require_api_key
from recsvc.http.errors import ApiError, invalid

MAX_ITEMS = 10_000
"""Items one call may change (the body is at most ``MAX_CONTENT_LENGTH`` too)."""
SHOWN = ("version", "changed", "added", "hidden", "shown", "unknown", "back_in_stock", "price_drops", "notified")
"""What an answer reports of the update, beside its bad rows."""

bp = Blueprint("catalog", __name__, url_prefix="/v1")


@bp.put("/catalog/items")
@require_api_key
def update_catalog_items() -> ResponseReturnValue:
    """Change the served catalog's items, or add new ones.
    ---
    put:
      summary: Change items of the served catalog, or add items it does not know
      description: >-
        Each item is an object with item_id and any of available, price, title, url, image_url, category_id and
        other attributes, as a line of `recsvc catalog update`'s JSON lines. An item the model does not know is
        added when it gives a category_id of the model, answered from its content at the next request. A call that
        adds items is applied whole or not at all (400 naming the bad items); otherwise bad items are skipped and
        reported. Up to 10,000 items a call. Needs the X-API-Key header.
      tags: [catalog]
      security: [{apiKey: []}]
      requestBody: {required: true, content: {application/json: {schema: CatalogItemsRequest}}}
      responses:
        200: {description: What changed, content: {application/json: {schema: CatalogUpdate}}}
        400: BadRequest
        401: Unauthenticated
        409: UpdateUnderWay
        413: TooLarge
        503: Unavailable
    """
    items = json_object('{"items": [{"item_id": "sku-1", "price": 9.5, "available": true}]}').get("items")
    if not isinstance(items, list) or not items:
        raise invalid("items must be a non-empty list of item objects")
    if len(items) > MAX_ITEMS:
        raise ApiError(413, f"at most {MAX_ITEMS:,} items a call, not {len(items):,}")
    rows = [item if isinstance(item, dict) else {"item_id": None} for item in items]
    try:
        update = update_items(answers().store.catalog_records, rows)
    except NoVersion as e:
        raise ApiError(503, str(e)) from None
    except UpdateUnderWay as e:
        raise ApiError(409, str(e)) from None
    except CatalogError as e:
        raise invalid(str(e)) from None
    found = asdict(update)
    report = {name: found[name] for name in SHOWN}
    return jsonify({**report, "bad_items": update.bad_rows, "examples": update.examples})

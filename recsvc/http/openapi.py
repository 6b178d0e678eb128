"""The OpenAPI 3 document, generated from the views' docstrings by apispec."""

from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from recsvc.contract.ids import ID_RULE, MAX_ID_LENGTH
from recsvc.http.api import MAX_BATCH, MAX_LIMIT
from recsvc.http.events import MAX_EVENTS
from recsvc.http.sessions import MAX_SESSION_ITEMS

bp = Blueprint("openapi", __name__)

_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_LENGTH,
    "description": f"an id: {ID_RULE} (any script; / allowed, sent as %2F in a path)",
}
_ITEM = {
    "type": "object",
    "required": ["item_id", "score", "category_id", "reason"],
    "properties": {
        "item_id": {"type": "string"},
        "score": {"type": "number"},
        "category_id": {"type": "string", "nullable": True},
        "reason": {"$ref": "#/components/schemas/Reason"},
        "title": {"type": "string"},
        "price": {"type": "number"},
        "url": {"type": "string"},
        "image_url": {"type": "string"},
    },
}
_ITEMS = {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Reason": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {
                "type": "string",
                "description": "because_you_bought, because_you_viewed, recently_viewed, similar_shoppers, trending, "
                "popular, personalized, bought_together, viewed_together, similar, viewed_not_bought, affinity, "
                "due_again, in_cart, back_in_stock, price_drop, ...",
                "example": "because_you_bought",
            },
            "item_id": {"type": "string"},
        },
    },
    "Item": _ITEM,
    "UserItems": {
        "type": "object",
        "required": ["user_id", "model_version", "source", "items"],
        "properties": {
            "user_id": {"type": "string"},
            "model_version": {"type": "string"},
            "source": {"type": "string", "enum": ["personalized", "popular"]},
            "items": _ITEMS,
        },
    },
    "ItemItems": {
        "type": "object",
        "required": ["item_id", "model_version", "source", "items"],
        "properties": {
            "item_id": {"type": "string"},
            "model_version": {"type": "string"},
            "source": {"type": "string", "enum": ["also_bought", "similar", "popular"]},
            "items": _ITEMS,
        },
    },
    "PopularItems": {
        "type": "object",
        "required": ["model_version", "source", "items"],
        "properties": {
            "model_version": {"type": "string"},
            "category": {"type": "string", "nullable": True},
            "source": {"type": "string"},
            "items": _ITEMS,
        },
    },
    "CategoryOffers": {
        "type": "object",
        "required": ["user_id", "model_version", "source", "offers"],
        "properties": {
            "user_id": {"type": "string"},
            "model_version": {"type": "string"},
            "source": {"type": "string"},
            "offers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "category_id": {"type": "string"},
                        "score": {"type": "number"},
                        "reason": {"$ref": "#/components/schemas/Reason"},
                        "items": _ITEMS,
                    },
                },
            },
        },
    },
    "BatchRequest": {
        "type": "object",
        "required": ["user_ids"],
        "properties": {
            "user_ids": {"type": "array", "items": _ID, "minItems": 1, "maxItems": MAX_BATCH},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
            "category": _ID,
            "exclude": {"type": "array", "items": _ID},
        },
    },
    "BatchResults": {
        "type": "object",
        "required": ["model_version", "results"],
        "properties": {
            "model_version": {"type": "string"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"user_id": {"type": "string"}, "source": {"type": "string"}, "items": _ITEMS},
                },
            },
        },
    },
    "SessionRequest": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "maxItems": MAX_SESSION_ITEMS,
                "items": {
                    "oneOf": [
                        _ID,
                        {
                            "type": "object",
                            "required": ["item_id"],
                            "properties": {"item_id": _ID, "event": {"type": "string", "default": "view"}},
                        },
                    ]
                },
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
            "user_id": _ID,
            "category": _ID,
            "exclude": {"type": "array", "items": _ID},
        },
    },
    "SessionItems": {
        "type": "object",
        "required": ["model_version", "source", "items"],
        "properties": {
            "model_version": {"type": "string"},
            "source": {"type": "string", "enum": ["session", "popular"]},
            "items": _ITEMS,
            "rec_id": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["user_id", "item_id", "event"],
        "properties": {
            "user_id": _ID,
            "item_id": _ID,
            "event": {
                "type": "string",
                "description": "view, addtocart, purchase, wishlist (or pv, cart, buy, transaction, fav)",
                "example": "purchase",
            },
            "timestamp": {
                "description": "unix seconds or milliseconds, or ISO-8601; default now",
                "oneOf": [{"type": "number"}, {"type": "string"}],
            },
            "quantity": {"type": "integer", "minimum": 1, "default": 1},
            "rec_id": {"type": "string", "description": "the rec_id of the answer that led to this event"},
        },
    },
    "EventsRequest": {
        "oneOf": [
            {"$ref": "#/components/schemas/Event"},
            {"type": "array", "maxItems": MAX_EVENTS, "items": {"$ref": "#/components/schemas/Event"}},
            {
                "type": "object",
                "properties": {
                    "events": {"type": "array", "maxItems": MAX_EVENTS, "items": {"$ref": "#/components/schemas/Event"}}
                },
            },
        ]
    },
    "EventsAnswer": {
        "type": "object",
        "required": ["accepted", "rejected", "errors"],
        "properties": {
            "accepted": {"type": "integer"},
            "rejected": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"index": {"type": "integer"}, "message": {"type": "string"}},
                },
            },
        },
    },
    "Profile": {
        "type": "object",
        "required": [
            "user_id",
            "model_version",
            "known",
            "segment",
            "at_risk",
            "orders",
            "spend",
            "days_since_last_order",
            "usual_interval_days",
            "top_categories",
        ],
        "properties": {
            "user_id": {"type": "string"},
            "model_version": {"type": "string"},
            "known": {"type": "boolean"},
            "segment": {"type": "string", "enum": ["new", "repeat", "vip", "at_risk", "lost"]},
            "at_risk": {"type": "boolean"},
            "orders": {"type": "integer"},
            "spend": {"type": "number"},
            "spend_unit": {"type": "string"},
            "days_since_last_order": {"type": "integer", "nullable": True},
            "usual_interval_days": {"type": "number", "nullable": True},
            "top_categories": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TriggerPage": {
        "type": "object",
        "required": ["kind", "model_version", "entries", "next_cursor"],
        "properties": {
            "kind": {"type": "string"},
            "model_version": {"type": "string"},
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "segment", "items"],
                    "properties": {"user_id": {"type": "string"}, "segment": {"type": "string"}, "items": _ITEMS},
                },
            },
            "next_cursor": {"type": "string", "nullable": True},
        },
    },
    "Model": {
        "type": "object",
        "required": ["model_version", "trained_at"],
        "properties": {
            "model_version": {"type": "string"},
            "trained_at": {"type": "string"},
            "counts": {"type": "object"},
            "parameters": {"type": "object"},
            "metrics": {"type": "object"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
}
_REC_ID = {"type": "string", "description": "this answer's id: send it back with the events that follow from it"}
for _name in ("UserItems", "ItemItems", "PopularItems", "CategoryOffers"):
    SCHEMAS[_name]["properties"]["rec_id"] = _REC_ID
SCHEMAS["BatchResults"]["properties"]["results"]["items"]["properties"]["rec_id"] = _REC_ID

# retention: best time to contact, reports of sent messages, the retention figures
_BEST_TIME = {
    "type": "object",
    "nullable": True,
    "description": "when the user usually shops, in the shop's time zone (the shop's peak with too few events)",
    "properties": {
        "hour": {"type": "integer", "minimum": 0, "maximum": 23},
        "weekday": {"type": "string"},
        "source": {"type": "string", "enum": ["own_events", "shop_peak"]},
        "timezone": {"type": "string"},
    },
}
SCHEMAS["Profile"]["properties"]["best_time"] = _BEST_TIME
SCHEMAS["TriggerPage"]["properties"]["entries"]["items"]["properties"]["best_time"] = _BEST_TIME
SCHEMAS["SentReport"] = {
    "type": "object",
    "required": ["user_ids"],
    "properties": {
        "user_ids": {"type": "array", "minItems": 1, "maxItems": 1000, "items": _ID},
        "sent_at": {"type": "number", "description": "unix seconds; default now"},
    },
}
SCHEMAS["SentRecorded"] = {
    "type": "object",
    "required": ["kind", "recorded"],
    "properties": {"kind": {"type": "string"}, "recorded": {"type": "integer"}},
}
_RATE = {
    "type": "object",
    "properties": {
        "rate": {"type": "number", "nullable": True},
        "ci95": {"type": "array", "nullable": True, "items": {"type": "number"}, "description": "95% Wilson interval"},
        "eligible": {"type": "integer", "description": "buyers whose first order is old enough"},
    },
}
_FIGURES = {
    "type": "object",
    "properties": {
        "buyers": {"type": "integer"},
        "orders": {"type": "integer"},
        "revenue": {"type": "number"},
        "repeat_rate": {"type": "object", "additionalProperties": _RATE, "description": "by window: 30, 60, 90 days"},
        "orders_per_buyer": {"type": "number", "nullable": True},
        "average_order_value": {"type": "number", "nullable": True},
        "revenue_per_buyer": {"type": "number", "nullable": True},
        "at_risk_share": {"type": "number", "nullable": True},
        "lost_share": {"type": "number", "nullable": True},
    },
}
SCHEMAS["RetentionFigures"] = {
    "type": "object",
    "required": ["model_version", "overall", "by_segment", "by_cohort", "cohorts", "segments_over_time"],
    "properties": {
        "model_version": {"type": "string"},
        "timezone": {"type": "string"},
        "spend_unit": {"type": "string", "enum": ["price", "items"]},
        "overall": _FIGURES,
        "by_segment": {"type": "object", "additionalProperties": _FIGURES},
        "by_cohort": {"type": "object", "additionalProperties": _FIGURES, "description": "by acquisition month"},
        "cohorts": {"type": "array", "items": {"type": "object"}},
        "ltv_projection": {"type": "object"},
        "segments_over_time": {"type": "array", "items": {"type": "object"}},
    },
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "user_id": {"name": "user_id", "in": "path", "required": True, "schema": _ID},
    "item_id": {"name": "item_id", "in": "path", "required": True, "schema": _ID},
    "limit": {
        "name": "limit",
        "in": "query",
        "description": "how many items (1-100)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
    },
    "category": {
        "name": "category",
        "in": "query",
        "description": "only items in this category or its children",
        "schema": _ID,
    },
    "token": {
        "name": "token",
        "in": "query",
        "description": "a signed user token, when it cannot be sent as Authorization: Bearer (see docs/operations.md)",
        "schema": {"type": "string"},
    },
    "exclude": {
        "name": "exclude",
        "in": "query",
        "description": "comma-separated item ids to leave out",
        "schema": {"type": "string"},
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


RESPONSES = {
    "BadRequest": _error("Invalid argument"),
    "NotFound": _error("Unknown category or path"),
    "TooLarge": _error("Too many ids in one call"),
    "Unavailable": _error("Redis down or no model"),
    "Unauthenticated": _error("Missing or wrong X-API-Key"),
}


def build_spec(app: Flask) -> dict:
    """The OpenAPI document of every documented view of the app."""
    spec = APISpec(
        title="recsvc",
        version="1",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin()],
        info={"description": "Recommendations for online shops (contract v1)."},
    )
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    spec.components.security_scheme(
        "userToken",
        {"type": "http", "scheme": "bearer", "description": "<expiry>.<signature>: see docs/operations.md"},
    )
    with app.test_request_context():
        for view in app.view_functions.values():
            if load_operations_from_docstring(view.__doc__ or ""):
                spec.path(view=view, app=app)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 document of this service."""
    if "recsvc.http.openapi" not in current_app.extensions:
        current_app.extensions["recsvc.http.openapi"] = build_spec(current_app)
    return jsonify(current_app.extensions["recsvc.http.openapi"])

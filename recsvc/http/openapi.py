"""The OpenAPI 3 document, generated from the views' docstrings by apispec."""

from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from recsvc.contract import reasons
from recsvc.contract.ids import ID_RULE, MAX_ID_LENGTH
from recsvc.contract.keys import TRIGGER_KINDS
from recsvc.contract.records import WATCH_REASONS
from recsvc.contract.units import ALSO_BOUGHT_FILLS, OFFERS_ORDERS
from recsvc.http.api import MAX_BATCH, MAX_LIMIT
from recsvc.http.events import MAX_EVENTS
from recsvc.http.openapi_examples import EXAMPLES
from recsvc.http.sessions import MAX_SESSION_ITEMS
from recsvc.read.rule_format import KINDS

bp = Blueprint("openapi", __name__)

_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_LENGTH,
    "description": f"an id: {ID_RULE} (any script; / allowed, sent as %2F in a path)",
}
SOURCES = {
    "UserItems": ["personalized", "popular", "buy_again"],
    "ItemItems": ["also_bought", "similar", "popular"],
    "PopularItems": ["popular"],
    "CategoryOffers": ["personalized", "popular"],
    "SessionItems": ["session", "popular"],
    "BatchResult": ["personalized", "popular"],
}
"""The ``source`` each answer may name: ``popular`` is the fallback for an unknown user or item."""

_ITEM = {
    "type": "object",
    "required": ["item_id", "score", "category_id", "reason"],
    "properties": {
        "item_id": {"type": "string"},
        "score": {"type": "number"},
        "category_id": {"type": "string", "nullable": True},
        "reason": {"$ref": "#/components/schemas/Reason"},
        "title": {"type": "string", "description": "from the catalog, where known"},
        "price": {"type": "number", "description": "from the catalog, where known"},
        "url": {"type": "string", "description": "from the catalog, where known"},
        "image_url": {"type": "string", "description": "from the catalog, where known"},
    },
}
_ITEMS = {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
_REC_ID = {
    "type": "string",
    "description": "this answer's id, signed: send it back with the events that follow from it (the widget "
    "reports impressions and clicks on it to /v1/track)",
}
_VERSION = {"type": "string", "description": "the model version the answer came from"}
_OBJECT = {"type": "object", "additionalProperties": True}
_RULES = {
    "type": "array",
    "items": {"type": "string"},
    "description": "the merchandising rules that changed this answer (absent when none did)",
}
_EXPERIMENT = {
    "type": "object",
    "required": ["name", "arm"],
    "properties": {"name": {"type": "string"}, "arm": {"type": "string"}},
    "description": "the A/B test and arm of this user or visitor (absent outside a running experiment)",
}


def _answer(subject: dict[str, Any], source: str, versioned: bool = True) -> dict[str, Any]:
    """The schema of a list answer: its subject fields, ``model_version`` (not in a batch's results, which
    share their call's), ``source``, the items and ``rec_id``."""
    version = {"model_version": _VERSION} if versioned else {}
    return {
        "type": "object",
        "required": [*subject, *version, "source", "items", "rec_id"],
        "properties": {
            **subject,
            **version,
            "source": {"type": "string", "enum": SOURCES[source]},
            "items": _ITEMS,
            "rec_id": _REC_ID,
            "rules": _RULES,
            "experiment": _EXPERIMENT,
            **({} if versioned else {"model_version": {**_VERSION, "description": "in an experiment: the arm's"}}),
        },
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "Reason": {
        "type": "object",
        "required": ["type"],
        "description": "Why the item is in the list. item_id names the item of the user's history (because_you_*) "
        "or the subject item (bought_together, viewed_together, similar); due_again carries the rhythm.",
        "properties": {
            "type": {"type": "string", "enum": list(reasons.ITEMS)},
            "item_id": {"type": "string"},
            "category_id": {"type": "string", "description": "viewed_not_bought in a trigger list: the category"},
            "days_since_last_purchase": {"type": "integer", "description": "due_again"},
            "interval_days": {"type": "number", "description": "due_again: the item's repurchase interval"},
            "times_bought": {"type": "integer", "description": "due_again"},
            "watched": {
                "type": "string",
                "enum": list(WATCH_REASONS),
                "description": "back_in_stock, price_drop: why the user watches the item",
            },
            "old_price": {"type": "number", "description": "price_drop"},
            "new_price": {"type": "number", "description": "price_drop"},
            "since": {"type": "string", "description": "back_in_stock, price_drop: the date of the change"},
        },
    },
    "Item": _ITEM,
    "UserItems": _answer({"user_id": {"type": "string"}}, "UserItems"),
    "ItemItems": _answer({"item_id": {"type": "string"}}, "ItemItems"),
    "PopularItems": _answer({"category": {"type": "string", "nullable": True}}, "PopularItems"),
    "SessionItems": _answer({}, "SessionItems"),
    "CategoryOffers": {
        "type": "object",
        "required": ["user_id", "model_version", "source", "offers", "rec_id"],
        "properties": {
            "user_id": {"type": "string"},
            "model_version": _VERSION,
            "source": {"type": "string", "enum": SOURCES["CategoryOffers"]},
            "offers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["category_id", "score", "reason", "items"],
                    "properties": {
                        "category_id": {"type": "string"},
                        "score": {"type": "number"},
                        "reason": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {"type": {"type": "string", "enum": list(reasons.OFFERS)}},
                        },
                        "items": _ITEMS,
                    },
                },
            },
            "rec_id": _REC_ID,
            "rules": _RULES,
            "experiment": _EXPERIMENT,
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
            "model_version": _VERSION,
            "results": {
                "type": "array",
                "description": "one result per user, in the order of user_ids",
                "items": _answer({"user_id": {"type": "string"}}, "BatchResult", versioned=False),
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
            "visitor_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{8,64}$",
                "description": "the page's visitor id (the widget's): places an anonymous session in an A/B test",
            },
            "category": _ID,
            "exclude": {"type": "array", "items": _ID},
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
                "description": "unix seconds or milliseconds, or ISO-8601, from 1990-01-01 to a day after now (the "
                "trainer's rule); default now",
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
                    "required": ["index", "message"],
                    "properties": {"index": {"type": "integer"}, "message": {"type": "string"}},
                },
            },
        },
    },
    "TrackRequest": {
        "type": "object",
        "required": ["rec_id", "type"],
        "properties": {
            "rec_id": {"type": "string", "description": "the rec_id of the answer the list showed"},
            "type": {"type": "string", "enum": ["impression", "click"]},
            "item_id": {"type": "string", "description": "click: the item clicked, one of shown"},
            "shown": {
                "type": "array",
                "items": {"type": "string"},
                "description": "click: the item ids of the answer, in its order (its rec_id signs their digest)",
            },
            "user_id": {
                "type": "string",
                "description": "the answer's user_id, when it was asked for with the API key or that user's token",
            },
            "visitor_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{8,64}$",
                "description": "click on an answer not given to a user (keyed by none, or asked for without the key"
                " or the user's token): the visitor id the page keeps, whose view the click is",
            },
        },
    },
    "TrackAnswer": {
        "type": "object",
        "required": ["counted"],
        "properties": {
            "counted": {"type": "boolean", "description": "false when this list's impression or clicks were counted"},
            "reason": {"type": "string"},
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
            "model_version": _VERSION,
            "known": {"type": "boolean"},
            "segment": {"type": "string", "enum": ["new", "repeat", "vip", "at_risk", "lost"]},
            "at_risk": {"type": "boolean"},
            "orders": {"type": "integer"},
            "spend": {"type": "number"},
            "spend_unit": {"type": "string", "enum": ["price", "items"]},
            "days_since_last_order": {"type": "integer", "nullable": True},
            "usual_interval_days": {"type": "number", "nullable": True},
            "top_categories": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TriggerPage": {
        "type": "object",
        "required": ["kind", "model_version", "entries", "next_cursor"],
        "properties": {
            "kind": {"type": "string", "enum": list(TRIGGER_KINDS)},
            "model_version": _VERSION,
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "segment", "items"],
                    "properties": {
                        "user_id": {"type": "string"},
                        "segment": {"type": "string", "enum": ["new", "repeat", "vip", "at_risk", "lost"]},
                        "cart_at": {"type": "integer", "nullable": True, "description": "abandoned-cart: unix seconds"},
                        "category_id": {"type": "string", "description": "category-interest: the category"},
                        "items": _ITEMS,
                    },
                },
            },
            "next_cursor": {
                "type": "string",
                "nullable": True,
                "description": "pass it back as cursor; null at the end",
            },
        },
    },
    "Model": {
        "type": "object",
        "required": ["model_version", "version", "trained_at", "counts", "parameters", "redis_memory"],
        "properties": {
            "model_version": _VERSION,
            "version": {"type": "string"},
            "trained_at": {"type": "string", "format": "date-time"},
            "data": {
                "type": "object",
                "properties": {
                    "first_event": {"type": "string", "format": "date-time"},
                    "last_event": {"type": "string", "format": "date-time"},
                },
            },
            "counts": {
                "type": "object",
                "required": ["events", "users", "items"],
                "properties": {name: {"type": "integer"} for name in ("events", "users", "items", "categories")},
                "additionalProperties": {"type": "integer"},
            },
            "parameters": _OBJECT,
            "picks_order": {
                **_OBJECT,
                "description": "the order the picks were ranked by, chosen on the shop's newest window: its kind, "
                "why, and the held-out NDCG@10 of every order tried",
            },
            "also_bought_order": {
                **_OBJECT,
                "description": "the also-bought order chosen on the shop's newest window: learned, validated "
                "among fixed orders, or the fixed one; and why. Chosen on the also-bought use task (what each "
                "item's buyers bought new within the horizon, scored by lift over popularity, per subject item): "
                "use_task_ndcg@10 (the served order beside the fixed one, their difference and its 95% interval) "
                "and strong_pairs_kept@10 (the share of the strongest associations each keeps in its top 10)",
            },
            "also_bought_fill": {
                "type": "string",
                "enum": list(ALSO_BOUGHT_FILLS),
                "description": "what fills an also-bought list after its entries, chosen on the newest window",
            },
            "category_offers_order": {
                "type": "string",
                "enum": list(OFFERS_ORDERS),
                "description": "what opens a user's category offers, chosen on the newest window: their own "
                "categories, or the best-sellers' categories they never bought from",
            },
            "live_share": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "the share of places a known user's views, carts and wishes since training take "
                "in their picks and category offers (0: the stored lists alone)",
            },
            "learned_until": {
                "type": "string",
                "format": "date-time",
                "description": "when the training began to read its events: views, carts and wishes that arrived "
                "since count as live (absent: trained_at)",
            },
            "category_offers_choice": {
                **_OBJECT,
                "description": "how category_offers_order was chosen on the newest window: why, and the held-out "
                "NDCG@10 of each order",
            },
            "new_items_order": {
                "type": "object",
                "properties": {
                    "order": {"type": "string", "enum": ["content", "category_best_sellers", "best_sellers"]},
                    "popularity_weight": {"type": "number"},
                    "why": {"type": "string"},
                    "subjects": {"type": "integer"},
                    "holdout_ndcg10": {"type": "object", "additionalProperties": {"type": "number"}},
                },
                "description": "how an item added by a catalog update is placed, chosen on the newest window on "
                "items hidden from it: its content neighbours (lifted by their events at popularity_weight), its "
                "category's best-sellers or the shop's; why, and the held-out NDCG@10 of each order tried",
            },
            "exploration": {
                "type": "object",
                "properties": {"share": {"type": "number"}, "new_items": {"type": "integer"}},
                "description": "the default share of picks and popular lists given to items added since training "
                "(reason new_arrival; an exploration rule may set another per list or A/B arm), and how many there are",
            },
            "retention": _OBJECT,
            "timings_s": {"type": "object", "additionalProperties": {"type": "number"}},
            "redis_memory": _OBJECT,
            "offline_metrics": {**_OBJECT, "description": "kept by recsvc train --evaluate"},
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
for _name, _example in EXAMPLES.items():
    SCHEMAS[_name]["example"] = _example

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

_RULE = {
    "type": "object",
    "required": ["name", "type"],
    "additionalProperties": True,
    "description": "a merchandising rule as it was given: name, type (filter, boost, bury, pin, diversity, "
    "exploration), lists, categories, variant, start, end, and its type's fields (docs/merchandising.md)",
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "enum": list(KINDS)},
    },
}
SCHEMAS["Rules"] = {
    "type": "object",
    "required": ["rules", "variants"],
    "properties": {
        "rules": {"type": "array", "items": _RULE},
        "variants": {"type": "array", "items": {"type": "string"}},
    },
}
SCHEMAS["RulesRequest"] = {
    "oneOf": [
        {"type": "array", "items": _RULE},
        {"type": "object", "required": ["rules"], "properties": {"rules": {"type": "array", "items": _RULE}}},
    ]
}
SCHEMAS["CatalogItemsRequest"] = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10_000,
            "items": {
                "type": "object",
                "required": ["item_id"],
                "description": "item_id and any of available, price, title, url, image_url, category_id (a new item"
                " needs it) and other attributes",
                "properties": {"item_id": {"type": "string"}, "category_id": {"type": "string"}},
            },
        }
    },
}
SCHEMAS["CatalogUpdate"] = {
    "type": "object",
    "required": ["version", "changed", "added", "hidden", "shown", "unknown", "bad_items", "examples"],
    "properties": {
        "version": {"type": "string", "description": "the version changed: the served one"},
        "changed": {"type": "integer", "description": "known items changed"},
        "added": {"type": "integer", "description": "new items added, answered from their content"},
        "hidden": {"type": "integer"},
        "shown": {"type": "integer", "description": "hidden items shown again"},
        "unknown": {"type": "integer", "description": "items the model does not know, given no category_id"},
        "back_in_stock": {"type": "integer"},
        "price_drops": {"type": "integer"},
        "notified": {"type": "object", "additionalProperties": {"type": "integer"}},
        "bad_items": {"type": "integer", "description": "items (and attributes) skipped"},
        "examples": {"type": "array", "items": {"type": "string"}, "description": "the first bad ones, by number"},
    },
}
_ARM: dict[str, Any] = {
    "type": "object",
    "required": ["name", "version", "rules", "share"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string", "description": 'a published version, or "current": the served one'},
        "rules": {"type": "string", "description": "the rule set (variant) its lists follow"},
        "share": {"type": "number"},
    },
}
SCHEMAS["Experiment"] = {
    "type": "object",
    "required": ["name", "running", "started_at", "arms"],
    "properties": {
        "name": {"type": "string"},
        "running": {"type": "boolean"},
        "started_at": {"type": "number"},
        "stopped_at": {"type": "number", "nullable": True},
        "promoted": {"type": "string", "nullable": True},
        "arms": {"type": "array", "items": _ARM},
    },
}
SCHEMAS["Experiments"] = {
    "type": "object",
    "required": ["experiments"],
    "properties": {"experiments": {"type": "array", "items": {"$ref": "#/components/schemas/Experiment"}}},
}
SCHEMAS["ExperimentRequest"] = {
    "type": "object",
    "required": ["name", "arms"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"},
        "arms": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'arm name -> "VERSION" (or "current"), "rules:VARIANT" or "VERSION,rules:VARIANT"',
        },
        "split": {"type": "array", "items": {"type": "number"}, "description": "the arms' shares (default equal)"},
    },
}
SCHEMAS["StopRequest"] = {
    "type": "object",
    "properties": {"promote": {"type": "string", "description": "serve this arm's version and rule set"}},
}
_ESTIMATE = {
    "type": "object",
    "properties": {
        "value": {"type": "number", "nullable": True},
        "low": {"type": "number", "nullable": True},
        "high": {"type": "number", "nullable": True},
    },
    "description": "a figure and its 95% interval (Wilson for rates, Student's t for means)",
}
_DIFFERENCE = {
    "type": "object",
    "properties": {
        "difference": {"type": "number", "nullable": True},
        "low": {"type": "number", "nullable": True},
        "high": {"type": "number", "nullable": True},
        "p_value": {"type": "number", "nullable": True},
        "significant": {"type": "boolean", "nullable": True, "description": "p below 0.05"},
        "test": {"type": "string"},
    },
}
_ARM_FIGURES: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_ARM["properties"],
        "users": {"type": "integer", "description": "users and visitors the arm answered"},
        "answers": {"type": "integer"},
        "impressions": {"type": "integer", "description": "reported by the browser"},
        "clicks": {"type": "integer"},
        "ctr": _ESTIMATE,
        "ctr_basis": {"type": "string", "enum": ["impressions", "answers"]},
        "purchases": {"type": "integer", "description": "attributed to the arm's answers by rec_id"},
        "revenue": {"type": "number"},
        "conversion": _ESTIMATE,
        "revenue_per_user": _ESTIMATE,
        "all_purchases": {"type": "integer", "description": "every purchase of its users after it answered them"},
        "all_revenue": {"type": "number"},
        "all_conversion": _ESTIMATE,
        "all_revenue_per_user": _ESTIMATE,
    },
}
SCHEMAS["ExperimentReport"] = {
    "type": "object",
    "required": ["name", "running", "arms", "comparisons"],
    "properties": {
        **SCHEMAS["Experiment"]["properties"],
        "arms": {"type": "array", "items": _ARM_FIGURES},
        "comparisons": {
            "type": "array",
            "description": "each arm against the first",
            "items": {
                "type": "object",
                "properties": {
                    "arm": {"type": "string"},
                    "against": {"type": "string"},
                    **{
                        m: _DIFFERENCE
                        for m in ("ctr", "conversion", "revenue_per_user", "all_conversion", "all_revenue_per_user")
                    },
                },
            },
        },
        "changes": {"type": "array", "items": {"type": "string"}, "description": "after a stop: what it promoted"},
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
    "Unavailable": _error(
        "Redis down or stalled, no model, the service busy, or the request past its time budget"
        " (Retry-After gives the seconds to wait where a retry helps)"
    ),
    "Conflict": _error("A publish under way holds the served pointer; retry once it is done"),
    "UpdateUnderWay": _error("Another catalog update adding items to the version is under way; retry once it is done"),
    "Unauthenticated": _error("Missing or wrong X-API-Key"),
    "TooManyRequests": _error("Too many reports from one address"),
}


def build_spec(app: Flask) -> dict:
    """The OpenAPI document of every documented view of the app."""
    spec = APISpec(
        title="recsvc",
        version="1",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin()],
        info={
            "description": "Recommendations for online shops (contract v1). The server itself refuses a URL or"
            " headers too large with 431 and an empty body, before any operation (docs/operations.md)."
        },
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

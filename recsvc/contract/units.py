"""Units, and the rules of catalog attributes, shared by the trainer and the service."""

import math
import re
from collections.abc import Collection

HOUR = 3_600
"""Seconds in an hour."""
DAY = 86_400
"""Seconds in a day."""

ITEM_ATTRIBUTES = ("title", "price", "url", "image_url")
"""The catalog attributes an item in an answer carries, where known."""

ALSO_BOUGHT_FILLS = ("similar", "popular")
"""What fills an also-bought list after its entries: similar items (the default), or the shop's best-sellers.

The trainer chooses it on the shop's newest window and stores it in the version's summary
(``VersionSummary.also_bought_fill``); the service reads it there."""

OFFERS_ORDERS = ("own_first", "best_sellers_first")
"""What opens a user's category offers: their own categories (viewed and never bought from, then affinity; the
default), or the categories of the shop's best-sellers they never bought from. The trainer chooses it on the
shop's newest window (``training/lists/offers_order.py``) and stores it in the version's summary
(``VersionSummary.category_offers_order``)."""

LIVE_SHARE_DEFAULT = 0.33
"""How much of a known user's lists their events since training take, when a version's summary does not say
(``VersionSummary.live_share``): the share of the places, from 0 (the stored lists alone) to 1 (today's
candidates first). The trainer publishes its ``live_share`` parameter, by default this one, fixed from a sweep on
the next-day task (``benchmarks/live_eval.py``, docs/realtime.md)."""

OVERDUE_FADE = 0.5
"""How fast an overdue item loses its place in buy-again: at 3 intervals it scores 1/2 of a due one (the service's
``due_score`` and the trainer's window choice alike)."""

PRICE_DROP_SHARE = 0.1
"""A price drop is a trigger when the price falls by at least this share (the trainer's ``price_drop_share``)."""


def price_dropped(old: float, new: float, share: float = PRICE_DROP_SHARE) -> bool:
    """Whether a price change from ``old`` to ``new`` is a drop of at least ``share`` (0.1: 10%)."""
    return old > 0 and new >= 0 and new <= old * (1 - share)


# -- typed attributes: the catalog's other columns, kept for merchandising rules, never shown in answers --

ATTRIBUTE_TYPES = ("boolean", "number", "string")
"""The types of an extra attribute."""
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESERVED_NAMES = ("item_id", "category_id", "score", "reason", "available", "category")
"""Names a list item already uses in answers, or that rules use specially (``category``): never an extra attribute."""
MAX_ATTRIBUTES = 50
"""Extra attributes a version may have."""
MAX_ATTRIBUTE_CHARS = 1_000
"""Characters in a string attribute's value."""
BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
"""The words of a boolean attribute (any case). ``1`` and ``0`` are numbers."""


def attribute_name_problem(name: str) -> str | None:
    """Why the column ``name`` cannot be an extra attribute, or None when it can."""
    if name in RESERVED_NAMES:
        return f"the name is reserved for answers and rules ({', '.join(RESERVED_NAMES)})"
    if not ATTRIBUTE_NAME.fullmatch(name):
        return "not a name: a letter or _, then up to 63 letters, digits or _"
    return None


def attribute_value(text: str, kind: str) -> bool | float | str:
    """A non-empty value (stripped) as an attribute of type ``kind``; ValueError when it does not fit."""
    if kind == "boolean":
        if text.lower() in BOOLEANS:
            return BOOLEANS[text.lower()]
    elif kind == "number":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    elif len(text) <= MAX_ATTRIBUTE_CHARS:
        return text
    else:
        raise ValueError(f"has {len(text):,} characters, more than {MAX_ATTRIBUTE_CHARS:,}")
    raise ValueError(f"{text[:80]!r} is not a {kind}")


CODE = re.compile(r"\s*[+-]?0[0-9]")
"""A value with a leading zero, like ``007`` or a barcode: a code, kept as text."""


def attribute_type(texts: Collection[str], allowed: Collection[str] = ATTRIBUTE_TYPES) -> str:
    """The type of a column from its non-empty values (at least one): boolean or number (within ``allowed``,
    the type a Parquet column declares) when every value fits, else string. A column with a value that has a
    leading zero (``007``) holds codes: string."""
    for kind in ("boolean", "number"):
        if kind in allowed and all(_fits(t, kind) for t in texts):
            if kind == "number" and any(CODE.match(t) for t in texts):
                break
            return kind
    return "string"


def _fits(text: str, kind: str) -> bool:
    try:
        attribute_value(text, kind)
    except ValueError:
        return False
    return True

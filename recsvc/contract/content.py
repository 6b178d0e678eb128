"""What an item's content is: the features its content neighbours are found by, for the trainer and the service.

The trainer places items with few events by their content (``training/lists/content.py``); ``recsvc catalog
update`` places items added without retraining the same way (``recsvc/admin/arrivals.py``). Both turn each
item's catalog attributes into the features below and weigh them with scikit-learn's ``TfidfVectorizer``
(``VECTORIZER``), so an item is near those that share its rarer features: its leaf category more than its
root, a brand more than a common word of the titles.

Features of an item: each category of its path (``c:``, counted ``CATEGORY_COUNT`` times), each word of its
title (``w:``, any script: Cyrillic and CJK words are words), each string attribute (``a:name=value``, a brand
among them) and its price band (``p:``, a factor of ``PRICE_BAND_RATIO`` wide). Measured on items whose history
was hidden (docs/quality.md): character n-grams of the titles and a category counted once placed them worse.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WORD = re.compile(r"\w+", re.UNICODE)
CATEGORY_COUNT = 3
"""Times each category of an item's path is counted (the vectorizer's tf is 1 + log of it): the category weighs
about twice a title word."""
PRICE_BAND_RATIO = 1.5
"""The width of a price band: prices within this factor of each other share a band most of the time."""
SKIPPED_ATTRIBUTES = frozenset({"item_id", "category_id", "title", "price", "url", "image_url", "available"})
"""Attributes that are no content feature of their own (the category and the title are read above)."""
MAX_ATTRIBUTE_VALUE = 60
"""Longer string attributes are descriptions, not values shared by items: left out."""

MAX_SHARED = 5_000
"""A feature more items than this share (a root category of a large shop) is a stop word: it names no neighbour,
and the items that share only it are not compared (the cost stays that of the rarer features)."""
NEIGHBOURS = 30
"""Content neighbours kept per item (as many as a collaborative similar list)."""
POPULARITY_WEIGHT = 2.0
"""A neighbour's score is its content cosine times ``(1 + log(1 + events)) ** POPULARITY_WEIGHT``: among items
of equal content the ones customers take first (measured on the hidden items, docs/quality.md)."""
TAIL_SHRINK = 0.0
"""An item with n events takes its similar list from content with weight ``shrink / (shrink + n)`` and from its
collaborative neighbours with the rest (0: never; the trainer's ``content_shrink``). Off by default: on the similar
list's task (docs/quality.md) content helps every band of items on the synthetic shapes, but lowers Instacart's
items with few events at every shrink tried; no one value is at least as good everywhere."""
MIN_CONTENT_WEIGHT = 0.05
"""Below this weight (items with many events) the similar list is the collaborative one alone."""
NEW_ITEM_SLOT = 4
"""The position (from 0) an added item takes in its neighbours' similar lists and in its category's popular
list: seen, without displacing the best few."""
SHOWN_BY_NEIGHBOURS = 10
"""An added item enters the similar lists of this many of its nearest neighbours."""

BY_CONTENT, BY_CATEGORY, BY_SHOP = "content", "category_best_sellers", "best_sellers"
"""The orders of a new item's list: its content neighbours (then its category's best-sellers), its category's
best-sellers alone, or the shop's best-sellers alone."""
BY_POPULARITY = (BY_CATEGORY, BY_SHOP)
"""The orders that show no content neighbour: the item's list is best-sellers (reason ``popular``), and it enters
no neighbour's similar list."""


@dataclass(frozen=True)
class NewItemsOrder:
    """How an item without events is placed, chosen per shop at training on items hidden from its window
    (``training/lists/content_order.py``)."""

    order: str = BY_CONTENT
    popularity_weight: float = POPULARITY_WEIGHT  # of the content neighbours' lift

    @property
    def by_content(self) -> bool:
        return self.order == BY_CONTENT

    @property
    def shop_wide(self) -> bool:
        """Whether the list is the shop's best-sellers, not its category's."""
        return self.order == BY_SHOP

    @classmethod
    def of(cls, found: object) -> "NewItemsOrder":
        """The order a version's summary names in ``new_items_order`` (a version trained before the choice, None:
        content, the fixed weight)."""
        if not isinstance(found, Mapping):
            return cls()
        weight = found.get("popularity_weight", POPULARITY_WEIGHT)
        named = found.get("order")
        order = named if isinstance(named, str) and named in BY_POPULARITY else BY_CONTENT
        return cls(order, float(weight) if isinstance(weight, (int, float)) else POPULARITY_WEIGHT)


def features(attrs: Mapping[str, object], path: Iterable[str]) -> list[str]:
    """The content features of an item: its catalog attributes (``keys.attrs``) and its category path."""
    out = [f"c:{c}" for c in path] * CATEGORY_COUNT
    title = attrs.get("title")
    if isinstance(title, str):
        out += [f"w:{word}" for word in WORD.findall(title.lower())]
    for name, value in attrs.items():
        if name not in SKIPPED_ATTRIBUTES and isinstance(value, str) and 0 < len(value) <= MAX_ATTRIBUTE_VALUE:
            out.append(f"a:{name}={value.strip().lower()}")
    band = price_band(attrs.get("price"))
    if band is not None:
        out.append(f"p:{band}")
    return out


def price_band(price: object) -> int | None:
    """The band of a price on a log scale (None without a positive price)."""
    if isinstance(price, bool) or not isinstance(price, (int, float)) or not price > 0 or math.isinf(price):
        return None
    return math.floor(math.log(price) / math.log(PRICE_BAND_RATIO))


def path_of(category_id: object, parents: Mapping[str, str | None]) -> list[str]:
    """A category and its ancestors, leaf first (empty without a category)."""
    chain: list[str] = []
    current = category_id if isinstance(category_id, str) else None
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def _as_given(features: list[str]) -> list[str]:
    """The vectorizer's analyzer: the features are made above."""
    return features


VECTORIZER = {"analyzer": _as_given, "sublinear_tf": True}
"""The keyword arguments of ``sklearn.feature_extraction.text.TfidfVectorizer`` over ``features`` lists
(idf smoothed, rows of unit length: a dot product is a cosine)."""

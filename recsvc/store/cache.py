"""What a process keeps of the versions it serves: items as answers show them, lists, the category tree.

A version's records never change, so they are kept until the version is dropped; a catalog update bumps the
version's ``catalog_rev``, which drops what depends on the catalog (attributes, hidden items).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from recsvc.contract.records import ItemRecord
from recsvc.contract.summary import VersionSummary
from recsvc.contract.units import ITEM_ATTRIBUTES

ATTRS_CACHE_LIMIT = 200_000
"""Items whose attributes a process keeps per version (the cache starts afresh past it)."""
ITEM_RECORDS_CACHE_LIMIT = 50_000
"""Item records (neighbour lists) a process keeps per version, for users served from their items' lists."""
VERSIONS_CACHED = 4
"""Versions a process keeps caches of: the served one and those an experiment's arms serve."""


@dataclass(frozen=True)
class ShownItem:
    """An item as every answer shows it, built once per version and catalog revision."""

    item_id: str
    category_id: str | None
    # the item as answers show it: id, score and reason to fill, category, then the catalog's ``ITEM_ATTRIBUTES`` it
    # has, in that order (``listing.entry`` copies it); never changed
    entry: dict
    facts: dict = field(compare=False, repr=False)  # every catalog attribute, shown or not: what rules match

    @classmethod
    def of(cls, attrs: dict) -> "ShownItem":
        """The item of its catalog attributes (``keys.attrs``)."""
        item_id, category_id = attrs["item_id"], attrs.get("category_id")
        shown = {k: attrs[k] for k in ITEM_ATTRIBUTES if k in attrs}
        entry = {"item_id": item_id, "score": 0.0, "category_id": category_id, "reason": None, **shown}
        return cls(item_id, category_id, entry, attrs)


@dataclass
class VersionCache:
    """What this process keeps of one served version."""

    version: str
    catalog_rev: bytes | None = None
    attrs: dict[int, dict | None] = field(default_factory=dict)
    shown: dict[int, ShownItem | None] = field(default_factory=dict)
    item_records: dict[int, ItemRecord | None] = field(default_factory=dict)  # by index
    unavailable: frozenset[int] | None = None
    popular: dict[str | None, tuple[Sequence[int], Sequence[float]]] = field(default_factory=dict)
    popular_categories: list[str] | None = None  # categories of the popular items: catalog updates drop it
    category_ids: list[str] | None = None
    category_parents: dict[str, str | None] | None = None
    ancestors: dict[str, frozenset[str]] = field(default_factory=dict)
    foldin: Any = None  # the fold-in tables (``recsvc.read.foldin``), decoded when a request first needs them
    foldin_loaded: bool = False
    indices: dict[str, int | None] = field(default_factory=dict)  # item id -> index, for pinned items
    summary: VersionSummary | None = None  # the version's summary: it never changes
    arrivals: list[tuple[int, ShownItem]] | None = None  # items catalog updates added (index, item), newest first
    learned_until: float | None = None  # unix seconds: events since are not in the version (``learned_until``)


class VersionCaches:
    """The caches of the last ``VERSIONS_CACHED`` versions a process served, the served one always among them."""

    def __init__(self) -> None:
        self._caches: dict[str, VersionCache] = {}

    def get(self, version: str) -> VersionCache | None:
        """The version's cache, None when the process keeps none."""
        return self._caches.get(version)

    def current(self, version: str, catalog_rev: bytes | None, served: str | None) -> VersionCache:
        """The version's cache as of ``catalog_rev``: a catalog update since drops what depends on the catalog."""
        cache = self._caches.get(version)
        if cache is None:
            cache = self.new(version, catalog_rev, served)
        elif cache.catalog_rev != catalog_rev:  # a catalog update: attributes and availability changed
            cache.catalog_rev, cache.attrs, cache.shown, cache.unavailable = catalog_rev, {}, {}, None
            cache.popular_categories, cache.arrivals = None, None
            # items it added changed neighbours' similar lists and their category's popular list
            cache.item_records, cache.popular, cache.indices = {}, {}, {}
        return cache

    def new(self, version: str, catalog_rev: bytes | None, served: str | None) -> VersionCache:
        """A fresh cache for ``version``, dropping the oldest other than ``served`` past ``VERSIONS_CACHED``."""
        caches = self._caches
        while len(caches) >= VERSIONS_CACHED:
            old = next((v for v in list(caches) if v != served), None)
            if old is None:
                break
            caches.pop(old, None)
        cache = caches[version] = VersionCache(version, catalog_rev)
        return cache

"""Catalog changes to a published version as Redis holds them: the items' attributes and availability, the
changes that set off back-in-stock and price-drop triggers, and the users those triggers notify.

What a change file means is the operator's action's (``recsvc.admin.catalog``); this reads what it needs and
writes the whole update in one transaction, with a bump of the version's ``catalog_rev``.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from recsvc.contract import keys, versions
from recsvc.contract.records import ITEM_HEADER, decode_categories
from recsvc.contract.summary import VersionSummary
from recsvc.store.arrivals import ArrivalRecords
from recsvc.store.commands import get_many
from recsvc.store.wire import Wire, guarded

CHUNK = 1_000
"""Items (and their attributes) written per HSET."""


@dataclass(frozen=True)
class StoredItem:
    """An item of the version as a catalog update finds it."""

    item_id: str
    index: int
    attrs: dict | None  # its catalog attributes, None when it has none
    hidden: bool


@dataclass
class CatalogWrite:
    """Everything one update writes."""

    attrs: dict[str, str] = field(default_factory=dict)  # item index -> its attributes (JSON)
    hide: list[int] = field(default_factory=list)
    show: list[int] = field(default_factory=list)
    triggered: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> item index -> the change (JSON)
    notified: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> user -> when
    new_attributes: dict[str, str] = field(default_factory=dict)  # attributes new to the version -> their type


class CatalogRecords:
    """Reads a version's items for a catalog update, and writes the update."""

    def __init__(self, wire: Wire):
        self._wire = wire
        self.arrivals = ArrivalRecords(wire)

    @guarded
    def known(self, version: str, item_ids: Sequence[str]) -> set[str]:
        """The item ids of ``item_ids`` the version has a record of."""
        found: set[str] = set()
        for start in range(0, len(item_ids), CHUNK):
            chunk = item_ids[start : start + CHUNK]
            records = get_many(self._wire.client, [keys.item(version, i) for i in chunk])
            found.update(i for i, record in zip(chunk, records) if record)
        return found

    @guarded
    def category_ids(self, version: str) -> list[str]:
        """The version's categories."""
        return list(decode_categories(self._wire.client.get(keys.categories(version))))

    @guarded
    def served(self) -> str | None:
        """The served version, None before the first publish."""
        return versions.current(self._wire.client)

    @guarded
    def is_published(self, version: str) -> bool:
        """Whether ``version`` has a summary (it is published, or being published)."""
        return bool(self._wire.client.exists(keys.meta(version)))

    @guarded
    def attribute_types(self, version: str) -> dict[str, str]:
        """The version's attribute types (attribute -> type)."""
        return {k.decode(): v.decode() for k, v in self._wire.client.hgetall(keys.attribute_types(version)).items()}

    @guarded
    def price_drop_share(self, version: str) -> float | None:
        """The share a price must fall by to be a price drop, as the version was trained with (None: not kept)."""
        summary = VersionSummary.decode(self._wire.client.get(keys.meta(version)))
        return (summary.parameters or {}).get("price_drop_share")

    @guarded
    def items(self, version: str, item_ids: Sequence[str]) -> list[StoredItem]:
        """The items of ``item_ids`` the version has (the others are left out), with their attributes and
        availability, in three round trips."""
        client = self._wire.client
        found = [
            (item_id, ITEM_HEADER.unpack_from(record)[1])
            for item_id, record in zip(item_ids, get_many(client, [keys.item(version, i) for i in item_ids]))
            if record
        ]
        if not found:
            return []
        attrs = client.hmget(keys.attrs(version), [str(index) for _, index in found])
        hidden = client.smismember(keys.unavailable(version), [index for _, index in found])
        return [
            StoredItem(item_id, index, json.loads(raw) if raw else None, bool(was_hidden))
            for (item_id, index), raw, was_hidden in zip(found, attrs, hidden)
        ]

    @guarded
    def watchers(self, version: str, item_ids: Sequence[str]) -> dict[str, list[str]]:
        """item id -> the users who watch it (``keys.watchers``)."""
        out: dict[str, list[str]] = {}
        for item_id, raw in zip(item_ids, get_many(self._wire.client, [keys.watchers(version, i) for i in item_ids])):
            if raw:
                out[item_id] = raw.decode().split("\n")
        return out

    @guarded
    def write(self, version: str, update: CatalogWrite) -> None:
        """Write the update in one transaction, bumping the version's ``catalog_rev``."""
        pipe = self._wire.pipeline(transaction=True)
        for kind, by_index in update.triggered.items():
            for index, change in by_index.items():
                pipe.hset(keys.catalog_changes(version, kind), index, change)
        for kind, users in update.notified.items():
            if users:
                pipe.zadd(keys.trigger(version, kind), users, gt=True)
        items = list(update.attrs.items())
        for start in range(0, len(items), CHUNK):
            pipe.hset(keys.attrs(version), mapping=dict(items[start : start + CHUNK]))
        if update.hide:
            pipe.sadd(keys.unavailable(version), *update.hide)
        if update.show:
            pipe.srem(keys.unavailable(version), *update.show)
        if update.new_attributes:
            pipe.hset(keys.attribute_types(version), mapping=update.new_attributes)
        pipe.incr(keys.catalog_rev(version))
        pipe.execute()

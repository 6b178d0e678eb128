"""What answers show of a version's items and categories, read within a known version and kept per process
(``recsvc.store.cache``): item records and indices, catalog attributes, hidden items, popular lists, the
category tree."""

import json
from collections.abc import Iterable, Sequence

from recsvc.contract import keys, records
from recsvc.contract.records import ItemRecord
from recsvc.store.cache import ATTRS_CACHE_LIMIT, ITEM_RECORDS_CACHE_LIMIT, ShownItem, VersionCache, VersionCaches
from recsvc.store.commands import get_many
from recsvc.store.wire import Wire, guarded


class CatalogReads:
    """The catalog reads of the service's model store (a part of ``ModelStore``)."""

    _wire: Wire
    _caches: VersionCaches
    _current: str | None  # the served version seen last

    def item_index(self, version: str, item_id: str) -> int | None:
        """An item's index in a version (None: not an item of it), kept in the process."""
        return self.item_indices(version, (item_id,))[0]

    @guarded
    def item_indices(self, version: str, item_ids: Sequence[str]) -> list[int | None]:
        """Items' indices in a version (None: not an item of it), kept in the process; those not kept yet read in
        one round trip."""
        indices = self._version_cache(version).indices
        missing = [item_id for item_id in dict.fromkeys(item_ids) if item_id not in indices]
        if missing:
            raws = get_many(self._wire.client, [keys.item(version, item_id) for item_id in missing])
            for item_id, raw in zip(missing, raws):
                indices[item_id] = records.ITEM_HEADER.unpack_from(raw)[1] if raw else None
        return [indices[item_id] for item_id in item_ids]

    @guarded
    def items_by_id(self, version: str, item_ids: Sequence[str]) -> list[ItemRecord | None]:
        """Item records of one version."""
        if not item_ids:
            return []
        values = get_many(self._wire.client, [keys.item(version, i) for i in item_ids])
        return [records.decode_item(d) if d else None for d in values]

    @guarded
    def item_records(self, version: str, indices: Sequence[int]) -> dict[int, ItemRecord]:
        """Item records by index (an index without one is left out), kept in the process: only a new
        version changes them."""
        cache = self._version_cache(version)
        kept = cache.item_records
        missing = [i for i in dict.fromkeys(indices) if i not in kept]
        if missing:
            if len(kept) > ITEM_RECORDS_CACHE_LIMIT:
                kept.clear()
            known = [(i, shown.item_id) for i, shown in zip(missing, self.shown(version, missing)) if shown]
            values = get_many(self._wire.client, [keys.item(version, item_id) for _, item_id in known])
            kept.update(dict.fromkeys(missing))
            kept.update((i, records.decode_item(raw)) for (i, _), raw in zip(known, values) if raw)
        return {i: rec for i in indices if (rec := kept.get(i)) is not None}

    @guarded
    def item_records_by_id(self, version: str, item_ids: Sequence[str]) -> dict[str, ItemRecord]:
        """Item records by id (an id the version does not know is left out), kept in the process like
        ``item_records``: one round trip for the ids this process has not read yet, none after."""
        cache = self._version_cache(version)
        indices, kept = cache.indices, cache.item_records
        unread = [i for i in dict.fromkeys(item_ids) if i not in indices]
        missing = unread + [i for i in dict.fromkeys(item_ids) if (n := indices.get(i)) is not None and n not in kept]
        if missing:
            if len(kept) > ITEM_RECORDS_CACHE_LIMIT:
                kept.clear()
            for item_id, raw in zip(missing, get_many(self._wire.client, [keys.item(version, i) for i in missing])):
                record = records.decode_item(raw) if raw else None
                indices[item_id] = record.index if record is not None else None
                if record is not None:
                    kept[record.index] = record
        found = {}
        for item_id in item_ids:
            index = indices.get(item_id)
            if index is not None and (record := kept.get(index)) is not None:
                found[item_id] = record
        return found

    @guarded
    def attrs(self, version: str, indices: Sequence[int]) -> list[dict | None]:
        """Catalog attributes of items by index (cached in the process)."""
        cache = self._version_cache(version)
        missing = [i for i in dict.fromkeys(indices) if i not in cache.attrs]
        if missing:
            if len(cache.attrs) > ATTRS_CACHE_LIMIT:
                cache.attrs.clear()
            for i, raw in zip(missing, self._wire.client.hmget(keys.attrs(version), [str(i) for i in missing])):
                cache.attrs[i] = json.loads(raw) if raw else None
        return [cache.attrs[i] for i in indices]

    def load_shown(self, version: str, indices: Iterable[int]) -> None:
        """Read the items of ``indices`` this process does not hold yet, in one round trip (what ``shown``
        would read one list at a time)."""
        missing = set(indices).difference(self._version_cache(version).shown)
        if missing:
            self.shown(version, sorted(missing))

    def shown(self, version: str, indices: Sequence[int]) -> list[ShownItem | None]:
        """Items by index as answers show them (None for an index without attributes), cached in the process."""
        cache = self._version_cache(version)
        shown = cache.shown
        try:
            return [shown[i] for i in indices]
        except KeyError:
            pass
        if len(shown) > ATTRS_CACHE_LIMIT:
            shown.clear()
        missing = [i for i in dict.fromkeys(indices) if i not in shown]
        for i, attrs in zip(missing, self.attrs(version, missing)):
            shown[i] = ShownItem.of(attrs) if attrs else None
        return [shown[i] for i in indices]

    @guarded
    def unavailable(self, version: str) -> frozenset[int]:
        """Indices of hidden items."""
        cache = self._version_cache(version)
        if cache.unavailable is None:
            cache.unavailable = frozenset(int(i) for i in self._wire.client.smembers(keys.unavailable(version)))
        return cache.unavailable

    @guarded
    def popular(self, version: str, category_id: str | None = None) -> tuple[Sequence[int], Sequence[float]]:
        """Popular items, overall or in a category; empty for an unknown category."""
        cache = self._version_cache(version)
        if category_id not in cache.popular:
            data = self._wire.client.get(keys.popular(version, category_id))
            cache.popular[category_id] = records.decode_scored(data) if data else ((), ())
        return cache.popular[category_id]

    def popular_categories(self, version: str) -> list[str]:
        """Categories of the most popular items, most popular first (kept until the catalog changes)."""
        cache = self._version_cache(version)
        if cache.popular_categories is None:
            items, _ = self.popular(version)
            found = self.shown(version, list(items))
            cache.popular_categories = list(dict.fromkeys(s.category_id for s in found if s and s.category_id))
        return cache.popular_categories

    @guarded
    def category_ids(self, version: str) -> list[str]:
        """Category ids by index, as the records refer to them."""
        cache = self._version_cache(version)
        if cache.category_ids is None:
            cache.category_parents = records.decode_categories(self._wire.client.get(keys.categories(version)))
            cache.category_ids = list(cache.category_parents)
        return cache.category_ids

    def category_parents(self, version: str) -> dict[str, str | None]:
        """The category tree: id -> parent id."""
        self.category_ids(version)
        parents = self._version_cache(version).category_parents
        assert parents is not None  # loaded by category_ids
        return parents

    def ancestors(self, version: str, category_id: str | None) -> frozenset[str]:
        """A category and all its parents."""
        if category_id is None:
            return frozenset()
        cache = self._version_cache(version)
        if category_id not in cache.ancestors:
            parents = self.category_parents(version)
            chain: list[str] = []
            current: str | None = category_id
            while current is not None and current not in chain:
                chain.append(current)
                current = parents.get(current)
            cache.ancestors[category_id] = frozenset(chain)
        return cache.ancestors[category_id]

    def _version_cache(self, version: str) -> VersionCache:
        """The version's cache, made (with its catalog revision) when this process keeps none yet."""
        cache = self._caches.get(version)
        if cache is None:
            cache = self._caches.new(version, self._wire.client.get(keys.catalog_rev(version)), self._current)
        return cache

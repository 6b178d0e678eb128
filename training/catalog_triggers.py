"""Back-in-stock and price-drop at training: the new catalog beside the version served before it.

Only watched items matter (``retention.watched_items``), so only they are looked up in the previous
version. Changes the previous version recorded (by an earlier training or ``recsvc catalog update``)
within ``watch_days`` are carried over while they still hold: the item is available and, for a price
drop, not dearer than the dropped price.
"""

import json
from dataclasses import dataclass

import numpy as np
import redis

from recsvc.contract import catalog_changes, keys, versions
from recsvc.contract.keys import CATALOG_KINDS
from recsvc.contract.units import DAY
from training.inputs.dataset import Dataset
from training.lists.retention import Watched


@dataclass
class CatalogTrigger:
    """One kind's changes (item code -> change) and the users to tell, scored by their latest change."""

    changes: dict[int, dict]
    users: np.ndarray
    scores: np.ndarray


def detect(r: redis.Redis, data: Dataset, watched: Watched, share: float, keep_days: float, at: float) -> dict:
    """Per catalog kind, the changes of watched items since the served version, with their users."""
    found: dict[str, dict[int, dict]] = {kind: {} for kind in CATALOG_KINDS}
    previous = versions.current(r)
    codes = np.unique(watched.items.values)
    if previous is not None and len(codes):
        _compare(r, previous, data, codes, share, at, keep_days, found)
    out = {}
    for kind, changes in found.items():
        items = watched.items
        hit = np.isin(items.values, np.fromiter(changes, dtype=np.int64, count=len(changes)))
        rows = np.repeat(np.arange(items.rows), items.lengths())[hit]
        when = np.array([changes[i]["at"] for i in items.values[hit].tolist()], dtype=np.float64)
        latest = np.full(items.rows, -np.inf)
        np.maximum.at(latest, rows, when)
        users = np.unique(rows)
        out[kind] = CatalogTrigger(changes, users, latest[users])
    return out


def _compare(
    r: redis.Redis,
    previous: str,
    data: Dataset,
    codes: np.ndarray,
    share: float,
    at: float,
    keep_days: float,
    found: dict[str, dict[int, dict]],
) -> None:
    """Fill ``found`` with the changes of the watched items ``codes`` against version ``previous``."""
    raw_ids = r.get(keys.item_ids(previous))
    if raw_ids is None:
        return
    old_index = {item_id: i for i, item_id in enumerate(raw_ids.decode().split("\n"))}
    watched_ids = data.item_ids[codes].tolist()
    pairs = [(int(c), old_index[i]) for c, i in zip(codes.tolist(), watched_ids) if i in old_index]
    if not pairs:
        return
    old = [str(o) for _, o in pairs]
    pipe = r.pipeline(transaction=False)
    pipe.hmget(keys.attrs(previous), old)
    pipe.smismember(keys.unavailable(previous), old)
    for kind in CATALOG_KINDS:
        pipe.hmget(keys.catalog_changes(previous, kind), old)
    attrs, hidden, *carried = pipe.execute()
    available, price = data.catalogue.available, data.prices
    for n, (code, _) in enumerate(pairs):
        if not available[code]:
            continue
        for kind, before in zip(CATALOG_KINDS, carried):  # still true and recent enough: keep
            change = json.loads(before[n]) if before[n] else None
            if change and change["at"] >= at - keep_days * DAY:
                if kind == "back-in-stock" or not price[code] > change["new_price"]:
                    found[kind][code] = change
        old_price = _price(json.loads(attrs[n]).get("price") if attrs[n] else None)
        new_price = float(price[code]) if np.isfinite(price[code]) else None
        for kind, change in catalog_changes.triggered(bool(hidden[n]), True, old_price, new_price, share, at).items():
            found[kind][code] = change


def _price(value) -> float | None:
    """A stored price as a number (None where absent or not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None

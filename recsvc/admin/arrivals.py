"""Items added to a published version without retraining, placed by their content (``recsvc catalog update``).

An item a change file names that the version does not know is an arrival. It needs a category of the version;
its title, brand and other attributes make its content (``recsvc.contract.content``). Placing it:

* its item record: in the order the trainer chose for the shop (``content.NewItemsOrder``, in the version's
  summary), a similar list of its content neighbours among the version's available items (cosine of TF-IDF
  vectors over every item's catalog row, lifted by the neighbours' events at training), which its ``similar`` and
  ``also-bought`` answers show (reason ``similar``), filled by its category's best-sellers; or, where the shop's
  text placed hidden items no better than that, an empty list: its category's best-sellers, or the shop's where
  those placed them better (reason ``popular``, ``recsvc.read.item_lists``);
* with content neighbours, it enters the similar lists of its ``SHOWN_BY_NEIGHBOURS`` nearest ones at position
  ``NEW_ITEM_SLOT``; the popular lists show it through exploration (``recsvc.read.exploration``, reason
  ``new_arrival``), never as one of the best-sellers;
* its attributes, in the catalog transaction that bumps ``catalog_rev``: every service process sees it at its
  next request. Until then the records written before name an index without attributes, which no list shows.

Everything is written into the version's own keys, as other catalog changes are: a rollback to an earlier version
serves that version's catalog, and serving this version again serves the arrivals again. The store
(``recsvc.store.arrivals``) reads and writes them, one update of a version at a time.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recsvc.contract import content
from recsvc.contract.records import encode_item
from recsvc.store.arrivals import ArrivalRecords, ArrivalWrite

ROWS_AT_ONCE = 64
"""Arrivals whose neighbours are scored at a time (a dense row per arrival over every item)."""


@dataclass
class Arrival:
    """An item to add: its id, the line of the file that brings it, and its catalog attributes."""

    item_id: str
    line: str
    attrs: dict


def problems(arrivals: Sequence[Arrival], categories: set[str]) -> list[str]:
    """What keeps arrivals from being added, one line each with its place in the file (none: all can be)."""
    found = []
    for arrival in arrivals:
        category = arrival.attrs.get("category_id")
        if not isinstance(category, str) or not category:
            found.append(f"{arrival.line}: item {arrival.item_id!r} is new to the model: it needs a category_id")
        elif category not in categories:
            found.append(
                f"{arrival.line}: category_id {category!r} of new item {arrival.item_id!r} is not a category of the "
                "model (a new category needs a training)"
            )
    return found


def add(records: ArrivalRecords, version: str, arrivals: Sequence[Arrival]) -> dict[str, int]:
    """Add the arrivals to ``version`` (checked by ``problems`` first); returns their indices by item id."""
    if not arrivals:
        return {}
    placing = records.placing(version)
    order = content.NewItemsOrder.of(placing.summary.new_items_order)
    first = placing.trained_items + records.reserve(version, len(arrivals))
    indices = {a.item_id: first + n for n, a in enumerate(arrivals)}
    size = max([*placing.attrs, *indices.values()]) + 1
    attrs: list[dict | None] = [placing.attrs.get(i) for i in range(size)]
    entries, hidden_now = {}, []
    for a in arrivals:
        entry = {"item_id": a.item_id, **a.attrs}
        if entry.pop("available", True) is False:
            hidden_now.append(indices[a.item_id])
        entries[indices[a.item_id]] = attrs[indices[a.item_id]] = entry
    events = np.zeros(size, np.float32)
    known = placing.events[:size]
    events[: len(known)] = known
    hidden = placing.hidden
    eligible = np.array([a is not None and i not in hidden and i not in entries for i, a in enumerate(attrs)])
    if order.by_content:
        near = neighbours(attrs, placing.parents, events, eligible, list(entries), weight=order.popularity_weight)
    else:  # the category's or the shop's best-sellers fill its list, as ``popular``
        near = {q: (np.zeros(0, np.int64), np.zeros(0, np.float32)) for q in entries}
    shown_by: dict[str, list[int]] = {}  # neighbour -> the arrivals that enter its similar list, nearest first
    for index in entries:
        for neighbour in near[index][0][: content.SHOWN_BY_NEIGHBOURS].tolist():
            shown_by.setdefault(attrs[neighbour]["item_id"], []).append(index)
    built = {a.item_id: encode_item(indices[a.item_id], (), (), *near[indices[a.item_id]]) for a in arrivals}
    records.write(version, ArrivalWrite(built, shown_by, entries, hidden_now))
    return indices


def neighbours(
    attrs: list[dict | None],
    parents: dict[str, str | None],
    events: np.ndarray,
    eligible: np.ndarray,
    queries: list[int],
    k: int = content.NEIGHBOURS,
    weight: float = content.POPULARITY_WEIGHT,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each query item's k eligible content neighbours, best first, with scores: the trainer's
    ``training/lists/content.py`` over the same features, weights and lift (``weight``: the popularity weight)."""
    import scipy.sparse as sp  # here only: the service imports this module for PUT /v1/catalog/items
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [content.features(a, content.path_of(a.get("category_id"), parents)) if a else [] for a in attrs]
    try:
        unit = TfidfVectorizer(**content.VECTORIZER, max_df=content.MAX_SHARED).fit_transform(docs)
    except ValueError:  # no item has any feature
        return {q: (np.zeros(0, np.int64), np.zeros(0, np.float32)) for q in queries}
    lift = (1.0 + np.log1p(np.maximum(events, 0))) ** weight  # as the trainer's ``prior``
    candidates = (sp.diags((lift * eligible).astype(np.float32)) @ unit).tocsr()
    out = {}
    for start in range(0, len(queries), ROWS_AT_ONCE):
        block = queries[start : start + ROWS_AT_ONCE]
        scores = (unit[block] @ candidates.T).toarray()
        for query, row in zip(block, scores):
            row[query] = 0.0
            top = np.argsort(-row, kind="stable")[:k]
            top = top[row[top] > 0]
            out[query] = (top, row[top].astype(np.float32))
    return out

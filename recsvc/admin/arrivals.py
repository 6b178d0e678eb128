"""Items added to a published version without retraining, placed by their content (``recsvc catalog update``).

An item a change file names that the version does not know is an arrival. It needs a category of the version;
its title, brand and other attributes make its content (``recsvc.contract.content``). Placing it:

* its item record: in the order the trainer chose for the shop (``content.NewItemsOrder``, in the version's
  summary), a similar list of its content neighbours among the version's available items (cosine of TF-IDF
  vectors over every item's catalog row, lifted by the neighbours' events at training), which its ``similar`` and
  ``also-bought`` answers show (reason ``similar``), filled by its category's best-sellers; or, where the shop's
  text placed hidden items no better than that, an empty list: its category's best-sellers (reason ``popular``);
* with content neighbours, it enters the similar lists of its ``SHOWN_BY_NEIGHBOURS`` nearest ones at position
  ``NEW_ITEM_SLOT``; the popular lists show it through exploration (``recsvc.read.exploration``, reason
  ``new_arrival``), never as one of the best-sellers;
* its attributes, in the catalog transaction that bumps ``catalog_rev``: every service process sees it at its
  next request. Until then the records written before name an index without attributes, which no list shows.

One update adds items to a version at a time (``exclusive``): each reads and rewrites records another would
rewrite too.

Everything is written into the version's own keys, as other catalog changes are: a rollback to an earlier version
serves that version's catalog, and serving this version again serves the arrivals again.
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import redis
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recsvc.contract import content, keys
from recsvc.contract.commands import get_many
from recsvc.contract.records import decode_item, encode_item

CHUNK = 1_000
ROWS_AT_ONCE = 64
"""Arrivals whose neighbours are scored at a time (a dense row per arrival over every item)."""
LOCK_TTL_S = 600
"""How long the arrivals lock outlives an update that died holding it."""
LOCK_WAIT_S = 120
"""How long an update waits for another one on the same version before it gives up."""


class Busy(RuntimeError):
    """Another catalog update of the version held the arrivals lock too long."""


@contextmanager
def exclusive(r: redis.Redis, version: str) -> Iterator[None]:
    """Hold the version's arrivals lock (``keys.arrivals_lock``) while the block runs; Busy after ``LOCK_WAIT_S``."""
    lock = r.lock(keys.arrivals_lock(version), timeout=LOCK_TTL_S, blocking_timeout=LOCK_WAIT_S)
    if not lock.acquire():
        raise Busy(f"another catalog update of version {version} is running; try again when it ends")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:  # expired and taken by another: theirs now
            pass


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


def add(r: redis.Redis, version: str, arrivals: Sequence[Arrival]) -> dict[str, int]:
    """Add the arrivals to ``version`` (checked by ``problems`` first); returns their indices by item id."""
    if not arrivals:
        return {}
    table = json.loads(r.get(keys.categories(version)) or '{"ids": [], "parents": []}')
    ids = table["ids"]
    parents = {c: (ids[p] if p >= 0 else None) for c, p in zip(ids, table["parents"])}
    summary = json.loads(r.get(keys.meta(version)) or "{}")
    trained = summary.get("counts", {}).get("items", 0)
    order = content.NewItemsOrder.of(summary)
    reserved = r.incrby(keys.added_items(version), len(arrivals))
    first = trained + reserved - len(arrivals)
    indices = {a.item_id: first + n for n, a in enumerate(arrivals)}
    stored = {int(i): json.loads(v) for i, v in r.hgetall(keys.attrs(version)).items()}
    size = max([*stored, *indices.values()]) + 1
    attrs: list[dict | None] = [stored.get(i) for i in range(size)]
    entries, hidden_now = {}, []
    for a in arrivals:
        entry = {"item_id": a.item_id, **a.attrs}
        if entry.pop("available", True) is False:
            hidden_now.append(indices[a.item_id])
        entries[indices[a.item_id]] = attrs[indices[a.item_id]] = entry
    events = np.zeros(size, np.float32)
    raw = r.get(keys.item_events(version)) or b""
    known = np.frombuffer(raw, dtype="<f4")[:size]
    events[: len(known)] = known
    hidden = {int(i) for i in r.smembers(keys.unavailable(version))}
    eligible = np.array([a is not None and i not in hidden and i not in entries for i, a in enumerate(attrs)])
    if order.by_content:
        near = neighbours(attrs, parents, events, eligible, list(entries), weight=order.popularity_weight)
    else:  # the category's best-sellers fill its list, as ``popular``
        near = {q: (np.zeros(0, np.int64), np.zeros(0, np.float32)) for q in entries}
    _write(r, version, arrivals, indices, entries, near, attrs, hidden_now)
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


def _write(
    r: redis.Redis,
    version: str,
    arrivals: Sequence[Arrival],
    indices: dict[str, int],
    entries: dict[int, dict],
    near: dict[int, tuple[np.ndarray, np.ndarray]],
    attrs: list[dict | None],
    hidden: list[int],
) -> None:
    """The arrivals' records and their neighbours' similar lists, then their attributes and hidden state in the
    catalog transaction."""
    shown_by: dict[int, list[int]] = {}  # neighbour -> the arrivals that enter its similar list, nearest first
    for index in entries:
        for neighbour in near[index][0][: content.SHOWN_BY_NEIGHBOURS].tolist():
            shown_by.setdefault(neighbour, []).append(index)
    neighbour_ids = [attrs[n]["item_id"] for n in shown_by]  # type: ignore[index]
    pipe = r.pipeline(transaction=False)
    for arrival in arrivals:
        index = indices[arrival.item_id]
        pipe.set(keys.item(version, arrival.item_id), encode_item(index, (), (), *near[index]))
    for start in range(0, len(neighbour_ids), CHUNK):
        chunk = list(shown_by)[start : start + CHUNK]
        records = get_many(r, [keys.item(version, i) for i in neighbour_ids[start : start + CHUNK]])
        for neighbour, item_id, raw in zip(chunk, neighbour_ids[start : start + CHUNK], records):
            if raw:
                rec = decode_item(raw)
                lists = _inserted(list(rec.similar), list(rec.similar_scores), shown_by[neighbour])
                value = encode_item(rec.index, rec.also_bought, rec.also_bought_scores, *lists)
                pipe.set(keys.item(version, item_id), value)
    pipe.execute()
    catalog = r.pipeline(transaction=True)  # the keys of one hash slot: one transaction on a cluster too
    catalog.hset(
        keys.attrs(version), mapping={str(i): json.dumps(e, separators=(",", ":")) for i, e in entries.items()}
    )
    if hidden:
        catalog.sadd(keys.unavailable(version), *hidden)
    catalog.incr(keys.catalog_rev(version))
    catalog.execute()


def _inserted(items: list[int], scores: list[float], added: list[int]) -> tuple[list[int], list[float]]:
    """A ranked list with the added items at ``NEW_ITEM_SLOT`` (the last ones added highest), each scored as the
    entry it moves down (or the last score), so the list stays in order."""
    for index in reversed(added):
        if index in items:
            continue
        slot = min(content.NEW_ITEM_SLOT, len(items))
        score = scores[slot] if slot < len(scores) else (scores[-1] if scores else 0.0)
        items.insert(slot, index)
        scores.insert(slot, score)
    return items, scores

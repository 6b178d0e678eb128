"""Content neighbours: items near each other by their catalog text, and the similar lists of items with few events.

Each item's features (``recsvc.contract.content.features``: category path, title words and n-grams, string
attributes such as a brand, price band) are weighed by scikit-learn's ``TfidfVectorizer``; two items are as
near as the cosine of their vectors. A neighbour's score also grows with its events
(``content.POPULARITY_WEIGHT``): among items of the same content, the ones customers take.
``recsvc catalog update`` places items added to a version by the same features and score.
"""

import json

import numpy as np
import orjson
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recsvc.contract import content
from training.catalogue import CodedCatalog
from training.ragged import Ragged, grouped, stacked, top_per_row

BLOCK = 2_048
"""Items whose neighbours are computed at a time: memory stays that of a block's candidate pairs."""


def vectors(attrs: list[str], category_ids: list[str], catalogue: CodedCatalog) -> sp.csr_matrix:
    """items x features: each item's content, TF-IDF weighted, rows of unit length (``attrs``: JSON per item)."""
    parents = {
        c: (category_ids[p] if p >= 0 else None) for c, p in zip(category_ids, catalogue.category_parent.tolist())
    }
    paths: dict[object, list[str]] = {}  # per category: a shop has far fewer categories than items
    docs = []
    for raw in attrs:
        item = _parsed(raw)
        category = item.get("category_id")
        path = paths.get(category) if isinstance(category, str) else None
        if path is None:
            path = content.path_of(category, parents)
            if isinstance(category, str):
                paths[category] = path
        docs.append(content.features(item, path))
    vectorizer = TfidfVectorizer(**content.VECTORIZER, max_df=content.MAX_SHARED)
    try:
        return vectorizer.fit_transform(docs).astype(np.float32).tocsr()
    except ValueError:  # no item has any feature (or every feature is a stop word)
        return sp.csr_matrix((len(docs), 0), dtype=np.float32)


def _parsed(raw: str) -> dict:
    """An item's attributes from their JSON: by orjson (several times faster; an integer past 64 bits comes as a
    float, which only a price's band reads), by the standard library where orjson refuses what ``json.dumps`` wrote
    (NaN)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def prior(events: np.ndarray, weight: float = content.POPULARITY_WEIGHT) -> np.ndarray:
    """Per item: how much its events lift it among neighbours of equal content."""
    return ((1.0 + np.log1p(np.maximum(events, 0))) ** weight).astype(np.float32)


def neighbours(
    unit: sp.csr_matrix,
    queries: np.ndarray,
    eligible: np.ndarray,
    events: np.ndarray,
    k: int = content.NEIGHBOURS,
    popularity_weight: float | None = None,
) -> Ragged:
    """For every item (a row each; rows outside ``queries`` stay empty): the k eligible items nearest by content,
    scored by cosine times their ``prior``. ``eligible``: bool per item (available ones)."""
    n_items = unit.shape[0]
    lift = prior(events, content.POPULARITY_WEIGHT if popularity_weight is None else popularity_weight)
    weight = sp.diags(lift * eligible.astype(np.float32))
    candidates = (weight @ unit).tocsr()  # items x features: ineligible rows zero, the rest lifted by events
    blocks, done = [], 0
    queries = np.sort(np.asarray(queries, np.int64))
    for start in range(0, len(queries), BLOCK):
        block = queries[start : start + BLOCK]
        scores = (unit[block] @ candidates.T).tocoo()
        own = block[scores.row] == scores.col
        keep = ~own & (scores.data > 0)
        top = top_per_row(scores.row[keep], scores.col[keep], scores.data[keep], len(block), k)
        blocks.append(_spread(top, block, done, n_items if start + BLOCK >= len(queries) else None))
        done = int(block[-1]) + 1
    if not blocks:
        return Ragged.empty(n_items)
    return stacked(blocks, n_items)


def _spread(top: Ragged, block: np.ndarray, first_row: int, last: int | None) -> Ragged:
    """The block's lists as consecutive rows from ``first_row`` (empty rows for items not queried), through the
    block's last item, or through ``last`` - 1 when given."""
    end = last if last is not None else int(block[-1]) + 1
    row_of = np.repeat(block - first_row, top.lengths())
    return grouped(row_of, top.values, top.scores, end - first_row)


def tail_weights(events: np.ndarray, shrink: float = content.TAIL_SHRINK) -> np.ndarray:
    """Per item: the weight of its content neighbours in its similar list (0 where its events speak alone)."""
    if shrink <= 0:
        return np.zeros(len(events), np.float32)
    weight = shrink / (shrink + np.maximum(events, 0).astype(np.float64))
    return np.where(weight >= content.MIN_CONTENT_WEIGHT, weight, 0.0).astype(np.float32)


def blended(similar: Ragged, near: Ragged, weights: np.ndarray, k: int) -> Ragged:
    """Similar lists where items with a content weight mix their content neighbours in: each list scaled to a
    best of 1, content times the item's weight, the collaborative list times the rest. Other rows are unchanged."""
    rows = similar.rows
    mixed = (weights > 0) & (near.lengths() > 0)
    if not mixed.any():
        return similar
    parts = [_scaled(similar, mixed, 1.0 - weights), _scaled(near, mixed, weights)]
    row_of, items, scores = (np.concatenate([p[n] for p in parts]) for n in range(3))
    summed = sp.csr_matrix((scores, (row_of, items)), shape=(rows, max(rows, int(items.max(initial=0)) + 1))).tocoo()
    positive = summed.data > 0  # an entry whose part weighs 0 (an item with no events: content alone) goes
    new = top_per_row(summed.row[positive], summed.col[positive], summed.data[positive].astype(np.float32), rows, k)
    kept = np.repeat(~mixed, similar.lengths())
    row_of = np.concatenate((rows_of(similar)[kept], rows_of(new)))
    order = np.argsort(row_of, kind="stable")  # each row's entries stay in their order
    values = np.concatenate((similar.values[kept], new.values))[order]
    scores = np.concatenate((similar.scores[kept], new.scores))[order]
    return grouped(row_of[order], values, scores.astype(np.float32), rows)


def _scaled(lists: Ragged, rows: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, item, score) of the entries of the chosen rows, each row scaled to a best of 1, times its share."""
    row_of = rows_of(lists)
    take = rows[row_of]
    row_of, scores = row_of[take], lists.scores[take].astype(np.float64)
    best = np.zeros(lists.rows)
    np.maximum.at(best, row_of, scores)
    return row_of, lists.values[take].astype(np.int64), scores / np.maximum(best[row_of], 1e-12) * share[row_of]


def rows_of(lists: Ragged) -> np.ndarray:
    """The row of each entry of a Ragged."""
    return np.repeat(np.arange(lists.rows), lists.lengths())

"""Lists precomputed from a fitted model: the candidate pool, ALS picks, similar, popular, category offers.

Every list is built for all users or items at once with vectorized numpy and sparse
algebra, and returned as ``Ragged`` rows of item (or category) codes with scores.
"""

import numpy as np
import scipy.sparse as sp
from implicit.cpu.topk import topk

from training.catalogue import CodedCatalog
from training.interactions import Interactions
from training.model import Factors
from training.ragged import Ragged, rank_in_row, top_per_row

QUERY_BATCH = 4096
SIMILAR_BLOCK = 65_536  # items whose similar lists are computed at a time
OFFER_RANK_OFFSET = 1e12
PICKS_FOR_AFFINITY = 10  # a user's best picks that point to affinity categories


def normalized(factors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), so dot products are cosines."""
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return np.divide(factors, norms, out=np.zeros_like(factors), where=norms > 0)


def candidate_pool(interactions: Interactions, factors: Factors, catalogue: CodedCatalog, size: int) -> np.ndarray:
    """The items the ALS lists may contain: the most popular available items with factors."""
    eligible = catalogue.available & (factors.item_norms() > 0)
    items = np.flatnonzero(eligible)
    order = np.argsort(-interactions.popularity[items], kind="stable")
    return np.sort(items[order[:size]])


def batched_topk(items: np.ndarray, queries: np.ndarray, k: int, filters: sp.csr_matrix | None = None):
    """implicit's top-k over query batches; ids index ``items``."""
    k = min(k, len(items))
    ids, scores = [], []
    for start in range(0, len(queries), QUERY_BATCH):
        stop = start + QUERY_BATCH
        f = filters[start:stop] if filters is not None else None
        i, s = topk(items, queries[start:stop], k, filter_query_items=f)
        ids.append(i)
        scores.append(s)
    if not ids:
        return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
    return np.vstack(ids), np.vstack(scores)


def similar_items(factors: Factors, pool: np.ndarray, k: int) -> Ragged:
    """For each item with factors, the k pool items with the most similar factors (cosine).

    Items are queried ``SIMILAR_BLOCK`` at a time into lists allocated once: memory stays that of the result
    however many items the shop has."""
    unit = normalized(factors.item_factors)
    candidates = unit[pool]
    queries = np.flatnonzero(factors.item_norms() > 0)
    lengths = np.zeros(len(unit), np.int64)
    values = np.empty(len(queries) * k, np.int32)
    scores = np.empty(len(queries) * k, np.float32)
    filled = 0
    for start in range(0, len(queries), SIMILAR_BLOCK):
        block = queries[start : start + SIMILAR_BLOCK]
        ids, found = topk(candidates, unit[block], min(k + 1, len(pool)))
        ids = pool[np.maximum(ids, 0)]
        row_of = np.repeat(block, ids.shape[1])
        keep = (ids.ravel() != row_of) & (found.ravel() > 0) & np.isfinite(found.ravel())
        # topk returns each row best first: the first k kept of a row are its best
        row_of, near, near_scores = row_of[keep], ids.ravel()[keep], found.ravel()[keep]
        span = int(block[-1] - block[0]) + 1  # the block's rows, items without factors among them
        first = rank_in_row(row_of - block[0], span) < k
        n = int(first.sum())
        values[filled : filled + n] = near[first]
        scores[filled : filled + n] = near_scores[first]
        lengths[block[0] : block[0] + span] += np.bincount(row_of[first] - block[0], minlength=span)
        filled += n
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    return Ragged(indptr, values[:filled], scores[:filled])


def popular(interactions: Interactions, catalogue: CodedCatalog, k: int) -> tuple[Ragged, Ragged]:
    """The k most popular available items overall (one row) and per category (children included)."""
    weight = np.where(catalogue.available, interactions.popularity, 0).astype(np.float32)
    items = np.flatnonzero(weight > 0)
    overall = top_per_row(np.zeros(len(items), np.int64), items, weight[items], 1, k)
    member = catalogue.membership()[items].tocoo()
    per_category = top_per_row(member.col, items[member.row], weight[items[member.row]], catalogue.n_categories, k)
    return overall, per_category


def category_offers(
    strength: sp.csr_matrix, purchases: sp.csr_matrix, picks: Ragged, catalogue: CodedCatalog, k: int
) -> tuple[Ragged, np.ndarray]:
    """Each user's offer categories (a row of ``strength``, ``purchases`` and ``picks`` each): viewed but never
    bought first, then affinity; and the reason of each.

    Reasons: 0 viewed_not_bought, 1 affinity (categories bought in, and those of the user's picks).
    """
    leaf = catalogue.leaf()
    interest = (strength @ leaf).tocsr().astype(np.float64)
    bought_in = (purchases @ leaf) > 0
    viewed_not_bought = interest - interest.multiply(bought_in)
    viewed_not_bought.eliminate_zeros()
    best = picks.rank() < PICKS_FOR_AFFINITY
    pick_rows = np.repeat(np.arange(picks.rows), picks.lengths())[best]
    pick_matrix = sp.csr_matrix(
        (picks.scores[best].astype(np.float64), (pick_rows, picks.values[best])), shape=strength.shape
    )
    score = (interest + pick_matrix @ leaf).tocsr()
    # viewed-not-bought categories rank above every affinity category
    first = (viewed_not_bought > 0).astype(np.float64) * OFFER_RANK_OFFSET
    key = (score + first).tocoo()
    top = top_per_row(key.row, key.col, key.data, picks.rows, k)
    is_first = top.scores >= OFFER_RANK_OFFSET
    top.scores = np.where(is_first, top.scores - OFFER_RANK_OFFSET, top.scores).astype(np.float32)
    return top, np.where(is_first, 0, 1).astype(np.uint8)

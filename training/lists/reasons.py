"""Why each pick is shown, and only what is true.

``because you bought/viewed X`` names the item of the user's history that is most similar to the
pick, and only when that similarity (cosine of the users who touched each, among each item's
nearest neighbours) reaches ``reason_min_similarity`` and stands well above what two unrelated items
with as many users would share by chance. A viewed item offered again explains
itself (``recently_viewed``). Otherwise the reason is general and says where the pick came from:
the taste of similar shoppers (ALS), what is trending, or what is popular.
"""

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender, normalize

from recsvc.contract import reasons
from training.lists.pick_features import Candidates

PERSONALIZED, POPULAR, TRENDING, SIMILAR_SHOPPERS = (
    -1 - reasons.GENERAL.index(r) for r in ("personalized", "popular", "trending", "similar_shoppers")
)
"""General reasons, stored in place of an explaining item (``recsvc.contract.reasons.GENERAL``)."""
CHANCE_FACTOR = 1.5
"""A named reason needs a similarity at least this many times the one of two unrelated items (a lift)."""
TRENDING_SHARE = 0.5
"""An item is trending when at least this share of its last 30 days' events came in the last 7."""


def similarity(strength: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """items x items: cosine of who touched each item, the k nearest per item, no diagonal."""
    binary = strength.tocsr().astype(np.float32)
    binary.data[:] = 1.0
    nn = ItemItemRecommender(K=k)  # implicit's CosineRecommender, given its normalized input as CSR (no warning)
    nn.fit(normalize(binary.T).T.tocsr(), show_progress=False)
    sim = nn.similarity.tocsr().astype(np.float32)
    sim.setdiag(0)
    sim.eliminate_zeros()
    return sim


def explain(found: Candidates, chosen: np.ndarray, history: sp.csr_matrix, strong: sp.csc_matrix) -> np.ndarray:
    """The reason code of each chosen pair of ``found``: an item index (its explaining history item, or
    itself when re-offered) or one of the general reasons. ``history`` has one row per ``found.rows_of``
    user; ``strong`` is the similarity kept above the floor (``strong_similarity``)."""
    items = found.items[chosen]
    if not len(items):
        return np.zeros(0, np.int64)
    pair_rows = np.searchsorted(found.rows_of, found.users[chosen])
    out = np.full(len(items), PERSONALIZED, np.int64)
    # the history item most similar to the pick, among the strong similarities
    best_item = _best_explainer(history, strong, pair_rows, items)
    has = best_item >= 0
    out[has] = best_item[has]
    rest = ~has
    als = found.column("als")[chosen] > 0
    trending = found.column("item_trend")[chosen] >= TRENDING_SHARE
    popular = found.column("popular")[chosen] > 0
    out[rest & popular & ~als] = POPULAR
    out[rest & popular & ~als & trending] = TRENDING
    out[rest & als] = SIMILAR_SHOPPERS
    viewed = found.column("viewed")[chosen] > 0
    out[viewed] = items[viewed]
    return out


def strong_similarity(sim: sp.csr_matrix, strength: sp.csr_matrix, floor: float) -> sp.csc_matrix:
    """The similarities at or above the floor and at least CHANCE_FACTOR times what two items with as
    many users would share by chance (in a small shop, popular items meet often), by column (the pick)."""
    users = np.diff(strength.tocsc().indptr).astype(np.float64)
    n = max(strength.shape[0], 1)
    coo = sim.tocoo()
    chance = np.sqrt(users[coo.row] * users[coo.col]) / n
    keep = (coo.data >= floor) & (coo.data >= CHANCE_FACTOR * chance)
    return sp.csc_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=sim.shape)


def _best_explainer(history: sp.csr_matrix, strong: sp.csc_matrix, rows: np.ndarray, items: np.ndarray):
    """For each (row, item): the row's history item h with the largest strong[h, item] (-1 where none)."""
    best_item = np.full(len(items), -1, np.int64)
    chunk = 200_000
    for start in range(0, len(items), chunk):
        r, i = rows[start : start + chunk], items[start : start + chunk]
        # pair p gets the history row of its user, masked to the items similar to its pick
        h = history[r].tocsr()
        s = strong[:, i].T.tocsr()  # pairs x items: similarity of each item to the pick
        w = (h > 0).multiply(s).tocsr()  # the most similar history item, whatever its weight
        if not w.nnz:
            continue
        lengths = np.diff(w.indptr)
        nonempty = np.flatnonzero(lengths)
        arg = np.zeros(len(r), np.int64)
        row_of = np.repeat(np.arange(len(r)), lengths)
        order = np.lexsort((-w.data, row_of))
        first = np.r_[True, row_of[order][1:] != row_of[order][:-1]]
        arg[row_of[order][first]] = w.indices[order][first]
        best_item[start + nonempty] = arg[nonempty]
    return best_item

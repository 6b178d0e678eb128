"""Complements and substitutes: also-bought from what buyers bought next, similar with a same-category boost.

"You bought X, see Y" wants complements: what X's buyers bought in the same order or in
the days after X (running shoes, then socks), scored like a cosine so that best-sellers,
bought after everything, do not crowd every list, with near-copies of X (same category)
damped. "Similar" wants substitutes: ALS neighbours, those of X's own category first.
"""

import numpy as np
import scipy.sparse as sp

from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events
from training.interactions import DAY
from training.lists.candidates import CodedCatalog
from training.lists.generators import row_max_scaled
from training.ragged import Ragged, top_of_sparse, top_per_row

SAME_ORDER_S = 12 * 3600  # bought this close together: one basket, so it counts both ways


def _pairs_after(events: Events, window_s: float, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, x, y): y bought by the user within ``window_s`` after x (or in the same order), x != y."""
    p = events.event == PURCHASE
    user, item, ts = events.user[p].astype(np.int64), events.item[p].astype(np.int64), events.timestamp[p]
    order = np.lexsort((item, ts, user))
    user, item, ts = user[order], item[order], ts[order]
    users, xs, ys = [], [], []
    for step in range(1, reach + 1):  # the next ``reach`` purchases of the same user
        if step >= len(user):
            break
        gap = ts[step:] - ts[:-step]
        ok = (user[step:] == user[:-step]) & (gap <= window_s) & (item[step:] != item[:-step])
        users.append(user[:-step][ok])
        xs.append(item[:-step][ok])
        ys.append(item[step:][ok])
        basket = ok & (gap < SAME_ORDER_S)  # the same order: no before or after
        users.append(user[:-step][basket])
        xs.append(item[step:][basket])
        ys.append(item[:-step][basket])
    if not users:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(users), np.concatenate(xs), np.concatenate(ys)


def also_bought_next(events: Events, catalogue: CodedCatalog, config: TrainConfig, k: int) -> Ragged:
    """Per item x: items its buyers bought next, by distinct buyers / sqrt(buyers of x * buyers of y)."""
    n_items = len(catalogue.category)
    user, x, y = _pairs_after(events, config.complement_days * DAY, config.complement_reach)
    # each buyer counts once per pair
    pair = np.unique(np.stack((user, x, y)), axis=1) if len(user) else np.zeros((3, 0), np.int64)
    after = sp.csr_matrix((np.ones(pair.shape[1], np.float32), (pair[1], pair[2])), shape=(n_items, n_items))
    # y bought before x also says they go together, but less than y bought after x
    together = (after + config.complement_before_weight * after.T).tocoo()
    p = events.event == PURCHASE
    buyer_pairs = np.unique(events.user[p].astype(np.int64) * n_items + events.item[p])
    buyers = np.bincount(buyer_pairs % n_items, minlength=n_items).astype(np.float64)
    x, y, count = together.row, together.col, together.data
    score = count / np.sqrt(buyers[x] * buyers[y])
    same = (catalogue.category[x] == catalogue.category[y]) & (catalogue.category[x] >= 0)
    score = np.where(same, score * config.same_category_factor, score)
    ok = catalogue.available[y] & (score > 0)
    return top_per_row(x[ok], y[ok], score[ok].astype(np.float32), n_items, k)


def co_viewed_alternatives(strength: sp.csr_matrix, catalogue: CodedCatalog, per_user: int) -> sp.coo_matrix:
    """items x items: cosine of the users who looked at both, for pairs in the same category.

    Shoppers compare alternatives before they buy one; each user's ``per_user`` strongest items
    bound the cost.
    """
    top = top_of_sparse(strength, per_user)
    rows = np.repeat(np.arange(top.rows), top.lengths())
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, top.values)), shape=strength.shape)
    co = (seen.T @ seen).tocoo()
    users = np.asarray(seen.sum(axis=0)).ravel()
    cat = catalogue.category
    keep = (co.row != co.col) & (cat[co.row] == cat[co.col]) & (cat[co.row] >= 0)
    x, y = co.row[keep], co.col[keep]
    return sp.coo_matrix((co.data[keep] / np.sqrt(users[x] * users[y]), (x, y)), shape=co.shape)


def substitutes(similar: Ragged, alternatives: sp.coo_matrix, catalogue: CodedCatalog, boost: float, k: int) -> Ragged:
    """Similar lists for substitutes: ALS neighbours plus co-viewed alternatives, the item's own category
    scored ``1 + boost`` times higher."""
    rows = np.repeat(np.arange(similar.rows), similar.lengths())
    cat = catalogue.category
    same = (cat[rows] == cat[similar.values]) & (cat[rows] >= 0)
    scores = np.where(same, similar.scores * (1 + boost), similar.scores)
    ok = catalogue.available[alternatives.col]
    x = np.concatenate((rows, alternatives.row[ok]))
    y = np.concatenate((similar.values, alternatives.col[ok]))
    s = np.concatenate((scores, alternatives.data[ok] * (1 + boost)))
    summed = sp.csr_matrix((s.astype(np.float64), (x, y)), shape=(similar.rows, similar.rows)).tocoo()
    return top_per_row(summed.row, summed.col, summed.data.astype(np.float32), similar.rows, k)


def also_bought_blend(
    bought_next: Ragged, neighbours: sp.csr_matrix, catalogue: CodedCatalog, config: TrainConfig, k: int
) -> Ragged:
    """Per item: what its buyers bought next, blended with its item-kNN neighbours (BM25 of every event).

    Purchases alone are too sparse on most shops (measured: item-kNN of all events finds the next purchase
    about twice as often); the bought-next part lifts complements where buyers show them. Each part is
    scaled to 0..1 per item; an item in both gets both. Entries never bought together get a negative
    score (their reason is then ``viewed_together``, not ``bought_together``)."""

    n_items = len(catalogue.category)
    rows = np.repeat(np.arange(bought_next.rows), bought_next.lengths())
    after = sp.csr_matrix((bought_next.scores, (rows, bought_next.values)), shape=(n_items, n_items))
    knn = (neighbours @ sp.diags(catalogue.available.astype(np.float32))).tocoo()
    same = (catalogue.category[knn.row] == catalogue.category[knn.col]) & (catalogue.category[knn.row] >= 0)
    damped = np.where(same, knn.data * config.same_category_factor, knn.data)  # near-copies, as for bought-next
    knn = sp.csr_matrix((damped, (knn.row, knn.col)), shape=knn.shape)
    blend = (config.also_bought_next_weight * row_max_scaled(after) + row_max_scaled(knn)).tocoo()
    keep = (blend.data > 0) & (blend.row != blend.col)
    top = top_per_row(blend.row[keep], blend.col[keep], blend.data[keep].astype(np.float32), n_items, k)
    # the sign says where an entry comes from (``recsvc.contract.records.ItemRecord``): bought together or not
    rows = np.repeat(np.arange(top.rows), top.lengths())
    bought = np.asarray(after[rows, top.values]).ravel() > 0 if len(rows) else np.zeros(0, bool)
    top.scores = np.where(bought, top.scores, -top.scores).astype(np.float32)
    return top

"""Complements and substitutes: also-bought from what buyers bought next, similar with a same-category boost.

"You bought X, see Y" wants complements: what X's buyers bought in the same order or in
the days after X (running shoes, then socks), scored like a cosine so that best-sellers,
bought after everything, do not crowd every list, with near-copies of X (same category)
damped. "Similar" wants substitutes: ALS neighbours, those of X's own category first.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import ALSO_BOUGHT_FILLS
from training import sorted_keys
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events
from training.interactions import DAY
from training.lists import near_copies
from training.lists.generators import row_max_scaled
from training.orders import SAME_ORDER_S
from training.ragged import Ragged, grouped, rank_in_row, stacked, top_of_sparse

SUBSTITUTE_BLOCK = 262_144  # items whose substitutes are ranked at a time


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


@dataclass
class Together:
    """Distinct buyers of x who bought y next (y bought before x counted at ``complement_before_weight``)."""

    counts: sp.coo_matrix  # items x items
    buyers: np.ndarray  # distinct buyers per item
    after: sp.csr_matrix  # items x items: distinct buyers of x who bought y next (or in the same order)
    customers: int  # distinct buyers of anything

    @classmethod
    def of(cls, events: Events, n_items: int, config: TrainConfig) -> "Together":
        user, x, y = _pairs_after(events, config.complement_days * DAY, config.complement_reach)
        if len(events.user_ids) * float(n_items) ** 2 < 2**62:  # each buyer counts once per pair
            pair = sorted_keys.unique((user * n_items + x) * n_items + y) % (n_items * n_items)
            x, y = pair // n_items, pair % n_items
        else:
            order = np.lexsort((y, x, user))
            user, x, y = user[order], x[order], y[order]
            first = np.r_[True, (user[1:] != user[:-1]) | (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
            x, y = x[first], y[first]
        after = sp.csr_matrix((np.ones(len(x), np.float32), (x, y)), shape=(n_items, n_items))
        p = events.event == PURCHASE
        buyer_pairs = sorted_keys.unique(events.user[p].astype(np.int64) * n_items + events.item[p])
        buyers = np.bincount(buyer_pairs % n_items, minlength=n_items).astype(np.float64)
        customers = len(sorted_keys.unique(buyer_pairs // n_items))
        return cls((after + config.complement_before_weight * after.T).tocoo(), buyers, after, customers)

    def scores(self, exponent: float = 0.5, min_buyers: float = 1) -> sp.coo_matrix:
        """count / (buyers of x ** 0.5 * buyers of y ** exponent): at 0.5 a cosine (best-sellers, bought
        after everything, do not crowd the list); at 0 the share of x's buyers who bought y next; below 0
        best-sellers among them first (a grocer's staples). Pairs counted fewer than ``min_buyers`` times
        are left out (one buyer's basket is weak evidence)."""
        keep = self.counts.data >= min_buyers
        x, y, count = self.counts.row[keep], self.counts.col[keep], self.counts.data[keep]
        score = count / (np.sqrt(self.buyers[x]) * np.power(self.buyers[y], exponent))
        return sp.coo_matrix((score.astype(np.float32), (x, y)), shape=self.counts.shape)

    def associated(self, min_co_buyers: float, min_rate: float = 0.0) -> sp.csr_matrix:
        """items x items, 1 where ``min_co_buyers`` or more of x's buyers bought y next, a share of x's buyers
        (the conditional rate) of at least ``min_rate`` and above y's base rate (its share of every buyer)."""
        a = self.after.tocoo()
        rate = a.data / np.maximum(self.buyers[a.row], 1)
        ok = (a.data >= min_co_buyers) & (rate >= min_rate) & (rate > self.buyers[a.col] / max(self.customers, 1))
        return sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (a.row[ok], a.col[ok])), shape=a.shape)

    def evidenced(self, config: TrainConfig) -> sp.csr_matrix:
        """The pairs a list may show as bought together (``also_bought_min_co_buyers``, above the base rate)."""
        return self.associated(config.also_bought_min_co_buyers)

    def strong(self, config: TrainConfig) -> sp.csr_matrix:
        """The strongest associations, which an order must keep in its top 10 (``also_bought_strong_*``)."""
        return self.associated(config.also_bought_strong_co_buyers, config.also_bought_strong_rate)

    def near_copies(self, catalogue: CodedCatalog) -> np.ndarray:
        """Per category: whether its items are bought instead of each other (``near_copies.categories``)."""
        return near_copies.categories(self.after, catalogue.category, catalogue.n_categories)


@dataclass
class BoughtNext(Ragged):
    """``also_bought_next``'s lists, and per category whether its items were taken for near-copies."""

    near: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # ``near_copies.categories``


def also_bought_next(
    events: Events, catalogue: CodedCatalog, config: TrainConfig, k: int, order: "AlsoBoughtOrder | None" = None
) -> BoughtNext:
    """Per item x: the k items its buyers bought next (``Together``), near-copies of x damped
    (``near_copies``); an entry below the evidence floor (``Together.evidenced``) has a negative score."""
    order = order or AlsoBoughtOrder.of(config)
    n_items = len(catalogue.category)
    counted = Together.of(events, n_items, config)
    near = counted.near_copies(catalogue)
    together = counted.scores(order.popularity_exponent, order.min_buyers)
    x, y = together.row, together.col
    score = near_copies.damped(x, y, together.data, catalogue.category, near, order.same_category_factor)
    ok = catalogue.available[y] & (score > 0)
    top = _top_positive(x[ok], y[ok], score[ok], n_items, k)
    rows = np.repeat(np.arange(top.rows), top.lengths())
    shown = has(counted.evidenced(config), rows, top.values)
    scores = np.where(shown, top.scores, -top.scores).astype(np.float32)  # below the evidence floor
    return BoughtNext(top.indptr, top.values, scores, near)


def has(m: sp.spmatrix, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Whether m has a nonzero at each (row, item): a search among its sorted keys, a tenth of indexing's time."""
    c = sp.csr_matrix(m)
    c.eliminate_zeros()
    c.sum_duplicates()  # canonical: row-major keys, ascending
    keys = np.repeat(np.arange(c.shape[0], dtype=np.int64), np.diff(c.indptr)) * c.shape[1] + c.indices
    return sorted_keys.member(np.asarray(rows, np.int64) * c.shape[1] + items, keys)


def co_viewed_alternatives(strength: sp.csr_matrix, catalogue: CodedCatalog, per_user: int) -> sp.csr_matrix:
    """items x items: cosine of the users who looked at both, for pairs in the same category.

    Shoppers compare alternatives before they buy one; each user's ``per_user`` strongest items
    bound the cost.
    """
    top = top_of_sparse(strength, per_user)
    rows = np.repeat(np.arange(top.rows), top.lengths())
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, top.values)), shape=strength.shape)
    del top, rows
    users = np.asarray(seen.sum(axis=0)).ravel()
    co = (seen.T @ seen).tocsr()
    del seen
    x = np.repeat(np.arange(co.shape[0], dtype=np.int32), np.diff(co.indptr))
    cat = catalogue.category
    keep = (x != co.indices) & (cat[x] == cat[co.indices]) & (cat[x] >= 0)
    x, y = x[keep], co.indices[keep]
    cosine = co.data[keep] / np.sqrt(users[x] * users[y])
    indptr = np.concatenate(([0], np.cumsum(np.bincount(x, minlength=co.shape[0]))))
    return sp.csr_matrix((cosine.astype(np.float32), y, indptr), shape=co.shape)


def substitutes(similar: Ragged, alternatives: sp.spmatrix, catalogue: CodedCatalog, boost: float, k: int) -> Ragged:
    """Similar lists for substitutes: ALS neighbours plus co-viewed alternatives, the item's own category
    scored ``1 + boost`` times higher. Computed ``SUBSTITUTE_BLOCK`` items at a time: memory stays that of the lists."""
    cat = catalogue.category
    alternatives = sp.csr_matrix(alternatives)
    n_items = similar.rows
    blocks = []
    for lo in range(0, n_items, SUBSTITUTE_BLOCK):
        hi = min(lo + SUBSTITUTE_BLOCK, n_items)
        start, stop = similar.indptr[lo], similar.indptr[hi]
        near = np.repeat(np.arange(lo, hi), similar.lengths()[lo:hi])
        near_items, near_scores = similar.values[start:stop], similar.scores[start:stop]
        same = (cat[near] == cat[near_items]) & (cat[near] >= 0)
        alt = alternatives[lo:hi].tocoo()
        ok = catalogue.available[alt.col]
        x = np.concatenate((near - lo, alt.row[ok]))
        y = np.concatenate((near_items, alt.col[ok]))
        s = np.concatenate((np.where(same, near_scores * (1 + boost), near_scores), alt.data[ok] * (1 + boost)))
        summed = sp.csr_matrix((s.astype(np.float64), (x, y)), shape=(hi - lo, n_items)).tocoo()
        blocks.append(_top_positive(summed.row, summed.col, summed.data, hi - lo, k))
    return stacked(blocks, n_items)


def _top_positive(row_of: np.ndarray, values: np.ndarray, scores: np.ndarray, rows: int, k: int) -> Ragged:
    """``ragged.top_per_row`` for positive scores (ties keep the given order), a tenth of its time at scale:
    one stable sort of a float key in [row, row + 0.5) instead of a sort on two keys."""
    scores = np.asarray(scores, np.float64)
    top = float(scores.max(initial=0.0)) * (1 + 1e-6) or 1.0
    order = np.argsort(row_of + 0.5 * (1.0 - scores / top), kind="stable")
    keep = order[rank_in_row(row_of[order], rows) < k]
    return grouped(row_of[keep], values[keep], scores[keep].astype(np.float32), rows)


@dataclass(frozen=True)
class AlsoBoughtOrder:
    """How an also-bought list is scored: what buyers bought next and the item-kNN neighbours, each scaled to
    0..1 per item and weighted, near-copies damped."""

    next_weight: float = 0.3
    knn_weight: float = 1.0
    same_category_factor: float = 0.5
    popularity_exponent: float = 0.5  # of the bought-next score (``Together.scores``)
    min_buyers: int = 1  # pairs bought next by fewer distinct buyers are left out
    fill: str = ALSO_BOUGHT_FILLS[0]  # what the service shows after the entries (``recsvc.contract.units``)

    @classmethod
    def of(cls, config: TrainConfig) -> "AlsoBoughtOrder":
        """The fixed order the configuration sets: what buyers bought next counts only from the evidence floor on
        (``also_bought_min_co_buyers``), as a list shows it: a single co-buyer is no evidence (docs/quality.md)."""
        next_weight, damping = config.also_bought_next_weight, config.same_category_factor
        return cls(next_weight, 1.0, damping, 0.5, min_buyers=config.also_bought_min_co_buyers)

    def describe(self) -> str:
        evidence = f", pairs of {self.min_buyers}+ buyers" if self.min_buyers > 1 else ""
        return (
            f"bought next x {self.next_weight:g} (popularity exponent {self.popularity_exponent:g}{evidence}) + "
            f"item-kNN x {self.knn_weight:g}, near-copies x {self.same_category_factor:g}, then {self.fill} items"
        )


def also_bought_blend(
    bought_next: BoughtNext,
    neighbours: sp.csr_matrix,
    catalogue: CodedCatalog,
    config: TrainConfig,
    k: int,
    order: AlsoBoughtOrder | None = None,
) -> Ragged:
    """Per item: what its buyers bought next, blended with its item-kNN neighbours (BM25 of every event).

    Purchases alone are too sparse on most shops (measured: item-kNN of all events finds the next purchase
    about twice as often); the bought-next part lifts complements where buyers show them. Each part is
    scaled to 0..1 per item and weighted as ``order`` says (the configuration's fixed order by default);
    an item in both gets both; near-copies are damped in the categories ``bought_next`` took for them. Entries
    not bought together by enough buyers (``Together.evidenced``) get a negative score (their reason is then
    ``viewed_together``, not ``bought_together``), or are left out where they are not item-kNN neighbours
    either."""
    order = order or AlsoBoughtOrder.of(config)
    n_items = len(catalogue.category)
    rows = np.repeat(np.arange(bought_next.rows), bought_next.lengths())
    after = sp.csr_matrix((np.abs(bought_next.scores), (rows, bought_next.values)), shape=(n_items, n_items))
    shown = sp.csr_matrix(((bought_next.scores > 0).astype(np.float32), (rows, bought_next.values)), after.shape)
    shown.eliminate_zeros()
    knn = (neighbours @ sp.diags(catalogue.available.astype(np.float32))).tocoo()
    factor = order.same_category_factor
    damped = near_copies.damped(knn.row, knn.col, knn.data, catalogue.category, bought_next.near, factor)
    knn = sp.csr_matrix((damped, (knn.row, knn.col)), shape=knn.shape)
    blend = (order.next_weight * row_max_scaled(after) + order.knn_weight * row_max_scaled(knn)).tocoo()
    keep = (blend.data > 0) & (blend.row != blend.col)
    top = _top_positive(blend.row[keep], blend.col[keep], blend.data[keep], n_items, k)
    # the sign says what an entry rests on (``recsvc.contract.records.ItemRecord``): bought together (above the
    # evidence floor) or viewed together; what only a buyer or two below the floor bought next is left out
    rows = np.repeat(np.arange(top.rows), top.lengths())
    bought = has(shown, rows, top.values)
    viewed = has(knn, rows, top.values)
    top.scores = np.where(bought, top.scores, -top.scores).astype(np.float32)
    keep = bought | viewed
    return grouped(rows[keep], top.values[keep], top.scores[keep], n_items)

"""The task of each list is its use: what a list's order is chosen, learned and evaluated on, written once.

Each task is built from one time split (the history before a cut, the events after it) and read by the
window's choice of order (``also_bought_order``), the learned order (``also_ranker``) and ``recsvc evaluate``
(``training.evaluation.run``): what is chosen and learned is what is measured.

**also-bought** ("you bought X, see Y"): for each purchase of X (from ``horizon`` before the cut on), the
items the same customer buys *new* (never bought before) after the cut and within ``horizon`` after X.
Scored per subject item X, over the items with ``min_buyers`` or more such buyers. An entry Y's gain is
its lift over popularity, ``max(0, P(Y new within the horizon | bought X) - P(Y new | bought anything) - chance)``
(the second over every customer and subject item of the task, in the same period: busy customers buy more
of everything; chance is ``CHANCE_Z`` standard errors of that base rate among X's buyers): a best-seller that
everyone buys anyway gains nothing as X's complement,
nor does what a few of X's buyers bought by chance, nor what one of them alone bought (``MIN_CO_BUYERS``).
A list is scored by NDCG@10 against those gains.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import DAY
from training import sorted_keys
from training.inputs.readers import PURCHASE, Events
from training.orders import SAME_ORDER_S
from training.ragged import rank_in_row

CHANCE_Z = 2.0
"""A lift counts beyond this many standard errors of the base rate among X's buyers: what X's few buyers bought
by chance (a best-seller's noise is the largest) gains nothing."""
MIN_CO_BUYERS = 2
"""What one customer alone bought after X gains nothing: one basket is no evidence."""
"""Bought this close before X: the same order, so it counts as following X."""


@dataclass
class AlsoBoughtTask:
    """One row per subject item X: the gain of each item Y as X's complement, and what it rests on."""

    subjects: np.ndarray  # item X of each row
    gains: sp.csr_matrix  # rows x items: max(0, conditional rate - base rate)
    co_buyers: sp.csr_matrix  # rows x items: X's buyers who bought Y new within the horizon
    buyers: np.ndarray  # per row: X's buyers in the task
    base: np.ndarray  # per item: share of the task's (customer, subject item) pairs it followed (``_base_rates``)
    customers: int  # customers with a purchase in the task's period

    def __len__(self) -> int:
        return len(self.subjects)

    def rates(self) -> sp.csr_matrix:
        """rows x items: the conditional rate P(Y new within the horizon | bought X)."""
        return sp.diags(1.0 / np.maximum(self.buyers, 1)) @ self.co_buyers

    def describe(self) -> str:
        return f"{len(self)} items bought by enough customers ({self.customers} customers)"


def also_bought_task(
    before: Events, after: Events, cut: int, n_items: int, horizon_days: float, min_buyers: int
) -> AlsoBoughtTask:
    """The also-bought task of a split at ``cut``: the events ``before`` it and ``after`` it, over the same user and
    item codes."""
    horizon = horizon_days * DAY
    user, item, ts = _purchases(before, after)
    key = user * n_items + item
    order = np.lexsort((ts, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]] if len(key) else np.zeros(0, bool)
    new = order[first]  # each customer's first purchase of each item
    new = new[ts[new] >= cut]
    subject = np.flatnonzero(ts >= cut - horizon)
    pairs = _following(user[subject], item[subject], ts[subject], user[new], item[new], ts[new], horizon, n_items)
    triples = sorted_keys.unique(pairs)  # (user, X, Y) once each
    x, y = (triples // n_items) % n_items, triples % n_items
    buyer_keys = sorted_keys.unique(user[subject] * n_items + item[subject])
    buyers = np.bincount(buyer_keys % n_items, minlength=n_items).astype(np.float64)
    customers = len(sorted_keys.unique(user[subject]))
    base = _base_rates(y, buyer_keys, user[ts < cut] * n_items + item[ts < cut], n_items)
    co = sp.csr_matrix((np.ones(len(x), np.float64), (x, y)), shape=(n_items, n_items))
    co.sum_duplicates()
    rate = co.tocoo()
    p, n = base[rate.col], buyers[rate.row]
    gain = rate.data / n - p - CHANCE_Z * np.sqrt(p * (1 - p) / n)
    gain[rate.data < MIN_CO_BUYERS] = 0.0
    gains = sp.csr_matrix((np.maximum(gain, 0.0), (rate.row, rate.col)), shape=co.shape)
    gains.eliminate_zeros()
    keep = np.flatnonzero((buyers >= min_buyers) & (np.diff(gains.indptr) > 0))
    return AlsoBoughtTask(keep, gains[keep], co[keep], buyers[keep], base, customers)


def _base_rates(y: np.ndarray, subject_keys: np.ndarray, before_keys: np.ndarray, n_items: int) -> np.ndarray:
    """Per item Y: the share of the (customer, subject item) pairs that Y followed, among those it could follow
    (a customer who had bought Y cannot buy it new; Y does not follow itself). Over pairs, not customers: a
    busy customer buys more subjects and more of everything, so a rate over customers would leave every
    best-seller a lift among any item's buyers."""
    had = sorted_keys.unique(before_keys)
    pairs_of = np.bincount(subject_keys // n_items, minlength=int(had.max(initial=0)) // n_items + 1)
    had_pairs = np.bincount(had % n_items, weights=pairs_of[had // n_items], minlength=n_items)
    own = subject_keys[~sorted_keys.member(subject_keys, had)]  # a subject pair (u, Y) of a customer new to Y
    eligible = len(subject_keys) - had_pairs - np.bincount(own % n_items, minlength=n_items)
    return np.bincount(y, minlength=n_items) / np.maximum(eligible, 1)


def _purchases(*parts: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, timestamp) of every purchase of the parts, as int64."""
    out = []
    for p in parts:
        buy = p.event == PURCHASE
        out.append((p.user[buy].astype(np.int64), p.item[buy].astype(np.int64), p.timestamp[buy].astype(np.int64)))
    return tuple(np.concatenate([o[n] for o in out]) for n in range(3))  # type: ignore[return-value]


def _following(su, sx, st, nu, ny, nt, horizon: float, n: int) -> np.ndarray:
    """Keys ((user * n + X) * n + Y): a new purchase (nu, ny, nt) within ``horizon`` after the same user's subject
    purchase (su, sx, st), or in its order, Y != X."""
    order = np.argsort(su, kind="stable")
    su, sx, st = su[order], sx[order], st[order]
    lo, hi = np.searchsorted(su, nu, "left"), np.searchsorted(su, nu, "right")
    count = hi - lo
    label = np.repeat(np.arange(len(nu)), count)
    at = np.arange(len(label)) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
    gap = nt[label] - st[at]
    ok = (gap >= -SAME_ORDER_S) & (gap <= horizon) & (sx[at] != ny[label])
    label, at = label[ok], at[ok]
    return (su[at] * n + sx[at]) * n + ny[label]


def ranked_entries(scores: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positive entries of every row, best first (ties by item): their rows, columns and ranks in the row."""
    m = scores.tocsr().copy()
    m.sort_indices()
    m = m.tocoo()
    keep = m.data > 0
    row, col, data = m.row[keep].astype(np.int64), m.col[keep].astype(np.int64), m.data[keep]
    # by row, best first, ties by item: one stable sort of a float key in [row, row + 0.5)
    order = np.argsort(row + 0.5 * (1.0 - data / (data.max(initial=0.0) * (1 + 1e-6) or 1.0)), kind="stable")
    row, col = row[order], col[order]
    return row, col, rank_in_row(row, scores.shape[0])


def ndcg_graded(scores: sp.csr_matrix, gains: sp.csr_matrix, at: int = 10) -> np.ndarray:
    """Per row: NDCG@at of the row's positive entries, best first (ties by item), against graded gains."""
    row, col, rank = ranked_entries(scores)
    top = rank < at
    row, col, rank = row[top], col[top], rank[top]
    discount = 1.0 / np.log2(np.arange(at) + 2)
    found = np.asarray(gains.tocsr()[row, col]).ravel() if len(row) else np.zeros(0)
    dcg = np.bincount(row, weights=found * discount[rank], minlength=scores.shape[0])
    return dcg / _ideal(gains, at)


def ndcg_of_rows(scores: sp.csr_matrix, relevant: sp.csr_matrix, at: int = 10) -> np.ndarray:
    """Per row: NDCG@at of the row's positive entries, best first, against its relevant items (binary)."""
    row, col, rank = ranked_entries(scores)
    top = rank < at
    row, col, rank = row[top], col[top], rank[top]
    wanted = relevant.tocoo()
    keys = sorted_keys.unique(wanted.row.astype(np.int64) * scores.shape[1] + wanted.col)
    hit = sorted_keys.member(row * scores.shape[1] + col, keys)
    discount = 1.0 / np.log2(np.arange(at) + 2)
    dcg = np.bincount(row[hit], weights=discount[rank[hit]], minlength=scores.shape[0])
    ideal = np.cumsum(discount)[np.clip(np.diff(relevant.indptr), 1, at) - 1]
    return dcg / ideal


def _ideal(gains: sp.csr_matrix, at: int) -> np.ndarray:
    """Per row: the DCG@at of its gains in their best order."""
    g = gains.tocsr()
    discount = 1.0 / np.log2(np.arange(at) + 2)
    ideal = np.zeros(g.shape[0])
    for r in range(g.shape[0]):
        best = np.sort(g.data[g.indptr[r] : g.indptr[r + 1]])[::-1][:at]
        ideal[r] = float(best @ discount[: len(best)])
    return np.maximum(ideal, 1e-12)


def ranked_scores(ranked: np.ndarray, n_items: int) -> sp.csr_matrix:
    """rows x items: a ranked list per row (item codes, -1 padding) as decreasing positive scores."""
    rows, ranks = np.nonzero(ranked >= 0)
    score = 1.0 / (1.0 + ranks)
    return sp.csr_matrix((score, (rows, ranked[rows, ranks])), shape=(len(ranked), n_items))


def kept_in_top(wanted: sp.csr_matrix, scores: sp.csr_matrix, at: int = 10) -> np.ndarray:
    """Per row: the share of its ``wanted`` entries (nonzero) that are among its top ``at`` positive scores
    (nan where it wants none)."""
    top = _top_mask(scores, at)
    hit = np.asarray(wanted.multiply(top).getnnz(axis=1)).ravel().astype(np.float64)
    total = np.diff(wanted.tocsr().indptr).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hit / total, np.nan)


def _top_mask(scores: sp.csr_matrix, at: int) -> sp.csr_matrix:
    """rows x items: 1 at each row's top ``at`` positive entries (ties by item)."""
    row, col, rank = ranked_entries(scores)
    top = rank < at
    return sp.csr_matrix((np.ones(int(top.sum()), np.float32), (row[top], col[top])), shape=scores.shape)


def paired_gain(mine: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """The mean of ``mine - other`` over rows, and half its 95% interval (normal, paired)."""
    gain = mine - other
    spread = 1.96 * gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    return float(gain.mean()) if len(gain) else 0.0, float(spread)

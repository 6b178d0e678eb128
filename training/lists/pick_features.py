"""The candidates of a user's picks and their features: what the learned and the fixed orders rank them on."""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import DAY
from training import sorted_keys
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.inputs.readers import ADDTOCART, Events
from training.lists.generators import Generators
from training.ragged import rank_in_row

FEATURES = (
    "als",
    "als_rank",
    "knn",
    "knn_rank",
    "ease",
    "ease_rank",
    "viewed",
    "popular",
    "blend",
    "carted",
    "days_since_seen",
    "item_popularity",
    "item_trend",
    "price",
    "user_items",
    "user_days_idle",
    "category_share",
)
"""The ranking model's inputs for one (user, candidate item) pair."""
MISSING_RANK = 1_000.0
"""The rank of a candidate a generator did not propose."""


@dataclass
class Candidates:
    """The candidate pairs of a set of users, with their features."""

    users: np.ndarray  # user code per pair, ascending
    items: np.ndarray  # item code per pair
    features: np.ndarray  # pairs x FEATURES, float32
    parts: dict[str, sp.csr_matrix] = field(default_factory=dict)  # generator scores, rows = ``rows_of`` users
    rows_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the users, one row each

    def column(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]


def blend_score(parts: dict[str, np.ndarray], config: TrainConfig) -> np.ndarray:
    """The fixed blend at each pair (the ``blend_*`` weights): ALS, item-kNN, re-offered views (1..2), popularity."""
    viewed = parts["viewed"]
    return (
        config.blend_als * parts["als"]
        + config.blend_knn * parts["knn"]
        + config.blend_history * np.where(viewed > 0, 1.0 + viewed, 0.0)
        + config.blend_popularity * parts["popular"]
    ).astype(np.float32)


@dataclass
class EventFacts:
    """What the features need from the raw events, computed once per history."""

    pair_keys: np.ndarray  # sorted user * n_items + item of every pair with an event
    pair_last: np.ndarray  # the pair's last event time
    cart_keys: np.ndarray  # sorted keys of the pairs with a cart event
    trend: np.ndarray  # per item
    idle_days: np.ndarray  # per user

    @classmethod
    def of(cls, events: Events, now: int, n_users: int, n_items: int) -> "EventFacts":
        keys = events.user.astype(np.int64) * n_items + events.item
        order = np.lexsort((events.timestamp, keys))
        keys_sorted, ts = keys[order], events.timestamp[order]
        last = np.ones(len(keys_sorted), bool)
        last[:-1] = keys_sorted[1:] != keys_sorted[:-1]
        return cls(
            keys_sorted[last],
            ts[last],
            sorted_keys.unique(keys[events.event == ADDTOCART]),
            _trend(events, now, n_items),
            _idle_days(events, now, n_users),
        )

    def last_seen(self, wanted: np.ndarray) -> np.ndarray:
        """The last event time of each pair key, -1 where the user never touched the item."""
        if not len(self.pair_keys):
            return np.full(len(wanted), -1.0)
        at = np.minimum(np.searchsorted(self.pair_keys, wanted), len(self.pair_keys) - 1)
        return np.where(self.pair_keys[at] == wanted, self.pair_last[at], -1).astype(np.float64)


def gather(gens: Generators, data: Dataset, facts: EventFacts, users: np.ndarray, config: TrainConfig) -> Candidates:
    """The union of the generators' candidates for the users (never what they bought), with features."""
    inter = gens.inter
    n_items = inter.strength.shape[1]
    parts = gens.all(users)
    union = sum(((m > 0).astype(np.float32) for m in parts.values()), sp.csr_matrix((len(users), n_items)))
    union = (union - union.multiply(inter.purchases[users] > 0)).tocsr()
    union.eliminate_zeros()
    union = (union.multiply(gens.catalogue.available[None, :].astype(np.float32))).tocsr()
    union.eliminate_zeros()
    union.sum_duplicates()
    union.sort_indices()
    union.data[:] = 1.0
    rows = np.repeat(np.arange(len(users)), np.diff(union.indptr))  # by row, then item: the csr order
    items = union.indices.astype(np.int64)
    values = {name: _at(union, m) for name, m in parts.items() if name != "popular"}
    # popularity is a prior on every candidate, not only on those the popular generator proposed
    values["popular"] = gens.popularity_of(items)
    columns = {name: values[name] for name in ("als", "knn", "ease", "viewed", "popular")}
    columns |= {f"{name}_rank": _rank_at(union, parts[name]) for name in ("als", "knn", "ease")}
    columns["blend"] = blend_score(values, config)
    user_codes = users[rows]
    wanted = user_codes.astype(np.int64) * n_items + items
    last_seen = facts.last_seen(wanted)
    columns["carted"] = sorted_keys.member(wanted, facts.cart_keys)
    columns["days_since_seen"] = np.where(last_seen >= 0, (inter.now - last_seen) / DAY, np.nan)
    columns["item_popularity"] = np.log1p(inter.popularity[items])
    columns["item_trend"] = facts.trend[items]
    columns["price"] = np.log1p(np.where(np.isfinite(data.prices[items]), data.prices[items], np.nan))
    history = gens.history(users)
    columns["user_items"] = np.log1p(np.diff(history.indptr))[rows]
    columns["user_days_idle"] = facts.idle_days[user_codes]
    columns["category_share"] = _category_share(history, gens.catalogue, rows, items)
    features = np.empty((len(rows), len(FEATURES)), np.float32)
    for n, name in enumerate(FEATURES):
        features[:, n] = columns[name]
    return Candidates(user_codes, items, features, parts=parts, rows_of=users)


def _at(union: sp.csr_matrix, m: sp.csr_matrix) -> np.ndarray:
    """m's value at each entry of ``union`` (canonical, every value 1), in the union's order; 0 where m has none."""
    inside = m.tocsr().multiply(union).tocsr()  # m's entries within the union's structure
    aligned = (union + inside.astype(np.float64)).tocsr()  # exactly the union's structure, 1 + m's value
    aligned.sort_indices()
    return (aligned.data - 1.0).astype(np.float32)


def _rank_at(union: sp.csr_matrix, m: sp.csr_matrix) -> np.ndarray:
    """Each union entry's rank within its row of m (0 = best), MISSING_RANK where m has none."""
    coo = m.tocoo()
    # by row, best first, ties in stored order: one stable sort of a float key in [row, row + 0.5)
    top = float(coo.data.max(initial=0.0)) * (1 + 1e-6) or 1.0
    order = np.argsort(coo.row + 0.5 * (1.0 - coo.data.astype(np.float64) / top), kind="stable")
    rank = rank_in_row(coo.row[order], m.shape[0]).astype(np.float32)
    ranked = sp.csr_matrix((rank + 1.0, (coo.row[order], coo.col[order])), shape=m.shape)
    found = _at(union, ranked)
    return np.where(found > 0, found - 1.0, MISSING_RANK).astype(np.float32)


def _sparse_at(m: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """m[rows[n], cols[n]] for every n, 0 where not stored."""
    m = m.tocsr()
    m.sum_duplicates()
    n_cols = m.shape[1]
    coo = m.tocoo()
    keys = coo.row.astype(np.int64) * n_cols + coo.col
    order = np.argsort(keys)
    keys, data = keys[order], coo.data[order]
    wanted = rows * n_cols + cols
    at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    found = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), bool)
    return np.where(found, data[at] if len(keys) else 0.0, 0.0).astype(np.float32)


def _trend(events: Events, now: int, n_items: int) -> np.ndarray:
    """Per item: the share of its last 30 days' events that came in the last 7 (0.23 is flat)."""
    age = now - events.timestamp
    month = np.bincount(events.item[age < 30 * DAY], minlength=n_items).astype(np.float32)
    week = np.bincount(events.item[age < 7 * DAY], minlength=n_items).astype(np.float32)
    return np.divide(week, month, out=np.full(n_items, np.nan, np.float32), where=month > 0)


def _idle_days(events: Events, now: int, n_users: int) -> np.ndarray:
    last = np.full(n_users, -1, np.int64)
    np.maximum.at(last, events.user, events.timestamp)
    return np.where(last >= 0, (now - last) / DAY, np.nan).astype(np.float32)


def _category_share(history: sp.csr_matrix, catalogue: CodedCatalog, rows, items) -> np.ndarray:
    """The share of the user's (decayed) interest that went to the item's category."""
    leaf = catalogue.leaf()
    per_category = (history @ leaf).tocsr()
    total = np.asarray(history.sum(axis=1)).ravel()
    category = catalogue.category[items]
    share = _sparse_at(per_category, rows, np.maximum(category, 0))
    return np.where((category >= 0) & (total[rows] > 0), share / np.maximum(total[rows], 1e-9), np.nan)

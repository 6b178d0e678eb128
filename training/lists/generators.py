"""Candidate generators for the personalized picks: each scores items for a set of users.

Every generator is fitted on one history (an ``Interactions`` and its ALS ``Factors``) and
returns a users x items sparse matrix of scores, scaled to 0..1 per user where the raw scores
are not comparable across users. The ranker (``ranker.py``) takes the union of their
candidates and learns how much each one counts on this shop.

Each generator picks its top items among those the user has not bought: picks never offer a bought
item, so a generator that spent its places on them would leave a grocer's regulars (who bought most
of what it ranks first) with few or no candidates of its own.
"""

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender, bm25_weight

from training.catalogue import CodedCatalog
from training.interactions import Interactions
from training.lists.candidates import QUERY_BATCH, batched_topk
from training.model import Factors

ALS_MARGIN = 10
"""ALS proposes this many more candidates than the other generators (measured: its tail still finds purchases)."""
BM25_K1, BM25_B = 1.2, 0.75
"""BM25's term saturation and length normalization, as implicit's ``BM25Recommender`` sets them."""
POPULAR_REACH = 5
"""The popular generator looks this many times deeper into the best sellers than it proposes, for users who
bought the first ones."""


class Generators:
    """The generators of one history; ``all(users)`` gives each one's scores for the users."""

    def __init__(
        self,
        inter: Interactions,
        factors: Factors,
        pool: np.ndarray,
        catalogue: CodedCatalog,
        *,
        per_generator: int,
        knn_neighbours: int,
        popular: int,
        ease_items: int = 0,
        ease_l2: float = 200.0,
        neighbours: sp.csr_matrix | None = None,
    ):
        self.inter, self.factors, self.pool, self.catalogue = inter, factors, pool, catalogue
        self.k = per_generator
        n_items = inter.strength.shape[1]
        self.neighbours = neighbours if neighbours is not None else item_neighbours(inter.strength, knn_neighbours)
        self.fitted_row = np.full(inter.strength.shape[0], -1, np.int64)
        self.fitted_row[factors.users] = np.arange(len(factors.users))
        weight = np.where(catalogue.available, inter.popularity, 0)
        order = np.argsort(-weight, kind="stable")
        # enough of the best sellers that most users, regulars of the staples too, keep ``popular`` unbought
        self.popular = order[: min(POPULAR_REACH * popular, int((weight > 0).sum()))]
        self.popular_k = popular
        self.available = sp.diags(catalogue.available.astype(np.float32), shape=(n_items, n_items))
        self.ease_items, self.ease_weights = ease_weights(inter.strength, ease_items, ease_l2)

    def history(self, users: np.ndarray) -> sp.csr_matrix:
        return self.inter.strength[users].tocsr()

    def bought(self, users: np.ndarray) -> sp.csr_matrix:
        """users x items: 1 where the user bought the item."""
        return (self.inter.purchases[users] > 0).astype(np.float32).tocsr()

    def als(self, users: np.ndarray) -> sp.csr_matrix:
        """implicit ALS: each fitted user's top pool items they have not bought (``ALS_MARGIN`` more than the
        others propose), scaled by the user's best score."""
        n_items = self.inter.strength.shape[1]
        rows = self.fitted_row[users]
        fitted = np.flatnonzero(rows >= 0)
        out = sp.csr_matrix((len(users), n_items), dtype=np.float32)
        if not len(fitted) or not len(self.pool):
            return out
        # no per-user filter (implicit applies it row by row in Python): users in batches, fewest bought pool
        # items first, each batch asking for as many more as its users bought at most; the bought ones dropped
        in_pool = np.zeros(n_items, np.float32)
        in_pool[self.pool] = 1.0
        bought = self.bought(users[fitted]) @ sp.diags(in_pool)
        bought.eliminate_zeros()
        extra = np.diff(bought.indptr)
        parts = []
        for batch in np.array_split(np.argsort(extra, kind="stable"), max(1, -(-len(fitted) // QUERY_BATCH))):
            if not len(batch):
                continue
            ids, scores = batched_topk(
                self.factors.item_factors[self.pool],
                self.factors.user_factors[rows[fitted[batch]]],
                self.k + ALS_MARGIN + int(extra[batch].max()),
            )
            valid = (ids >= 0) & np.isfinite(scores) & (scores > 0)
            best = np.where(valid[:, :1], scores[:, :1], 1.0)  # the user's best item, bought or not
            scaled = np.divide(scores, best, out=np.zeros_like(scores), where=valid)
            parts.append((np.repeat(fitted[batch], ids.shape[1])[valid.ravel()], self.pool[ids[valid]], scaled[valid]))
        row_of, items, scaled = (np.concatenate(p) for p in zip(*parts))
        found = sp.csr_matrix((scaled.astype(np.float32), (row_of, items)), shape=out.shape)
        return _top_per_row(_without(found, self.bought(users)), self.k + ALS_MARGIN)

    def knn(self, users: np.ndarray) -> sp.csr_matrix:
        """Item-kNN (BM25) of the user's history, scaled by the user's best score, without what they bought."""
        return _without(row_max_scaled(self.history(users) @ self.neighbours), self.bought(users)) @ self.available

    def viewed(self, users: np.ndarray) -> sp.csr_matrix:
        """What the user viewed, carted or wished for and did not buy, by decayed strength."""
        history = self.history(users)
        viewed = history - history.multiply(self.inter.purchases[users] > 0)
        viewed.eliminate_zeros()
        return row_max_scaled(viewed) @ self.available

    def ease(self, users: np.ndarray) -> sp.csr_matrix:
        """EASE (Steck 2019) over the most active items: each user's top items, scaled by the best score."""
        n_items = self.inter.strength.shape[1]
        out = sp.csr_matrix((len(users), n_items), dtype=np.float32)
        if not len(self.ease_items):
            return out
        history = (self.history(users)[:, self.ease_items] > 0).astype(np.float32)
        bought = self.bought(users)[:, self.ease_items].tocsr()
        k = min(self.k, len(self.ease_items))
        parts = []
        for start in range(0, len(users), 4096):
            scores = np.asarray(history[start : start + 4096] @ self.ease_weights)
            best = np.maximum(scores.max(axis=1, keepdims=True), 1e-9)  # the user's best item, bought or not
            own = bought[start : start + 4096].tocoo()
            scores[own.row, own.col] = -np.inf  # never offered: not among the k
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            values = np.take_along_axis(scores, top, axis=1)
            keep = (values > 0) & np.isfinite(values)
            rows = np.repeat(np.arange(start, start + len(scores)), k).reshape(-1, k)
            parts.append((rows[keep], self.ease_items[top[keep]], (values / best)[keep]))
        if not parts:
            return out
        rows, cols, data = (np.concatenate(p) for p in zip(*parts))
        available = self.catalogue.available[cols]
        return sp.csr_matrix((data[available].astype(np.float32), (rows[available], cols[available])), shape=out.shape)

    def popularity_of(self, items: np.ndarray) -> np.ndarray:
        """Each item's recency-weighted popularity, scaled to the best seller (0..1)."""
        top = float(self.inter.popularity.max(initial=0.0)) or 1.0
        return (self.inter.popularity[items] / top).astype(np.float32)

    def popularity(self, users: np.ndarray) -> sp.csr_matrix:
        """The most popular available items each user has not bought, scaled to the best seller."""
        weight = self.inter.popularity[self.popular]
        scaled = (weight / (weight.max() if len(weight) and weight.max() > 0 else 1.0)).astype(np.float32)
        n = len(self.popular)
        everyone = sp.csr_matrix(
            (np.tile(scaled, len(users)), (np.repeat(np.arange(len(users)), n), np.tile(self.popular, len(users)))),
            shape=(len(users), self.inter.strength.shape[1]),
        )
        return _top_per_row(_without(everyone, self.bought(users)), self.popular_k)

    def all(self, users: np.ndarray) -> dict[str, sp.csr_matrix]:
        """Every generator's scores for the users, by name."""
        return {
            "als": self.als(users),
            "knn": _top_per_row(self.knn(users), self.k),
            "ease": self.ease(users),
            "viewed": self.viewed(users),
            "popular": self.popularity(users),
        }


def _without(m: sp.csr_matrix, bought: sp.csr_matrix) -> sp.csr_matrix:
    """m without the entries where ``bought`` has one."""
    kept = (m - m.multiply(bought)).tocsr()
    kept.eliminate_zeros()
    return kept


def _top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Only the k largest entries of each row (positive values)."""
    m = m.tocsr()
    lengths = np.diff(m.indptr)
    if not len(lengths) or lengths.max(initial=0) <= k:
        return m
    row_of = np.repeat(np.arange(m.shape[0]), lengths)
    # by row, largest first, ties in stored order: one stable sort of a float key in [row, row + 0.5)
    top = float(m.data.max(initial=0.0)) * (1 + 1e-6) or 1.0
    order = np.argsort(row_of + 0.5 * (1.0 - m.data.astype(np.float64) / top), kind="stable")
    rank = np.arange(len(order)) - np.repeat(m.indptr[:-1], lengths)
    keep = order[rank < k]
    return sp.csr_matrix((m.data[keep], (row_of[keep], m.indices[keep])), shape=m.shape)


def ease_weights(strength: sp.csr_matrix, max_items: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """EASE's item weights over the ``max_items`` items most users touched (none when 0)."""
    binary = (strength > 0).astype(np.float32).tocsc()
    counts = np.diff(binary.indptr)
    touched = np.flatnonzero(counts > 0)
    items = np.sort(touched[np.argsort(-counts[touched], kind="stable")[:max_items]])
    if len(items) < 2:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    x = binary[:, items].tocsr()
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    weights = (inverse / -np.diag(inverse)).astype(np.float32)
    np.fill_diagonal(weights, 0.0)
    return items, weights


def item_neighbours(strength: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """items x items BM25 similarity, the top k per item (implicit's all-pairs kNN).

    implicit's ``BM25Recommender`` on the history is its ``ItemItemRecommender`` on the history's BM25 weights; given
    them as CSR, it has no COO matrix to convert and no warning to raise (silencing it swaps the process's warning
    filters, which a thread beside would see: ``training/window.py``)."""
    weighted = bm25_weight(strength.astype(np.float32).T, BM25_K1, BM25_B).T.tocsr()
    model = ItemItemRecommender(K=k)
    model.fit(weighted, show_progress=False)
    similarity = model.similarity.tocsr().astype(np.float32)
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    return similarity


def row_max_scaled(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its largest value, so every part of the blend is on 0..1."""
    m = m.tocsr().astype(np.float32)
    top = np.zeros(m.shape[0], np.float32)
    nonempty = np.diff(m.indptr) > 0
    top[nonempty] = np.maximum.reduceat(m.data, m.indptr[:-1][nonempty]) if m.nnz else 0
    top[top <= 0] = 1.0
    return sp.diags(1.0 / top) @ m

"""Candidate generators for the personalized picks: each scores items for a set of users.

Every generator is fitted on one history (an ``Interactions`` and its ALS ``Factors``) and
returns a users x items sparse matrix of scores, scaled to 0..1 per user where the raw scores
are not comparable across users. The ranker (``ranker.py``) takes the union of their
candidates and learns how much each one counts on this shop.
"""

import numpy as np
import scipy.sparse as sp

from training.interactions import Interactions
from training.lists.blend import item_neighbours, row_max_scaled
from training.lists.candidates import CodedCatalog, batched_topk
from training.model import Factors


class Generators:
    """The generators of one history; ``candidates(users)`` is the union of their top lists."""

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
    ):
        self.inter, self.factors, self.pool, self.catalogue = inter, factors, pool, catalogue
        self.k = per_generator
        n_items = inter.strength.shape[1]
        self.neighbours = item_neighbours(inter.strength.tocsr(), knn_neighbours)
        self.fitted_row = np.full(inter.strength.shape[0], -1, np.int64)
        self.fitted_row[factors.users] = np.arange(len(factors.users))
        weight = np.where(catalogue.available, inter.popularity, 0)
        order = np.argsort(-weight, kind="stable")
        self.popular = order[: min(popular, int((weight > 0).sum()))]
        self.available = sp.diags(catalogue.available.astype(np.float32), shape=(n_items, n_items))

    def history(self, users: np.ndarray) -> sp.csr_matrix:
        return self.inter.strength[users].tocsr()

    def als(self, users: np.ndarray) -> sp.csr_matrix:
        """implicit ALS: each fitted user's top pool items, scaled by the user's best score."""
        n_items = self.inter.strength.shape[1]
        rows = self.fitted_row[users]
        fitted = np.flatnonzero(rows >= 0)
        out = sp.csr_matrix((len(users), n_items), dtype=np.float32)
        if not len(fitted) or not len(self.pool):
            return out
        bought = self.inter.purchases[users[fitted]][:, self.pool].tocsr()
        ids, scores = batched_topk(
            self.factors.item_factors[self.pool], self.factors.user_factors[rows[fitted]], self.k, filters=bought
        )
        valid = (ids >= 0) & np.isfinite(scores) & (scores > 0)
        best = np.where(valid[:, :1], scores[:, :1], 1.0)
        scaled = np.divide(scores, best, out=np.zeros_like(scores), where=valid)
        row_of = np.repeat(fitted, ids.shape[1])[valid.ravel()]
        items = self.pool[np.maximum(ids, 0)][valid]
        return sp.csr_matrix((scaled[valid].astype(np.float32), (row_of, items)), shape=out.shape)

    def knn(self, users: np.ndarray) -> sp.csr_matrix:
        """Item-kNN (BM25) of the user's history, scaled by the user's best score."""
        return row_max_scaled(self.history(users) @ self.neighbours) @ self.available

    def viewed(self, users: np.ndarray) -> sp.csr_matrix:
        """What the user viewed, carted or wished for and did not buy, by decayed strength."""
        history = self.history(users)
        viewed = history - history.multiply(self.inter.purchases[users] > 0)
        viewed.eliminate_zeros()
        return row_max_scaled(viewed) @ self.available

    def popularity(self, users: np.ndarray) -> sp.csr_matrix:
        """The most popular available items, for everyone, scaled to the best seller."""
        weight = self.inter.popularity[self.popular]
        scaled = (weight / (weight.max() if len(weight) and weight.max() > 0 else 1.0)).astype(np.float32)
        n = len(self.popular)
        return sp.csr_matrix(
            (np.tile(scaled, len(users)), (np.repeat(np.arange(len(users)), n), np.tile(self.popular, len(users)))),
            shape=(len(users), self.inter.strength.shape[1]),
        )

    def all(self, users: np.ndarray) -> dict[str, sp.csr_matrix]:
        """Every generator's scores for the users, by name."""
        return {
            "als": self.als(users),
            "knn": _top_per_row(self.knn(users), self.k),
            "viewed": self.viewed(users),
            "popular": self.popularity(users),
        }


def _top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Only the k largest entries of each row."""
    m = m.tocsr()
    lengths = np.diff(m.indptr)
    if not len(lengths) or lengths.max(initial=0) <= k:
        return m
    row_of = np.repeat(np.arange(m.shape[0]), lengths)
    order = np.lexsort((-m.data, row_of))
    rank = np.arange(len(order)) - np.repeat(m.indptr[:-1], lengths)
    keep = order[rank < k]
    return sp.csr_matrix((m.data[keep], (row_of[keep], m.indices[keep])), shape=m.shape)

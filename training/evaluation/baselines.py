"""The alternatives a model must beat, each scoring every item for a batch of users.

Every scorer is fitted on the train half's weighted matrix (the same input ALS gets) and
returns a dense users x items score matrix; ranking and filtering happen in one place.
"""

import logging
import warnings

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

from training.interactions import Interactions
from training.lists.generators import ease_weights

log = logging.getLogger(__name__)

EASE_MAX_ITEMS = 5_000
"""EASE inverts an items x items matrix: it runs on at most this many of the most popular items."""


class Scorer:
    """Scores all items for users; ``name`` labels it in the report."""

    name = "scorer"

    def fit(self, inter: Interactions) -> "Scorer":
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Popular(Scorer):
    """The same items for everyone: by weighted events over the whole train half, or recent-weighted."""

    def __init__(self, recent: bool = False):
        self.recent = recent
        self.name = "popular_recent" if recent else "popular"

    def fit(self, inter):
        if self.recent:
            self.popularity = inter.popularity.astype(np.float32)
        else:
            self.popularity = np.asarray((inter.strength > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def scores(self, users):
        return np.broadcast_to(self.popularity, (len(users), len(self.popularity))).copy()


class History(Scorer):
    """The user's own items, strongest first (re-offering what they viewed); popular items after."""

    name = "own_history"

    def fit(self, inter):
        self.strength = inter.strength.tocsr()
        self.popular = Popular().fit(inter).popularity
        self.popular = self.popular / (self.popular.max() or 1.0)
        return self

    def scores(self, users):
        own = self.strength[users].toarray()
        return np.where(own > 0, 1.0 + own, self.popular[None, :] * 0.999).astype(np.float32)


class ItemKNN(Scorer):
    """implicit's item-item nearest neighbours (cosine or BM25): score = history x item similarity."""

    def __init__(self, kind: str = "cosine", neighbours: int = 100):
        self.kind, self.neighbours = kind, neighbours
        self.name = f"itemknn_{kind}"

    def fit(self, inter):
        self.history = inter.strength.tocsr().astype(np.float32)
        model = (CosineRecommender if self.kind == "cosine" else BM25Recommender)(K=self.neighbours)
        with warnings.catch_warnings():  # its own weighting hands itself a COO matrix
            warnings.simplefilter("ignore", ParameterWarning)
            model.fit(self.history, show_progress=False)
        self.similarity = model.similarity.tocsr().astype(np.float32)
        return self

    def scores(self, users):
        return (self.history[users] @ self.similarity).toarray()


class BPR(Scorer):
    """implicit's Bayesian personalized ranking."""

    name = "bpr"

    def __init__(self, factors: int = 64, iterations: int = 100, random_state: int = 42):
        self.factors, self.iterations, self.random_state = factors, iterations, random_state

    def fit(self, inter):
        binary = (inter.strength > 0).astype(np.float32).tocsr()
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=self.factors, iterations=self.iterations, random_state=self.random_state
            )
            model.fit(binary, show_progress=False)
        self.user_factors, self.item_factors = model.user_factors, model.item_factors
        return self

    def scores(self, users):
        return self.user_factors[users] @ self.item_factors.T


class EASE(Scorer):
    """Embarrassingly shallow autoencoder (Steck 2019), closed form, over the most popular items."""

    name = "ease"

    def __init__(self, l2: float = 200.0, max_items: int = EASE_MAX_ITEMS):
        self.l2, self.max_items = l2, max_items

    def fit(self, inter):
        self.items, self.weights = ease_weights(inter.strength, self.max_items, self.l2)  # as the generator
        self.history = (inter.strength[:, self.items] > 0).astype(np.float32).tocsr()
        self.n_items = inter.strength.shape[1]
        return self

    def scores(self, users):
        out = np.full((len(users), self.n_items), -1e9, dtype=np.float32)
        out[:, self.items] = self.history[users] @ self.weights
        return out


def default_baselines() -> list[Scorer]:
    """Popularity (overall, recent), the user's own history, item-kNN (cosine, BM25), BPR, and EASE."""
    return [Popular(), Popular(recent=True), History(), ItemKNN("cosine"), ItemKNN("bm25"), BPR(), EASE()]

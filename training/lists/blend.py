"""Personalized picks as a blend: ALS, item-kNN from the user's history, the history itself, popularity.

Measured offline (docs/quality.md), ALS alone loses on e-commerce data to item-kNN and to
re-offering what a user viewed; the blend wins. It stays cheap at scale: ALS contributes
its top-k per fitted user, item-kNN is a sparse history x neighbours product (top
``knn_neighbours`` per item), and each user's list is a top-k over the union.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender
from implicit.utils import ParameterWarning

from training.config import TrainConfig
from training.interactions import Interactions
from training.lists.candidates import CodedCatalog, batched_topk, explaining_items, user_picks
from training.model import Factors
from training.ragged import Ragged, grouped, rank_in_row


def item_neighbours(strength: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """items x items BM25 similarity, the top k per item (implicit's all-pairs kNN)."""
    model = BM25Recommender(K=k)
    with warnings.catch_warnings():  # its own weighting hands itself a COO matrix
        warnings.simplefilter("ignore", ParameterWarning)
        model.fit(strength.astype(np.float32).tocsr(), show_progress=False)
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


def blended_picks(
    inter: Interactions, factors: Factors, pool: np.ndarray, catalogue: CodedCatalog, config: TrainConfig
) -> tuple[Ragged, np.ndarray]:
    """Each user's top picks by the blended score, without what they bought; and the item explaining each.

    With every weight but ALS's at zero these are the plain ALS picks of ``candidates.user_picks``.
    """
    if not (config.blend_knn or config.blend_history or config.blend_popularity):
        return user_picks(inter, factors, pool, config.picks_per_user, config.picks_min_items)
    n_users, n_items = inter.strength.shape
    k = config.picks_per_user
    in_pool = np.zeros(n_items, dtype=bool)
    in_pool[pool] = True
    allowed = sp.diags((in_pool & catalogue.available).astype(np.float32))
    # lighter users get no precomputed picks: the service serves them from their items' lists
    picked = np.diff(inter.strength.indptr) >= config.picks_min_items
    parts = []
    # ALS: its top k per fitted user, scaled by the user's best score
    rows = np.flatnonzero(picked[factors.users])
    users = factors.users[rows]
    bought = inter.purchases[users][:, pool].tocsr()
    ids, scores = batched_topk(factors.item_factors[pool], factors.user_factors[rows], k, filters=bought)
    valid = (ids >= 0) & np.isfinite(scores) & (scores > 0)
    best = np.where(valid[:, :1], scores[:, :1], 1.0)
    scaled = np.divide(scores, best, out=np.zeros_like(scores), where=valid)
    row_of = np.repeat(users, ids.shape[1])[valid.ravel()]
    als = sp.csr_matrix(
        (scaled[valid].astype(np.float32), (row_of, pool[np.maximum(ids, 0)][valid])), shape=(n_users, n_items)
    )
    parts.append(als * config.blend_als)
    history = sp.diags(picked.astype(np.float32)) @ inter.strength.tocsr()
    history.eliminate_zeros()
    if config.blend_knn > 0:
        neighbours = item_neighbours(inter.strength.tocsr(), config.knn_neighbours)  # learned from everyone
        knn = row_max_scaled(history @ neighbours) @ allowed
        parts.append(knn * config.blend_knn)
    if config.blend_history > 0:
        viewed = history - history.multiply(inter.purchases > 0)
        viewed.eliminate_zeros()
        viewed = row_max_scaled(viewed) @ sp.diags(catalogue.available.astype(np.float32))
        parts.append(
            (viewed + (viewed > 0).astype(np.float32)) * config.blend_history
        )  # 1..2: on top of any other part
    blend = sum(parts[1:], parts[0]).tocsr()
    blend = (blend - blend.multiply(inter.purchases > 0)).tocoo()
    popularity = inter.popularity / (inter.popularity.max() or 1.0)
    score = blend.data + config.blend_popularity * popularity[blend.col]
    keep = score > 0
    picks = _top_k(blend.row[keep], blend.col[keep], score[keep].astype(np.float32), n_users, k)
    return picks, _reasons(inter, factors, picks, k)


def _top_k(row_of: np.ndarray, values: np.ndarray, scores: np.ndarray, rows: int, k: int) -> Ragged:
    """``top_per_row`` for non-negative scores: one argsort of a float key (row, then best first), not a lexsort."""
    top = float(scores.max(initial=0.0))
    key = row_of.astype(np.float64) * (top + 1.0) + (top - scores.astype(np.float64))
    order = np.argsort(key)
    return top_per_row_sorted(row_of[order], values[order], scores[order], rows, k)


def top_per_row_sorted(row_of, values, scores, rows: int, k: int) -> Ragged:
    """The first k entries of each row of entries already ordered by row, best first."""
    keep = rank_in_row(row_of, rows) < k
    return grouped(row_of[keep], values[keep], scores[keep], rows)


def _reasons(inter: Interactions, factors: Factors, picks: Ragged, k: int) -> np.ndarray:
    """The history item explaining each pick (-1 where none), as for the ALS picks."""
    users = np.flatnonzero(picks.lengths() > 0)
    if not len(users):
        return np.zeros(0, np.int64)
    lengths = picks.lengths()[users]
    padded = np.zeros((len(users), k), dtype=np.int64)
    cols = np.arange(len(picks.values)) - np.repeat(picks.indptr[:-1][users], lengths)
    padded[np.repeat(np.arange(len(users)), lengths), cols] = picks.values
    because = explaining_items(inter.strength[users], factors.item_factors, padded)
    because = because[np.arange(k)[None, :] < lengths[:, None]]
    # a viewed item offered again explains itself (the service says "recently_viewed")
    n_items = inter.strength.shape[1]
    viewed = (inter.strength - inter.strength.multiply(inter.purchases > 0)).tocoo()
    viewed_keys = np.sort(viewed.row.astype(np.int64)[viewed.data > 0] * n_items + viewed.col[viewed.data > 0])
    pick_keys = np.repeat(users, lengths).astype(np.int64) * n_items + picks.values
    at = np.minimum(np.searchsorted(viewed_keys, pick_keys), max(len(viewed_keys) - 1, 0))
    was_viewed = viewed_keys[at] == pick_keys if len(viewed_keys) else np.zeros(len(pick_keys), bool)
    return np.where(was_viewed, picks.values, because)

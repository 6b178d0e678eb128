"""Ranking metrics at K with binary relevance, per user and averaged.

``ranked`` is a users x K matrix of item codes, best first, padded with -1; ``relevant``
is a list of arrays, the items each user went on to interact with.
"""

import numpy as np

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


def hits(ranked: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """users x K booleans: is the item at each rank one the user went on to take."""
    ranked = np.asarray(ranked, dtype=np.int64)
    n_users = len(relevant)
    lengths = np.array([len(r) for r in relevant], dtype=np.int64)
    rel_users = np.repeat(np.arange(n_users), lengths)
    rel_items = np.concatenate(relevant).astype(np.int64) if n_users else np.zeros(0, np.int64)
    width = max(int(ranked.max(initial=0)), int(rel_items.max(initial=0))) + 2
    wanted = np.unique(rel_users * width + rel_items)
    keys = np.arange(n_users)[:, None] * width + ranked
    return np.isin(keys, wanted) & (ranked >= 0)


def per_user(ranked: np.ndarray, relevant: list[np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Each metric at k for each user (users with nothing relevant score 0)."""
    h = hits(ranked[:, :k], relevant).astype(np.float64)
    n_rel = np.array([len(np.unique(r)) for r in relevant], dtype=np.float64)
    found = h.sum(axis=1)
    ranks = np.arange(1, h.shape[1] + 1)
    discount = 1.0 / np.log2(ranks + 1)
    ideal = np.cumsum(np.concatenate((discount, np.zeros(max(0, k - len(discount))))))
    ideal_dcg = np.where(n_rel > 0, ideal[np.clip(np.minimum(n_rel, k).astype(int) - 1, 0, None)], 1.0)
    precision_at = np.cumsum(h, axis=1) / ranks
    safe = np.maximum(n_rel, 1)
    return {
        "precision": found / k,
        "recall": found / safe,
        "ndcg": (h * discount).sum(axis=1) / ideal_dcg,
        "map": (precision_at * h).sum(axis=1) / np.maximum(np.minimum(n_rel, k), 1),
        "hit_rate": (found > 0).astype(np.float64),
    }


def coverage(ranked: np.ndarray, k: int, n_items: int) -> float:
    """The share of the items that appear in at least one top-k list."""
    top = ranked[:, :k]
    return len(np.unique(top[top >= 0])) / n_items if n_items else 0.0


def summary(ranked: np.ndarray, relevant: list[np.ndarray], ks: tuple[int, ...], n_items: int) -> dict[str, float]:
    """Mean of each metric at each k, and catalog coverage: {"ndcg@10": 0.12, ...}."""
    out = {}
    for k in ks:
        for name, values in per_user(ranked, relevant, k).items():
            out[f"{name}@{k}"] = round(float(values.mean()), 5) if len(values) else 0.0
        out[f"coverage@{k}"] = round(coverage(ranked, k, n_items), 5)
    return out

"""Ranking metrics at K with binary relevance, per user and averaged, with bootstrap intervals.

``ranked`` is a users x K matrix of item codes, best first, padded with -1; ``relevant``
is a list of arrays, the items each user went on to interact with.

Intervals are percentile bootstraps over users: the users are drawn again with replacement
``RESAMPLES`` times (seeded), and the interval is the middle ``CONFIDENCE`` of the resampled
means. Every model of a task is resampled with the same draws, so a paired difference (one
model's per-user values minus another's) gets its own interval from the same resamples.
"""

import numpy as np

from training import sorted_keys

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
RESAMPLES = 1_000
"""Bootstrap resamples of the users."""
CONFIDENCE = 0.95
"""The share of the resampled means inside an interval."""
SEED = 0
"""The bootstrap's seed: the same users give the same intervals."""


def hits(ranked: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """users x K booleans: is the item at each rank one the user went on to take."""
    ranked = np.asarray(ranked, dtype=np.int64)
    n_users = len(relevant)
    lengths = np.array([len(r) for r in relevant], dtype=np.int64)
    rel_users = np.repeat(np.arange(n_users), lengths)
    rel_items = np.concatenate(relevant).astype(np.int64) if n_users else np.zeros(0, np.int64)
    width = max(int(ranked.max(initial=0)), int(rel_items.max(initial=0))) + 2
    wanted = sorted_keys.unique(rel_users * width + rel_items)
    keys = np.arange(n_users)[:, None] * width + ranked
    return sorted_keys.member(keys.ravel(), wanted).reshape(keys.shape) & (ranked >= 0)


def per_user(ranked: np.ndarray, relevant: list[np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Each metric at k for each user (users with nothing relevant score 0)."""
    h = hits(ranked[:, :k], relevant).astype(np.float64)
    n_rel = np.array([len(sorted_keys.unique(r)) for r in relevant], dtype=np.float64)
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
    return len(sorted_keys.unique(top[top >= 0])) / n_items if n_items else 0.0


def per_user_at(ranked: np.ndarray, relevant: list[np.ndarray], ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Each metric at each k for each user: {"ndcg@10": array of users, ...}."""
    return {f"{name}@{k}": values for k in ks for name, values in per_user(ranked, relevant, k).items()}


def summary(ranked: np.ndarray, relevant: list[np.ndarray], ks: tuple[int, ...], n_items: int) -> dict[str, float]:
    """Mean of each metric at each k, and catalog coverage: {"ndcg@10": 0.12, ...}."""
    values = per_user_at(ranked, relevant, ks)
    out = {}
    for k in ks:
        for name in METRICS:
            column = values[f"{name}@{k}"]
            out[f"{name}@{k}"] = round(float(column.mean()), 5) if len(column) else 0.0
        out[f"coverage@{k}"] = round(coverage(ranked, k, n_items), 5)
    return out


def resample_weights(n_users: int, resamples: int = RESAMPLES, seed: int | tuple[int, ...] = SEED) -> np.ndarray:
    """resamples x users: how often each user is drawn in each bootstrap resample (each row sums to n_users)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, max(n_users, 1), size=(resamples, n_users))
    offsets = (np.arange(resamples) * n_users)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=resamples * n_users)
    return counts.reshape(resamples, n_users).astype(np.float64)


class Bootstrap:
    """The resamples of one task's users, drawn again chunk by chunk from the seed: the same draws for every
    model (so differences are paired), and at most ``CHUNK_CELLS`` weights in memory at a time."""

    CHUNK_CELLS = 4_000_000

    def __init__(self, n_users: int, resamples: int = RESAMPLES, seed: int = SEED):
        self.n_users, self.resamples, self.seed = n_users, resamples, seed
        self.chunk = max(1, min(resamples, self.CHUNK_CELLS // max(n_users, 1)))

    def means(self, values: np.ndarray) -> np.ndarray:
        """The mean of values (users, or users x columns) in each resample: resamples (x columns)."""
        values = np.asarray(values, np.float64)
        out = []
        for start in range(0, self.resamples, self.chunk):
            weights = resample_weights(self.n_users, min(self.chunk, self.resamples - start), (self.seed, start))
            out.append(weights @ values / max(self.n_users, 1))
        return np.concatenate(out)


def interval(values: np.ndarray, boot: Bootstrap, confidence: float = CONFIDENCE) -> np.ndarray:
    """The percentile bootstrap interval of the mean: [lo, hi] (or 2 x columns)."""
    if not boot.n_users:
        return np.zeros((2, *np.shape(values)[1:]))
    tail = (1 - confidence) / 2
    return np.quantile(boot.means(values), [tail, 1 - tail], axis=0)


def intervals(values: dict[str, np.ndarray], boot: Bootstrap) -> dict[str, list[float]]:
    """The interval of each per-user metric: {"ndcg@10": [lo, hi], ...}, one matrix product for all."""
    names = list(values)
    if not names:
        return {}
    bounds = interval(np.column_stack([values[n] for n in names]), boot)
    return {name: [round(float(bounds[0, j]), 5), round(float(bounds[1, j]), 5)] for j, name in enumerate(names)}


def paired(reference: np.ndarray, other: np.ndarray, boot: Bootstrap) -> dict:
    """The mean per-user difference reference - other, its interval, and whether that interval holds 0."""
    difference = np.asarray(reference, np.float64) - np.asarray(other, np.float64)
    lo, hi = interval(difference, boot)
    return {
        "difference": round(float(difference.mean()), 5) if len(difference) else 0.0,
        "ci": [round(float(lo), 5), round(float(hi), 5)],
        "within_noise": bool(lo <= 0 <= hi),
    }

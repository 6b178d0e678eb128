"""Picks for a visitor the model never saw: fold their items into the ALS model at request time.

The user's vector is the solution of implicit's ``recalculate_user`` (the same least squares as one
ALS half-step with the item factors fixed):

    (YtY + reg I + sum_i (c_i - 1) y_i y_i^T) x = sum_i c_i y_i,   c_i = alpha * weight of item i

a factors x factors solve, then the pool items are scored by ``Y_pool @ x``. numpy is imported
here only; the store reads the tables' bytes once per version per process, ``FoldIn.decode`` builds them.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from recsvc.contract.events import EVENTS, PURCHASE

EXTRA_CANDIDATES = 50  # scored beyond the limit so filters (exclude, category, hidden) still leave a full list


@dataclass
class FoldIn:
    """One version's item factors, candidate pool and the constant part of the solve."""

    item_ids: list[str]
    item_index: dict[str, int]
    factors: np.ndarray  # items x k, float32
    pool: np.ndarray  # item indices that may be recommended
    pool_factors: np.ndarray  # factors[pool], contiguous for one matrix-vector product
    base: np.ndarray  # YtY + reg * I, float64
    alpha: float
    weights: np.ndarray  # per event code

    @classmethod
    def decode(
        cls, raw_factors: bytes | None, raw_ids: bytes | None, raw_pool: bytes | None, raw_meta: bytes | None
    ) -> "FoldIn | None":
        """The tables from their stored values, or None when one is missing."""
        if raw_factors is None or raw_ids is None or raw_pool is None or raw_meta is None:
            return None
        meta = json.loads(raw_meta)
        k = int(meta["factors"])
        factors = np.frombuffer(raw_factors, dtype="<f4").reshape(-1, k)
        pool = np.frombuffer(raw_pool, dtype="<u4").astype(np.int64)
        item_ids = raw_ids.decode().split("\n") if raw_ids else []
        base = np.asarray(meta["yty"], dtype=np.float64) + meta["regularization"] * np.eye(k)
        weights = np.array([float(meta["event_weights"].get(name, 0.0)) for name in EVENTS])
        return cls(
            item_ids=item_ids,
            item_index={item: n for n, item in enumerate(item_ids)},
            factors=factors,
            pool=pool,
            pool_factors=np.ascontiguousarray(factors[pool]),
            base=base,
            alpha=float(meta["alpha"]),
            weights=weights,
        )

    def indexed(self, events: Iterable[tuple[int, str]]) -> list[tuple[int, int]]:
        """(event code, item index) of the events whose item the model knows."""
        return [(code, self.item_index[item]) for code, item in events if item in self.item_index]

    def user_vector(self, events: list[tuple[int, int]]) -> np.ndarray | None:
        """The folded-in user vector, None when no event touches an item with factors."""
        strength: dict[int, float] = {}
        for code, index in events:
            strength[index] = strength.get(index, 0.0) + self.weights[code]
        items = np.fromiter((i for i, s in strength.items() if s > 0), dtype=np.int64)
        if not len(items):
            return None
        y = self.factors[items].astype(np.float64)
        if not y.any():
            return None
        confidence = self.alpha * np.fromiter((strength[i] for i in items), dtype=np.float64)
        a = self.base + (y.T * (confidence - 1.0)) @ y
        b = y.T @ confidence
        return np.linalg.solve(a, b)

    def recommend(self, events: list[tuple[int, int]], count: int) -> Iterator[tuple[int, float, dict]]:
        """The best ``count`` pool items for these events, best first, each with the event item that explains it."""
        x = self.user_vector(events)
        if x is None:
            return iter(())
        scores = self.pool_factors @ x.astype(np.float32)
        count = min(count + EXTRA_CANDIDATES, len(scores))
        top = np.argpartition(-scores, count - 1)[:count] if count < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        items = self.pool[top]
        history = np.array(sorted({index for _, index in events}), dtype=np.int64)
        bought = {index for code, index in events if code == PURCHASE}
        # the history item closest to each pick explains it
        cause = history[np.argmax(self.factors[items] @ self.factors[history].T, axis=1)]
        return ((int(i), float(s), self._reason(int(c), bought)) for i, s, c in zip(items, scores[top], cause))

    def _reason(self, cause: int, bought: set[int]) -> dict:
        return {
            "type": "because_you_bought" if cause in bought else "because_you_viewed",
            "item_id": self.item_ids[cause],
        }

"""Each user's pool of a batch's ruled lists as a row of arrays (``recsvc.read.batch_pools``): its candidates' rank
keys, categories and places by pool rank, grown as ``Listing`` grows a pool and cut as it cuts one."""

import math
from typing import Protocol

import numpy as np

from recsvc.read.flat_rows import heads, occurrence, running
from recsvc.read.rules import ListRules

GROWING, DONE, SHORT = 0, 1, 2
"""A pool still growing; full; out of candidates before it is full."""


class ReadCandidates(Protocol):
    """The candidates the users' lists read, flat, user after user (``batch_pools._Picks``)."""

    rows: np.ndarray  # each candidate's user
    head: np.ndarray  # where its user's candidates start
    counts: np.ndarray  # candidates per user
    own_picks: np.ndarray  # per user: their own, before the popular items
    admitted: np.ndarray  # whether it enters its user's pool
    factor: np.ndarray  # the product of its boosts and buries
    category: np.ndarray  # its category's code
    category_count: int


class PoolRows:
    """Each user's pool as a row of arrays: its picks' rank keys and categories by pool rank; grown as ``Listing``
    grows it."""

    def __init__(self, picks: ReadCandidates, rules: ListRules, limit: int):
        self.picks, self.rules, self.limit = picks, rules, limit
        self.want = rules.pool_size(limit)
        users = len(picks.counts)
        pooled = running(picks.admitted, picks.head)  # pool size once each pick is read
        self._pooled = np.r_[0, pooled]  # after a 0 for the rows that read nothing
        self._unburied = np.r_[0, running(picks.admitted & (picks.factor >= 1), picks.head)]
        self._starts = heads(picks.counts) + 1  # where each row's reads start in those
        rank = pooled - 1
        entering = np.flatnonzero(picks.admitted & (rank < self.want))
        self.keys = np.full((users, self.want), -np.inf)
        self.keys[picks.rows[entering], rank[entering]] = picks.factor[entering] / (1 + rank[entering])
        self.categories = np.zeros((users, self.want), np.int64)
        self.categories[picks.rows[entering], rank[entering]] = picks.category[entering]
        self.at = np.zeros((users, self.want), np.int64)  # the read pick at each pool rank
        self.at[picks.rows[entering], rank[entering]] = entering
        self._cut_at = np.full(users, -1)  # each pool's size at its last cut, which is kept: the final one, often
        self._order = np.zeros((users, self.want), np.int64)
        self._kept = np.zeros((users, self.want), bool)

    def size(self, rows: np.ndarray, read: np.ndarray) -> np.ndarray:
        """The pool size of users ``rows`` once they read ``read`` candidates."""
        return np.where(read > 0, self._pooled[self._starts[rows] + read - 1], 0)

    def _unburied_of(self, rows: np.ndarray, read: np.ndarray) -> np.ndarray:
        """The unburied items in the pools of users ``rows`` once they read ``read`` candidates."""
        return np.where(read > 0, self._unburied[self._starts[rows] + read - 1], 0)

    def grow(self) -> tuple[np.ndarray, np.ndarray]:
        """Each user's state (``DONE`` or ``SHORT``) and the picks their list read: a list's length at a time,
        then as far as a later pick could still make the cut (``Listing.add``, ``Listing._reach_after``)."""
        rules, limit, want = self.rules, self.limit, self.want
        users = len(self.picks.counts)
        reach = np.full(users, rules.first_reach(limit))
        if limit < want and reach[0] < want:
            # the list's last place ranks at most as the limit-th best rank key of the pool it grows to, so a pool
            # whose limit-th best key the boosts' lift outranks ``want`` times over grows to its end: ``Listing``
            # grows it there a step at a time (``_reach_after`` never stops it short)
            last = np.partition(self.keys, want - limit, axis=1)[:, want - limit]
            reach[last * want <= rules.lift] = want
        state, read = np.full(users, GROWING), np.zeros(users, np.int64)
        active = np.arange(users)
        while active.size:
            size = self.size(active, read[active])
            room = np.minimum(reach[active], want) - size
            if rules.settles:
                room = np.minimum(room, limit - self._unburied_of(active, read[active]))
            full = room <= 0
            # the picks' last read ends where they do; popular items fill on (``Listing.fill_popular``)
            picks_left = self.picks.own_picks[active] - read[active]
            room = np.where((picks_left > 0) & (room > picks_left), picks_left, room)
            short = ~full & (room > self.picks.counts[active] - read[active])
            state[active[full]], state[active[short]] = DONE, SHORT
            going = ~full & ~short
            active = active[going]
            read[active] += room[going]
            grown = active[reach[active] < want]
            if grown.size:
                reach[grown] = self._reach_after(grown, self.size(grown, read[grown]))
        return state, read

    def _reach_after(self, rows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """How long each pool can usefully grow (``Listing._reach_after``)."""
        order, kept = self.cut(rows, sizes)
        full = kept.sum(axis=1) >= self.limit
        last_at = np.argmax(np.cumsum(kept, axis=1) == self.limit, axis=1)
        last = self.keys[rows, np.take_along_axis(order, last_at[:, None], 1)[:, 0]]
        bound = np.zeros(len(rows), np.int64)
        if full.any():
            ratio = self.rules.lift / last[full] * (1 + 1e-9)
            bound[full] = [min(self.want, math.floor(x)) for x in ratio.tolist()]
        return np.where(full, np.maximum(sizes, bound), np.minimum(self.want, sizes + self.limit))

    def cut(self, rows: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each pool, its ranks by rank key, best first (ties: the earlier rank), and which of them the list
        keeps: at most ``max_per_category`` of a category, at most ``limit`` (``Listing._cut``); once per size."""
        fresh = self._cut_at[rows] != sizes
        order, kept = self._order[rows], self._kept[rows]
        if fresh.any():
            order[fresh], kept[fresh] = self._cut(rows[fresh], sizes[fresh])
            self._order[rows], self._kept[rows], self._cut_at[rows] = order, kept, sizes
        return order, kept

    def _cut(self, rows: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = np.arange(self.want) < sizes[:, None]
        keys = np.where(inside, self.keys[rows], -np.inf)
        order = np.argsort(-keys, axis=1, kind="stable")
        kept = np.take_along_axis(inside, order, 1)
        diversity = self.rules.diversity
        if diversity is not None:
            categories = np.take_along_axis(self.categories[rows], order, 1)
            groups = np.arange(len(rows))[:, None] * self.picks.category_count + categories
            kept &= occurrence(groups.ravel()).reshape(groups.shape) < diversity.max_per_category
        kept &= np.cumsum(kept, axis=1) <= self.limit
        return order, kept

"""Events -> the weighted user x item matrices the model and the lists are built from."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import DAY
from training.config import TrainConfig
from training.inputs.readers import EVENTS, PURCHASE, Events
from training.ragged import Ragged, top_per_row

CLOCK_TAIL = 0.001
"""The share of newest events the clock may pass over when they stand apart from the rest."""
CLOCK_MIN_EVENTS = 100
"""Fewer events than this set the clock by the newest: too few to tell a stray one from the rest."""
CLOCK_GAP_S = 30 * DAY
"""Events more than this after the newest of the rest (all but the newest ``CLOCK_TAIL``) do not set the clock."""


@dataclass
class Interactions:
    """What users did with items, as sparse matrices over the same user and item codes."""

    strength: sp.csr_matrix  # users x items: summed event weights, decayed by age
    purchases: sp.csr_matrix  # users x items: how many times bought (distinct events)
    recent: Ragged  # per user: items interacted with but not bought, most recent first
    bought: Ragged  # per user: items bought, most recent first (scores: unix time of last purchase)
    popularity: np.ndarray  # per item: weighted events, recent ones count more
    now: int  # the model's clock (see ``clock``); ages are measured from it


def clock(timestamps: np.ndarray) -> int:
    """The model's "now": the newest event, unless a few events stand far after all the others.

    One stray row a year ahead (a wrong clock, a typo) must not age every other event by a year:
    the newest events (``CLOCK_TAIL`` of them, at least one) count only if they are within
    ``CLOCK_GAP_S`` of the newest of the rest."""
    n = len(timestamps)
    tail = max(1, int(n * CLOCK_TAIL))
    if n < CLOCK_MIN_EVENTS:
        return int(timestamps.max())
    rest = int(np.partition(timestamps, n - 1 - tail)[n - 1 - tail])
    return int(timestamps[timestamps <= rest + CLOCK_GAP_S].max())


def decay(age_seconds: np.ndarray, half_life_days: float) -> np.ndarray:
    """Weight factor for an event of the given age: 1 now, 1/2 one half-life ago."""
    return np.power(0.5, age_seconds / (half_life_days * DAY)).astype(np.float32)


def build(events: Events, config: TrainConfig, n_items: int | None = None, latest: bool = True) -> Interactions:
    """Weight and decay the events and gather them per user and item (without ``latest``, the per-user lists of
    recent and bought items stay empty: a history only learned from needs none)."""
    n_users, n_items = len(events.user_ids), n_items or len(events.item_ids)
    weights = np.array([config.event_weights.get(name, 0.0) for name in EVENTS], dtype=np.float32)
    now = clock(events.timestamp)
    age = np.maximum(now - events.timestamp, 0).astype(np.float64)  # events past the clock count as now
    weight = weights[events.event]
    shape = (n_users, n_items)

    strength = sp.csr_matrix((weight * decay(age, config.half_life_days), (events.user, events.item)), shape=shape)
    strength.eliminate_zeros()
    is_purchase = events.event == PURCHASE
    purchases = sp.csr_matrix(
        (np.ones(is_purchase.sum(), np.float32), (events.user[is_purchase], events.item[is_purchase])), shape=shape
    )
    popularity = np.bincount(
        events.item, weights=weight * decay(age, config.popular_half_life_days), minlength=n_items
    ).astype(np.float32)
    none = Ragged.empty(n_users)
    return Interactions(
        strength=strength,
        purchases=purchases,
        recent=_latest_items(events, ~is_purchase, n_users, config.recent_per_user) if latest else none,
        bought=_latest_items(events, is_purchase, n_users, config.bought_per_user) if latest else none,
        popularity=popularity,
        now=now,
    )


def _latest_items(events: Events, mask: np.ndarray, n_users: int, k: int) -> Ragged:
    """Per user, the distinct items of the masked events, most recent first, with their last time."""
    user, item, ts = events.user[mask], events.item[mask], events.timestamp[mask]
    # the latest event of each (user, item) pair
    order = np.lexsort((-ts, item, user))
    user, item, ts = user[order], item[order], ts[order]
    first = np.ones(len(user), dtype=bool)
    first[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    user, item, ts = user[first], item[first], ts[first]
    return top_per_row(user, item, ts.astype(np.float64), n_users, k)

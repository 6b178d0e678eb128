"""Events -> the weighted user x item matrices the model and the lists are built from."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from training.config import TrainConfig
from training.inputs.readers import EVENTS, PURCHASE, Events
from training.ragged import Ragged, top_per_row

DAY = 86_400


@dataclass
class Interactions:
    """What users did with items, as sparse matrices over the same user and item codes."""

    strength: sp.csr_matrix  # users x items: summed event weights, decayed by age
    purchases: sp.csr_matrix  # users x items: how many times bought (distinct events)
    recent: Ragged  # per user: items interacted with but not bought, most recent first
    bought: Ragged  # per user: items bought, most recent first (scores: unix time of last purchase)
    popularity: np.ndarray  # per item: weighted events, recent ones count more
    now: int  # the newest event's time; ages are measured from it


def decay(age_seconds: np.ndarray, half_life_days: float) -> np.ndarray:
    """Weight factor for an event of the given age: 1 now, 1/2 one half-life ago."""
    return np.power(0.5, age_seconds / (half_life_days * DAY)).astype(np.float32)


def build(events: Events, config: TrainConfig, n_items: int | None = None) -> Interactions:
    """Weight and decay the events and gather them per user and item."""
    n_users, n_items = len(events.user_ids), n_items or len(events.item_ids)
    weights = np.array([config.event_weights.get(name, 0.0) for name in EVENTS], dtype=np.float32)
    now = int(events.timestamp.max())
    age = (now - events.timestamp).astype(np.float64)
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
    return Interactions(
        strength=strength,
        purchases=purchases,
        recent=_latest_items(events, ~is_purchase, n_users, config.recent_per_user),
        bought=_latest_items(events, is_purchase, n_users, config.bought_per_user),
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

"""The re-purchase task, what buy-again lists are for: the items a customer bought before a cut and buys again
after it, within a horizon. The window's choice of the buy-again order (``buy_again_order.py``) and the
evaluation score the lists on it."""

import numpy as np

from recsvc.contract.units import DAY
from training import sorted_keys
from training.inputs.readers import PURCHASE, Events


def repurchases(events: Events, cut: int | np.ndarray, horizon_days: float) -> np.ndarray:
    """Keys ``user * n_items + item``, sorted: items bought before ``cut`` and bought again in
    ``[cut, cut + horizon_days)`` by the same user. ``cut`` is one time, or one per user (unix s)."""
    n_items = len(events.item_ids)
    bought = events.event == PURCHASE
    key = events.user.astype(np.int64) * n_items + events.item
    at = np.broadcast_to(np.asarray(cut, dtype=np.float64), len(events.user_ids))[events.user]
    before = sorted_keys.unique(key[bought & (events.timestamp < at)])
    after = bought & (events.timestamp >= at) & (events.timestamp < at + horizon_days * DAY)
    again = sorted_keys.unique(key[after])
    return again[sorted_keys.member(again, before)]

"""Orders and customers' standing, from the purchase events: what buy-again, the profiles and the retention
figures all count with.

A customer's purchases closer together than ``SAME_ORDER_S`` are one order. Segments come from recency,
frequency and spend (``standing``).
"""

from dataclasses import dataclass

import numpy as np

from recsvc.contract.units import DAY, HOUR
from training.config import TrainConfig
from training.inputs.readers import PURCHASE, Events

SAME_ORDER_S = 12 * HOUR
"""Seconds within which one customer's purchases are one order (one basket), not a repeat."""
SEGMENTS = ("new", "repeat", "vip", "at_risk", "lost")
NEW, REPEAT, VIP, AT_RISK, LOST = range(len(SEGMENTS))


def group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of values per group (NaN for empty groups) and the count per group."""
    order = np.lexsort((values, group))
    group, values = group[order], values[order]
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    median = np.full(n_groups, np.nan)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    median[has] = (values[lo] + values[hi]) / 2
    return median, counts


@dataclass
class Orders:
    """Every order: purchases of one user split where more than SAME_ORDER_S pass between two.

    Sorted by user, then time. ``value`` is price x quantity over the order's items with a known
    price, or its number of items when the catalog has no price at all (``unit`` says which).
    """

    user: np.ndarray  # int64 user codes
    time: np.ndarray  # float64 unix s of the order's first purchase
    value: np.ndarray  # float64
    unit: str  # "price" or "items"


def orders_of(events: Events, price: np.ndarray) -> Orders:
    """The orders of every user, with their values."""
    p = events.event == PURCHASE
    user, item, ts, qty = events.user[p].astype(np.int64), events.item[p], events.timestamp[p], events.quantity[p]
    by_time = np.lexsort((ts, user))
    user, item, t, qty = user[by_time], item[by_time], ts[by_time].astype(np.float64), qty[by_time]
    new_order = np.ones(len(user), dtype=bool)
    new_order[1:] = (user[1:] != user[:-1]) | (np.diff(t) >= SAME_ORDER_S)
    order_of = np.cumsum(new_order) - 1
    known = np.isfinite(price[item])
    if known.any():
        weights, unit = np.where(known, price[item] * qty, 0.0), "price"
    else:
        weights, unit = qty.astype(np.float64), "items"
    value = np.bincount(order_of, weights=weights, minlength=int(new_order.sum()))
    return Orders(user=user[new_order], time=t[new_order], value=value, unit=unit)


@dataclass
class Standing:
    """Per user, as of one moment: order count, first and last order, usual interval, spend, segment."""

    orders: np.ndarray  # int32
    first_order: np.ndarray  # float64 unix s (NaN without orders)
    last_order: np.ndarray  # float64 unix s (NaN without orders)
    usual_interval_days: np.ndarray  # float64 median days between orders (NaN under two orders)
    spend: np.ndarray  # float64
    segment: np.ndarray  # int8, a position in SEGMENTS
    at_risk: np.ndarray  # bool: past their usual interval
    at_risk_since: np.ndarray  # float64 unix s when they passed it


def standing(orders: Orders, n_users: int, now: float, config: TrainConfig) -> Standing:
    """Segments from recency, frequency and spend, counting the orders placed by ``now``."""
    placed = orders.time <= now
    ou, ot, value = orders.user[placed], orders.time[placed], orders.value[placed]
    count = np.bincount(ou, minlength=n_users).astype(np.int32)
    first_order = np.full(n_users, np.nan)
    last_order = np.full(n_users, np.nan)
    first_order[ou[::-1]] = ot[::-1]
    last_order[ou] = ot
    gaps = np.diff(ot) / DAY
    same_user = ou[1:] == ou[:-1]
    usual, _ = group_median(ou[1:][same_user], gaps[same_user], n_users)
    spend = np.bincount(ou, weights=value, minlength=n_users)

    recency = (now - last_order) / DAY
    bought = count > 0
    repeat = count >= 2
    at_risk_since = last_order + config.at_risk_factor * usual * DAY
    at_risk = repeat & (now > at_risk_since)
    lost = bought & ((recency > config.lost_days) | (repeat & (recency > config.lost_factor * usual)))
    segment = np.full(n_users, NEW, dtype=np.int8)
    segment[repeat] = REPEAT
    # VIP: the top share of repeat buyers by spend (by rank, so ties at a common floor do not let all in)
    repeaters = np.flatnonzero(repeat)
    top = int(np.ceil(config.vip_share * len(repeaters)))
    if top:
        ranked = repeaters[np.lexsort((-count[repeaters], -spend[repeaters]))]
        segment[ranked[:top]] = VIP
    segment[at_risk] = AT_RISK
    segment[lost] = LOST
    return Standing(count, first_order, last_order, usual, spend, segment, at_risk, at_risk_since)

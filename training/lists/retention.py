"""Retention data from purchase history: repurchase intervals, buy-again lists, segments, triggers.

Everything is computed for all users at once from the event columns. Times are unix
seconds; ``now`` is the newest event, so a model trained on old data is still
consistent with itself.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsvc.contract.analytics import RetentionAnalytics
from recsvc.contract.records import WATCH_REASONS
from recsvc.contract.summary import RetentionSummary
from training import analytics, analytics_time
from training.config import TrainConfig
from training.inputs.readers import ADDTOCART, PURCHASE, VIEW, WISHLIST, Events
from training.interactions import DAY
from training.orders import SAME_ORDER_S, SEGMENTS, Orders, group_median, orders_of, standing
from training.ragged import Ragged, grouped, rank_in_row, top_of_sparse, top_per_row


@dataclass
class RepurchaseIntervals:
    """Per item: days between repeat purchases (NaN: not bought again, never offered again) and how learned."""

    days: np.ndarray  # float32 per item
    from_item: np.ndarray  # bool per item: its own repeats (else its category's)


@dataclass
class BuyAgain:
    """Per user, the repeatable items they bought: last purchase (unix s), purchase count, interval (days)."""

    items: Ragged  # values: item codes, scores: last purchase time
    counts: np.ndarray  # int32, aligned with items.values
    interval_days: np.ndarray  # float32, aligned with items.values

    def due_time(self) -> np.ndarray:
        """When each entry is due again (unix s)."""
        return self.items.scores + self.interval_days.astype(np.float64) * DAY


@dataclass
class Profiles:
    """Per user: RFM figures, segment, at-risk flag, top categories and trigger details."""

    orders: np.ndarray  # int32: distinct purchase occasions
    first_order: np.ndarray  # float64 unix s (NaN without purchases)
    last_order: np.ndarray  # float64 unix s (NaN without purchases)
    usual_interval_days: np.ndarray  # float32 median days between orders (NaN under two orders)
    spend: np.ndarray  # float64: price x quantity where prices are known, else units
    spend_unit: str  # "price" or "items"
    segment: np.ndarray  # int8, a position in SEGMENTS
    at_risk: np.ndarray  # bool: past their usual interval
    at_risk_since: np.ndarray  # float64 unix s when they passed it
    top_categories: Ragged  # leaf category codes by interest
    cart: Ragged  # items put in the cart and not bought since, latest first (scores: cart time)
    interest: Ragged  # categories viewed repeatedly lately without a purchase (scores: last view time)
    contact: analytics_time.ContactTimes  # the hour and weekday each user usually shops at
    watched: "Watched"  # items wished for, carted or viewed repeatedly and not bought since


def _purchases(events: Events):
    """Purchase events sorted by user, item, time: (user, item, time, quantity)."""
    p = events.event == PURCHASE
    user, item, ts, qty = events.user[p], events.item[p], events.timestamp[p], events.quantity[p]
    order = np.lexsort((ts, item, user))
    return user[order].astype(np.int64), item[order].astype(np.int64), ts[order], qty[order]


def repurchase_intervals(
    events: Events, item_category: np.ndarray, n_categories: int, config: TrainConfig
) -> RepurchaseIntervals:
    """Median days between a user's repeat purchases of an item; the category's where the item has few repeats.

    A category lends its interval only when enough of its buyers buy again
    (``min_category_repeat_rate``), so items nobody buys twice (a TV) get NaN.
    """
    n_items = len(item_category)
    user, item, ts, _ = _purchases(events)
    same_pair = (user[1:] == user[:-1]) & (item[1:] == item[:-1])
    gap = np.diff(ts).astype(np.float64)
    repeat = same_pair & (gap >= SAME_ORDER_S)
    gap_item, gap_days = item[1:][repeat], gap[repeat] / DAY
    item_median, item_gaps = group_median(gap_item, gap_days, n_items)

    # category: median gap over its items, and the share of (user, item) buyers who came back
    category = item_category.astype(np.int64)
    known = category[gap_item] >= 0
    cat_median, _ = group_median(category[gap_item][known], gap_days[known], max(n_categories, 1))
    first_of_pair = np.ones(len(user), dtype=bool)
    first_of_pair[1:] = ~same_pair
    buyers_per_item = np.bincount(item[first_of_pair], minlength=n_items)
    repeat_pairs = np.unique(user[1:][repeat] * n_items + gap_item)
    repeaters_per_item = np.bincount(repeat_pairs % n_items, minlength=n_items)
    has_cat = category >= 0
    n_cat = max(n_categories, 1)
    # float: bincount of nothing (no item has a category) would be integer
    cat_buyers = np.bincount(category[has_cat], weights=buyers_per_item[has_cat], minlength=n_cat).astype(float)
    cat_repeaters = np.bincount(category[has_cat], weights=repeaters_per_item[has_cat], minlength=n_cat).astype(float)
    cat_rate = np.divide(cat_repeaters, cat_buyers, out=np.zeros_like(cat_buyers), where=cat_buyers > 0)
    cat_ok = (cat_rate >= config.min_category_repeat_rate) & np.isfinite(cat_median)

    own = item_gaps >= config.min_item_repeats
    # an item many have bought and nobody bought again is not repeatable, whatever its category
    never_again = (buyers_per_item >= config.min_item_repeats * 5) & (repeaters_per_item == 0)
    borrowed = ~own & has_cat & ~never_again & cat_ok[np.maximum(category, 0)]
    days = np.full(n_items, np.nan, dtype=np.float32)
    days[own] = item_median[own]
    days[borrowed] = cat_median[category[borrowed]]
    days = np.maximum(days, 1.0)  # at most daily: an interval under a day is one order
    return RepurchaseIntervals(days=days, from_item=own)


def buy_again(events: Events, intervals: RepurchaseIntervals, n_users: int, k: int) -> BuyAgain:
    """Per user, up to k repeatable items bought: most often bought first, then the most recent."""
    user, item, ts, _ = _purchases(events)
    first = np.ones(len(user), dtype=bool)
    first[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1]) | (np.diff(ts) >= SAME_ORDER_S)
    # one entry per purchase occasion of a pair; then per pair: occasions and last time
    user, item, ts = user[first], item[first], ts[first]
    last = np.ones(len(user), dtype=bool)
    last[:-1] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    pair_start = np.flatnonzero(np.concatenate(([True], last[:-1])))
    counts = np.diff(np.concatenate((pair_start, [len(user)])))
    u, i, t = user[last], item[last], ts[last].astype(np.float64)
    repeatable = np.isfinite(intervals.days[i])
    u, i, t, counts = u[repeatable], i[repeatable], t[repeatable], counts[repeatable]
    # rank: count first, recency second (both descending)
    order = np.lexsort((-t, -counts, u))
    u, i, t, counts = u[order], i[order], t[order], counts[order]
    rank = np.arange(len(u)) - np.repeat(np.searchsorted(u, np.arange(n_users)), np.bincount(u, minlength=n_users))
    keep = rank < k
    items = grouped(u[keep], i[keep], t[keep], n_users)
    return BuyAgain(
        items=items, counts=counts[keep].astype(np.int32), interval_days=intervals.days[i[keep]].astype(np.float32)
    )


def profiles(
    events: Events,
    strength: sp.csr_matrix,
    item_category: np.ndarray,
    n_categories: int,
    price: np.ndarray,
    now: int,
    config: TrainConfig,
    orders: Orders | None = None,
) -> Profiles:
    """Segments from recency, frequency and spend; the at-risk flag; top categories; cart, interest, contact time."""
    n_users = len(events.user_ids)
    orders = orders if orders is not None else orders_of(events, price)
    s = standing(orders, n_users, now, config)
    leaf_rows = np.flatnonzero(item_category >= 0)
    leaf = sp.csr_matrix(
        (np.ones(len(leaf_rows), np.float32), (leaf_rows, item_category[leaf_rows])),
        shape=(len(item_category), max(n_categories, 1)),
    )
    top_categories = top_of_sparse((strength @ leaf).tocsr(), config.profile_categories)
    tz = analytics_time.zone(config.timezone)
    return Profiles(
        orders=s.orders,
        first_order=s.first_order,
        last_order=s.last_order,
        usual_interval_days=s.usual_interval_days.astype(np.float32),
        spend=s.spend,
        spend_unit=orders.unit,
        segment=s.segment,
        at_risk=s.at_risk,
        at_risk_since=s.at_risk_since,
        top_categories=top_categories,
        cart=_abandoned_carts(events, now, config),
        interest=_category_interest(events, item_category, now, config),
        contact=analytics_time.contact_times(events.user, events.timestamp, n_users, tz, config.contact_min_events),
        watched=watched_items(events, now, config),
    )


WATCH_WISHLIST, WATCH_CART, WATCH_VIEWS = range(len(WATCH_REASONS))  # positions in records.WATCH_REASONS


@dataclass
class Watched:
    """Per user, the items they watch (latest first, scores: the last such event) and why (``WATCH_REASONS``)."""

    items: Ragged
    reasons: np.ndarray  # int8, aligned with items.values


def _last_per_key(keys_: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted distinct keys, the latest time of each, the number of distinct days it occurs on)."""
    order = np.lexsort((times, keys_))
    k, t = keys_[order], times[order]
    end = np.ones(len(k), dtype=bool)
    end[:-1] = k[1:] != k[:-1]
    new_day = np.ones(len(k), dtype=bool)
    new_day[1:] = (k[1:] != k[:-1]) | (t[1:] // DAY != t[:-1] // DAY)  # days are sorted within a key
    days = np.cumsum(new_day)[end]
    return k[end], t[end], np.diff(np.r_[0, days])


def watched_items(events: Events, now: int, config: TrainConfig) -> Watched:
    """Per user, items wished for, carted or viewed on ``watch_min_view_days`` days within ``watch_days``
    and not bought since: the items whose return or price drop is worth a message."""
    n_users, n_items = len(events.user_ids), len(events.item_ids)
    recent = events.timestamp >= now - config.watch_days * DAY
    pair = events.user[recent].astype(np.int64) * n_items + events.item[recent]
    ts, kind = events.timestamp[recent].astype(np.int64), events.event[recent]
    found_pairs, found_reasons, found_times = [], [], []
    for reason, code in ((WATCH_WISHLIST, WISHLIST), (WATCH_CART, ADDTOCART), (WATCH_VIEWS, VIEW)):
        mask = kind == code
        if not mask.any():
            continue
        k, t, n_days = _last_per_key(pair[mask], ts[mask])
        if reason == WATCH_VIEWS:  # views count on separate days only
            k, t = k[n_days >= config.watch_min_view_days], t[n_days >= config.watch_min_view_days]
        found_pairs.append(k)
        found_times.append(t)
        found_reasons.append(np.full(len(k), reason, dtype=np.int8))
    if not found_pairs:
        return Watched(Ragged.empty(n_users), np.zeros(0, np.int8))
    k, t, why = np.concatenate(found_pairs), np.concatenate(found_times), np.concatenate(found_reasons)
    order = np.lexsort((why, k))  # per pair the strongest reason first
    k, t, why = k[order], t[order], why[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    latest = np.maximum.reduceat(t, np.flatnonzero(first))
    k, why = k[first], why[first]
    bought_k, bought_t, _ = _last_per_key(pair[kind == PURCHASE], ts[kind == PURCHASE])
    at = np.searchsorted(bought_k, k)
    was_bought = at < len(bought_k)
    was_bought[was_bought] = bought_k[at[was_bought]] == k[was_bought]
    last_buy = np.where(was_bought, bought_t[np.minimum(at, max(len(bought_t) - 1, 0))] if len(bought_t) else 0, -1)
    keep = last_buy < latest
    k, latest, why = k[keep], latest[keep], why[keep]
    users = k // n_items
    order = np.lexsort((-latest, users))
    k, latest, why, users = k[order], latest[order], why[order], users[order]
    top = rank_in_row(users, n_users) < config.watched_per_user
    items = grouped(users[top], k[top] % n_items, latest[top].astype(np.float64), n_users)
    return Watched(items, why[top])


def _abandoned_carts(events: Events, now: int, config: TrainConfig) -> Ragged:
    """Per user, items added to the cart within ``cart_days`` and not bought at or after that time."""
    n_users, n_items = len(events.user_ids), len(events.item_ids)
    pair = events.user.astype(np.int64) * n_items + events.item
    is_cart, is_buy = events.event == ADDTOCART, events.event == PURCHASE
    last_cart = _last_time(pair[is_cart], events.timestamp[is_cart])
    last_buy = _last_time(pair[is_buy], events.timestamp[is_buy])
    pairs = np.array(list(last_cart), dtype=np.int64)
    if not len(pairs):
        return Ragged.empty(n_users)
    cart_t = np.array([last_cart[p] for p in pairs], dtype=np.float64)
    buy_t = np.array([last_buy.get(p, -1) for p in pairs], dtype=np.float64)
    open_ = (buy_t < cart_t) & (cart_t >= now - config.cart_days * DAY)
    pairs, cart_t = pairs[open_], cart_t[open_]
    return top_per_row(pairs // n_items, pairs % n_items, cart_t, n_users, config.cart_items)


def _last_time(keys: np.ndarray, ts: np.ndarray) -> dict[int, int]:
    """The latest time per key."""
    order = np.argsort(ts, kind="stable")
    return dict(zip(keys[order].tolist(), ts[order].tolist()))


def _category_interest(events: Events, item_category: np.ndarray, now: int, config: TrainConfig) -> Ragged:
    """Per user, leaf categories viewed on ``interest_min_views`` occasions lately and not bought in since."""
    n_users = len(events.user_ids)
    n_cat = int(item_category.max()) + 1 if len(item_category) and item_category.max() >= 0 else 1
    cat = item_category[events.item]
    recent = (events.timestamp >= now - config.interest_days * DAY) & (cat >= 0)
    key = events.user.astype(np.int64) * n_cat + cat
    views = recent & (events.event == VIEW)
    # view occasions: one per (user, category, day)
    day = events.timestamp[views] // DAY
    occasions = np.unique(np.stack((key[views], day)), axis=1)[0] if views.any() else np.zeros(0, np.int64)
    keys_, n_views = np.unique(occasions, return_counts=True)
    last_view = _last_time(key[views], events.timestamp[views])
    bought = set(key[recent & (events.event == PURCHASE)].tolist())
    keep = (n_views >= config.interest_min_views) & ~np.isin(keys_, list(bought))
    keys_ = keys_[keep]
    last = np.array([last_view[k] for k in keys_.tolist()], dtype=np.float64)
    return top_per_row(keys_ // n_cat, keys_ % n_cat, last, n_users, config.interest_categories)


@dataclass
class RetentionData:
    """Everything the retention features publish."""

    intervals: RepurchaseIntervals
    buy_again: BuyAgain
    profiles: Profiles
    now: int
    analytics: RetentionAnalytics  # the retention figures (``training.analytics``), published as JSON
    order: dict | None = None  # how buy-again is ordered (``buy_again_order.BuyAgainReport.to_dict``)

    def summary(self) -> RetentionSummary:
        """The retention part of the version's summary (the publisher adds the trigger list sizes)."""
        segments = np.bincount(self.profiles.segment[self.profiles.orders > 0], minlength=len(SEGMENTS))
        contact = self.profiles.contact
        return RetentionSummary(
            now=self.now,
            repeatable_items=int(np.isfinite(self.intervals.days).sum()),
            items_with_own_interval=int(self.intervals.from_item.sum()),
            buyers_by_segment={name: int(n) for name, n in zip(SEGMENTS, segments)},
            spend_unit=self.profiles.spend_unit,
            timezone=self.analytics.timezone,
            shop_peak={"hour": contact.shop_hour, "weekday": analytics_time.WEEKDAYS[contact.shop_weekday]},
            buy_again_order=self.order,
        )


def build(
    events: Events,
    strength: sp.csr_matrix,
    item_category: np.ndarray,
    n_categories: int,
    price: np.ndarray,
    now: int,
    config: TrainConfig,
    order: dict | None = None,
) -> RetentionData:
    """Intervals, buy-again lists, profiles and the retention figures for every user; ``order`` says how the
    service orders buy-again (the window's choice, ``buy_again_order.py``)."""
    intervals = repurchase_intervals(events, item_category, n_categories, config)
    orders = orders_of(events, price)
    found = profiles(events, strength, item_category, n_categories, price, now, config, orders)
    return RetentionData(
        intervals=intervals,
        buy_again=buy_again(events, intervals, len(events.user_ids), config.buy_again_per_user),
        profiles=found,
        now=now,
        analytics=analytics.document(orders, found.segment, now, config),
        order=order,
    )

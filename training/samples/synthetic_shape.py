"""The synthetic RetailRocket-shaped shop drawn in memory (``build``); ``synthetic`` writes it as files.

The shape: visitor activity follows a power law (70% one event, 15% two, a tail to hundreds);
item popularity is Zipf-Mandelbrot; each visitor browses one to three leaf categories and
sometimes returns to an item seen before; each transaction buys an item its visitor viewed
(and usually carted) shortly before, and the busier visitors are the likelier buyers.
Everything is drawn with whole-array numpy operations from one seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVENT_NAMES = ("view", "addtocart", "transaction")
VIEW, ADDTOCART, TRANSACTION = range(3)

START_MS = 1_430_611_200_000  # 2015-05-03 00:00 UTC
SPAN_MS = 138 * 86_400_000  # four and a half months

ONE_EVENT, TWO_EVENTS = 0.70, 0.15  # shares of visitors with exactly one and two events
MAX_USER_EVENTS = 1_000
ZIPF_EXPONENT = 1.1
ZIPF_OFFSET = 100 / 235_000  # Zipf-Mandelbrot offset as a share of the items; flattens the head
LEVEL_SHARES = (0.15, 0.35)  # shares of the non-root categories on levels 2 and 3; level 4 takes the rest
CATEGORY_COUNTS = (0.5, 0.3, 0.2)  # shares of visitors browsing 1, 2 and 3 categories
SIBLING = 0.5  # chance that a further category is a sibling of the first
OFF_CATEGORY = 0.1  # chance that a view is drawn from the whole shop
REVISIT = 0.3  # chance that a later view returns to an item seen before
TRANSACTION_SHARE, CART_SHARE = 0.01, 0.025
CARTED = 0.8  # share of purchases carted first
SAME_BASKET = 0.3  # chance that a purchase joins its visitor's previous transaction
BUYER_BIAS = 1.5  # a visitor's chance of each purchase grows as (events) ** BUYER_BIAS
SESSION_BREAK = 0.2  # chance that the next view starts a new visit
CLICK_GAP_MS, VISIT_GAP_MS = 90_000, 4 * 86_400_000  # mean gaps within and between visits
CART_DELAY_MS, PAY_DELAY_MS = 120_000, 300_000  # mean delays from view to cart and to transaction


@dataclass
class Shop:
    """A generated shop: the category tree, each item's leaf and the events sorted by time."""

    parent: np.ndarray  # int32 per category id, -1 for roots
    item_category: np.ndarray  # int32 per item id
    timestamp: np.ndarray  # int64 unix ms
    user: np.ndarray  # int32
    event: np.ndarray  # int8, a position in EVENT_NAMES
    item: np.ndarray  # int32
    transaction: np.ndarray  # int64, -1 except on transactions


@dataclass
class Rows:
    """Events of one kind, in visitor order."""

    timestamp: np.ndarray
    user: np.ndarray
    event: int
    item: np.ndarray
    transaction: np.ndarray | None = None  # transactions only

    def transactions(self) -> np.ndarray:
        """The transaction id of each row, -1 where there is none."""
        return np.full(len(self.user), -1, np.int64) if self.transaction is None else self.transaction


# ---------------------------------------------------------------- catalog


def category_tree(categories: int, roots: int, rng: np.random.Generator) -> np.ndarray:
    """Parent of each category (-1 for roots): every root has children, leaves are 2 to 4 levels deep."""
    rest = categories - roots
    if roots < 1 or rest < roots:
        raise ValueError(f"need at least {2 * max(roots, 1)} categories for {roots} roots")
    level2 = max(roots, round(LEVEL_SHARES[0] * rest))
    level3 = min(round(LEVEL_SHARES[1] * rest), rest - level2)
    level4 = rest - level2 - level3
    parent = np.concatenate(
        [
            np.full(roots, -1),
            np.arange(roots),  # one child for each root, so no root is a leaf
            rng.integers(0, roots, level2 - roots),
            roots + rng.integers(0, level2, level3),
            roots + level2 + rng.integers(0, max(level3, 1), level4),
        ]
    )
    ids = rng.permutation(categories)  # ids that do not give the level away
    out = np.empty(categories, dtype=np.int32)
    out[ids] = np.where(parent >= 0, ids[np.maximum(parent, 0)], -1)
    return out


def leaves(parent: np.ndarray) -> np.ndarray:
    """Categories without children, ascending."""
    return np.setdiff1d(np.arange(len(parent)), parent[parent >= 0])


def item_categories(items: int, parent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A leaf for each item; leaf sizes are log-normal, so some categories are large."""
    leaf = leaves(parent)
    size = rng.lognormal(0.0, 1.0, len(leaf))
    return leaf[rng.choice(len(leaf), size=items, p=size / size.sum())].astype(np.int32)


def popularity(items: int, rng: np.random.Generator) -> np.ndarray:
    """Zipf-Mandelbrot weight of each item, the ranks shuffled over the item ids."""
    rank = rng.permutation(items) + 1.0
    return (rank + ZIPF_OFFSET * items) ** -ZIPF_EXPONENT


@dataclass
class Sampler:
    """Draws items by popularity, from the whole shop or from one category."""

    order: np.ndarray  # items sorted by category
    cum: np.ndarray  # cumulative popularity along order
    start: np.ndarray  # per category: its first position in order
    end: np.ndarray  # per category: one past its last position
    low: np.ndarray  # per category: cumulative popularity before its first item
    mass: np.ndarray  # per category: summed popularity of its items

    @classmethod
    def build(cls, item_category: np.ndarray, weight: np.ndarray, categories: int) -> Sampler:
        """A sampler over items with these categories and popularity weights."""
        order = np.argsort(item_category, kind="stable")
        cum = np.cumsum(weight[order])
        bounds = np.searchsorted(item_category[order], np.arange(categories + 1))
        edges = np.concatenate([[0.0], cum])[bounds]
        return cls(order, cum, bounds[:-1], bounds[1:], edges[:-1], np.diff(edges))

    def anywhere(self, u: np.ndarray) -> np.ndarray:
        """Items for uniform draws u, by popularity over the whole shop."""
        at = np.searchsorted(self.cum, u * self.cum[-1], side="right")
        return self.order[np.minimum(at, len(self.order) - 1)]

    def within(self, category: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Items for uniform draws u, by popularity within each category (which must hold items)."""
        at = np.searchsorted(self.cum, self.low[category] + u * self.mass[category], side="right")
        return self.order[np.clip(at, self.start[category], self.end[category] - 1)]


# ---------------------------------------------------------------- visitors


def activity(users: int, events: int, rng: np.random.Generator) -> np.ndarray:
    """Events per visitor, summing to events: 70% one, 15% two, the rest a power-law tail."""
    one, two = round(ONE_EVENT * users), round(TWO_EVENTS * users)
    tail_users, tail_events = users - one - two, events - one - 2 * two
    sizes = np.arange(3, MAX_USER_EVENTS + 1)
    least, most = one + 2 * two + np.array([3.2, MAX_USER_EVENTS / 2]) * tail_users
    if tail_users < 1 or not least <= events <= most:
        raise ValueError(
            f"{events} events cannot be shaped over {users} visitors; "
            f"ask for {least:.0f} to {most:.0f} (about {2 * users} is like RetailRocket)"
        )
    pmf = _power_law(sizes, tail_events / tail_users)
    tail = rng.choice(sizes, size=tail_users, p=pmf)
    tail = _nudge(tail, tail_events, 3, rng)
    counts = np.concatenate([np.ones(one, np.int64), np.full(two, 2, np.int64), tail])
    return rng.permutation(counts)


def _power_law(sizes: np.ndarray, mean: float) -> np.ndarray:
    """Probabilities proportional to sizes ** -a, with a chosen so that their mean is mean."""
    low, high = 0.0, 10.0
    for _ in range(60):
        a = (low + high) / 2
        pmf = sizes**-a
        pmf /= pmf.sum()
        low, high = (a, high) if pmf @ sizes > mean else (low, a)
    return pmf


def _nudge(counts: np.ndarray, total: int, floor: int, rng: np.random.Generator) -> np.ndarray:
    """Add or remove single events at random until counts sum to total, none below floor."""
    counts = counts.copy()
    while (gap := total - int(counts.sum())) != 0:
        if gap > 0:
            np.add.at(counts, rng.integers(0, len(counts), gap), 1)
        else:
            above = np.flatnonzero(counts > floor)
            counts[rng.choice(above, size=min(-gap, len(above)), replace=False)] -= 1
    return counts


def allot(total: int, weight: np.ndarray, room: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spread total units over visitors in proportion to weight, none getting more than its room."""
    room = np.where(weight > 0, room, 0)
    if room.sum() < total:
        raise ValueError(f"cannot place {total} events on these visitors")
    counts = np.zeros(len(weight), dtype=np.int64)
    while (left := total - int(counts.sum())) > 0:
        w = np.where(counts < room, weight, 0.0)
        counts += np.minimum(rng.multinomial(left, w / w.sum()), room - counts)
    return counts


def user_categories(users: int, parent: np.ndarray, mass: np.ndarray, rng: np.random.Generator):
    """Each visitor's three categories (the first is the favourite) and how many of them it uses."""
    first = _by_mass(mass, rng.random(users))
    more = np.where(
        rng.random((2, users)) < SIBLING, _siblings(first, parent, mass, rng), _by_mass(mass, rng.random((2, users)))
    )
    chosen = np.stack([first, *more], axis=1)
    used = rng.choice(3, size=users, p=CATEGORY_COUNTS) + 1
    return chosen, used


def _by_mass(mass: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categories for uniform draws u, in proportion to the popularity of their items."""
    cum = np.cumsum(mass)
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(mass) - 1)


def _siblings(category: np.ndarray, parent: np.ndarray, mass: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two random leaves with items under the parent of each category (the category itself at worst)."""
    leaf = leaves(parent)
    leaf = leaf[mass[leaf] > 0]
    leaf = leaf[np.argsort(parent[leaf], kind="stable")]
    group_parent = parent[leaf]
    start = np.searchsorted(group_parent, parent[category], side="left")
    size = np.searchsorted(group_parent, parent[category], side="right") - start
    return leaf[start + (rng.random((2, len(category))) * size).astype(np.int64)]


# ---------------------------------------------------------------- events


def roles(counts: np.ndarray, events: int, rng: np.random.Generator):
    """Per visitor: purchases, carted purchases and abandoned carts, leaving at least one view each."""
    buying = np.where(counts >= 3, counts.astype(float) ** BUYER_BIAS, 0.0)
    purchases = allot(round(TRANSACTION_SHARE * events), buying, (counts - 1) // 2, rng)
    carted = rng.binomial(purchases, CARTED)
    abandoned = allot(
        max(round(CART_SHARE * events) - int(carted.sum()), 0),
        np.where(counts >= 2, counts, 0).astype(float),
        counts - 1 - purchases - carted,
        rng,
    )
    return purchases, carted, abandoned


def _spread(counts: np.ndarray):
    """For per-visitor counts: each unit's visitor, each visitor's first unit, and each unit's rank."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, first, np.arange(len(owner)) - first[owner]


def view_items(counts, chosen, used, sampler: Sampler, rng: np.random.Generator) -> np.ndarray:
    """The item of each view, visitor by visitor: mostly from its categories, some revisits."""
    user, first, rank = _spread(counts)
    n = len(user)
    slot = (used[user] * rng.random(n) ** 2).astype(np.int64)  # the favourite category most often
    off, u = rng.random(n) < OFF_CATEGORY, rng.random(n)
    item = np.empty(n, dtype=np.int64)
    item[off] = sampler.anywhere(u[off])
    item[~off] = sampler.within(chosen[user[~off], slot[~off]], u[~off])
    revisit = (rank > 0) & (rng.random(n) < REVISIT)
    earlier = first[user] + (rng.random(n) * rank).astype(np.int64)
    fresh = np.maximum.accumulate(np.where(revisit, 0, np.arange(n)))  # last fresh view up to each
    return item[fresh[np.where(revisit, earlier, np.arange(n))]].astype(np.int32)


def view_times(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unix ms of each view, ascending per visitor: clicks within visits, days between visits."""
    user, first, _ = _spread(counts)
    n = len(user)
    gap = np.where(
        rng.random(n) < SESSION_BREAK, rng.exponential(VISIT_GAP_MS, n), 1_000 + rng.exponential(CLICK_GAP_MS, n)
    ).astype(np.int64)
    gap[first] = 0
    offset = np.cumsum(gap)
    offset -= offset[first][user]
    length = offset[first + counts - 1]
    squeeze = np.minimum(1.0, SPAN_MS * rng.uniform(0.3, 1.0, len(counts)) / np.maximum(length, 1))
    begin = rng.random(len(counts)) * (SPAN_MS - length * squeeze)
    return START_MS + (begin[user] + offset * squeeze[user]).astype(np.int64)


def _some_view(user: np.ndarray, first: np.ndarray, count: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random view row of each user, given each visitor's first view row and view count."""
    return first[user] + (rng.random(len(user)) * count[user]).astype(np.int64)


def _after(times: np.ndarray, mean_ms: float, rng: np.random.Generator) -> np.ndarray:
    """Times at least a second after times."""
    return times + 1_000 + rng.exponential(mean_ms, len(times)).astype(np.int64)


def purchase_rows(purchases, carted, views: Rows, view_first, view_count, rng: np.random.Generator):
    """Cart and transaction rows: each bought item was viewed before; baskets share a transaction id."""
    user, _, rank = _spread(purchases)
    source = _some_view(user, view_first, view_count, rng)
    item, seen = views.item[source], views.timestamp[source]
    is_carted = rank < carted[user]
    cart_time = _after(seen, CART_DELAY_MS, rng)
    ready = np.where(is_carted, cart_time, seen)
    new_basket = (rank == 0) | (rng.random(len(user)) >= SAME_BASKET)
    basket = np.cumsum(new_basket) - 1
    paid = _after(np.maximum.reduceat(ready, np.flatnonzero(new_basket)), PAY_DELAY_MS, rng) if len(user) else ready
    carts = Rows(cart_time[is_carted], user[is_carted], ADDTOCART, item[is_carted])
    return carts, Rows(paid[basket], user, TRANSACTION, item, basket)


def abandoned_rows(abandoned, views: Rows, view_first, view_count, rng: np.random.Generator):
    """Carts never bought, each of an item its visitor viewed before."""
    user, _, _ = _spread(abandoned)
    source = _some_view(user, view_first, view_count, rng)
    return Rows(_after(views.timestamp[source], CART_DELAY_MS, rng), user, ADDTOCART, views.item[source])


def build(*, users: int, items: int, events: int, categories: int, roots: int = 25, seed: int = 0) -> Shop:
    """Generate a shop in memory; see the module docstring for its shape."""
    rng = np.random.default_rng(seed)
    parent = category_tree(categories, roots, rng)
    item_category = item_categories(items, parent, rng)
    sampler = Sampler.build(item_category, popularity(items, rng), categories)
    counts = activity(users, events, rng)
    purchases, carted, abandoned = roles(counts, events, rng)
    view_count = counts - purchases - carted - abandoned
    chosen, used = user_categories(users, parent, sampler.mass, rng)
    view_user, view_first, _ = _spread(view_count)
    views = Rows(view_times(view_count, rng), view_user, VIEW, view_items(view_count, chosen, used, sampler, rng))
    carts, bought = purchase_rows(purchases, carted, views, view_first, view_count, rng)
    dropped = abandoned_rows(abandoned, views, view_first, view_count, rng)
    return _assemble(parent, item_category, [views, carts, dropped, bought])


def _assemble(parent: np.ndarray, item_category: np.ndarray, parts: list[Rows]) -> Shop:
    """One table of all rows, sorted by time (ties keep views before carts before transactions)."""
    timestamp = np.concatenate([p.timestamp for p in parts])
    order = np.argsort(timestamp, kind="stable")

    def stacked(columns: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(columns)[order].astype(dtype)

    return Shop(
        parent=parent,
        item_category=item_category,
        timestamp=timestamp[order],
        user=stacked([p.user for p in parts], np.int32),
        event=stacked([np.full(len(p.user), p.event) for p in parts], np.int8),
        item=stacked([p.item for p in parts], np.int32),
        transaction=stacked([p.transactions() for p in parts], np.int64),
    )

"""A deterministic sample shop: events, catalog and category tree as CSV files.

Shoppers have one to three interests; they browse and compare within them and buy
now and then. The data carries the patterns a recommender should find, under random
browsing and impulse purchases:

* complements: buyers of a ``COMPLEMENTS`` key category buy from its complement
  categories a few days later (running shoes, then socks);
* consumables: ``REPURCHASE_DAYS`` categories are bought again and again at a
  per-user rhythm, durable items once;
* alternatives: a purchase follows views of the item and of others in its category,
  so similar items emerge from co-views;
* some users only browse, and some are new with a view or two.

The catalog and the shoppers' interests are data, in ``demo_catalog``.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from recsvc.contract.units import DAY
from training.samples.demo_catalog import (
    CATEGORIES,
    COMPLEMENTS,
    ITEMS,
    ONCE_PER_USER,
    PERSONAS,
    QUANTITIES,
    REPURCHASE_DAYS,
    UNAVAILABLE,
    Persona,
)

DEFAULT_NOW = 1_767_225_600
"""2026-01-01 00:00 UTC: a fixed end of history keeps the output reproducible."""
HISTORY_DAYS = 120

NEW_USER_SHARE = 0.08  # one or two views, nothing else
BROWSER_SHARE = 0.15  # views, wishlists and abandoned carts, never a purchase
NOISE_CATEGORY_RATE = 0.12  # a browsing session outside the user's interests
IMPULSE_RATE = 0.25  # a shopper buys once outside their interests
COMPLEMENT_RATE = 0.8  # a buyer of a ``COMPLEMENTS`` key category goes on to buy from its complements


@dataclass(frozen=True)
class DemoShop:
    """Paths of the written sample shop."""

    events: Path  # events.csv
    catalog: Path  # catalog.csv
    categories: Path  # categories.csv


def write_demo_shop(folder: Path, *, users: int = 2000, seed: int = 0, now: int | None = None) -> DemoShop:
    """Write a sample shop's events, catalog and category tree as CSV files into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shop = DemoShop(folder / "events.csv", folder / "catalog.csv", folder / "categories.csv")
    _write_csv(shop.categories, ("category_id", "parent_id", "name"), CATEGORIES)
    _write_csv(
        shop.catalog, ("item_id", "category_id", "title", "price", "url", "image_url", "available"), _catalog_rows()
    )
    events = simulate_events(users, seed=seed, now=DEFAULT_NOW if now is None else int(now))
    _write_csv(shop.events, ("timestamp", "user_id", "item_id", "event", "quantity"), events)
    return shop


def _write_csv(path: Path, header: tuple[str, ...], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _catalog_rows() -> list[tuple]:
    rows = []
    for category, items in ITEMS.items():
        for item_id, title, price in items:
            rows.append(
                (
                    item_id,
                    category,
                    title,
                    f"{price:.2f}",
                    f"https://shop.example/items/{item_id}",
                    f"https://shop.example/images/{item_id}.jpg",
                    str(item_id not in UNAVAILABLE).lower(),
                )
            )
    return rows


def simulate_events(users: int, *, seed: int = 0, now: int = DEFAULT_NOW) -> list[tuple[int, str, str, str, int]]:
    """(timestamp, user_id, item_id, event, quantity) of ``users`` users over the days before now, sorted."""
    rng = random.Random(seed)
    start = now - HISTORY_DAYS * DAY
    events: list[tuple[int, int, int, str, str, int]] = []
    for n in range(users):
        _User(rng, start, now).live().emit(events, n)
    events.sort()
    names = user_ids(users, seed)
    return [(t, names[n], item, event, qty) for t, n, _, item, event, qty in events]


def user_ids(users: int, seed: int = 0) -> list[str]:
    """The demo's user ids: ``user-`` and 12 random-looking hex digits, the same for the same seed. Unlike
    ``user-00001, user-00002, ...`` one id tells nothing of another, so none is guessed from the one a page shows."""
    rng = random.Random(f"user ids {seed}")  # apart from the events' generator: the shop's history is unchanged
    names: dict[str, None] = {}
    while len(names) < users:
        names.setdefault(f"user-{rng.getrandbits(48):012x}")
    return list(names)


def _popularity(items: tuple, skew: float = 1.2) -> list[float]:
    """Cumulative Zipf weights: the first few items of a category are the bestsellers."""
    total, cumulative = 0.0, []
    for rank in range(len(items)):
        total += 1 / (rank + 1) ** skew
        cumulative.append(total)
    return cumulative


_ITEM_IDS = {category: tuple(item_id for item_id, _, _ in items) for category, items in ITEMS.items()}
_CUMULATIVE = {category: _popularity(items) for category, items in _ITEM_IDS.items()}
_PRICE = {item_id: price for items in ITEMS.values() for item_id, _, price in items}
_LEAVES = tuple(ITEMS)
_PERSONA_NAMES = tuple(PERSONAS)
_PERSONA_SHARES = [p.share for p in PERSONAS.values()]


@dataclass
class _User:
    """One user's history, built one shopping trip at a time; events after now are dropped."""

    rng: random.Random
    start: int
    now: int
    events: list[tuple[int, str, str, int]] = field(default_factory=list)
    owned: set[str] = field(default_factory=set)
    done_categories: set[str] = field(default_factory=set)  # ONCE_PER_USER categories bought
    repurchasing: set[str] = field(default_factory=set)

    def live(self) -> _User:
        """Fill the history according to a randomly drawn kind of user."""
        kind = self.rng.random()
        if kind < NEW_USER_SHARE:
            self._arrive()
            return self
        interests = self._interests()
        browse = [c for p in interests for c in p.browses]
        buyer = kind >= NEW_USER_SHARE + BROWSER_SHARE
        for _ in range(4 + self.rng.randrange(10)):
            self._browse(self._any_time(), self._browsed_category(browse), buyer=buyer)
        if not buyer:
            return self
        for persona in interests:
            for category, chance in persona.plans:
                if self.rng.random() < chance:
                    self._plan(category)
        if self.rng.random() < IMPULSE_RATE:
            self.buy(self._any_time(), self.rng.choice(_LEAVES))
        return self

    def emit(self, out: list, user: int) -> None:
        """Append the events in the history window, keyed for a stable sort."""
        for seq, (t, item, event, qty) in enumerate(self.events):
            if self.start <= t < self.now:
                out.append((t, user, seq, item, event, qty))

    def _interests(self) -> list[Persona]:
        count = self.rng.choices((1, 2, 3), (5, 3, 2))[0]
        names = set(self.rng.choices(_PERSONA_NAMES, _PERSONA_SHARES, k=count))
        return [PERSONAS[name] for name in sorted(names)]

    def _browsed_category(self, browse: list[str]) -> str:
        if self.rng.random() < NOISE_CATEGORY_RATE:
            return self.rng.choice(_LEAVES)
        # a persona's first categories are its main ones
        return browse[min(self.rng.randrange(len(browse)), self.rng.randrange(len(browse)))]

    def _any_time(self) -> int:
        return self.start + int(self.rng.uniform(0, HISTORY_DAYS) * DAY)

    def _daytime(self, t: float) -> int:
        """t moved to a waking hour of its day: shoppers do not shop at 4 am."""
        day = int(t) - int(t) % DAY
        return day + int(self.rng.uniform(7, 23.5) * 3600)

    def _pick(self, category: str) -> str:
        return self.rng.choices(_ITEM_IDS[category], cum_weights=_CUMULATIVE[category])[0]

    def _pick_unowned(self, category: str) -> str | None:
        for _ in range(8):
            item = self._pick(category)
            if item not in self.owned:
                return item
        left = [item for item in _ITEM_IDS[category] if item not in self.owned]
        return self.rng.choice(left) if left else None

    def _add(self, t: float, item: str, event: str, quantity: int = 1) -> None:
        self.events.append((int(t), item, event, quantity))

    def _arrive(self) -> None:
        """A new user: a view or two in the last days."""
        t: float = self._daytime(self.now - self.rng.uniform(1, 10) * DAY)
        category = self.rng.choice(_LEAVES)
        for _ in range(self.rng.choice((1, 2))):
            self._add(t, self._pick(category), "view")
            t += self.rng.uniform(20, 200)

    def _browse(self, t: float, category: str, *, buyer: bool) -> None:
        """A session of views in one category; an item may go to the wishlist or an abandoned cart."""
        t = self._daytime(t)
        viewed: list[str] = []
        for _ in range(1 + self.rng.randrange(5)):
            item = self._pick(category)
            if viewed and item == viewed[-1]:
                continue
            viewed.append(item)
            self._add(t, item, "view")
            t += self.rng.uniform(15, 300)
        if self.rng.random() < 0.2:
            self._add(t, self.rng.choice(viewed), "wishlist")
        if self.rng.random() < (0.35 if buyer else 0.45):
            self._add(t, self.rng.choice(viewed), "addtocart")

    def _plan(self, category: str) -> None:
        """A planned purchase; consumables start early enough to show their rhythm."""
        if category in REPURCHASE_DAYS and self.rng.random() < 0.7:
            self.buy(self.start + self.rng.uniform(0, REPURCHASE_DAYS[category]) * DAY, category)
        else:
            self.buy(self._any_time(), category)

    def buy(self, t: float, category: str) -> None:
        """Buy from category at about t, and whatever follows: complements, repeat purchases."""
        if t >= self.now or category in self.done_categories or category in self.repurchasing:
            return
        item = self._pick_unowned(category)
        if item is None:
            return
        if category in REPURCHASE_DAYS:
            self._repurchase(t, category, item)
            return
        t = self._compare_and_buy(t, category, item)
        self.owned.add(item)
        if category in ONCE_PER_USER:
            self.done_categories.add(category)
        if category in COMPLEMENTS and self.rng.random() < COMPLEMENT_RATE:
            self._buy_complements(t, COMPLEMENTS[category])

    def _compare_and_buy(self, t: float, category: str, item: str, quantity: int = 1) -> int:
        """Views of the item and of 1-3 alternatives, maybe a cart, then the purchase; returns its time."""
        if _PRICE[item] >= 150 and self.rng.random() < 0.6:
            # dear things are looked at days before they are bought
            self._view_with_alternatives(self._daytime(t - self.rng.uniform(1, 6) * DAY), category, item)
        t = self._view_with_alternatives(self._daytime(t), category, item)
        if self.rng.random() < 0.7:
            self._add(t, item, "addtocart", quantity)
            t += self.rng.uniform(30, 600)
        self._add(t, item, "purchase", quantity)
        return int(t)

    def _view_with_alternatives(self, t: float, category: str, item: str) -> float:
        """View item and 1-3 others of its category in a random order; returns the session's end."""
        # a dict, not a set: set order follows string hashing, which changes from run to run
        others = dict.fromkeys(self._pick(category) for _ in range(self.rng.randrange(1, 4)))
        others.pop(item, None)
        viewed = [item, *others]
        self.rng.shuffle(viewed)
        if viewed[-1] != item and self.rng.random() < 0.5:
            viewed.append(item)  # back to the chosen one
        for seen in viewed:
            self._add(t, seen, "view")
            t += self.rng.uniform(20, 400)
        return t

    def _buy_complements(self, t: float, categories: tuple[str, ...]) -> None:
        later = t + self.rng.uniform(1, 10) * DAY
        category = self.rng.choice(categories)
        self.buy(later, category)
        if category not in REPURCHASE_DAYS and self.rng.random() < 0.35:
            self.buy(later + self.rng.uniform(0, 3) * DAY, category)

    def _repurchase(self, t: float, category: str, item: str) -> None:
        """Buy a consumable, then again at the user's own rhythm until now, mostly the same one."""
        self.repurchasing.add(category)
        interval = REPURCHASE_DAYS[category] * self.rng.uniform(0.85, 1.15)
        quantities = QUANTITIES.get(category, (1,))
        t = self._compare_and_buy(t, category, item, self.rng.choice(quantities))
        while True:
            t += interval * self.rng.uniform(0.9, 1.1) * DAY
            if t >= self.now:
                return
            if self.rng.random() < 0.2:
                item = self._pick(category)
            quantity = self.rng.choice(quantities)
            when = self._daytime(t)
            if self.rng.random() < 0.5:
                self._add(when - self.rng.uniform(30, 900), item, "view")
            if self.rng.random() < 0.4:
                self._add(when - self.rng.uniform(5, 30), item, "addtocart", quantity)
            self._add(when, item, "purchase", quantity)

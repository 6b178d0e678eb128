"""Synthetic shops of several shapes: one pattern turned up or down at a time, written as contract CSVs.

Each shop has the same catalog (``ROOTS`` root categories of ``LEAVES_PER_ROOT`` leaves of
``ITEMS_PER_LEAF`` items, bestsellers first) and the same kind of users: a few interests, some
browsing outside them, purchases now and then over ``HISTORY_DAYS`` days. A ``Shape`` sets how
strongly three patterns show:

* ``view_predicts``: the chance a purchase follows views of the item (and of alternatives) days
  before; at 0 a user's views are only browsing, unrelated to what they buy;
* ``complement_rate``: the chance a buyer of an item of a key leaf (even leaves) goes on to buy
  its complement (the item of the same rank in the next leaf) 1 to 14 days later;
* ``repeat_share``: the share of buyers who buy their items again every 10 to 30 days.

The ``durables`` kind is another shop over the same catalog (``DurablesUser``): in each root, leaf 0 holds
durables (a running shoe, a pram, a tent), leaf 1 their complements (the item of the same rank), leaves 2
and 3 consumables re-bought every 2 to 6 weeks, leaf 4 accessories popular across every department.
``complement_rate`` of each durable's buyers buy its complement 1 to 14 days later; everyone browses.

Titles name the leaf's kind of product (``KINDS``, Cyrillic in two departments) and a brand (also a ``brand``
column) shared by the items of one rank in every leaf: content neighbours have something to read.

Deterministic for a shape and seed; a few thousand users, so an evaluation takes seconds.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from recsvc.contract.units import DAY

NOW = 1_767_225_600
"""2026-01-01 00:00 UTC: the end of every shop's history."""
HISTORY_DAYS = 90
ROOTS = 6
LEAVES_PER_ROOT = 5
ITEMS_PER_LEAF = 50
BROWSER_SHARE = 0.2
"""Users who only view."""
BROWSE_VIEWS = 6.0
"""Mean views per user of items from anywhere in the catalog (browsing, in every shape)."""


@dataclass(frozen=True)
class Shape:
    """How strongly each pattern shows in a shop; ``users`` and ``seed`` make it reproducible."""

    name: str
    view_predicts: float = 0.5
    complement_rate: float = 0.3
    repeat_share: float = 0.15
    users: int = 3_000
    seed: int = 0
    kind: str = "mixed"  # or "durables" (``DurablesUser``)


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("views_predict", view_predicts=0.9),
        Shape("views_noise", view_predicts=0.0),
        Shape("complements_strong", complement_rate=0.8),
        Shape("complements_weak", complement_rate=0.03),
        Shape("repeats_many", repeat_share=0.6),
        Shape("repeats_few", repeat_share=0.02),
        Shape("durables_complements", complement_rate=0.7, kind="durables"),
    )
}
"""Each axis at two ends, the others at their middle values; and the shop of durables and their complements."""

N_LEAVES = ROOTS * LEAVES_PER_ROOT
N_ITEMS = N_LEAVES * ITEMS_PER_LEAF
_ZIPF = list(itertools.accumulate(1.0 / rank**1.1 for rank in range(1, ITEMS_PER_LEAF + 1)))
"""Cumulative popularity of the items of a leaf by rank: the first few are the bestsellers."""


@dataclass(frozen=True)
class ShapeShop:
    """Paths of a written shop."""

    events: Path  # events.csv: timestamp, user_id, item_id, event, quantity
    catalog: Path  # catalog.csv: item_id, category_id, title, brand, price
    categories: Path  # categories.csv: category_id, parent_id


def item_id(code: int) -> str:
    return f"i{code:05d}"


def leaf_of(code: int) -> int:
    return code // ITEMS_PER_LEAF


def complement_of(code: int) -> int | None:
    """The item of the same rank in the next leaf, for items of key (even) leaves."""
    leaf = leaf_of(code)
    return code + ITEMS_PER_LEAF if leaf % 2 == 0 else None


def simulate(shape: Shape, start: int | None = None) -> list[tuple[int, str, str, str, int]]:
    """(timestamp, user_id, item_id, event, quantity) rows of every user of the shape, sorted by time."""
    rng = random.Random(shape.seed)
    end = NOW
    start = end - HISTORY_DAYS * DAY if start is None else start
    rows: list[tuple[int, int, int, str, int]] = []
    person = DurablesUser if shape.kind == "durables" else _User
    for user in range(shape.users):
        person(rng, shape, user, start, end, rows).live()
    rows.sort()
    width = len(str(shape.users))
    return [(t, f"u{u:0{width}d}", item_id(i), e, q) for t, u, i, e, q in rows]


class _User:
    """One user's events, appended to a shared list; events after the end are dropped."""

    def __init__(self, rng, shape: Shape, user: int, start: int, end: int, out: list):
        self.rng, self.shape, self.user, self.start, self.end, self.out = rng, shape, user, start, end, out
        self.owned: set[int] = set()  # only repeat buyers buy an item twice

    def live(self) -> None:
        rng = self.rng
        interests = rng.sample(range(N_LEAVES), rng.randint(1, 2))
        for _ in range(_poisson(rng, BROWSE_VIEWS)):
            self._add(self._any_time(), self._pick(rng.randrange(N_LEAVES)), "view")
        if rng.random() < BROWSER_SHARE:
            return
        repeats = rng.random() < self.shape.repeat_share
        for _ in range(1 + _poisson(rng, 1.5)):
            leaf = rng.choice(interests) if rng.random() < 0.8 else rng.randrange(N_LEAVES)
            item = next((i for i in (self._pick(leaf) for _ in range(5)) if i not in self.owned), None)
            if item is not None:
                self._buy(self._any_time(), item, repeats)

    def _any_time(self) -> float:
        return self.start + self.rng.uniform(0, HISTORY_DAYS) * DAY

    def _pick(self, leaf: int) -> int:
        return leaf * ITEMS_PER_LEAF + bisect.bisect(_ZIPF, self.rng.random() * _ZIPF[-1])

    def _add(self, t: float, item: int, event: str, quantity: int = 1) -> None:
        if self.start <= t < self.end:
            self.out.append((int(t), self.user, item, event, quantity))

    def _buy(self, t: float, item: int, repeats: bool, follow: bool = True) -> None:
        rng = self.rng
        if rng.random() < self.shape.view_predicts:
            # looked at days before: the item and an alternative or two of its leaf
            seen = t - rng.uniform(0.5, 10) * DAY
            for other in [item, *(self._pick(leaf_of(item)) for _ in range(rng.randint(1, 2)))]:
                self._add(seen, other, "view")
                seen += rng.uniform(20, 300)
        if rng.random() < 0.5:
            self._add(t - rng.uniform(60, 900), item, "addtocart")
        self._add(t, item, "purchase")
        self.owned.add(item)
        complement = complement_of(item)
        wanted = follow and complement is not None and complement not in self.owned
        if wanted and complement is not None and rng.random() < self.shape.complement_rate:
            self._buy(t + rng.uniform(1, 14) * DAY, complement, repeats, follow=False)
        if repeats and rng.random() < 0.6:
            interval = rng.uniform(10, 30) * DAY
            again = t + interval
            while again < self.end:
                self._add(again, item, "purchase")
                again += interval * rng.uniform(0.9, 1.1)


DURABLE, COMPLEMENT, CONSUMABLES, ACCESSORY = 0, 1, (2, 3), 4
"""The role of each leaf of a root (a department) in the ``durables`` shop."""


def durable_complement(code: int) -> int | None:
    """In the ``durables`` shop: a durable's complement (the item of the same rank in the next leaf)."""
    return code + ITEMS_PER_LEAF if leaf_of(code) % LEAVES_PER_ROOT == DURABLE else None


class DurablesUser(_User):
    """A customer of the ``durables`` shop: a durable now and then (its complement after it at
    ``complement_rate``), consumables re-bought every 2 to 6 weeks, popular accessories of any department,
    and views across the shop."""

    def live(self) -> None:
        rng = self.rng
        departments = rng.sample(range(ROOTS), rng.randint(1, 2))
        for _ in range(_poisson(rng, BROWSE_VIEWS)):
            self._add(self._any_time(), self._pick(rng.randrange(N_LEAVES)), "view")
        if rng.random() < BROWSER_SHARE:
            return
        for _ in range(rng.randint(1, 6)):  # staples, each re-bought on its own interval, taken up any time
            root = rng.choice(departments) if rng.random() < 0.7 else rng.randrange(ROOTS)
            item = self._pick(root * LEAVES_PER_ROOT + rng.choice(CONSUMABLES))
            interval = rng.uniform(14, 42) * DAY
            t = self._any_time()
            while t < self.end:
                self._bought(t, item)
                t += interval * rng.uniform(0.85, 1.15)
        for _ in range(_poisson(rng, 10.0)):  # best-selling accessories of any department
            self._bought(self._any_time(), self._pick(rng.randrange(ROOTS) * LEAVES_PER_ROOT + ACCESSORY))
        if rng.random() < 0.5:
            durable = self._pick(rng.choice(departments) * LEAVES_PER_ROOT + DURABLE)
            t = self._any_time()
            self._bought(t, durable)
            complement = durable_complement(durable)
            if complement is not None and rng.random() < self.shape.complement_rate:
                self._bought(t + rng.uniform(1, 14) * DAY, complement)

    def _bought(self, t: float, item: int) -> None:
        """A purchase, viewed first now and then, with a look at an alternative of its leaf."""
        rng = self.rng
        if rng.random() < self.shape.view_predicts:
            self._add(t - rng.uniform(0.1, 3) * DAY, item, "view")
            self._add(t - rng.uniform(0.1, 3) * DAY, self._pick(leaf_of(item)), "view")
        if rng.random() < 0.5:
            self._add(t - rng.uniform(60, 900), item, "addtocart")
        self._add(t, item, "purchase")


def write(folder: Path, shape: Shape | str) -> ShapeShop:
    """Write a shape's events, catalog and category tree as CSV files into folder."""
    shape = SHAPES[shape] if isinstance(shape, str) else shape
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shop = ShapeShop(folder / "events.csv", folder / "catalog.csv", folder / "categories.csv")
    tree = [(f"root{r}", "") for r in range(ROOTS)]
    tree += [(f"leaf{n:02d}", f"root{n // LEAVES_PER_ROOT}") for n in range(N_LEAVES)]
    _write_csv(shop.categories, ("category_id", "parent_id"), tree)
    prices = np.random.default_rng(shape.seed + 1).uniform(5, 200, N_ITEMS)
    catalog = [
        (item_id(i), f"leaf{leaf_of(i):02d}", title_of(i), brand_of(i), f"{prices[i]:.2f}") for i in range(N_ITEMS)
    ]
    _write_csv(shop.catalog, ("item_id", "category_id", "title", "brand", "price"), catalog)
    _write_csv(shop.events, ("timestamp", "user_id", "item_id", "event", "quantity"), simulate(shape))
    return shop


KINDS = (
    "running shoe", "running shirt", "trail shoe", "trail sock", "sports watch",
    "coffee bean", "coffee filter", "green tea", "tea cup", "espresso machine",
    "smart tv", "tv mount", "soundbar", "hdmi cable", "remote control",
    "детская коляска", "дождевик для коляски", "детское пюре", "детская смесь", "погремушка",
    "туристическая палатка", "коврик для палатки", "газовый баллон", "горелка", "фонарь",
    "garden hose", "hose nozzle", "potting soil", "plant food", "garden gloves",
)  # fmt: skip
"""The kind of product of each leaf: its titles' common words (English, and Cyrillic in two departments)."""
BRANDS = ("Altra", "Brisk", "Corvo", "Delta", "Evera", "Fjord", "Gala", "Helio")
"""Brands, each a line across the shop: the items of one rank in every leaf share one (a durable and its
complement, the item of the same rank in the next leaf, share their brand)."""


def brand_of(code: int) -> str:
    return BRANDS[(code % ITEMS_PER_LEAF) % len(BRANDS)]


def title_of(code: int) -> str:
    """A title: the brand, the leaf's kind of product and a model number."""
    return f"{brand_of(code)} {KINDS[leaf_of(code)]} {100 + code % ITEMS_PER_LEAF}"


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by counting exponential gaps (Python's random has no Poisson)."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def shape_with(name: str, **changes) -> Shape:
    """A named shape with some fields changed (fewer users for a test, another seed)."""
    return replace(SHAPES[name], **changes)


def _write_csv(path: Path, header: tuple[str, ...], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

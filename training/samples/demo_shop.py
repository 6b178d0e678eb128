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
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from recsvc.contract.units import DAY

DEFAULT_NOW = 1_767_225_600
"""2026-01-01 00:00 UTC: a fixed end of history keeps the output reproducible."""
HISTORY_DAYS = 120

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    # category_id, parent_id, name
    ("sports", "", "Sports"),
    ("running-shoes", "sports", "Running shoes"),
    ("running-clothes", "sports", "Running clothes"),
    ("fitness", "sports", "Fitness"),
    ("kitchen", "", "Kitchen"),
    ("coffee-machines", "kitchen", "Coffee machines"),
    ("cookware", "kitchen", "Cookware"),
    ("knives-utensils", "kitchen", "Knives and utensils"),
    ("electronics", "", "Electronics"),
    ("tv", "electronics", "TVs"),
    ("tv-accessories", "electronics", "TV accessories"),
    ("headphones", "electronics", "Headphones"),
    ("printers", "electronics", "Printers"),
    ("printer-ink", "electronics", "Printer ink and paper"),
    ("grocery", "", "Grocery"),
    ("coffee", "grocery", "Coffee"),
    ("tea", "grocery", "Tea"),
    ("snacks", "grocery", "Snacks"),
    ("pets", "", "Pets"),
    ("dog-food", "pets", "Dog food"),
    ("dog-accessories", "pets", "Dog accessories"),
    ("home", "", "Home"),
    ("bedding", "home", "Bedding"),
    ("lighting", "home", "Lighting"),
    ("garden", "", "Garden"),
    ("garden-tools", "garden", "Garden tools"),
    ("plants-seeds", "garden", "Plants and seeds"),
    ("books", "", "Books"),
    ("fiction", "books", "Fiction"),
    ("cookbooks", "books", "Cookbooks"),
    ("travel-guides", "books", "Travel guides"),
)

ITEMS: dict[str, tuple[tuple[str, str, float], ...]] = {
    # leaf category -> (item_id, title, price), bestsellers first
    "running-shoes": (
        ("shoe-road-01", "Road running shoes", 99.00),
        ("shoe-road-02", "Cushioned road running shoes", 139.00),
        ("shoe-trail-01", "Trail running shoes", 119.00),
        ("shoe-road-03", "Lightweight road running shoes", 89.00),
        ("shoe-trail-02", "Waterproof trail running shoes", 149.00),
        ("shoe-road-04", "Stability running shoes", 129.00),
        ("shoe-race-01", "Carbon racing shoes", 219.00),
        ("shoe-trail-03", "Minimalist trail shoes", 109.00),
        ("shoe-kids-01", "Kids' running shoes", 49.00),
        ("shoe-spikes-01", "Track spikes", 79.00),
    ),
    "running-clothes": (
        ("socks-run-3pack", "Running socks (3 pack)", 14.90),
        ("shirt-run-01", "Running shirt", 24.90),
        ("shorts-run-01", "Running shorts", 29.90),
        ("tights-run-01", "Running tights", 39.90),
        ("jacket-run-01", "Lightweight running jacket", 69.00),
        ("shirt-run-02", "Long-sleeve running shirt", 34.90),
        ("socks-trail-2pack", "Trail socks (2 pack)", 16.90),
        ("cap-run-01", "Running cap", 19.90),
        ("gloves-run-01", "Running gloves", 17.90),
        ("vest-run-01", "Hydration vest", 59.00),
    ),
    "fitness": (
        ("yoga-mat", "Yoga mat", 24.90),
        ("foam-roller", "Foam roller", 19.90),
        ("resistance-bands", "Resistance bands (set of 5)", 15.90),
        ("dumbbells-2x5kg", "Dumbbells 2 x 5 kg", 44.90),
        ("kettlebell-12kg", "Kettlebell 12 kg", 39.90),
        ("jump-rope", "Jump rope", 9.90),
        ("water-bottle-750", "Sports water bottle 750 ml", 12.90),
        ("gym-bag", "Gym bag", 34.90),
    ),
    "coffee-machines": (
        ("espresso-machine-01", "Espresso machine", 349.00),
        ("espresso-machine-02", "Bean-to-cup coffee machine", 599.00),
        ("coffee-grinder", "Burr coffee grinder", 89.00),
        ("filter-coffee-maker", "Filter coffee maker", 59.00),
        ("moka-pot-6", "Moka pot (6 cups)", 34.90),
        ("french-press-1l", "French press 1 l", 29.90),
        ("milk-frother", "Milk frother", 49.00),
    ),
    "cookware": (
        ("pan-28cm", "Non-stick frying pan 28 cm", 39.90),
        ("skillet-cast-iron", "Cast iron skillet 26 cm", 49.90),
        ("saucepan-set-3", "Saucepan set (3 pieces)", 89.00),
        ("stock-pot-8l", "Stock pot 8 l", 44.90),
        ("dutch-oven-5l", "Dutch oven 5 l", 119.00),
        ("wok-32cm", "Carbon steel wok 32 cm", 34.90),
        ("baking-sheet-2", "Baking sheets (2 pack)", 19.90),
        ("roasting-tin", "Roasting tin", 24.90),
        ("pan-set-3", "Frying pan set (3 pieces)", 79.00),
    ),
    "knives-utensils": (
        ("knife-chef-20cm", "Chef's knife 20 cm", 59.00),
        ("cutting-board-oak", "Oak cutting board", 34.90),
        ("spatula-silicone", "Silicone spatula", 8.90),
        ("wooden-spoons-3", "Wooden spoons (3 pack)", 9.90),
        ("knife-block-5", "Knife block with 5 knives", 129.00),
        ("knife-sharpener", "Knife sharpener", 24.90),
        ("tongs-kitchen", "Kitchen tongs", 11.90),
        ("whisk-steel", "Stainless steel whisk", 7.90),
        ("knife-paring", "Paring knife", 19.90),
    ),
    "tv": (
        ("tv-55-4k", '55" 4K TV', 549.00),
        ("tv-65-4k", '65" 4K TV', 799.00),
        ("tv-43-fhd", '43" Full HD TV', 329.00),
        ("tv-55-oled", '55" OLED TV', 1199.00),
        ("tv-75-4k", '75" 4K TV', 1299.00),
        ("tv-65-oled", '65" OLED TV', 1799.00),
        ("tv-32-hd", '32" HD TV', 199.00),
    ),
    "tv-accessories": (
        ("hdmi-cable-2m", "HDMI cable 2 m", 12.90),
        ("wall-mount-tv", "TV wall mount", 39.90),
        ("soundbar-01", "Soundbar", 199.00),
        ("hdmi-cable-5m", "HDMI cable 5 m", 19.90),
        ("wall-mount-tilt", "Tilting TV wall mount", 49.90),
        ("streaming-stick", "Streaming stick", 49.00),
        ("remote-universal", "Universal remote", 24.90),
        ("screen-cleaner", "Screen cleaning kit", 9.90),
    ),
    "headphones": (
        ("headphones-nc", "Noise-cancelling headphones", 249.00),
        ("earbuds-wireless", "Wireless earbuds", 99.00),
        ("earbuds-sport", "Sports earbuds", 59.00),
        ("headset-office", "Office headset with microphone", 69.00),
        ("headphones-kids", "Kids' headphones", 29.90),
        ("headphones-studio", "Studio headphones", 149.00),
    ),
    "printers": (
        ("printer-inkjet-aio", "All-in-one inkjet printer", 129.00),
        ("printer-laser-mono", "Mono laser printer", 179.00),
        ("printer-inkjet", "Inkjet printer", 79.00),
        ("printer-laser-color", "Colour laser printer", 349.00),
        ("printer-photo", "Photo printer", 149.00),
    ),
    "printer-ink": (
        ("ink-black-xl", "Black ink cartridge XL", 29.90),
        ("ink-colour", "Colour ink cartridge", 34.90),
        ("ink-multipack", "Ink multipack (4 colours)", 59.90),
        ("paper-a4-500", "Printer paper A4 (500 sheets)", 6.90),
        ("toner-black", "Black toner cartridge", 69.00),
        ("paper-photo-50", "Photo paper (50 sheets)", 14.90),
    ),
    "coffee": (
        ("coffee-colombia-1kg", "Colombian coffee beans 1 kg", 21.90),
        ("coffee-espresso-1kg", "Espresso blend beans 1 kg", 19.90),
        ("coffee-ethiopia-1kg", "Ethiopian coffee beans 1 kg", 24.90),
        ("coffee-brazil-500g", "Brazilian coffee beans 500 g", 11.90),
        ("coffee-house-1kg", "House blend coffee beans 1 kg", 16.90),
        ("coffee-ground-500g", "Ground filter coffee 500 g", 8.90),
        ("coffee-guatemala-1kg", "Guatemalan coffee beans 1 kg", 23.90),
        ("coffee-decaf-500g", "Decaf coffee beans 500 g", 12.90),
        ("coffee-kenya-500g", "Kenyan coffee beans 500 g", 14.90),
        ("coffee-capsules-50", "Coffee capsules (50 pack)", 17.90),
    ),
    "tea": (
        ("tea-english-breakfast-80", "English breakfast tea (80 bags)", 5.90),
        ("tea-green-sencha-100g", "Green sencha tea 100 g", 7.90),
        ("tea-earl-grey-50", "Earl grey tea (50 bags)", 4.90),
        ("tea-chamomile-20", "Chamomile tea (20 bags)", 3.50),
        ("tea-rooibos-100g", "Rooibos tea 100 g", 6.50),
        ("tea-chai-200g", "Chai tea 200 g", 9.90),
        ("tea-mint-20", "Peppermint tea (20 bags)", 3.50),
        ("tea-oolong-100g", "Oolong tea 100 g", 11.90),
    ),
    "snacks": (
        ("chocolate-dark-100g", "Dark chocolate 100 g", 2.90),
        ("almonds-salted-200g", "Salted almonds 200 g", 4.50),
        ("granola-750g", "Granola 750 g", 5.90),
        ("energy-bars-12", "Energy bars (12 pack)", 14.90),
        ("cookies-oat-300g", "Oat cookies 300 g", 3.90),
        ("mango-dried-200g", "Dried mango 200 g", 4.90),
    ),
    "dog-food": (
        ("dogfood-adult-12kg", "Dry dog food adult 12 kg", 49.90),
        ("dogfood-grainfree-10kg", "Grain-free dog food 10 kg", 64.90),
        ("dogfood-wet-12", "Wet dog food (12 cans)", 19.90),
        ("dogfood-puppy-3kg", "Puppy food 3 kg", 21.90),
        ("dogfood-senior-7kg", "Senior dog food 7 kg", 39.90),
        ("dog-treats-500g", "Dog treats 500 g", 8.90),
        ("dog-dental-chews-28", "Dental chews (28 pack)", 15.90),
    ),
    "dog-accessories": (
        ("dog-lead", "Dog lead 2 m", 14.90),
        ("dog-bed-m", "Dog bed (medium)", 49.90),
        ("dog-harness", "Dog harness", 24.90),
        ("dog-bowls-2", "Stainless steel dog bowls (2 pack)", 12.90),
        ("dog-chew-toy", "Dog chew toy", 7.90),
        ("dog-poop-bags-120", "Poop bags (120 pack)", 5.90),
        ("dog-brush", "Dog brush", 11.90),
    ),
    "bedding": (
        ("duvet-cover-cotton", "Cotton duvet cover 200 x 200 cm", 49.90),
        ("pillow-memory-foam", "Memory foam pillow", 39.90),
        ("sheet-fitted-160", "Fitted sheet 160 x 200 cm", 24.90),
        ("duvet-winter", "Winter duvet 200 x 200 cm", 89.00),
        ("throw-blanket", "Knitted throw blanket", 34.90),
        ("mattress-topper-160", "Mattress topper 160 x 200 cm", 119.00),
    ),
    "lighting": (
        ("led-bulbs-e27-4", "LED bulbs E27 (4 pack)", 12.90),
        ("desk-lamp-led", "LED desk lamp", 39.90),
        ("floor-lamp-arc", "Arc floor lamp", 129.00),
        ("fairy-lights-10m", "Fairy lights 10 m", 14.90),
        ("smart-bulb-2", "Smart bulbs (2 pack)", 29.90),
        ("bedside-lamp", "Bedside lamp", 24.90),
    ),
    "garden-tools": (
        ("pruning-shears", "Pruning shears", 24.90),
        ("garden-hose-25m", "Garden hose 25 m", 34.90),
        ("garden-gloves", "Garden gloves", 9.90),
        ("trowel-steel", "Stainless steel trowel", 12.90),
        ("watering-can-10l", "Watering can 10 l", 16.90),
        ("rake-leaf", "Leaf rake", 19.90),
        ("wheelbarrow-90l", "Wheelbarrow 90 l", 89.00),
    ),
    "plants-seeds": (
        ("potting-soil-40l", "Potting soil 40 l", 8.90),
        ("herb-garden-kit", "Herb garden kit", 19.90),
        ("tomato-seeds", "Tomato seeds (3 varieties)", 4.90),
        ("plant-food-1l", "Liquid plant food 1 l", 7.90),
        ("lawn-seed-1kg", "Lawn seed 1 kg", 14.90),
        ("tulip-bulbs-25", "Tulip bulbs (25 pack)", 11.90),
        ("lavender-plant", "Lavender plant", 6.90),
    ),
    "fiction": (
        ("book-night-circus", "The Night Circus", 12.99),
        ("book-project-hail-mary", "Project Hail Mary", 14.99),
        ("book-remains-of-the-day", "The Remains of the Day", 10.99),
        ("book-piranesi", "Piranesi", 11.99),
        ("book-circe", "Circe", 12.49),
        ("book-the-road", "The Road", 9.99),
        ("book-klara-and-the-sun", "Klara and the Sun", 13.99),
        ("book-a-gentleman-in-moscow", "A Gentleman in Moscow", 12.99),
    ),
    "cookbooks": (
        ("book-salt-fat-acid-heat", "Salt, Fat, Acid, Heat", 29.99),
        ("book-weeknight-pasta", "Weeknight Pasta", 19.99),
        ("book-plenty", "Plenty: vegetarian recipes", 24.99),
        ("book-bread-baking", "Bread Baking at Home", 22.99),
        ("book-one-pot", "One Pot Dinners", 17.99),
        ("book-curry-kitchen", "The Curry Kitchen", 21.99),
    ),
    "travel-guides": (
        ("guide-japan", "Travel guide: Japan", 24.99),
        ("guide-italy", "Travel guide: Italy", 22.99),
        ("guide-portugal", "Travel guide: Portugal", 19.99),
        ("guide-iceland", "Travel guide: Iceland", 21.99),
        ("guide-scotland-hiking", "Hiking in Scotland", 18.99),
    ),
}

UNAVAILABLE = frozenset({"shoe-road-02", "tv-32-hd", "coffee-kenya-500g"})
"""Sold out or discontinued, yet in the history: one of them is a bestseller, so hiding matters."""

COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "running-shoes": ("running-clothes",),
    "tv": ("tv-accessories",),
    "coffee-machines": ("coffee",),
    "cookware": ("knives-utensils",),
    "printers": ("printer-ink",),
}
"""Category -> categories its buyers go on to buy from, days later."""
COMPLEMENT_RATE = 0.8

REPURCHASE_DAYS: dict[str, int] = {"coffee": 30, "tea": 40, "dog-food": 30, "printer-ink": 60}
"""Consumable category -> typical days between purchases; each user keeps a rhythm of +-15%."""

ONCE_PER_USER = frozenset({"running-shoes", "tv", "coffee-machines", "printers"})
"""Durables nobody buys twice within the history: one pair of shoes a season, one TV."""

QUANTITIES: dict[str, tuple[int, ...]] = {
    # drawn uniformly; every other category is bought one at a time
    "coffee": (1, 1, 1, 1, 2, 2, 3),
    "tea": (1, 1, 2, 3),
    "printer-ink": (1, 1, 1, 2),
    "snacks": (1, 1, 2, 4),
}


@dataclass(frozen=True)
class Persona:
    """An interest: the categories it browses (most viewed first) and the purchases it plans."""

    browses: tuple[str, ...]
    plans: tuple[tuple[str, float], ...]  # category, chance of buying from it
    share: float  # relative number of users with this interest


PERSONAS: dict[str, Persona] = {
    "runner": Persona(("running-shoes", "running-clothes", "fitness"), (("running-shoes", 0.75), ("fitness", 0.2)), 3),
    "coffee lover": Persona(("coffee", "coffee-machines", "snacks"), (("coffee", 0.85), ("coffee-machines", 0.3)), 3),
    "home cinema": Persona(("tv", "tv-accessories", "headphones"), (("tv", 0.6), ("headphones", 0.2)), 2),
    "cook": Persona(("cookware", "knives-utensils", "cookbooks"), (("cookware", 0.65), ("cookbooks", 0.3)), 2),
    "reader": Persona(
        ("fiction", "travel-guides", "cookbooks"), (("fiction", 0.8), ("fiction", 0.5), ("travel-guides", 0.35)), 2
    ),
    "gardener": Persona(("plants-seeds", "garden-tools"), (("plants-seeds", 0.7), ("garden-tools", 0.5)), 1.5),
    "dog owner": Persona(("dog-food", "dog-accessories"), (("dog-food", 0.85), ("dog-accessories", 0.5)), 1.5),
    "home office": Persona(
        ("printers", "printer-ink", "headphones", "lighting"),
        (("printers", 0.5), ("printer-ink", 0.3), ("headphones", 0.2)),
        1.5,
    ),
    "tea drinker": Persona(("tea", "snacks"), (("tea", 0.85), ("snacks", 0.4)), 1.5),
    "homebody": Persona(("bedding", "lighting"), (("bedding", 0.5), ("lighting", 0.4)), 1),
}

NEW_USER_SHARE = 0.08  # one or two views, nothing else
BROWSER_SHARE = 0.15  # views, wishlists and abandoned carts, never a purchase
NOISE_CATEGORY_RATE = 0.12  # a browsing session outside the user's interests
IMPULSE_RATE = 0.25  # a shopper buys once outside their interests


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

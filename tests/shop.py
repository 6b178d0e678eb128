"""A small shop whose right answers are known, written as contract-format CSV files."""

import csv
import random
from pathlib import Path

DAY = 86_400
START = 1_700_000_000

CATEGORIES = [
    ("sports", ""),
    ("running-shoes", "sports"),
    ("running-clothes", "sports"),
    ("electronics", ""),
    ("tv", "electronics"),
    ("tv-accessories", "electronics"),
    ("grocery", ""),
    ("coffee", "grocery"),
]
CATALOG = [
    # item_id, category_id, title, price, available
    ("shoe-1", "running-shoes", "Trail running shoe", 89.0, True),
    ("shoe-2", "running-shoes", "Road running shoe", 99.0, True),
    ("shoe-3", "running-shoes", "Racing flat", 129.0, True),
    ("shirt-1", "running-clothes", "Running shirt", 25.0, True),
    ("shirt-2", "running-clothes", "Running jacket", 59.0, True),
    ("sock-1", "running-clothes", "Running socks", 9.0, True),
    ("tv-1", "tv", "55 inch TV", 499.0, True),
    ("tv-2", "tv", "65 inch TV", 799.0, True),
    ("cable-1", "tv-accessories", "HDMI cable", 12.0, True),
    ("mount-1", "tv-accessories", "Wall mount", 39.0, True),
    ("coffee-1", "coffee", "Coffee beans 1 kg", 18.0, True),
    ("coffee-2", "coffee", "Espresso beans 1 kg", 21.0, True),
    ("gone-1", "running-shoes", "Discontinued shoe", 49.0, False),
]
HIDDEN = "gone-1"


def shop_events(seed: int = 7) -> list[tuple[int, str, str, str]]:
    """(timestamp, user, item, event): buyers of shoe-1 go on to buy shirt-1, TV buyers buy cable-1."""
    rng = random.Random(seed)
    events = []

    def add(t, user, item, event):
        events.append((START + int(t * DAY) + rng.randrange(3600), user, item, event))

    for n in range(60):  # runners: compare shoes, buy one, then a shirt a few days later
        user, t = f"runner-{n}", rng.uniform(0, 40)
        for item in rng.sample(["shoe-1", "shoe-2", "shoe-3", "gone-1"], 3):
            add(t, user, item, "view")
        shoe = "shoe-1" if n < 40 else "shoe-2"
        add(t + 0.1, user, shoe, "addtocart")
        add(t + 0.2, user, shoe, "purchase")
        if n < 36:
            add(t + 3, user, "shirt-1", "view")
            add(t + 3.1, user, "shirt-1", "purchase")
        if n % 3 == 0:
            add(t + 5, user, "sock-1", "purchase")
    for n in range(40):  # home cinema: compare TVs, buy one, then a cable
        user, t = f"viewer-{n}", rng.uniform(0, 40)
        add(t, user, "tv-1", "view")
        add(t, user, "tv-2", "view")
        add(t + 0.5, user, "tv-1" if n % 2 else "tv-2", "purchase")
        add(t + 2, user, "cable-1", "purchase")
        if n % 4 == 0:
            add(t + 2, user, "mount-1", "purchase")
    for n in range(30):  # coffee drinkers buy again every month
        user, t = f"coffee-{n}", rng.uniform(0, 10)
        for k in range(4):
            add(t + 30 * k, user, "coffee-1" if n % 3 else "coffee-2", "purchase")
    for n in range(80):  # the discontinued shoe is viewed a lot: popular but hidden
        add(rng.uniform(30, 50), f"browser-{n}", "gone-1", "view")
    # alice bought shoe-1 and looked at a jacket; bob viewed one TV once
    add(45, "alice", "shoe-1", "view")
    add(45, "alice", "shoe-2", "view")
    add(45.1, "alice", "shoe-1", "purchase")
    add(46, "alice", "shirt-2", "view")
    add(46, "alice", "tv-1", "view")
    add(47, "bob", "tv-2", "view")
    return sorted(events)


def write_csv(path: Path, header: list[str], rows) -> None:
    """One CSV file with a header."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_shop(folder: Path) -> dict[str, Path]:
    """Write events.csv, catalog.csv and categories.csv; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("events", "catalog", "categories")}
    write_csv(paths["events"], ["timestamp", "user_id", "item_id", "event"], shop_events())
    write_csv(
        paths["catalog"],
        ["item_id", "category_id", "title", "price", "url", "available"],
        (
            [item, category, title, price, f"https://shop.test/{item}", str(available).lower()]
            for item, category, title, price, available in CATALOG
        ),
    )
    write_csv(paths["categories"], ["category_id", "parent_id"], CATEGORIES)
    return paths

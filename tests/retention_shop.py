"""A shop made for the retention features: every buy-again list, segment and trigger is known.

History ends at day 100 (``END``). Coffee is bought every 10 days; a TV is bought once.
"""

from pathlib import Path

from tests.shop import write_csv

DAY = 86_400
START = 1_700_000_000
END = START + 100 * DAY

CATEGORIES = [
    ("grocery", ""),
    ("coffee", "grocery"),
    ("electronics", ""),
    ("tv", "electronics"),
    ("sports", ""),
    ("shoes", "sports"),
]
CATALOG = [  # item_id, category_id, price
    ("coffee-a", "coffee", 10.0),
    ("coffee-b", "coffee", 12.0),
    ("tv-a", "tv", 500.0),
    ("tv-b", "tv", 800.0),
    ("shoe-a", "shoes", 90.0),
    ("shoe-b", "shoes", 110.0),
    ("shoe-c", "shoes", 70.0),
]


def events() -> list[tuple[int, str, str, str]]:
    """(timestamp, user, item, event)."""
    out = []

    def add(day: float, user: str, item: str, event: str = "purchase"):
        out.append((START + int(day * DAY), user, item, event))

    for n in range(6):  # regulars: coffee every 10 days, one TV each
        for day in range(n, 96, 10):
            add(day, f"regular-{n}", "coffee-a")
        add(5 + n, f"regular-{n}", "tv-a")
        add(4 + n, f"regular-{n}", "tv-b", "view")
    for day in (60, 70, 80, 90):  # steady: coffee-a due today
        add(day, "steady", "coffee-a")
    add(95, "steady", "coffee-b")  # bought once: due by the coffee category's interval, in 5 days
    add(20, "steady", "tv-a")  # never again
    for day in (70, 78, 86):  # drifting: every 8 days, silent for 14: past 1.5 intervals, at risk
        add(day, "drifting", "coffee-a")
    add(80, "big-spender", "tv-b")
    add(80, "big-spender", "tv-a")
    add(95, "big-spender", "coffee-a")
    add(99, "one-timer", "shoe-a")
    add(98, "carter", "shoe-a", "view")
    add(98, "carter", "shoe-a", "addtocart")  # in the cart for two days
    add(97, "cart-then-bought", "shoe-b", "addtocart")
    add(97.5, "cart-then-bought", "shoe-b")
    for day, item in ((95, "shoe-a"), (97, "shoe-b"), (99, "shoe-a")):  # shoes viewed on three days
        add(day, "browser", item, "view")
    add(100, "clock", "shoe-c", "view")  # the newest event: now is day 100
    return sorted(out)


def write_retention_shop(folder: Path) -> dict[str, Path]:
    """Write events.csv, catalog.csv and categories.csv; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("events", "catalog", "categories")}
    write_csv(paths["events"], ["timestamp", "user_id", "item_id", "event"], events())
    write_csv(
        paths["catalog"],
        ["item_id", "category_id", "title", "price"],
        ((item, category, item.replace("-", " ").title(), price) for item, category, price in CATALOG),
    )
    write_csv(paths["categories"], ["category_id", "parent_id"], CATEGORIES)
    return paths

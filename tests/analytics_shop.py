"""Six buyers whose retention figures are worked out by hand (see tests/test_analytics.py).

Prices: a 10, b 25. Times are 12:00 UTC unless given; the clock (the newest event) is 2024-04-30 00:00.

| buyer | orders (value) | first -> second |
|---|---|---|
| u1 | Jan 5 (10), Jan 20 (25), Feb 10 (10), Mar 15 (10) | 15 days |
| u2 | Jan 10 (25), Mar 25 10:00 + 15:00, one order (35) | 75 days |
| u3 | Jan 25 (10) | |
| u4 | Feb 3 12:00 + 23:00, one order (20), Apr 10 (25) | 67 days |
| u5 | Mar 2 (10), Mar 20 (10), Apr 5 (10) | 18 days |
| u6 | Apr 20 (25) | |
"""

from datetime import datetime, timezone
from pathlib import Path

from tests.shop import write_csv

PRICES = {"a": 10.0, "b": 25.0}
PURCHASES = [  # user, month, day, hour, item
    ("u1", 1, 5, 12, "a"),
    ("u1", 1, 20, 12, "b"),
    ("u1", 2, 10, 12, "a"),
    ("u1", 3, 15, 12, "a"),
    ("u2", 1, 10, 12, "b"),
    ("u2", 3, 25, 10, "a"),
    ("u2", 3, 25, 15, "b"),
    ("u3", 1, 25, 12, "a"),
    ("u4", 2, 3, 12, "a"),
    ("u4", 2, 3, 23, "a"),
    ("u4", 4, 10, 12, "b"),
    ("u5", 3, 2, 12, "a"),
    ("u5", 3, 20, 12, "a"),
    ("u5", 4, 5, 12, "a"),
    ("u6", 4, 20, 12, "b"),
]
NOW = datetime(2024, 4, 30, tzinfo=timezone.utc)


def at(month: int, day: int, hour: int) -> int:
    """Unix seconds of a moment of 2024 in UTC."""
    return int(datetime(2024, month, day, hour, tzinfo=timezone.utc).timestamp())


def write_analytics_shop(folder: Path) -> dict[str, Path]:
    """events.csv and catalog.csv of the shop; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    events = [(at(m, d, h), user, item, "purchase") for user, m, d, h, item in PURCHASES]
    events.append((int(NOW.timestamp()), "viewer", "a", "view"))
    paths = {"events": folder / "events.csv", "catalog": folder / "catalog.csv"}
    write_csv(paths["events"], ["timestamp", "user_id", "item_id", "event"], sorted(events))
    write_csv(paths["catalog"], ["item_id", "category_id", "price"], [(i, "all", p) for i, p in PRICES.items()])
    return paths

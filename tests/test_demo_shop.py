"""The sample shop: file formats, determinism, and the patterns a model is checked against."""

import csv
import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from recsvc.contract.ids import is_valid_id
from training.samples.demo_catalog import COMPLEMENTS, ONCE_PER_USER, REPURCHASE_DAYS
from training.samples.demo_shop import DAY, HISTORY_DAYS, DemoShop, write_demo_shop

NOW = 1_760_000_000
ROOT = Path(__file__).resolve().parents[1]


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


@dataclass
class Shop:
    """A generated shop read back, with each user's purchases as (timestamp, category, item)."""

    paths: DemoShop
    events: list[dict]
    catalog: dict[str, dict]
    parents: dict[str, str]
    purchases: dict[str, list[tuple[int, str, str]]]

    def category(self, item: str) -> str:
        return self.catalog[item]["category_id"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Shop:
    paths = write_demo_shop(tmp_path_factory.mktemp("shop"), users=2000, seed=0, now=NOW)
    events = read_rows(paths.events)[1]
    catalog = {row["item_id"]: row for row in read_rows(paths.catalog)[1]}
    parents = {row["category_id"]: row["parent_id"] for row in read_rows(paths.categories)[1]}
    purchases = defaultdict(list)
    for row in events:
        if row["event"] == "purchase":
            item = row["item_id"]
            purchases[row["user_id"]].append((int(row["timestamp"]), catalog[item]["category_id"], item))
    return Shop(paths, events, catalog, parents, dict(purchases))


def test_headers(shop):
    assert read_rows(shop.paths.events)[0] == ["timestamp", "user_id", "item_id", "event", "quantity"]
    assert read_rows(shop.paths.catalog)[0] == [
        "item_id",
        "category_id",
        "title",
        "price",
        "url",
        "image_url",
        "available",
    ]
    assert read_rows(shop.paths.categories)[0] == ["category_id", "parent_id", "name"]


def test_same_seed_same_files_other_seed_other_events(tmp_path):
    first = write_demo_shop(tmp_path / "a", users=300, seed=3, now=NOW)
    again = write_demo_shop(tmp_path / "b", users=300, seed=3, now=NOW)
    other = write_demo_shop(tmp_path / "c", users=300, seed=4, now=NOW)
    for name in ("events", "catalog", "categories"):
        assert getattr(first, name).read_bytes() == getattr(again, name).read_bytes(), name
    assert first.events.read_bytes() != other.events.read_bytes()
    assert first.catalog.read_bytes() == other.catalog.read_bytes()


def test_same_seed_same_files_across_processes(tmp_path):
    """String hashing differs between runs; the output must not depend on it."""
    script = (
        "import sys; from pathlib import Path; from training.samples.demo_shop import write_demo_shop; "
        "write_demo_shop(Path(sys.argv[1]), users=200, seed=1)"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], cwd=ROOT, env=env, check=True)
    assert (tmp_path / "1" / "events.csv").read_bytes() == (tmp_path / "2" / "events.csv").read_bytes()


def test_default_now_is_fixed(tmp_path):
    first = write_demo_shop(tmp_path / "a", users=50)
    again = write_demo_shop(tmp_path / "b", users=50)
    assert first.events.read_bytes() == again.events.read_bytes()


def test_events_are_valid_sorted_and_in_the_window(shop):
    timestamps = [int(row["timestamp"]) for row in shop.events]
    assert timestamps == sorted(timestamps)
    assert NOW - HISTORY_DAYS * DAY <= timestamps[0] and timestamps[-1] < NOW
    assert timestamps[-1] - timestamps[0] > (HISTORY_DAYS - 5) * DAY
    assert {row["event"] for row in shop.events} == {"view", "addtocart", "purchase", "wishlist"}
    assert all(int(row["quantity"]) >= 1 for row in shop.events)
    assert {row["quantity"] for row in shop.events if row["event"] == "view"} == {"1"}
    assert all(is_valid_id(row["user_id"]) for row in shop.events)


def test_every_event_item_is_in_the_catalog(shop):
    assert {row["item_id"] for row in shop.events} <= set(shop.catalog)


def test_catalog(shop):
    rows = read_rows(shop.paths.catalog)[1]
    assert 120 <= len(rows) <= 200
    assert len(shop.catalog) == len(rows), "item ids are unique"
    for item, row in shop.catalog.items():
        assert is_valid_id(item)
        assert row["title"] and 0 < float(row["price"]) < 5000
        assert row["url"] == f"https://shop.example/items/{item}"
        assert row["image_url"].startswith("https://shop.example/")
        assert row["available"] in ("true", "false")
    assert 2 <= sum(row["available"] == "false" for row in rows) <= 3
    assert '55" 4K TV' in {row["title"] for row in rows}


def test_every_catalog_category_is_a_leaf_of_a_two_level_tree(shop):
    roots = {c for c, parent in shop.parents.items() if parent == ""}
    leaves = {c for c, parent in shop.parents.items() if parent}
    assert len(roots) >= 6
    assert all(shop.parents[c] in roots for c in leaves)
    assert {row["category_id"] for row in shop.catalog.values()} == leaves
    named = set(COMPLEMENTS) | {c for cs in COMPLEMENTS.values() for c in cs} | set(REPURCHASE_DAYS)
    assert named <= leaves


def test_sizes_and_event_mix(shop):
    users = {row["user_id"] for row in shop.events}
    assert len(users) == 2000
    assert 40_000 <= len(shop.events) <= 80_000
    counts = Counter(row["event"] for row in shop.events)
    assert 0.05 <= counts["purchase"] / len(shop.events) <= 0.10
    assert 0.60 <= counts["view"] / len(shop.events) <= 0.75


@pytest.mark.parametrize("category", sorted(COMPLEMENTS))
def test_buyers_go_on_to_buy_complements(shop, category):
    """Of those who bought early enough for a follow-up, most buy a complement later."""
    complements = set(COMPLEMENTS[category])
    followed, buyers = 0, 0
    for bought in shop.purchases.values():
        first = min((t for t, c, _ in bought if c == category), default=None)
        if first is None or first > NOW - 12 * DAY:
            continue
        buyers += 1
        followed += any(c in complements and t > first for t, c, _ in bought)
    assert buyers >= 50
    assert followed / buyers >= 0.6


def test_complements_are_a_pattern_not_everyone_buys_them(shop):
    shoe_buyers = [b for b in shop.purchases.values() if any(c == "running-shoes" for _, c, _ in b)]
    others = [b for b in shop.purchases.values() if not any(c == "running-shoes" for _, c, _ in b)]

    def clothes_rate(group):
        return sum(any(c == "running-clothes" for _, c, _ in b) for b in group) / len(group)

    assert clothes_rate(shoe_buyers) > 4 * clothes_rate(others)


@pytest.mark.parametrize("category", sorted(REPURCHASE_DAYS))
def test_consumables_are_bought_again_at_their_rhythm(shop, category):
    typical = REPURCHASE_DAYS[category]
    gaps, long_enough, again = [], 0, 0
    for bought in shop.purchases.values():
        times = sorted(t for t, c, _ in bought if c == category)
        gaps += [(b - a) / DAY for a, b in zip(times, times[1:])]
        if times and times[0] < NOW - 1.3 * typical * DAY:
            long_enough += 1
            again += len(times) > 1
    assert long_enough >= 30
    assert again / long_enough >= 0.8
    assert 0.85 * typical <= statistics.median(gaps) <= 1.15 * typical
    assert min(gaps) >= 0.6 * typical, "no double orders"


def test_coffee_median_gap_is_25_to_35_days(shop):
    gaps = []
    for bought in shop.purchases.values():
        times = sorted(t for t, c, _ in bought if c == "coffee")
        gaps += [(b - a) / DAY for a, b in zip(times, times[1:])]
    assert len(gaps) >= 300
    assert 25 <= statistics.median(gaps) <= 35


def test_durables_are_bought_once(shop):
    tv_buyers = 0
    for bought in shop.purchases.values():
        per_category = Counter(c for _, c, _ in bought)
        assert all(per_category[c] <= 1 for c in ONCE_PER_USER)
        durable_items = Counter(item for _, c, item in bought if c not in REPURCHASE_DAYS)
        assert all(n == 1 for n in durable_items.values())
        tv_buyers += per_category["tv"]
    assert tv_buyers >= 100


def test_purchases_follow_views_of_the_item_and_alternatives(shop):
    """First purchases from a category come after views of the item and of another item like it."""
    views = defaultdict(list)
    for row in shop.events:
        if row["event"] == "view":
            views[row["user_id"]].append((int(row["timestamp"]), row["item_id"]))
    checked = seen_item = seen_alternative = 0
    for user, bought in shop.purchases.items():
        firsts = {}
        for t, category, item in bought:
            firsts.setdefault(category, (t, item))
        for category, (t, item) in firsts.items():
            before = [v for s, v in views[user] if t - DAY < s < t]
            checked += 1
            seen_item += item in before
            seen_alternative += any(v != item and shop.category(v) == category for v in before)
    assert checked >= 1000
    assert seen_item / checked >= 0.95
    assert seen_alternative / checked >= 0.75


def test_some_users_only_browse_and_some_are_new(shop):
    kinds = defaultdict(list)
    for row in shop.events:
        kinds[row["user_id"]].append(row["event"])
    browsers = [e for e in kinds.values() if len(e) > 2 and "purchase" not in e]
    newcomers = [e for e in kinds.values() if len(e) <= 2 and set(e) == {"view"}]
    assert len(browsers) >= 0.1 * len(kinds)
    assert len(newcomers) >= 0.04 * len(kinds)


def test_a_few_bestsellers_per_category(shop):
    views = Counter(row["item_id"] for row in shop.events if row["event"] == "view")
    for category in ("running-shoes", "coffee", "tv", "cookware"):
        counts = sorted((views[i] for i, row in shop.catalog.items() if row["category_id"] == category), reverse=True)
        assert counts[0] >= 3 * statistics.median(counts), category

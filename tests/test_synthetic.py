"""The synthetic RetailRocket-shaped shop: format, counts, shape and determinism on a small scale."""

import csv

import numpy as np
import pytest

from training.inputs.catalog_files import read_catalog, read_categories
from training.inputs.presets import get_preset
from training.inputs.readers import read_events
from training.samples.synthetic import generate

SIZE = {"users": 5_000, "items": 2_000, "events": 10_000, "categories": 200}


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("shop"), **SIZE, seed=7)


@pytest.fixture(scope="module")
def rows(paths):
    with open(paths["events"], newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def events(rows):
    """Event columns as arrays."""
    return {
        "timestamp": np.array([int(r["timestamp"]) for r in rows]),
        "user": np.array([int(r["visitorid"]) for r in rows]),
        "item": np.array([int(r["itemid"]) for r in rows]),
        "event": np.array([r["event"] for r in rows]),
    }


@pytest.fixture(scope="module")
def tree(paths):
    with open(paths["category_tree"], newline="") as f:
        return {int(r["categoryid"]): int(r["parentid"]) if r["parentid"] else None for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def catalog(paths):
    with open(paths["catalog"], newline="") as f:
        return {int(r["item_id"]): int(r["category_id"]) for r in csv.DictReader(f)}


def first_line(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def test_headers(paths):
    assert first_line(paths["events"]) == "timestamp,visitorid,event,itemid,transactionid"
    assert first_line(paths["category_tree"]) == "categoryid,parentid"
    assert first_line(paths["catalog"]) == "item_id,category_id"


def test_counts_are_the_ones_asked_for(events, tree, catalog):
    assert len(events["user"]) == SIZE["events"]
    assert len(np.unique(events["user"])) == SIZE["users"]
    assert len(catalog) == SIZE["items"] and set(catalog) == set(range(SIZE["items"]))
    assert len(tree) == SIZE["categories"]
    assert sum(parent is None for parent in tree.values()) == 25
    assert set(events["item"]) <= set(catalog)


def test_event_mix(events):
    share = {name: np.mean(events["event"] == name) for name in ("view", "addtocart", "transaction")}
    assert 0.008 <= share["transaction"] <= 0.012
    assert 0.02 <= share["addtocart"] <= 0.03
    assert share["view"] + share["addtocart"] + share["transaction"] == pytest.approx(1.0)


def test_fields_are_plain_integers_and_transaction_ids_only_on_transactions(paths, rows):
    text = paths["events"].read_text()
    for word in ("nan", "null", "None", ".", '"'):
        assert word not in text
    for r in rows:
        assert r["timestamp"].isdigit() and r["visitorid"].isdigit() and r["itemid"].isdigit()
        assert r["transactionid"].isdigit() if r["event"] == "transaction" else r["transactionid"] == ""


def test_sorted_by_time_in_milliseconds_over_four_and_a_half_months(events):
    ts = events["timestamp"]
    assert np.all(np.diff(ts) >= 0)
    assert ts.min() > 10**12  # milliseconds, not seconds
    assert 100 <= (ts.max() - ts.min()) / 86_400_000 <= 140


def test_most_visitors_have_one_event_and_a_few_have_many(events):
    per_user = np.bincount(events["user"])
    assert 0.65 <= np.mean(per_user == 1) <= 0.75
    assert 0.12 <= np.mean(per_user == 2) <= 0.18
    assert per_user.max() >= 50


def test_every_transaction_follows_a_view_of_the_item_by_the_buyer(rows):
    seen, carted, bought, carted_first = set(), set(), 0, 0
    for r in rows:
        key = (r["visitorid"], r["itemid"])
        if r["event"] == "view":
            seen.add(key)
        elif r["event"] == "addtocart":
            carted.add(key)
        else:
            assert key in seen, r
            bought += 1
            carted_first += key in carted
    assert bought > 0 and carted_first / bought >= 0.6


def test_buyers_are_a_minority_with_longer_histories_and_some_buy_twice(rows, events):
    per_user = np.bincount(events["user"])
    buyers = {int(r["visitorid"]) for r in rows if r["event"] == "transaction"}
    assert 0 < len(buyers) < 0.05 * SIZE["users"]
    assert per_user[sorted(buyers)].mean() > 2 * per_user.mean()
    baskets = {}
    for r in rows:
        if r["event"] == "transaction":
            baskets.setdefault(r["visitorid"], set()).add(r["transactionid"])
    repeat = sum(len(ids) >= 2 for ids in baskets.values())
    assert 0 < repeat < len(buyers) / 2


def test_every_item_is_in_a_leaf_two_to_four_levels_deep(tree, catalog):
    parents = {p for p in tree.values() if p is not None}
    leaves = set(tree) - parents
    assert set(catalog.values()) <= leaves

    def depth(category):
        return 1 if tree[category] is None else 1 + depth(tree[category])

    assert {depth(leaf) for leaf in leaves} <= {2, 3, 4}
    assert all(root in parents for root, parent in tree.items() if parent is None)


def test_visitors_stay_in_few_categories(events, catalog):
    category = np.array([catalog[i] for i in events["item"]])
    shares = []
    for user in np.flatnonzero(np.bincount(events["user"]) >= 5):
        counts = np.sort(np.bincount(category[events["user"] == user]))[::-1]
        shares.append(counts[:3].sum() / counts.sum())
    assert len(shares) > 100 and np.mean(shares) >= 0.8


def test_item_popularity_is_skewed(events):
    per_item = np.sort(np.bincount(events["item"], minlength=SIZE["items"]))[::-1]
    assert per_item[: SIZE["items"] // 100].sum() / per_item.sum() >= 0.15
    assert np.mean(per_item > 0) >= 0.5


def test_same_seed_same_files_other_seed_other_files(paths, tmp_path):
    again = generate(tmp_path / "again", **SIZE, seed=7)
    other = generate(tmp_path / "other", **SIZE, seed=8)
    for name, path in paths.items():
        assert again[name].read_bytes() == path.read_bytes()
    assert other["events"].read_bytes() != paths["events"].read_bytes()


def test_the_trainer_reads_the_files_with_the_retailrocket_preset(paths):
    preset = get_preset("retailrocket")
    events, bad = read_events(paths["events"], preset, strict=True)
    assert len(events) == SIZE["events"] and bad.count == 0
    catalog, _ = read_catalog(paths["catalog"], preset, strict=True)
    parents, _ = read_categories(paths["category_tree"], preset, strict=True)
    assert len(catalog.items) == SIZE["items"] and len(parents) == SIZE["categories"]
    assert all(catalog.items[i]["category_id"] in parents for i in events.item_ids)


def test_impossible_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="events"):
        generate(tmp_path, users=1_000, items=100, events=1_000, categories=60)
    with pytest.raises(ValueError, match="categories"):
        generate(tmp_path, users=1_000, items=100, events=2_000, categories=30)

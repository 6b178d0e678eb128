"""The synthetic shops of several shapes: reproducible, readable by the trainer, each pattern as strong as set."""

import csv
from collections import defaultdict

import pytest

from training.inputs.dataset import Inputs, read
from training.samples import shapes

USERS = 800


def rows_of(name: str, **changes) -> list[tuple]:
    return shapes.simulate(shapes.shape_with(name, users=USERS, **changes))


def by_user(rows):
    out = defaultdict(list)
    for t, user, item, event, _ in rows:
        out[user].append((t, item, event))
    return out


def viewed_before_buying(rows) -> float:
    """The share of first purchases of an item whose buyer viewed it at least an hour earlier."""
    hits = total = 0
    for events in by_user(rows).values():
        first_view, bought = {}, set()
        for t, item, event in events:
            if event == "view":
                first_view.setdefault(item, t)
            elif event == "purchase" and item not in bought:
                bought.add(item)
                total += 1
                hits += item in first_view and first_view[item] < t - 3600
    return hits / total


def complement_follows(rows) -> float:
    """The share of buyers of a key item who buy its complement later."""
    hits = total = 0
    for events in by_user(rows).values():
        bought = {}
        for t, item, event in events:
            if event == "purchase":
                bought.setdefault(item, t)
        for item, t in bought.items():
            pair = shapes.complement_of(int(item[1:]))
            if pair is not None:
                total += 1
                hits += bought.get(shapes.item_id(pair), -1) > t
    return hits / total


def repeat_share(rows) -> float:
    """The share of purchases of an item the user had bought before."""
    again = total = 0
    for events in by_user(rows).values():
        bought = set()
        for _, item, event in events:
            if event == "purchase":
                total += 1
                again += item in bought
                bought.add(item)
    return again / total


def test_the_same_shape_and_seed_give_the_same_events_and_another_seed_others():
    assert rows_of("views_predict") == rows_of("views_predict")
    assert rows_of("views_predict") != rows_of("views_predict", seed=1)
    rows = rows_of("repeats_few")
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert all(shapes.NOW - shapes.HISTORY_DAYS * shapes.DAY <= r[0] < shapes.NOW for r in rows)


def test_views_lead_to_purchases_where_they_predict_and_not_where_they_do_not():
    predict, noise = viewed_before_buying(rows_of("views_predict")), viewed_before_buying(rows_of("views_noise"))
    assert predict > 0.8
    assert noise < 0.1


def test_buyers_go_on_to_buy_complements_in_the_strong_shape_only():
    assert complement_follows(rows_of("complements_strong")) > 0.6
    assert complement_follows(rows_of("complements_weak")) < 0.1


def test_repeat_purchases_are_common_in_one_shape_and_rare_in_the_other():
    many, few = repeat_share(rows_of("repeats_many")), repeat_share(rows_of("repeats_few"))
    assert many > 0.3
    assert few < 0.05


@pytest.mark.parametrize("name", sorted(shapes.SHAPES))
def test_the_files_are_read_by_the_trainer_without_bad_rows(tmp_path, name):
    shop = shapes.write(tmp_path, shapes.shape_with(name, users=300))
    data = read(Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    assert all(b.count == 0 for b in data.bad.values())
    assert len(data.item_ids) == shapes.N_ITEMS  # every catalog item, bought or not
    assert len(data.category_ids) >= shapes.N_LEAVES
    with open(shop.categories, newline="") as f:
        tree = {row["category_id"]: row["parent_id"] for row in csv.DictReader(f)}
    assert tree["leaf07"] == "root1" and tree["root1"] == ""
    assert {"view", "addtocart", "purchase"} <= {row[3] for row in shapes.simulate(shapes.shape_with(name, users=300))}

"""Content neighbours: features, TF-IDF neighbours, the tail blend and the similar list's task, on known answers."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from recsvc.contract import content as features_of
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import Events
from training.lists import content, content_order
from training.lists.item_task import co_taken, filled, ndcg
from training.ragged import Ragged

CATALOG = [  # item_id, category_id, title, brand, price
    ("a", "shoes", "Nike Pegasus running shoe", "Nike", 100.0),
    ("b", "shoes", "Nike Vomero running shoe", "Nike", 120.0),
    ("c", "shoes", "Adidas trail boot", "Adidas", 90.0),
    ("d", "socks", "Nike running socks", "Nike", 10.0),
    ("e", "tv", "Телевизор Samsung 55", "Samsung", 500.0),
    ("f", "tv", "Телевизор LG 65", "LG", 700.0),
]
CATEGORIES = ["sport", "shoes", "socks", "tv"]
CATALOGUE = CodedCatalog(
    category=np.array([1, 1, 1, 2, 3, 3], np.int32),
    available=np.array([True, True, True, True, True, False]),
    category_parent=np.array([-1, 0, 0, -1], np.int32),
)


def attrs() -> list[str]:
    return [
        json.dumps({"item_id": i, "category_id": c, "title": t, "brand": b, "price": p}) for i, c, t, b, p in CATALOG
    ]


def test_features_read_the_path_the_words_in_any_script_the_attributes_and_the_price_band():
    found = features_of.features({"title": "Телевизор Samsung 55", "brand": "Samsung", "price": 500.0}, ["tv", "home"])
    assert found.count("c:tv") == features_of.CATEGORY_COUNT and "c:home" in found
    assert {"w:телевизор", "w:samsung", "w:55", "a:brand=samsung"} <= set(found)
    assert [f for f in found if f.startswith("p:")] == [f"p:{features_of.price_band(500.0)}"]
    assert features_of.price_band(0) is None and features_of.price_band("12") is None
    assert features_of.path_of("shoes", {"shoes": "sport", "sport": None}) == ["shoes", "sport"]


def test_neighbours_are_near_by_content_available_and_lifted_by_events():
    unit = content.vectors(attrs(), CATEGORIES, CATALOGUE)
    near = content.neighbours(unit, np.array([0, 4]), CATALOGUE.available, np.zeros(6), k=3)
    assert near.row(0)[0].tolist() == [1, 2, 3]  # the other Nike running shoe, the boot of its category, the socks
    assert near.row(4)[0].tolist() == []  # its only match (f) is unavailable
    assert near.lengths()[[1, 2, 3, 5]].tolist() == [0, 0, 0, 0]  # rows not asked stay empty
    lifted = content.neighbours(unit, np.array([0]), CATALOGUE.available, np.array([0, 0, 50, 0, 0, 0]), k=3)
    assert lifted.row(0)[0].tolist() == [2, 1, 3]  # the boot customers take lifted above the other shoe


def test_the_tail_blend_mixes_content_into_items_with_few_events_only():
    similar = Ragged(np.array([0, 1, 2, 2, 2, 2, 2]), np.array([2, 0]), np.array([0.9, 0.8], np.float32))
    near = Ragged(np.array([0, 1, 2, 2, 2, 2, 2]), np.array([3, 3]), np.array([0.5, 0.5], np.float32))
    weights = content.tail_weights(np.array([0, 1000, 0, 0, 0, 0]), shrink=10.0)
    assert weights[0] == 1.0 and weights[1] == 0.0  # 10 / 1010 is under the minimum weight
    mixed = content.blended(similar, near, weights, k=5)
    assert mixed.row(0)[0].tolist() == [3]  # no events: content alone (the collaborative entry weighs 0)
    assert mixed.row(1)[0].tolist() == [0] and mixed.row(1)[1].tolist() == [np.float32(0.8)]  # unchanged
    half = content.blended(similar, near, np.array([0.5, 0, 0, 0, 0, 0], np.float32), k=5)
    assert sorted(half.row(0)[0].tolist()) == [2, 3]
    assert content.tail_weights(np.array([0, 5]), shrink=0.0).tolist() == [0.0, 0.0]


def test_the_similar_task_counts_what_the_same_customers_took_beyond_what_everyone_takes():
    # u0..u3 take item 0 and item 1 together; everyone takes the staple 9; u4..u9 take only 9 and 5
    rows = [(u, i) for u in range(4) for i in (0, 1, 9)] + [(u, i) for u in range(4, 10) for i in (9, 5)]
    events = Events(
        timestamp=np.arange(len(rows), dtype=np.int64),
        user=np.array([u for u, _ in rows]),
        item=np.array([i for _, i in rows]),
        event=np.zeros(len(rows), np.int8),
        quantity=np.ones(len(rows), np.int32),
        user_ids=np.array([f"u{n}" for n in range(10)], dtype=object),
        item_ids=np.array([f"i{n}" for n in range(10)], dtype=object),
    )
    task = co_taken(events, 10, subjects=np.array([0]))
    assert task.subjects.tolist() == [0] and task.relevant[0].tolist() == [1]  # not the staple
    every = co_taken(events, 10, subjects=np.array([0]), beyond=False)
    assert every.relevant[0].tolist() == [1, 9]


def test_the_item_tasks_ndcg_counts_hits_by_place():
    ranked = np.array([[5, 1, -1], [2, 3, 4], [7, 8, 9]])
    found = ndcg(ranked, [np.array([1]), np.array([2, 4]), np.array([], np.int64)], k=3)
    assert found[0] == pytest.approx((1 / np.log2(3)) / 1.0)
    assert found[1] == pytest.approx((1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3)))
    assert found[2] == 0.0


def test_the_item_tasks_lists_are_filled_in_order_without_repeats_or_the_subject():
    lists = [np.array([3, 0, 3]), np.array([], np.int64), np.array([1, 2])]
    fills = [np.array([4, 3, 5, 6]), np.array([9, 8, 9]), np.array([2, 1])]
    found = filled(lists, fills, np.array([0, 8, 7]), k=4)
    assert found.tolist() == [[3, 4, 5, 6], [9, -1, -1, -1], [1, 2, -1, -1]]


def test_without_content_or_a_window_the_category_best_sellers_stay():
    none = content_order.choose(None, None, sp.csr_matrix((3, 0)))  # type: ignore[arg-type]
    assert none.order == "category_best_sellers" and "no content" in none.why
    short = content_order.choose(None, None, sp.csr_matrix(np.eye(3)))  # type: ignore[arg-type]
    assert short.order == "category_best_sellers" and "shorter than the label window" in short.why


def test_a_summary_names_the_order_and_an_older_version_keeps_content():
    order = features_of.NewItemsOrder.of({"order": "category_best_sellers", "popularity_weight": 1})
    assert not order.by_content and order.popularity_weight == 1.0
    assert features_of.NewItemsOrder.of(None) == features_of.NewItemsOrder()  # content at the fixed weight
    shop = features_of.NewItemsOrder.of({"order": "best_sellers", "popularity_weight": 2})
    assert shop.shop_wide and not shop.by_content and TrainConfig(new_items_order="best_sellers")
    assert not features_of.NewItemsOrder.of({"order": "category_best_sellers"}).shop_wide
    with pytest.raises(ValueError, match="new_items_order"):
        TrainConfig(new_items_order="random")


def window_shop(with_category: bool) -> tuple[content_order.Holdout, SimpleNamespace, sp.csr_matrix]:
    """A shop of 40 categories of 10 items, the first 5 items its staples. Before the window every item is taken,
    the staples most; in it, basket customers take each other item with the staples (a grocery's run) or, with
    ``with_category``, with another item of its category; single-visit customers take one item of the first
    categories and leave."""
    n_items, per_category, day = 400, 10, 86_400
    rng = np.random.default_rng(7)
    rows: list[tuple[int, int, int]] = []  # user, item, timestamp
    user = 0
    for item in range(n_items):  # the past: every item, the staples 20 times as often
        for _ in range(40 if item < 5 else 2):
            rows.append((user, item, int(rng.integers(0, 20 * day))))
            user += 1
    cut = 30 * day
    for item in range(5, n_items):
        for _ in range(3):
            mates = [item - item % per_category + (item + 1) % per_category] if with_category else [0, 1, 2, 3, 4]
            when = cut + int(rng.integers(0, 10 * day))
            rows += [(user, item, when)] + [(user, m, when + 60 * (n + 1)) for n, m in enumerate(mates)]
            user += 1
    for _ in range(4000):  # single visits to the first categories: the base rate is that of the window's customers
        rows.append((user, int(rng.integers(5, 15)), cut + int(rng.integers(0, 10 * day))))
        user += 1
    u, i, t = (np.array(c, np.int64) for c in zip(*rows))
    events = Events(
        timestamp=t,
        user=u,
        item=i,
        event=np.zeros(len(rows), np.int8),
        quantity=np.ones(len(rows), np.int32),
        user_ids=np.array([f"u{n}" for n in range(user)], dtype=object),
        item_ids=np.array([f"i{n}" for n in range(n_items)], dtype=object),
    )
    before = t < cut
    past = Events(
        t[before], u[before], i[before], events.event[before], events.quantity[before], events.user_ids, events.item_ids
    )
    hold = content_order.Holdout(cut, 10.0, events, past, None, None)  # type: ignore[arg-type]
    category = (np.arange(n_items) // per_category).astype(np.int32)
    catalogue = CodedCatalog(category, np.ones(n_items, bool), np.full(n_items // per_category, -1, np.int32))
    data = SimpleNamespace(item_ids=events.item_ids, catalogue=catalogue)
    unit = sp.csr_matrix((np.ones(n_items, np.float32), (np.arange(n_items), category)))  # content: the category
    return hold, data, unit


def test_where_new_items_are_taken_with_the_shops_staples_their_list_is_the_shops_best_sellers():
    report = content_order.choose(*window_shop(with_category=False))  # type: ignore[arg-type]
    assert report.order == features_of.BY_SHOP, report.why
    assert report.holdout_ndcg10["best_sellers"] > report.holdout_ndcg10["category_best_sellers"]
    assert "the shop's best-sellers beat" in report.why and report.subjects >= content_order.MIN_SUBJECTS


def test_where_they_are_taken_with_their_category_its_best_sellers_stay():
    report = content_order.choose(*window_shop(with_category=True))  # type: ignore[arg-type]
    assert report.order == features_of.BY_CATEGORY, report.why
    assert report.holdout_ndcg10["best_sellers"] < report.holdout_ndcg10["category_best_sellers"]

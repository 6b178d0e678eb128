"""Also-bought favours what buyers bought next (complements); similar favours the item's own category."""

import json
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from tests.shop import CATALOG
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.readers import ADDTOCART, PURCHASE, Events
from training.interactions import build
from training.lists import complements, holdout, near_copies
from training.lists.also_bought_order import choose_order
from training.lists.complements import (
    AlsoBoughtOrder,
    also_bought_blend,
    also_bought_next,
    co_viewed_alternatives,
    substitutes,
)
from training.lists.generators import item_neighbours
from training.ragged import Ragged, top_per_row

DAY = 86_400


def purchases(rows) -> Events:
    """Events of (day, user, item code) purchases over items 0..4."""
    days, users, items = (np.array(c) for c in zip(*rows))
    return Events(
        timestamp=(1_700_000_000 + days * DAY).astype(np.int64),
        user=users.astype(np.int32),
        item=items.astype(np.int32),
        event=np.full(len(rows), PURCHASE, np.int8),
        quantity=np.ones(len(rows), np.int32),
        user_ids=np.array([f"u{u}" for u in range(max(users) + 1)]),
        item_ids=np.array([f"i{i}" for i in range(5)]),
    )


def catalogue(categories) -> CodedCatalog:
    return CodedCatalog(
        category=np.array(categories, np.int32),
        available=np.ones(len(categories), bool),
        category_parent=np.full(max(categories) + 1, -1, np.int32),
    )


def test_what_buyers_bought_next_scores_above_what_they_bought_before():
    # item 0 then item 1 a week later, for ten users; item 2 bought long after (outside the window)
    rows = [(0, u, 0) for u in range(10)] + [(7, u, 1) for u in range(10)] + [(90, u, 2) for u in range(10)]
    also = also_bought_next(purchases(rows), catalogue([0, 1, 2, 3, 4]), TrainConfig(), k=5)
    after_0 = dict(zip(*(a.tolist() for a in also.row(0))))
    after_1 = dict(zip(*(a.tolist() for a in also.row(1))))
    # every customer bought both: no rate above the base rate, so not shown as bought together (negative)
    assert list(after_0) == [1] and after_0[1] == pytest.approx(-1.0)
    assert after_1[0] == pytest.approx(-0.25)  # bought before: counted at a quarter
    assert 2 not in after_0  # 90 days later is not "next"


def test_a_best_seller_bought_after_everything_does_not_crowd_out_a_true_complement():
    # five buyers of item 0 buy item 1 next; item 4 is bought next by everyone, after anything
    rows = [(0, u, 0) for u in range(5)] + [(1, u, 1) for u in range(5)]
    rows += [(2, u, 4) for u in range(40)] + [(0, u, 3) for u in range(5, 40)]
    also = also_bought_next(purchases(rows), catalogue([0, 1, 2, 3, 4]), TrainConfig(), k=5)
    items, scores = also.row(0)
    assert items[0] == 1 and scores[0] > 0  # 5 of 5 buyers against 5 of 40: bought together
    assert scores[items.tolist().index(4)] < 0  # everyone buys it: not shown as bought together with item 0


def test_what_a_single_co_buyer_bought_next_is_never_shown_as_bought_together():
    # item 0's 5 buyers: one bought item 2 next, three bought item 1; 30 others bought item 3 alone
    rows = [(0, u, 0) for u in range(5)] + [(1, 0, 2)] + [(1, u, 1) for u in range(1, 4)]
    rows += [(0, u, 3) for u in range(5, 35)]
    every_pair = replace(AlsoBoughtOrder.of(TrainConfig()), min_buyers=1)
    counted = also_bought_next(purchases(rows), catalogue([0, 1, 2, 3, 4]), TrainConfig(), 5, every_pair)
    shown = dict(zip(*(a.tolist() for a in counted.row(0))))
    assert shown[1] > 0 and shown[2] < 0  # counted, but below the evidence floor
    also = also_bought_next(purchases(rows), catalogue([0, 1, 2, 3, 4]), TrainConfig(), k=5)
    assert also.row(0)[0].tolist() == [1]  # the fixed order counts from the evidence floor on
    neighbours = sp.csr_matrix((5, 5), dtype=np.float32)  # no item-kNN neighbour stands for item 2 either
    blend = also_bought_blend(also, neighbours, catalogue([0, 1, 2, 3, 4]), TrainConfig(), k=5)
    assert blend.row(0)[0].tolist() == [1]  # item 2 rests on one buyer and is no neighbour: left out


def test_near_copies_are_the_categories_whose_buyers_go_on_to_buy_in_them_no_more_than_chance():
    # items 0-1: category 0, item 2: category 1, item 3: category 2, item 4: category 3; buyers of x then y
    pairs = {(0, 1): 10, (2, 0): 10, (3, 4): 3, (3, 2): 7, (2, 3): 3}
    after = sp.csr_matrix((list(pairs.values()), tuple(zip(*pairs))), shape=(5, 5))
    near = near_copies.categories(after, np.array([0, 0, 1, 2, 3]), 5)
    # 0: all 10 stay, against 20 of 33 next purchases anywhere; 1: none stay; 2: none of its 10 stay;
    # 3 and 4: nobody bought anything after them (4 has no item at all)
    assert near.tolist() == [False, True, True, True, True]
    stays_by_chance = {(0, 1): 4, (0, 2): 6, (2, 0): 3, (2, 3): 7}  # 4 of 10 stay in 0, where 7 of 20 go anyway
    after = sp.csr_matrix((list(stays_by_chance.values()), tuple(zip(*stays_by_chance))), shape=(5, 5))
    assert near_copies.categories(after, np.array([0, 0, 1, 2, 3]), 5)[0]


def test_items_of_a_category_its_buyers_go_on_to_buy_are_not_damped_as_near_copies():
    # regression (complements_weak): the near-copy damping of every same-category item pushed down what buyers
    # of X go on to buy in X's own category. Item 0's buyers buy item 1 (its category) next; item 3's buyers buy
    # item 2 (another category) next; item-kNN puts item 1 and item 3 (another category) beside item 0.
    rows = [(0, u, 0) for u in range(10)] + [(2, u, 1) for u in range(10)]
    rows += [(0, u, 3) for u in range(10, 20)] + [(2, u, 2) for u in range(10, 20)]
    shop = catalogue([0, 0, 1, 2, 2])
    also = also_bought_next(purchases(rows), shop, TrainConfig(), k=5)
    assert also.near.tolist() == [False, True, True]
    neighbours = sp.csr_matrix(([1.0, 0.9], ([0, 0], [1, 3])), shape=(5, 5), dtype=np.float32)
    items, scores = also_bought_blend(also, neighbours, shop, TrainConfig(), k=5).row(0)
    assert items.tolist() == [1, 3] and scores[0] > 0 > scores[1]  # bought together, then viewed together
    every_category = replace(also, near=np.ones(3, bool))  # as when every category was damped
    assert also_bought_blend(every_category, neighbours, shop, TrainConfig(), k=5).row(0)[0].tolist() == [3, 1]


def test_substitutes_put_the_items_own_category_first_and_add_co_viewed_alternatives():
    similar = Ragged(np.array([0, 3, 3, 3, 3, 3]), np.array([1, 2, 3]), np.array([0.9, 0.8, 0.7], np.float32))
    co_viewed = sp.coo_matrix(([0.1], ([0], [4])), shape=(5, 5))
    ranked = substitutes(similar, co_viewed, catalogue([0, 1, 1, 0, 0]), boost=0.5, k=10)
    assert ranked.row(0)[0].tolist() == [3, 1, 2, 4]


def test_co_viewed_alternatives_pair_items_of_one_category_only():
    # users 0-2 view items 0 and 1 (one category) and item 2 (another)
    strength = sp.csr_matrix(np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0]], np.float32))
    pairs = co_viewed_alternatives(strength, catalogue([0, 0, 1]), per_user=5).tocsr()
    assert pairs[0, 1] == pytest.approx(1.0) and pairs[0, 2] == 0


def same_category_share(client, endpoint, reason) -> float:
    """Share of the first items (of the given reason, not fallbacks) in the subject's own category."""
    category = {item: cat for item, cat, *_ in CATALOG}
    same = total = 0
    for item, cat, *_, available in CATALOG:
        if not available:
            continue
        for entry in client.get(f"/v1/items/{item}/{endpoint}?limit=1").json["items"]:
            if entry["reason"]["type"] == reason:
                same += category[entry["item_id"]] == cat
                total += 1
    return same / total


@pytest.mark.usefixtures("shop_model")
def test_on_the_shop_also_bought_crosses_categories_and_similar_stays_within(client):
    assert [i["category_id"] for i in client.get("/v1/items/shoe-1/also-bought?limit=2").json["items"]] == [
        "running-clothes",
        "running-clothes",
    ]
    assert client.get("/v1/items/shoe-1/similar?limit=1").json["items"][0]["category_id"] == "running-shoes"
    assert client.get("/v1/items/tv-1/also-bought?limit=1").json["items"][0]["item_id"] == "cable-1"
    similar = same_category_share(client, "similar", "similar")
    also = same_category_share(client, "also-bought", "bought_together")
    assert similar > 0.8 and also < 0.5


def paired_purchases_shop(n_users: int = 1500, seed: int = 0) -> Events:
    """Items come in pairs (2k, 2k+1): a buyer of 2k buys 2k+1 a few days later; they also cart two other
    pairs' first items, twice each, and never buy them, so item-kNN of all events puts those first and only
    bought-next puts 2k+1 first."""
    rng = np.random.default_rng(seed)
    n_items = 40
    rows = []
    for u in range(n_users):
        first = 2 * rng.integers(n_items // 2)
        day = rng.uniform(0, 50)
        rows += [(day, u, first, PURCHASE), (day + rng.uniform(2, 8), u, first + 1, PURCHASE)]
        rows += [(day - 1, u, (first + d) % n_items, ADDTOCART) for d in (2, 2, 4, 4)]
    return events_of(rows, n_users, n_items)


def events_of(rows: list[tuple], n_users: int, n_items: int) -> Events:
    """Events from (day, user code, item code, event code) rows."""
    days, users, items, kinds = (np.array(c) for c in zip(*sorted(rows)))
    return Events(
        timestamp=(1_700_000_000 + days * DAY).astype(np.int64),
        user=users.astype(np.int32),
        item=items.astype(np.int32),
        event=kinds.astype(np.int8),
        quantity=np.ones(len(rows), np.int32),
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=np.array([f"i{i}" for i in range(n_items)]),
    )


def test_the_newest_window_chooses_bought_next_where_carts_mislead():
    events = paired_purchases_shop()
    config = TrainConfig(also_bought_min_subjects=10)  # the shop's 20 key items
    hold = holdout.of(events, 40, config)
    report = choose_order(hold, catalogue(list(range(40))), config)
    assert report.kind == "validated", report.why
    assert report.users >= config.also_bought_min_subjects
    fixed = AlsoBoughtOrder.of(config)
    assert report.order.next_weight > fixed.next_weight, report.to_dict()
    figures = list(report.holdout_ndcg10.values())
    assert figures == sorted(figures, reverse=True) and figures[0] > 0.9
    assert report.holdout_ndcg10.get(fixed.describe(), 0.0) < 0.6
    # the chosen order, built on all events, lists each item's pair first, as bought together
    also = also_bought_next(events, catalogue(list(range(40))), config, 10, report.order)
    neighbours = item_neighbours(build(events, config).strength, 10)
    blend = also_bought_blend(also, neighbours, catalogue(list(range(40))), config, 10, report.order)
    for x in range(0, 40, 2):
        items, scores = blend.row(x)
        assert items[0] == x + 1 and scores[0] > 0  # positive: bought together


def test_too_few_buyers_in_the_window_keep_the_fixed_order_and_say_so():
    events = paired_purchases_shop(n_users=40)
    config = TrainConfig()
    report = choose_order(holdout.of(events, 40, config), catalogue(list(range(40))), config)
    assert report.kind == "fixed" and "needs" in report.why
    assert report.order == AlsoBoughtOrder.of(config)


def test_the_fast_top_per_row_of_positive_scores_is_ragged_top_per_row():
    rng = np.random.default_rng(4)
    rows = rng.integers(0, 50, 3_000)
    values = rng.integers(0, 1_000, 3_000)
    scores = rng.integers(1, 20, 3_000) / 7.0  # many ties: the given order breaks them
    fast = complements._top_positive(rows, values, scores, 60, 5)
    slow = top_per_row(rows, values, scores, 60, 5)
    assert np.array_equal(fast.indptr, slow.indptr)
    assert np.array_equal(fast.values, slow.values)
    assert np.allclose(fast.scores, slow.scores)


def staples_shop(n_users: int = 1500, seed: int = 1) -> Events:
    """A grocer: everyone buys two of five staples (items 0-4), then one of 55 other items at random; in the
    newest days each buys a staple new to them and another random item. What a buyer's last item was
    bought with says little; the staples they have not bought yet are what they buy next."""
    rng = np.random.default_rng(seed)
    n_items = 60
    rows = []
    for u in range(n_users):
        staples = rng.permutation(5)
        day = rng.uniform(0, 40)
        rows += [(day, u, int(staples[0]), PURCHASE), (day, u, int(staples[1]), PURCHASE)]
        rows += [(day + 1, u, int(rng.integers(5, n_items)), PURCHASE)]
        later = rng.uniform(52, 60)
        rows += [(later, u, int(staples[2]), PURCHASE), (later, u, int(rng.integers(5, n_items)), PURCHASE)]
    return events_of(rows, n_users, n_items)


def test_best_sellers_everyone_buys_anyway_do_not_fill_the_lists_as_complements():
    config = TrainConfig(also_bought_min_subjects=5)
    grocer = choose_order(holdout.of(staples_shop(), 60, config), catalogue([0] * 60), config)
    # the staples are what the buyers bought next, but everyone buys them: no lift on the use task
    assert grocer.kind == "validated" and grocer.order.fill == "similar", grocer.why
    pairs = choose_order(holdout.of(paired_purchases_shop(), 40, config), catalogue(list(range(40))), config)
    assert pairs.order.fill == "similar", pairs.why  # each item's pair is what its buyers buy next


def test_the_service_fills_also_bought_as_the_version_says(shop_model, redis_url):
    import redis

    from recsvc import create_app
    from recsvc.contract import keys

    r = redis.Redis.from_url(redis_url)

    def reasons(item_id: str) -> list[str]:
        client = create_app({"REDIS_URL": redis_url}).test_client()  # a new process: nothing cached
        return [i["reason"]["type"] for i in client.get(f"/v1/items/{item_id}/also-bought?limit=12").json["items"]]

    meta = json.loads(r.get(keys.meta(shop_model.version)))
    assert meta["also_bought_fill"] == "similar"  # the test shop's buyers buy complements, not best-sellers
    default = reasons("mount-1")
    entries = [x for x in default if x in ("bought_together", "viewed_together")]
    assert default[len(entries)] == "similar" and "popular" in default[len(entries) :]
    r.set(keys.meta(shop_model.version), json.dumps({**meta, "also_bought_fill": "popular"}))
    try:
        filled = reasons("mount-1")
        assert filled[: len(entries)] == entries and set(filled[len(entries) :]) == {"popular"}
    finally:
        r.set(keys.meta(shop_model.version), json.dumps(meta))


def test_substitutes_ranked_a_few_items_at_a_time_are_the_same_lists(monkeypatch):
    rng = np.random.default_rng(2)
    n = 30
    similar = Ragged(np.arange(0, 4 * n + 1, 4), rng.integers(0, n, 4 * n), rng.random(4 * n).astype(np.float32))
    co_viewed = sp.random(n, n, density=0.2, random_state=3, format="coo", dtype=np.float32)
    shop = catalogue(rng.integers(0, 3, n).tolist())
    whole = substitutes(similar, co_viewed, shop, boost=2.0, k=6)
    monkeypatch.setattr(complements, "SUBSTITUTE_BLOCK", 4)
    blocks = substitutes(similar, co_viewed, shop, boost=2.0, k=6)
    assert whole.lengths().max() == 6
    assert np.array_equal(whole.indptr, blocks.indptr) and np.array_equal(whole.values, blocks.values)
    assert np.allclose(whole.scores, blocks.scores)

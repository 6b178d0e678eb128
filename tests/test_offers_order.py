"""What opens category offers: the user's own categories, or the best-sellers' they never bought from, as the
shop's newest window shows."""

import json

import redis

from tests.test_candidates import catalogue_for, make_events
from training.config import TrainConfig
from training.lists import holdout, offers_order

USERS = 30
CONFIG = TrainConfig(ranker_min_users=20)


def shop(window_buys_viewed: bool, viewed_buyers: int | None = None):
    """Regulars bought the best-seller (category "staples") long ago; each other user viewed an item of a category
    of their own and never bought there. In the window those users buy the best-seller, or what they viewed (the
    first ``viewed_buyers`` of them where given)."""
    rows = [(30, f"regular-{n}", "bread", "purchase") for n in range(USERS)]
    category = {"bread": "staples"}
    for n in range(USERS):
        item = f"lamp-{n}"
        category[item] = f"lights-{n}"
        rows += [(30, f"u{n}", item, "view"), (29, f"u{n}", item, "view")]
        buys_viewed = window_buys_viewed if viewed_buyers is None else n < viewed_buyers
        rows += [(1, f"u{n}", item if buys_viewed else "bread", "purchase")]
    events = make_events(rows)
    catalogue, _ = catalogue_for(events, category)
    return holdout.of(events, len(events.item_ids), CONFIG), catalogue


def test_best_sellers_open_the_offers_where_the_windows_buyers_try_them():
    hold, catalogue = shop(window_buys_viewed=False)
    report = offers_order.choose(hold, catalogue, CONFIG)
    assert report.order == offers_order.POPULAR_FIRST, report.why
    assert report.users == USERS
    # own first: the viewed category, then staples (NDCG 1/log2(3)); best-sellers first: staples at once
    assert report.holdout_ndcg10 == {offers_order.DEFAULT: 0.6309, offers_order.POPULAR_FIRST: 1.0}


def test_the_users_own_categories_stay_first_where_the_window_bears_them_out():
    hold, catalogue = shop(window_buys_viewed=True)
    report = offers_order.choose(hold, catalogue, CONFIG)
    assert report.order == offers_order.DEFAULT, report.why
    assert report.holdout_ndcg10[offers_order.DEFAULT] > report.holdout_ndcg10[offers_order.POPULAR_FIRST]


def test_best_sellers_open_the_offers_where_they_score_above_the_default_within_noise():
    hold, catalogue = shop(window_buys_viewed=False, viewed_buyers=8)  # 22 of 30 try the best-seller's category
    report = offers_order.choose(hold, catalogue, CONFIG)
    assert report.order == offers_order.POPULAR_FIRST, report.why
    gain = report.holdout_ndcg10[offers_order.POPULAR_FIRST] - report.holdout_ndcg10[offers_order.DEFAULT]
    spread = float(report.why.split("± ")[1].split(" ")[0])
    assert 0 < gain < spread  # ahead, within noise: the chosen order is at least as good as the default


def test_too_few_users_keep_the_default():
    hold, catalogue = shop(window_buys_viewed=False)
    report = offers_order.choose(hold, catalogue, TrainConfig(ranker_min_users=USERS + 1))
    assert report.order == offers_order.DEFAULT and f"{USERS} users" in report.why


def test_the_service_opens_offers_as_the_version_says(shop_model, redis_url):
    from recsvc import create_app
    from recsvc.contract import keys

    r = redis.Redis.from_url(redis_url)

    def offers(user_id: str) -> list[tuple[str, str]]:
        client = create_app({"REDIS_URL": redis_url}).test_client()  # a new process: nothing cached
        answer = client.get(f"/v1/users/{user_id}/category-offers?limit=8&items_per_category=1").json
        return [(o["category_id"], o["reason"]["type"]) for o in answer["offers"]]

    meta = json.loads(r.get(keys.meta(shop_model.version)))
    assert meta["category_offers_order"] == offers_order.DEFAULT  # the test shop's window: too few users to choose
    assert meta["category_offers_choice"]["order"] == offers_order.DEFAULT and meta["category_offers_choice"]["why"]
    own = offers("alice")
    assert own[0][1] != "popular"  # the default: her own categories first
    r.set(keys.meta(shop_model.version), json.dumps({**meta, "category_offers_order": offers_order.POPULAR_FIRST}))
    try:
        first = offers("alice")
    finally:
        r.set(keys.meta(shop_model.version), json.dumps(meta))
    bought_from = {"running-shoes"}  # alice bought shoe-1
    before_bought = [c for c, _ in first][: [c for c, _ in first].index("running-shoes")]
    assert before_bought and not bought_from & set(before_bought), first  # best-sellers she never bought from
    assert before_bought[0] not in dict(own) or dict(first)[before_bought[0]] == dict(own)[before_bought[0]]
    assert dict(first).get("running-clothes") == dict(own)["running-clothes"] == "viewed_not_bought"  # its own reason
    assert first != own and set(first) == set(own)  # the same categories, best-sellers she never bought from first

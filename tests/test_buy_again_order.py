"""The buy-again order: the re-purchase task, the window's choice of a recency scale, and the service reading it."""

import json

import numpy as np
import pytest
import redis

from recsvc.contract import keys
from recsvc.contract.units import DAY
from recsvc.read.retention import due_score
from tests.test_candidates import NOW, catalogue_for, make_events
from training.config import TrainConfig
from training.lists import buy_again_order, holdout, repurchase_task
from training.lists.retention import BuyAgain
from training.ragged import Ragged

USERS = 30
CONFIG = TrainConfig(ranker_min_users=20)


def test_repurchases_are_items_bought_before_the_cut_and_again_within_the_horizon():
    events = make_events(
        [
            (20, "ann", "milk", "purchase"),
            (5, "ann", "milk", "purchase"),  # again after the cut: counted
            (20, "ann", "tea", "purchase"),
            (1, "ann", "tea", "view"),  # a view is not a purchase
            (5, "bob", "milk", "purchase"),  # new to bob: not a re-purchase
            (20, "bob", "tea", "purchase"),
            (0, "bob", "tea", "purchase"),  # 10 days after the cut: outside a 7-day horizon
        ]
    )
    n = len(events.item_ids)
    item = {name: code for code, name in enumerate(events.item_ids)}
    found = repurchase_task.repurchases(events, NOW - 10 * DAY, 7.0)
    assert found.tolist() == [0 * n + item["milk"]]
    per_user = repurchase_task.repurchases(events, np.array([NOW - 10 * DAY, NOW - 30 * DAY]), 7.0)
    assert per_user.tolist() == [0 * n + item["milk"]]  # bob's cut is before anything he bought


def test_the_trainers_scores_are_the_services():
    rng = np.random.default_rng(0)
    n = 200
    again = BuyAgain(
        items=Ragged(np.array([0, 120, n]), rng.integers(0, 50, n), rng.uniform(0, 100 * DAY, n)),
        counts=rng.integers(1, 20, n).astype(np.int32),
        interval_days=rng.uniform(1, 60, n).astype(np.float32),
    )
    now = np.array([100 * DAY, 90 * DAY], dtype=np.float64)
    user = np.repeat([0, 1], [120, n - 120])
    for recency in buy_again_order.RECENCY_TRIED:
        expected = [
            due_score(max(0.0, (now[u] - last) / DAY), float(interval), int(count), recency)
            for u, last, count, interval in zip(user, again.items.scores, again.counts, again.interval_days)
        ]
        assert buy_again_order.scores(again, now, recency) == pytest.approx(expected, rel=1e-6)


def shop(window_rebuys_recent: bool):
    """Each user bought coffee five times, ten days apart, long ago, and tea twice lately; in the window they buy
    tea again (recent purchases matter) or coffee (the count does)."""
    rows = []
    for n in range(USERS):
        rows += [(130 - 10 * k, f"u{n}", "coffee", "purchase") for k in range(5)]  # last: 90 days ago
        rows += [(40, f"u{n}", "tea", "purchase"), (30, f"u{n}", "tea", "purchase")]
        rows += [(5, f"u{n}", "tea" if window_rebuys_recent else "coffee", "purchase")]
    events = make_events(rows)
    catalogue, _ = catalogue_for(events, {"coffee": "hot", "tea": "hot"})
    return holdout.of(events, len(events.item_ids), CONFIG), catalogue


def test_a_recency_scale_orders_buy_again_where_the_window_rebuys_recent_purchases():
    hold, catalogue = shop(window_rebuys_recent=True)
    report = buy_again_order.choose(hold, catalogue, CONFIG)
    assert report.users == USERS
    assert report.recency_days > 0, report.why
    assert report.holdout_ndcg10["due-ness"] < report.holdout_ndcg10[buy_again_order.label(report.recency_days)]
    assert report.holdout_ndcg10[buy_again_order.label(report.recency_days)] == 1.0


def test_due_ness_stays_where_the_window_rebuys_the_most_bought():
    hold, catalogue = shop(window_rebuys_recent=False)
    report = buy_again_order.choose(hold, catalogue, CONFIG)
    assert report.recency_days == buy_again_order.FIXED, report.why
    assert report.holdout_ndcg10["due-ness"] == 1.0


def test_too_few_users_keep_due_ness():
    hold, catalogue = shop(window_rebuys_recent=True)
    report = buy_again_order.choose(hold, catalogue, TrainConfig(ranker_min_users=USERS + 1))
    assert report.recency_days == buy_again_order.FIXED and f"{USERS} users" in report.why


def test_the_service_orders_buy_again_as_the_version_says(fresh_retention_model, redis_url):
    from recsvc import create_app
    from tests.conftest import API_KEY, AUTH

    r = redis.Redis.from_url(redis_url)
    retention_model = fresh_retention_model

    def buy_again(user_id: str) -> list[str]:
        client = create_app(
            {"REDIS_URL": redis_url, "API_KEYS": API_KEY}
        ).test_client()  # a new process: nothing cached
        answer = client.get(f"/v1/users/{user_id}/buy-again", headers=AUTH).json
        return [i["item_id"] for i in answer["items"]]

    meta = json.loads(r.get(keys.meta(retention_model.version)))
    assert meta["retention"]["buy_again_order"]["recency_days"] == buy_again_order.FIXED  # too few users to choose
    assert meta["retention"]["buy_again_order"]["why"]
    # steady bought coffee-a four times, 10 days ago, and coffee-b once, 5 days ago: due-ness puts coffee-a first
    assert buy_again("steady") == ["coffee-a", "coffee-b"]
    order = {**meta["retention"]["buy_again_order"], "recency_days": 1.0}  # recency counts most
    r.set(
        keys.meta(retention_model.version),
        json.dumps({**meta, "retention": {**meta["retention"], "buy_again_order": order}}),
    )
    assert buy_again("steady") == ["coffee-b", "coffee-a"]


def test_the_evaluations_buy_again_task_is_the_re_purchase_task():
    from training.evaluation.run import buy_again_task
    from training.evaluation.split import split

    events = make_events(
        [
            (20, "ann", "milk", "purchase"),
            (5, "ann", "milk", "purchase"),
            (5, "ann", "tea", "purchase"),  # new to ann
            (20, "bob", "tea", "view"),
            (5, "bob", "tea", "purchase"),  # viewed, never bought before: not a re-purchase
        ]
    )
    task = buy_again_task(split(events, NOW - 10 * DAY), len(events.item_ids))
    assert task.users.tolist() == [0]
    assert [events.item_ids[i] for i in task.relevant[0]] == ["milk"]

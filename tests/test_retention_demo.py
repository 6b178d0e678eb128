"""Retention on the demo shop, whose repurchase rhythms are known: intervals, buy-again, triggers, export."""

import csv
import json

import numpy as np
import pytest
import redis

from cli.main import main
from recsvc.contract import keys, records
from tests.conftest import AUTH
from training.samples.demo_catalog import ONCE_PER_USER, REPURCHASE_DAYS
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train


@pytest.fixture(scope="module")
def demo(redis_url, tmp_path_factory):
    """The demo shop (800 users) trained and published: (a client on Redis, the result, item -> category)."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    shop = write_demo_shop(tmp_path_factory.mktemp("demo"), users=800)
    result = train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    with open(shop.catalog, newline="") as f:
        category = {row["item_id"]: row["category_id"] for row in csv.DictReader(f)}
    yield r, result, category
    r.flushdb()


def buy_again_records(r, version):
    for key in r.scan_iter(match=keys.buy_again(version, "*"), count=1000):
        yield key.decode().rsplit(":", 1)[1], records.decode_buy_again(r.get(key))


def test_learned_intervals_match_the_shops_rhythms_and_durables_never_come_back(demo):
    r, result, category = demo
    learned: dict[str, list[float]] = {}
    for _, record in buy_again_records(r, result.version):
        attrs = r.hmget(keys.attrs(result.version), [str(i) for i in record.items])
        for a, interval in zip(attrs, record.interval_days):
            item = json.loads(a)
            learned.setdefault(item["category_id"], []).append(interval)
    assert not set(learned) & ONCE_PER_USER
    for cat, days in REPURCHASE_DAYS.items():
        assert np.median(learned[cat]) == pytest.approx(days, rel=0.2), cat


def test_every_retention_endpoint_answers_on_the_demo_shop(client, demo):
    r, result, category = demo
    user, record = next((u, rec) for u, rec in buy_again_records(r, result.version) if len(rec.items) >= 2)
    answer = client.get(f"/v1/users/{user}/buy-again", headers=AUTH).json
    assert answer["source"] == "buy_again"
    assert all(category[i["item_id"]] not in ONCE_PER_USER for i in answer["items"])
    segment = client.get(f"/v1/users/{user}/profile", headers=AUTH).json["segment"]
    assert segment in ("new", "repeat", "vip", "at_risk", "lost")
    sizes = result.summary.retention.triggers
    assert sizes["replenishment"] > 0 and sizes["win-back"] > 0
    for kind, query in (("replenishment", "days=14"), ("win-back", "days=60")):
        page = client.get(f"/v1/triggers/{kind}?{query}&limit=50", headers=AUTH).json
        assert page["entries"] and all(e["items"] for e in page["entries"]), kind


def test_picks_export_covers_every_user_of_the_demo_shop(demo, redis_url, tmp_path, capsys):
    r, result, _ = demo
    out = tmp_path / "picks.csv"
    assert main(["--redis-url", redis_url, "export", "picks", "--out", str(out), "--no-progress"]) == 0
    with open(out, newline="") as f:
        users = {row["user_id"] for row in csv.DictReader(f)}
    assert len(users) == result.summary.redis_memory.user_keys

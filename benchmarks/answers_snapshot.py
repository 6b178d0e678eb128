"""The service's answers on known shops, written as JSON lines: to check that a change keeps them byte for byte.

    python benchmarks/answers_snapshot.py --redis-url redis://127.0.0.1:PORT --train   # once: publish the shops
    python benchmarks/answers_snapshot.py --redis-url redis://127.0.0.1:PORT --out before.jsonl
    # ... change the code ...
    python benchmarks/answers_snapshot.py --redis-url redis://127.0.0.1:PORT --out after.jsonl
    cmp before.jsonl after.jsonl

Training is not repeated between the two snapshots (an ALS fit on several threads varies a little from run to
run), so both read the very same published versions: the demo shop and two synthetic shapes, one Redis
database each. Every list endpoint is asked for a fixed sample of users and items, with the API key (the whole
answer) and without it (what a widget sees). The signed ``rec_id`` (a fresh nonce each time) is left out, and the
clock stands an hour after each version's training, so times since a purchase read the same. Each shop is asked
again under two sets of merchandising rules (a campaign, and 200 rules as ``rules_cost.py`` makes them).
"""

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import common  # noqa: F401 (first: the repository on sys.path, one BLAS thread)
import redis
from rules_cost import CAMPAIGN, many_rules

from recsvc import create_app
from recsvc.admin import steering
from recsvc.contract import keys
from recsvc.contract.units import HOUR
from recsvc.store.steering import SteeringRecords
from recsvc.store.wire import Wire
from training.samples import shapes
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

SHOPS = ("demo", "views_noise", "complements_strong")
"""The shops, in the Redis databases 0, 1, 2 of the server given."""
KEY = "snapshot-key"
SAMPLE = 40
"""Users and items asked per shop."""


def database(url: str, n: int) -> str:
    """The URL of database ``n`` of the server ``url`` names."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{n}", "", ""))


def publish(url: str) -> None:
    """Write and train each shop into its own database."""
    with tempfile.TemporaryDirectory() as folder:
        for n, name in enumerate(SHOPS):
            r = redis.Redis.from_url(database(url, n))
            r.flushdb()
            where = Path(folder) / name
            if name == "demo":
                shop = write_demo_shop(where, users=600, seed=0)
                inputs = Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories)
            else:
                written = shapes.write(where, name)
                inputs = Inputs(events=written.events, catalog=written.catalog, categories=written.categories)
            result = train(r, inputs)
            print(f"{name}: version {result.version}", file=sys.stderr)


def requests_for(r: redis.Redis) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of every list endpoint over a fixed sample of the shop's users and items."""
    version = r.get(keys.CURRENT).decode()
    user_prefix, item_prefix = keys.user(version, ""), keys.item(version, "")
    ids = sorted(k.decode()[len(user_prefix) :] for k in r.scan_iter(match=keys.user(version, "*"), count=1000))
    users = ids[:: max(1, len(ids) // SAMPLE)][:SAMPLE] + ["nobody-at-all"]
    items = sorted(k.decode()[len(item_prefix) :] for k in r.scan_iter(match=keys.item(version, "*"), count=1000))
    items = items[:: max(1, len(items) // SAMPLE)][:SAMPLE] + ["no-such-item"]
    asked: list[tuple[str, str, dict | None]] = [("GET", "/v1/model", None), ("GET", "/v1/popular?limit=20", None)]
    for u in users:
        asked += [
            ("GET", f"/v1/users/{u}/recommendations?limit=20", None),
            ("GET", f"/v1/users/{u}/recommendations?limit=20&include_viewed=true", None),
            ("GET", f"/v1/users/{u}/category-offers?limit=3&items_per_category=4", None),
            ("GET", f"/v1/users/{u}/buy-again?limit=10", None),
            ("GET", f"/v1/users/{u}/profile", None),
        ]
    for i in items:
        asked += [
            ("GET", f"/v1/items/{i}/also-bought?limit=20", None),
            ("GET", f"/v1/items/{i}/similar?limit=20", None),
            ("POST", "/v1/sessions/recommendations", {"items": [i], "limit": 10}),
        ]
    many = ids[:: max(1, len(ids) // 1000)][:1000]  # the email batch: its lists are judged together
    for limit, viewed in ((10, None), (3, None), (20, None), (20, True), (20, False)):
        body = {"user_ids": many, "limit": limit} | ({"include_viewed": viewed} if viewed is not None else {})
        asked.append(("POST", "/v1/recommendations/batch", body))
    for kind in ("replenishment", "category-interest", "abandoned-cart", "win-back"):
        asked.append(("GET", f"/v1/triggers/{kind}?limit=50&items_per_user=5", None))
    return asked


def without_rec_ids(value):
    """The answer without its fresh parts: each rec_id, and the model's age in seconds."""
    if isinstance(value, dict):
        return {k: without_rec_ids(v) for k, v in value.items() if k not in ("rec_id", "age_s")}
    if isinstance(value, list):
        return [without_rec_ids(v) for v in value]
    return value


def snapshot(url: str, out: Path) -> int:
    """Write the answers of every shop to ``out``; returns how many."""
    written = 0
    with out.open("w", encoding="utf-8") as f:
        for n, name in enumerate(SHOPS):
            url_n = database(url, n)
            r = redis.Redis.from_url(url_n)
            app = create_app({"REDIS_URL": url_n, "TESTING": True, "API_KEYS": KEY})
            trained_at = json.loads(r.get(keys.meta(r.get(keys.CURRENT).decode())))["trained_at"]
            clock = datetime.fromisoformat(trained_at).timestamp() + HOUR  # the same "now" for every snapshot
            app.extensions["recsvc.read.retention"].clock = lambda at=clock: at  # it holds time.time itself
            with mock.patch("time.time", return_value=clock):
                written += answer_all(app.test_client(), r, name, f)
                for rules_name, rules in rule_sets(r).items():  # then under merchandising rules
                    steering.set_rules(SteeringRecords(Wire(r)), rules)
                    written += answer_all(app.test_client(), r, f"{name} under {rules_name}", f)
                steering.set_rules(SteeringRecords(Wire(r)), [])
    return written


def rule_sets(r: redis.Redis) -> dict[str, list[dict]]:
    """Merchandising rules for the shop: a campaign (a pin, a boost, a bury, diversity) and 200 rules of SKU lists,
    price ranges, pins and a diversity cap (``benchmarks/rules_cost.py``), on the shop's own items and categories."""
    version = r.get(keys.CURRENT).decode()
    item_prefix = keys.item(version, "")
    items = sorted(k.decode()[len(item_prefix) :] for k in r.scan_iter(match=keys.item(version, "*"), count=1000))
    categories = json.loads(r.get(keys.categories(version)))["ids"]
    campaign = [dict(rule) for rule in CAMPAIGN]
    campaign[0]["item_id"] = items[len(items) // 2]  # the pin, on an item of this shop
    campaign[1]["when"] = {"category": categories[0]}
    campaign[2]["when"] = {"category": categories[-1]}
    return {"a campaign": campaign, "200 rules": many_rules(items, categories)}


def answer_all(client, r: redis.Redis, name: str, f) -> int:
    """Ask one shop every request of ``requests_for``, with and without the key, and write the answers."""
    written = 0
    for method, path, body in requests_for(r):
        for keyed in (True, False):
            headers = {"X-API-Key": KEY} if keyed else {}
            answer = client.open(path, method=method, json=body, headers=headers)
            row = {"shop": name, "ask": f"{method} {path}", "key": keyed, "status": answer.status_code}
            row["body"] = without_rec_ids(answer.get_json(silent=True))
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis-url", required=True, help="a Redis server of its own (databases 0-2 are emptied)")
    parser.add_argument("--train", action="store_true", help="publish the shops first")
    parser.add_argument("--out", type=Path, help="where to write the answers (JSON lines)")
    args = parser.parse_args()
    if args.train:
        publish(args.redis_url)
    if args.out:
        print(f"{snapshot(args.redis_url, args.out)} answers written to {args.out}")


if __name__ == "__main__":
    main()

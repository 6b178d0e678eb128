"""What merchandising rules and a running A/B test cost a request, inside one process.

    python benchmarks/rules_cost.py [--requests 1000] [--rounds 3] [--batches 20] [--answers recommendations ...]
                                    [--served]

Trains the demo shop into a private redis-server, then calls the app in-process: CPU time per answer of
user recommendations and also-bought (one at a time) and of the email batch (100 users and 1,000 users
of 20 items a call). With ``--served``, the wall-clock time per answer instead, one call at a time over
HTTP to ``recsvc serve --production`` (one worker), as a client of the service sees it. Either with

- no rules;
- the README's coffee-week campaign (a pin, a boost, a bury and a diversity rule), alone and while an A/B
  test of two rule sets runs (each answer also counts its arm), and that A/B test's cost without rules;
- one bury rule of 5,000 SKUs (``when: {item_id: [...]}``, a clearance list);
- 200 rules of realistic size (SKU lists of 650 ids, price ranges, categories, pins, scoped to
  lists, a second variant), about 1.5 MB of JSON: the most ``MAX_RULES`` allows.

Prints the median of the rounds, alternated, and each figure as a ratio to no rules in the same run.
"""

import argparse
import contextlib
import csv
import http.client
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import redis
from serve_bench import API_KEY, serve

from recsvc import create_app
from recsvc.admin import steering
from recsvc.read.experiments import Arm
from recsvc.read.rule_format import LISTS, MAX_RULES
from recsvc.store.steering import SteeringRecords
from recsvc.store.wire import Wire
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

KEYED = {"X-API-Key": API_KEY}
"""Every answer asked as the shop's server asks it: with its history, as a signed-in customer sees it."""
CAMPAIGN: list[dict] = [
    {"name": "coffee-week-pin", "type": "pin", "item_id": "espresso-machine-01", "lists": ["recommendations"]},
    {"name": "coffee-week-boost", "type": "boost", "when": {"category": "coffee"}, "factor": 1.5},
    {"name": "no-ink", "type": "bury", "when": {"category": "printer-ink"}, "factor": 0.5},
    {"name": "mix", "type": "diversity"},
]
Clock = Callable[[], float]
SKUS_PER_LIST = 650
"""The length of a SKU list in the 200 rules: with them the rules make about 1.5 MB of JSON."""


def clearance(items: list[str], size: int = 5000) -> list[dict]:
    """One bury rule of ``size`` SKUs: every third item of the shop, the rest SKUs it no longer sells."""
    skus = items[::3] + [f"sku-{n:06d}" for n in range(size - len(items[::3]))]
    return [{"name": "clearance", "type": "bury", "when": {"item_id": skus}, "factor": 0.5}]


def many_rules(items: list[str], categories: list[str], count: int = MAX_RULES, seed: int = 0) -> list[dict]:
    """``count`` rules a large shop might keep: mostly boosts, buries and filters on SKU lists (a few of the
    shop's items among ids it does not sell), some on price ranges within categories, pins, a diversity rule,
    and a tenth of them in variant ``b``."""
    rng = random.Random(seed)
    rules: list[dict] = []
    for n in range(count):
        name = f"rule-{n:03d}"
        skus = rng.sample(items, 3) + [f"sku-{rng.randrange(1_000_000):06d}" for _ in range(SKUS_PER_LIST - 3)]
        kind = n % 10
        if kind in (0, 1, 2, 3):
            rule = {"name": name, "type": "bury", "when": {"item_id": skus}, "factor": round(rng.uniform(0.3, 0.9), 2)}
        elif kind in (4, 5, 6):
            rule = {"name": name, "type": "boost", "when": {"item_id": skus}, "factor": round(rng.uniform(1.1, 3), 2)}
        elif kind == 7:
            rule = {"name": name, "type": "filter", "when": {"item_id": skus[3:]}}  # discontinued: none sold
        elif kind == 8:
            low = rng.choice((5, 10, 20, 50))
            when = {"category": rng.choice(categories), "price": {"min": low, "max": low * 4}}
            rule = {"name": name, "type": "boost", "when": when, "factor": 1.5, "lists": list(LISTS[:4])}
        else:
            rule = {"name": name, "type": "pin", "item_id": rng.choice(items), "position": 1 + n % 10}
            rule["end"] = "2099-01-01T00:00:00Z"
        if n == count - 1:
            rule = {"name": name, "type": "diversity", "max_per_category": 4}
        if n % 10 == 5:
            rule["variant"] = "b"
        rules.append(rule)
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="single answers per measure")
    parser.add_argument(
        "--batches", type=int, default=20, help="batch calls per measure (of 100 users; 1,000: a fifth)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answers", nargs="+", metavar="ANSWER", help="only these answers (default: all)")
    parser.add_argument("--served", action="store_true", help="wall-clock over HTTP to the production server")
    args = parser.parse_args()
    print(common.machine())
    with tempfile.TemporaryDirectory() as work, common.RedisServer() as server, contextlib.ExitStack() as stack:
        r = redis.Redis.from_url(server.url)
        shop = write_demo_shop(Path(work) / "shop")
        train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
        with open(shop.catalog, newline="") as f:
            catalog = list(csv.DictReader(f))
        items = [row["item_id"] for row in catalog]
        categories = sorted({row["category_id"] for row in catalog})
        with open(shop.events, newline="") as f:
            users = sorted({row["user_id"] for row in csv.DictReader(f)})[:2000]  # the demo's own customers
        singles = users[: args.requests]
        ask, clock = stack.enter_context(asking(server.url, Path(work), args.served))

        def per_call(calls: list[Callable[[], int]]) -> float:
            """Milliseconds per call (CPU in-process, wall-clock served), after a warm-up of the first few (each
            answered in full)."""
            for call in calls[:5]:
                assert call() == 200
            started = clock()
            for call in calls:
                call()
            return (clock() - started) / len(calls) * 1e3

        def batch(size: int, n: int) -> Callable[[], int]:
            chosen = [users[(n * size + k) % len(users)] for k in range(size)]
            body = {"user_ids": chosen, "limit": 20}
            return lambda: ask("/v1/recommendations/batch", body)

        calls: dict[str, list[Callable[[], int]]] = {
            "recommendations": [lambda u=u: ask(f"/v1/users/{u}/recommendations?limit=10", None) for u in singles],
            "also-bought": [
                lambda u=u: ask(f"/v1/items/coffee-colombia-1kg/also-bought?limit=10&user_id={u}", None)
                for u in singles
            ],
            "batch of 100": [batch(100, n) for n in range(args.batches)],
            "batch of 1,000": [batch(1000, n) for n in range(max(1, args.batches // 5))],
        }
        calls = {answer: made for answer, made in calls.items() if args.answers is None or answer in args.answers}
        large = many_rules(items, categories)
        settings: dict[str, list[dict]] = {
            "no rules": [],
            "campaign": [*CAMPAIGN, *[{**x, "variant": "b"} for x in CAMPAIGN]],
            "A/B test, no rules": [],
            "campaign + A/B test": [*CAMPAIGN, *[{**x, "variant": "b"} for x in CAMPAIGN]],
            "one bury of 5,000 SKUs": clearance(items),
            f"{len(large)} rules, {len(json.dumps(large)) / 1e6:.2f} MB": large,
        }

        records = SteeringRecords(Wire(r))

        def setting(name: str) -> None:
            running = steering.steering(records).running
            if running is not None:
                steering.stop_experiment(records, running.name)
            steering.set_rules(records, settings[name])
            if "A/B test" in name:  # arm b under the rules of variant b, where there are some
                b = Arm("b", rules="b") if settings[name] else Arm("b")
                steering.start_experiment(records, f"cost-{time.time_ns()}", [Arm("a"), b])

        found: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for name in settings if round_ % 2 == 0 else reversed(settings):
                setting(name)
                for endpoint, made in calls.items():
                    found.setdefault((endpoint, name), []).append(per_call(made))
    measure = "wall-clock ms per call, served" if args.served else "CPU ms per call, in-process"
    print(f"\n| answer | setting | {measure} | ratio to no rules |\n|---|---|---:|---:|")
    for endpoint in calls:
        base = statistics.median(found[(endpoint, "no rules")])
        for name in settings:
            value = statistics.median(found[(endpoint, name)])
            print(f"| {endpoint} | {name} | {value:,.2f} | {value / base:.2f} |")


@contextlib.contextmanager
def asking(redis_url: str, work: Path, served: bool) -> Iterator[tuple[Callable[[str, dict | None], int], Clock]]:
    """``ask(path, body)``: the status of a GET (``body`` None) or a POST to the app, in-process or over HTTP to
    a production server; and the clock that times it (CPU in-process, wall-clock served)."""
    if not served:
        config = {"REDIS_URL": redis_url, "METRICS": False, "API_KEYS": API_KEY, "REDIS_TIMEOUT_S": 10}
        client = create_app(config).test_client()  # a long timeout: a slow shared machine measures, never fails

        def in_process(path: str, body: dict | None) -> int:
            answer = client.get(path, headers=KEYED) if body is None else client.post(path, json=body, headers=KEYED)
            return answer.status_code

        yield in_process, time.process_time
        return
    with serve(redis_url, "granian", 1, 4, work) as server:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)

        def over_http(path: str, body: dict | None) -> int:
            if body is None:
                connection.request("GET", path, headers=KEYED)
            else:
                connection.request("POST", path, json.dumps(body), {**KEYED, "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status

        yield over_http, time.perf_counter
        connection.close()


if __name__ == "__main__":
    main()

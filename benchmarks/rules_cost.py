"""What merchandising rules and a running A/B test cost a request, inside one process.

    python benchmarks/rules_cost.py [--requests 1000] [--rounds 3]

Trains the demo shop into a private redis-server, then calls the app in-process for user
recommendations and also-bought: CPU microseconds per request with no rules, with the README's
coffee-week campaign (a pin, a boost, a bury and a diversity rule), and with the campaign while an
A/B test of two rule sets runs (each answer also counts its arm). Prints the median of the rounds,
alternated, and each figure as a ratio to no rules in the same run.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import redis

from recsvc import create_app
from recsvc.admin import steering
from recsvc.read.experiments import Arm
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

CAMPAIGN = [
    {"name": "coffee-week-pin", "type": "pin", "item_id": "espresso-machine-01", "lists": ["recommendations"]},
    {"name": "coffee-week-boost", "type": "boost", "when": {"category": "coffee"}, "factor": 1.5},
    {"name": "no-ink", "type": "bury", "when": {"category": "printer-ink"}, "factor": 0.5},
    {"name": "mix", "type": "diversity"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(common.machine())
    with tempfile.TemporaryDirectory() as work, common.RedisServer() as server:
        r = redis.Redis.from_url(server.url)
        shop = write_demo_shop(Path(work) / "shop")
        train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
        client = create_app({"REDIS_URL": server.url, "METRICS": False}).test_client()
        users = [f"user-{n:05d}" for n in range(1, args.requests + 1)]
        paths = {
            "recommendations": [f"/v1/users/{u}/recommendations?limit=10" for u in users],
            "also-bought": [f"/v1/items/coffee-colombia-1kg/also-bought?limit=10&user_id={u}" for u in users],
        }

        def cpu_us(urls: list[str]) -> float:
            started = time.process_time()
            for url in urls:
                client.get(url)
            return (time.process_time() - started) / len(urls) * 1e6

        def setting(name: str) -> None:
            steering.set_rules(r, [] if name == "no rules" else [*CAMPAIGN, *[{**x, "variant": "b"} for x in CAMPAIGN]])
            running = steering.steering(r).running
            if running is not None:
                steering.stop_experiment(r, running.name)
            if name == "campaign + A/B test":
                steering.start_experiment(r, f"cost-{time.time_ns()}", [Arm("a"), Arm("b", rules="b")])

        settings = ("no rules", "campaign", "campaign + A/B test")
        found: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for name in settings if round_ % 2 == 0 else reversed(settings):
                setting(name)
                for endpoint, urls in paths.items():
                    cpu_us(urls[:100])  # warm the caches
                    found.setdefault((endpoint, name), []).append(cpu_us(urls))
    print("\n| endpoint | setting | CPU us per request | ratio to no rules |\n|---|---|---:|---:|")
    for endpoint in paths:
        base = statistics.median(found[(endpoint, "no rules")])
        for name in settings:
            value = statistics.median(found[(endpoint, name)])
            print(f"| {endpoint} | {name} | {value:,.0f} | {value / base:.2f} |")


if __name__ == "__main__":
    main()

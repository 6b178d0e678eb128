"""Also-bought (complements) against similar (substitutes): how the two lists differ, on data.

    python benchmarks/complements_vs_similar.py [--data DIR] [--users 2000]

Trains on the demo shop (``training/samples/demo_shop.py``: buyers of running shoes go on to buy running
clothes, TV buyers TV accessories, ...) and on the Taobao head of the shared data, into a private
redis-server, then reads every item's two lists through the HTTP API. For each list it prints the
share of its items (the list's own, not the popular fill) that are in the subject's category, and
on the demo shop the share in the subject's complement categories.
"""

import argparse
import csv
import gzip
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import redis

from recsvc import create_app
from training.samples.demo_catalog import COMPLEMENTS
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

LIMIT = 10
OWN_REASON = {"also-bought": "bought_together", "similar": "similar"}


def shares(client, item_category: dict[str, str], subjects: list[str]) -> dict[str, dict[str, float]]:
    """Per endpoint: items listed, share in the subject's category, share in its complement categories."""
    out = {}
    for endpoint, reason in OWN_REASON.items():
        listed = same = complement = with_complements = 0
        for item in subjects:
            cat = item_category.get(item)
            for entry in client.get(f"/v1/items/{item}/{endpoint}?limit={LIMIT}").json["items"]:
                if entry["reason"]["type"] != reason:
                    continue
                listed += 1
                same += entry["category_id"] == cat
                if cat in COMPLEMENTS:
                    with_complements += 1
                    complement += entry["category_id"] in COMPLEMENTS[cat]
        out[endpoint] = {
            "items": listed,
            "same_category": same / max(listed, 1),
            "complement_category": complement / max(with_complements, 1),
        }
    return out


def report(name: str, result: dict, complements: bool) -> None:
    print(f"\n{name}")
    header = f"  {'list':12} {'items':>7} {'same category':>14}"
    print(header + (f" {'complement category':>20}" if complements else ""))
    for endpoint, row in result.items():
        line = f"  {endpoint:12} {row['items']:7d} {row['same_category']:14.1%}"
        print(line + (f" {row['complement_category']:20.1%}" if complements else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.shared_data())
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()
    server = common.RedisServer().start()
    try:
        r = redis.Redis.from_url(server.url)
        client = create_app({"REDIS_URL": server.url, "TESTING": True}).test_client()
        with tempfile.TemporaryDirectory() as folder:
            shop = write_demo_shop(Path(folder) / "demo", users=args.users)
            train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
            with open(shop.catalog, newline="") as f:
                category = {row["item_id"]: row["category_id"] for row in csv.DictReader(f)}
            subjects = sorted(category)
            report(f"demo shop ({args.users} users, {len(subjects)} items)", shares(client, category, subjects), True)
            mixed = [i for i in subjects if category[i] in COMPLEMENTS]
            report("demo shop, items of complement key categories only", shares(client, category, mixed), True)

        taobao = args.data / "taobao_userbehavior_head" / "UserBehavior_head.csv.gz"
        if taobao.exists():
            r.flushdb()
            train(r, Inputs(events=taobao, preset="taobao"))
            bought, category = {}, {}
            with gzip.open(taobao, "rt") as f:
                for line in f:
                    _, item, cat, behavior, _ = line.rstrip("\n").split(",")
                    category[item] = cat
                    if behavior == "buy":
                        bought[item] = bought.get(item, 0) + 1
            subjects = sorted(bought, key=lambda i: -bought[i])[:300]
            report(f"taobao head (the {len(subjects)} most bought items)", shares(client, category, subjects), False)
        else:
            print(f"\n(taobao head not found under {args.data}: skipped)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

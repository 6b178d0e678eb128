"""The planted complement in also-bought: on ``durables_complements``, for every durable with 5 or more buyers,
whether its complement is in the top 10 of ``GET /v1/items/<id>/also-bought``.

    python benchmarks/planted_complements.py [--users 3000]

Trains twice into a private redis-server: the served order (as the window chooses) and the fixed order
(``also_bought_validated`` off, what a shop whose window cannot choose serves). ``tests/test_also_bought_use.py``
requires 90%.
"""

import argparse
import tempfile
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread

from recsvc import create_app
from training.config import TrainConfig
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.lists import complements
from training.samples import shapes
from training.train import train

ORDERS = {"served": TrainConfig(), "fixed": TrainConfig(also_bought_validated=False)}


def found(client, data, config: TrainConfig) -> tuple[int, int]:
    """(durables whose complement is in their top 10, durables asked)."""
    buyers = complements.Together.of(data.events, len(data.item_ids), config).buyers
    asked = hits = 0
    for n, item_id in enumerate(data.item_ids.tolist()):
        complement = shapes.durable_complement(int(item_id[1:]))
        if complement is None or buyers[n] < 5:
            continue
        items = client.get(f"/v1/items/{item_id}/also-bought?limit=10").json["items"]
        asked += 1
        hits += shapes.item_id(complement) in [i["item_id"] for i in items]
    return hits, asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        shop = shapes.write(Path(work), shapes.shape_with("durables_complements", users=args.users))
        inputs = Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories)
        data = dataset.read(inputs)
        for name, config in ORDERS.items():
            with common.RedisServer() as server:
                train(common.connect(server.url), inputs, config)
                client = create_app({"REDIS_URL": server.url, "TESTING": True}).test_client()
                hits, asked = found(client, data, config)
                print(f"{name:7s} {hits} of {asked} durables with 5+ buyers ({hits / max(asked, 1):.0%})")


if __name__ == "__main__":
    main()

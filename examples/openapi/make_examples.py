"""Write ``recsvc/http/openapi_examples.py``: the examples of ``/openapi.json``, answers of the demo shop.

    .venv/bin/python examples/openapi/make_examples.py

The demo shop of ``recsvc demo`` (the same seed and size) is trained into a private Redis and asked by the
service itself (user-keyed lists with the key, so their reasons name the history items); each list is cut to two
items so the document stays short.
"""

import pprint
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

from cli.trainer import demo_urls
from recsvc import create_app
from training.private_redis import RedisServer
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

OUT = Path(__file__).resolve().parents[2] / "recsvc" / "http" / "openapi_examples.py"
KEY = "example-key"
HEADER = "Examples of ``/openapi.json``: answers of the demo shop, written by examples/openapi/make_examples.py."


def shorten(answer: dict) -> dict:
    """The answer with every list of items cut to two."""
    if isinstance(answer.get("items"), list):
        answer["items"] = answer["items"][:2]
    for name in ("offers", "results", "entries"):
        for part in answer.get(name) or []:
            shorten(part)
    return answer


def main() -> None:
    server = RedisServer().start()
    try:
        r = redis.Redis.from_url(server.url)
        with tempfile.TemporaryDirectory() as folder:
            shop = write_demo_shop(Path(folder))
            train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
            urls = demo_urls(shop)
        user, shoe = urls[0].split("/")[3], urls[1].split("/")[3]
        client = create_app({"REDIS_URL": server.url, "API_KEYS": KEY, "METRICS": False}).test_client()
        auth = {"X-API-Key": KEY}
        cart_page = client.get("/v1/triggers/replenishment?limit=1&items_per_user=2", headers=auth).json
        model = client.get("/v1/model").json
        model["parameters"] = {k: model["parameters"][k] for k in list(model["parameters"])[:4]}
        examples = {
            "UserItems": client.get(f"/v1/users/{user}/recommendations?limit=2", headers=auth).json,
            "ItemItems": client.get(f"/v1/items/{shoe}/also-bought?limit=2").json,
            "PopularItems": client.get("/v1/popular?limit=2").json,
            "SessionItems": client.post("/v1/sessions/recommendations", json={"items": [shoe], "limit": 2}).json,
            "CategoryOffers": client.get(
                f"/v1/users/{user}/category-offers?limit=1&items_per_category=2", headers=auth
            ).json,
            "BatchResults": client.post(
                "/v1/recommendations/batch", json={"user_ids": [user], "limit": 2}, headers=auth
            ).json,
            "Profile": client.get(f"/v1/users/{user}/profile", headers=auth).json,
            "TriggerPage": cart_page,
            "Model": {k: model[k] for k in ("model_version", "version", "trained_at", "data", "counts", "parameters")}
            | {"redis_memory": model["redis_memory"]},
            "EventsAnswer": client.post(
                "/v1/events", json={"user_id": user, "item_id": shoe, "event": "view"}, headers=auth
            ).json,
            "TrackAnswer": {"counted": True},
            "Error": client.get("/v1/popular?limit=0").json,
        }
    finally:
        server.stop()
    text = pprint.pformat({name: shorten(answer) for name, answer in examples.items()}, sort_dicts=False)
    OUT.write_text(f'"""{HEADER}"""\n\nfrom typing import Any\n\nEXAMPLES: dict[str, Any] = {text}\n')
    subprocess.run([sys.executable, "-m", "ruff", "format", str(OUT)], check=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

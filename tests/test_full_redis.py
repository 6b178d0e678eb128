"""A full Redis (``maxmemory`` reached, ``noeviction``): every read still answers, every write is a clean 503.

Regressions: loading the rules and experiments in a MULTI, which Redis refuses under maxmemory even for reads,
made every read a 503 "the event store is full"; ``POST /v1/track`` and ``PUT /v1/rules`` answered 500.
"""

import pytest
import redis

from recsvc import create_app
from recsvc.admin import steering
from recsvc.read.experiments import Arm
from tests.gateways import steering_records
from tests.shop import write_shop
from training.config import TrainConfig
from training.private_redis import RedisServer
from training.train import Inputs, train

KEY = {"X-API-Key": "k"}
READS = [
    "/v1/users/alice/recommendations?limit=5",
    "/v1/users/alice/category-offers",
    "/v1/items/shoe-1/also-bought?limit=5",
    "/v1/items/shoe-1/similar?limit=5",
    "/v1/popular?category=sports",
    "/v1/model",
    "/healthz",
    "/readyz",
]
KEYED_READS = ["/v1/rules", "/v1/experiments", "/v1/experiments/colours"]
FILLER = b"x" * 100_000


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """A private Redis holding a trained shop, a rule and a running experiment, then filled to its maxmemory."""
    server = RedisServer(args=("--maxmemory-policy", "noeviction")).start()
    r = redis.Redis.from_url(server.url)
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    inputs = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    train(r, inputs, TrainConfig(factors=8, iterations=3))
    steering.set_rules(steering_records(r), [{"name": "no-tvs", "type": "filter", "when": {"category": "tv"}}])
    steering.start_experiment(steering_records(r), "colours", [Arm("a"), Arm("b")])
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) + 2_000_000)
    n = 0
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        while n < 10_000:
            r.set(f"filler:{n}", FILLER)
            n += 1
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) - 1_000_000)  # full, whatever reads cost
    yield server.url
    r.close()
    server.stop()


@pytest.fixture
def client(full):
    """A service process started after Redis filled up: it has loaded nothing yet, and Redis holds no tracking
    secret (its answers' rec_ids are signed with a passing one)."""
    return create_app({"REDIS_URL": full, "TESTING": True, "API_KEYS": "k"}).test_client()


def test_every_read_answers_while_redis_is_full(client):
    for url in READS:
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.json)
    for url in KEYED_READS:
        answer = client.get(url, headers=KEY)
        assert answer.status_code == 200, (url, answer.json)
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["alice", "bob"]}, headers=KEY)
    assert batch.status_code == 200 and len(batch.json["results"]) == 2
    shown = [i["item_id"] for i in client.get("/v1/popular?limit=100").json["items"]]
    assert shown and not [i for i in shown if i.startswith("tv-")]  # the stored rules were loaded and kept


def assert_full(answer) -> None:
    assert answer.status_code == 503 and answer.is_json, (answer.status_code, answer.get_data(as_text=True)[:200])
    assert answer.json["error"]["code"] == "store_full" and "full" in answer.json["error"]["message"]


def test_every_write_is_a_clean_503_while_redis_is_full(full):
    client = create_app({"REDIS_URL": full, "TESTING": True, "API_KEYS": "k", "TRACKING_SECRET": "s"}).test_client()
    rec_id = client.get("/v1/users/alice/recommendations").json["rec_id"]
    assert_full(client.post("/v1/track", json={"rec_id": rec_id, "type": "impression", "user_id": "alice"}))
    assert_full(client.post("/v1/events", json={"user_id": "u", "item_id": "shoe-1", "event": "view"}, headers=KEY))
    rules = [{"name": "no-cables", "type": "filter", "when": {"category": "tv-accessories"}}]
    assert_full(client.put("/v1/rules", json=rules, headers=KEY))
    assert_full(client.post("/v1/rules", json=rules, headers=KEY))
    assert_full(client.delete("/v1/rules/no-tvs", headers=KEY))
    assert_full(client.post("/v1/experiments/colours/stop", json={}, headers=KEY))


def test_a_write_in_a_script_is_a_clean_503_too(full, client):
    """Starting an experiment is one script: Redis's refusal comes as a script error, not as an OOM reply."""
    r = redis.Redis.from_url(full)
    limit = r.config_get("maxmemory")["maxmemory"]
    r.config_set("maxmemory", 0)  # room for a moment, to stop the running experiment
    assert client.post("/v1/experiments/colours/stop", json={}, headers=KEY).status_code == 200
    r.config_set("maxmemory", limit)
    experiment = {"name": "sizes", "arms": {"a": "current", "b": "current"}}
    assert_full(client.post("/v1/experiments", json=experiment, headers=KEY))
    r.close()

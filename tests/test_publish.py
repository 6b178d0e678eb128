"""Publishing: a version appears whole or not at all, old versions stay for rollback, Redis outages are 503."""

import json
import threading
import time

import pytest
import redis

from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.store.commands import PackedRecords
from tests.shop import write_shop
from training import serialize
from training.config import TrainConfig
from training.private_redis import RedisServer
from training.train import Inputs, train


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def version_keys(r, version):
    return list(r.scan_iter(match=keys.version_prefix(version) + "*", count=1000))


def test_a_failed_publish_leaves_the_served_model_as_it_was(r, shop, monkeypatch, redis_url):
    first = train(r, shop).version
    real = serialize.user_records

    def dies_half_way(*args, **kwargs):
        for n, pair in enumerate(real(*args, **kwargs)):
            if n == 50:
                raise RuntimeError("killed")
            yield pair

    monkeypatch.setattr(serialize, "user_records", dies_half_way)
    with pytest.raises(RuntimeError, match="killed"):
        train(r, shop)
    assert versions.current(r) == first
    assert [v.version for v in versions.list_versions(r)] == [first]
    assert r.scard(keys.STAGING) == 0
    assert len(r.keys(keys.PREFIX + ":v:*:meta")) == 1  # the failed version's keys are gone
    client = create_app({"REDIS_URL": redis_url}).test_client()
    assert client.get("/v1/users/alice/recommendations").json["model_version"] == first


def test_a_killed_publish_is_cleaned_up_by_the_next(r, shop):
    first = train(r, shop).version
    r.sadd(keys.STAGING, "killed-run")  # what a process killed mid-publish leaves behind
    r.set(keys.user("killed-run", "alice"), b"partial")
    second = train(r, shop).version
    assert versions.current(r) == second != first
    assert version_keys(r, "killed-run") == []
    assert r.smembers(keys.STAGING) == set()


def test_keeps_the_last_versions_and_rolls_back(r, shop, redis_url):
    config = TrainConfig(versions_kept=3)
    made = [train(r, shop, config).version for _ in range(4)]
    listed = versions.list_versions(r)
    assert [v.version for v in listed] == made[:0:-1]  # newest first, the oldest deleted
    assert version_keys(r, made[0]) == []
    assert listed[0].current and listed[0].summary.counts.users > 0

    client = create_app({"REDIS_URL": redis_url}).test_client()
    assert client.get("/v1/model").json["model_version"] == made[3]
    versions.rollback(r, made[1])
    assert client.get("/v1/users/alice/recommendations").json["model_version"] == made[1]
    assert client.get("/v1/model").json["model_version"] == made[1]
    with pytest.raises(versions.UnknownVersion):
        versions.rollback(r, made[0])

    made.append(train(r, shop, config).version)  # the served old version survives the trim
    assert versions.current(r) == made[4]
    remaining = {v.version for v in versions.list_versions(r)}
    assert remaining == {made[4], made[3], made[2]}


def test_readers_never_see_a_half_written_version(r, shop, redis_url):
    first = train(r, shop).version
    client = create_app({"REDIS_URL": redis_url}).test_client()
    seen, problems, stop = set(), [], threading.Event()

    def read():
        while not stop.is_set():
            answer = client.get("/v1/users/runner-3/recommendations?limit=5").json
            seen.add(answer["model_version"])
            if answer["source"] != "personalized" or len(answer["items"]) != 5:
                problems.append(answer)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        published = [train(r, shop).version for _ in range(3)]
    finally:
        stop.set()
        reader.join()
    assert not problems
    assert seen and seen <= {first, *published}


def test_redis_down_is_a_503_and_the_service_recovers(shop):
    server = RedisServer().start()
    try:
        r = redis.Redis.from_url(server.url)
        train(r, shop)
        client = create_app({"REDIS_URL": server.url}).test_client()
        assert client.get("/v1/users/alice/recommendations").status_code == 200
        server.stop()
        for url in ["/v1/users/alice/recommendations", "/v1/items/shoe-1/also-bought", "/v1/popular", "/readyz"]:
            response = client.get(url)
            assert response.status_code == 503 and response.is_json, url
        assert client.get("/healthz").status_code == 200
        server.start()  # same port, empty: a new model must be published
        assert client.get("/readyz").status_code == 503
        train(redis.Redis.from_url(server.url), shop)
        deadline = time.monotonic() + 2.0  # the breaker closes at its next probe of Redis (every 0.25 s)
        while client.get("/v1/users/alice/recommendations").status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
            time.sleep(0.05)
        assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_no_model_yet_means_503(r, redis_url):
    client = create_app({"REDIS_URL": redis_url}).test_client()
    response = client.get("/v1/users/alice/recommendations")
    assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_item_factors_are_stored_in_parts_and_read_back_whole(r, shop, monkeypatch, redis_url):
    """Regression: at 10x RetailRocket the item factors (600 MB) were one value, over the 512 MB Redis takes by
    default (the run failed) and too large for the service to read within its timeout."""
    monkeypatch.setattr(keys, "FACTORS_PART_BYTES", 8 * 4 * 5)  # 5 items of 8 factors a part
    result = train(r, shop, TrainConfig(factors=8))
    n_items = result.summary.counts.items
    parts = json.loads(r.get(keys.foldin(result.version)))["factor_parts"]
    assert parts == -(-n_items // 5) > 1
    stored = b"".join(r.get(keys.item_factors(result.version, n)) for n in range(parts))
    assert len(stored) == n_items * 8 * 4
    client = create_app({"REDIS_URL": redis_url}).test_client()
    answer = client.post("/v1/sessions/recommendations", json={"items": ["shoe-1"], "limit": 3}).json
    assert answer["source"] == "session" and len(answer["items"]) == 3


def test_large_values_are_sent_in_pieces_and_read_whole(r, shop, monkeypatch, redis_url):
    """Regression: at 10x RetailRocket sending the item factors (600 MB) in one piece outlasted the client's
    socket timeout."""
    monkeypatch.setattr("training.version_writer.VALUE_PIECE", 100)
    result = train(r, shop, TrainConfig(factors=8))
    stored = r.get(keys.item_factors(result.version))
    assert len(stored) == result.summary.counts.items * 8 * 4  # float32 per item and factor
    assert len(r.get(keys.item_ids(result.version)).decode().split("\n")) == result.summary.counts.items
    client = create_app({"REDIS_URL": redis_url}).test_client()
    answer = client.post("/v1/sessions/recommendations", json={"items": ["shoe-1"], "limit": 3}).json
    assert answer["source"] == "session" and len(answer["items"]) == 3


def test_packed_records_all_arrive_and_a_refused_write_raises_with_the_client_still_usable():
    server = RedisServer(args=("--maxmemory-policy", "noeviction")).start()
    try:
        r = redis.Redis.from_url(server.url)
        records = PackedRecords(r)
        values = [(f"recsvc:test:packed:{n}", f"value-{n}".encode()) for n in range(100)]
        for start in range(0, 100, 10):
            records.add(values[start : start + 10])
        assert records.queued_commands == 10
        records.send()
        records.add([("recsvc:test:packed:never", b"x")])
        records.discard()
        records.send()
        assert r.mget([k for k, _ in values]) == [v for _, v in values]
        assert r.get("recsvc:test:packed:never") is None
        r.config_set("maxmemory", int(r.info("memory")["used_memory"]) + 100_000)
        for n in range(20):  # the first MSETs fit, the later ones are refused
            records.add([(f"recsvc:test:big:{n}", b"x" * 50_000)])
        with pytest.raises(redis.ResponseError, match="maxmemory"):
            records.send()
        assert records.queued_commands == 0
        assert r.ping() and r.get("recsvc:test:packed:0") == b"value-0"  # no reply of the failed send is left
    finally:
        server.stop()

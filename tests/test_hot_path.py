"""What the service keeps in the process between requests follows the published model at once:
a publish, a rollback and a catalog update are seen by the next request of a warm process."""

import os
import subprocess
import sys
import threading

import pytest
import redis

from recsvc import create_app
from recsvc.admin.catalog import update_catalog
from recsvc.contract import keys, versions
from tests.conftest import API_KEY, AUTH
from tests.gateways import catalog_records
from tests.shop import write_shop
from training.config import TrainConfig
from training.private_redis import RedisServer
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def warm(client) -> dict:
    """Ask every kind of list once, so the process caches the version, its items and their records."""
    answers = {
        "alice": client.get("/v1/users/alice/recommendations").json,
        "bob": client.get("/v1/users/bob/recommendations").json,  # served from the lists of the items he viewed
        "shoe": client.get("/v1/items/shoe-1/also-bought?limit=5").json,
        "offers": client.get("/v1/users/alice/category-offers").json,
    }
    assert all(a["model_version"] for a in answers.values())
    return answers


def test_a_publish_and_a_rollback_are_served_at_the_next_request(r, shop, redis_url):
    first = train(r, shop).version
    client = create_app({"REDIS_URL": redis_url}).test_client()
    before = warm(client)
    second = train(r, shop, TrainConfig(factors=8)).version
    after = warm(client)
    assert {a["model_version"] for a in after.values()} == {second} != {first}
    versions.rollback(r, first)
    again = warm(client)
    assert {a["model_version"] for a in again.values()} == {first}
    for name in before:  # the same answers as before the switches (but for each answer's own rec_id)
        assert {**again[name], "rec_id": None} == {**before[name], "rec_id": None}


def test_a_catalog_update_is_seen_by_a_warm_process(r, shop, redis_url, tmp_path):
    version = train(r, shop).version
    client = create_app({"REDIS_URL": redis_url}).test_client()
    shown = warm(client)
    picked = {i["item_id"]: i for i in shown["alice"]["items"] + shown["shoe"]["items"]}
    hidden, repriced = "shirt-1", "shirt-2"
    assert {hidden, repriced} <= set(picked) and picked[repriced]["price"] == 59.0
    changes = tmp_path / "changes.csv"
    changes.write_text(f"item_id,available,price,title\n{hidden},false,,\n{repriced},,49.5,Jacket (offer)\n")
    assert update_catalog(catalog_records(r), changes).changed == 2
    after = warm(client)
    listed = {i["item_id"]: i for a in after.values() for i in a.get("items", [])}
    listed |= {i["item_id"]: i for offer in after["offers"]["offers"] for i in offer["items"]}
    assert hidden not in listed
    assert (listed[repriced]["price"], listed[repriced]["title"]) == (49.5, "Jacket (offer)")
    assert {a["model_version"] for a in after.values()} == {version}  # the same version, changed in place


def test_a_deleted_version_is_not_served_from_the_cache(r, shop, redis_url):
    """The cache belongs to a version: a new version under the same process reads its own records."""
    first = train(r, shop).version
    client = create_app({"REDIS_URL": redis_url}).test_client()
    warm(client)
    second = train(r, shop).version
    versions.delete_version(r, first)
    assert r.exists(keys.meta(first)) == 0
    assert {a["model_version"] for a in warm(client).values()} == {second}


def test_threads_of_one_process_each_get_their_own_answers(r, shop, redis_url):
    train(r, shop)
    app = create_app({"REDIS_URL": redis_url, "API_KEYS": API_KEY})
    expected = {
        u: app.test_client().get(f"/v1/users/{u}/recommendations", headers=AUTH).json["items"] for u in ("alice", "bob")
    }
    wrong: list[str] = []

    def ask(user: str) -> None:
        client = app.test_client()
        for _ in range(30):
            if client.get(f"/v1/users/{user}/recommendations", headers=AUTH).json["items"] != expected[user]:
                wrong.append(user)

    threads = [threading.Thread(target=ask, args=(u,)) for u in ("alice", "bob") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    batch = app.test_client().post("/v1/recommendations/batch", json={"user_ids": ["bob", "alice"]}, headers=AUTH)
    assert [res["items"] for res in batch.json["results"]] == [expected["bob"], expected["alice"]]


def test_a_restarted_redis_costs_no_failed_request(shop):
    """The connection a thread keeps is dead after a restart: the request reads again on a new one."""
    server = RedisServer().start()
    try:
        train(redis.Redis.from_url(server.url), shop)
        client = create_app({"REDIS_URL": server.url}).test_client()
        warm(client)
        server.stop()
        server.start()  # same port, empty: publish again before the next request
        version = train(redis.Redis.from_url(server.url), shop).version
        response = client.get("/v1/users/alice/recommendations")
        assert response.status_code == 200 and response.json["model_version"] == version
    finally:
        server.stop()


def test_a_thread_per_request_never_runs_out_of_connections(r, shop, redis_url):
    """Regression: each thread's own connection was counted by the client's pool and never given back, so a
    server starting a thread per request (``recsvc serve``, the demo) answered 503 after 100 requests."""
    train(r, shop)
    client = create_app({"REDIS_URL": redis_url}).test_client()
    statuses = []
    for _ in range(150):
        worker = threading.Thread(target=lambda: statuses.append(client.get("/v1/popular").status_code))
        worker.start()
        worker.join()
    assert statuses == [200] * 150


def hmget_calls(r) -> int:
    return int(r.info("commandstats").get("cmdstat_hmget", {}).get("calls", 0))


def test_a_cold_process_reads_a_batchs_items_in_a_few_round_trips(r, redis_url, tmp_path):
    """The batch reads the attributes of every item its users' lists will show at once, not user by user."""
    demo = write_demo_shop(tmp_path, users=300)
    version = train(r, Inputs(events=demo.events, catalog=demo.catalog, categories=demo.categories)).version
    store = create_app({"REDIS_URL": redis_url}).extensions["recsvc"].store
    users = [u for chunk in store.user_ids(version) for u in chunk]
    assert len(users) >= 200
    reads = {}
    for asked in (users[:1], users):
        client = create_app({"REDIS_URL": redis_url, "API_KEYS": API_KEY}).test_client()  # a cold process
        r.config_resetstat()
        answer = client.post("/v1/recommendations/batch", json={"user_ids": asked}, headers=AUTH).json
        assert [res["user_id"] for res in answer["results"]] == asked and all(res["items"] for res in answer["results"])
        reads[len(asked)] = hmget_calls(r)
    assert reads[len(users)] <= reads[1] + 1 <= 4, reads  # the history items of users without picks, then the rest


def test_the_garbage_collector_is_set_for_serving_once_per_process(redis_url):
    """A young collection waits for 50,000 new containers and start-up's objects are frozen; 0 leaves Python's.
    ``recsvc export`` reads the same setting (``configured_threshold``)."""
    script = (
        "import gc, sys; from recsvc import collector, create_app; "
        "create_app({'REDIS_URL': sys.argv[1]}); create_app({'REDIS_URL': sys.argv[1]}); "
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, collector.configured_threshold())"
    )
    for setting, expected in ((None, "50000 True 50000"), ("0", "700 False 0"), ("20000", "20000 True 20000")):
        env = {k: v for k, v in os.environ.items() if k != "RECSVC_GC_YOUNG_THRESHOLD"}
        if setting is not None:
            env["RECSVC_GC_YOUNG_THRESHOLD"] = setting
        run = subprocess.run([sys.executable, "-c", script, redis_url], env=env, capture_output=True, text=True)
        assert run.stdout.split("\n")[0] == expected, run.stderr

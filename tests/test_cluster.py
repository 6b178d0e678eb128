"""recsvc on a real three-node Redis Cluster: found from a node's URL, the same answers as on one Redis,
a version spread over the nodes, the publish protocol and catalog updates intact."""

import json
from pathlib import Path

import pytest
import redis

from cli.main import main
from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.store.commands import ClusterRecords, get_many, is_cluster, used_memory
from recsvc.store.connect import connect
from tests.conftest import API_KEY, AUTH
from tests.gateways import model_store
from tests.shop import CATALOG, shop_events, write_shop
from training.private_redis import RedisClusterServers, RedisServer
from training.train import Inputs, train
from training.version_writer import VersionWriter


@pytest.fixture(scope="module")
def cluster():
    with RedisClusterServers(3) as servers:
        yield servers


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory) -> dict[str, Path]:
    return write_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def both(cluster, shop_files):
    """The same shop trained on the cluster and on a single Redis: (cluster client, single client)."""
    inputs = Inputs(events=shop_files["events"], catalog=shop_files["catalog"], categories=shop_files["categories"])
    on_cluster = connect(cluster.url)
    with RedisServer() as single_server:
        single = connect(single_server.url)
        train(on_cluster, inputs)
        train(single, inputs)
        yield on_cluster, single


def _client(url: str):
    return create_app({"REDIS_URL": url, "TESTING": True, "API_KEYS": API_KEY}).test_client()


VARYING = {"model_version", "rec_id", "trained_at", "published_at"}
"""What differs between two trainings of the same data: the version, its time and the ids of answers."""


def _comparable(answer):
    """An answer without the fields in ``VARYING``, at any depth."""
    if isinstance(answer, dict):
        return {k: _comparable(v) for k, v in answer.items() if k not in VARYING}
    if isinstance(answer, list):
        return [_comparable(v) for v in answer]
    return answer


def test_a_node_url_finds_the_cluster(cluster):
    assert is_cluster(connect(cluster.url)) and is_cluster(connect(cluster.servers[2].url))
    with RedisServer() as single:
        assert not is_cluster(connect(single.url))


def test_every_answer_is_the_same_as_on_a_single_redis(both, cluster):
    _, single = both
    single_url = f"redis://127.0.0.1:{single.connection_pool.connection_kwargs['port']}/0"
    on_cluster, on_single = _client(cluster.url), _client(single_url)
    users = sorted({user for _, user, _, _ in shop_events()})
    items = [row[0] for row in CATALOG]
    paths = [f"/v1/users/{u}/recommendations?limit=5" for u in users]
    paths += [f"/v1/users/{u}/buy-again" for u in users[:20]]
    paths += [f"/v1/users/{u}/profile" for u in users[:20]]
    paths += [f"/v1/items/{i}/also-bought" for i in items] + [f"/v1/items/{i}/similar" for i in items]
    paths += ["/v1/popular", "/v1/popular?category=sports", "/v1/triggers/replenishment", "/readyz"]
    compared = 0
    for path in paths:
        a, b = on_cluster.get(path, headers=AUTH), on_single.get(path, headers=AUTH)
        assert a.status_code == b.status_code, path
        assert _comparable(a.json) == _comparable(b.json), path
        compared += a.status_code == 200
    assert compared > len(users)  # the answers compared are real ones, not errors
    batch = {"user_ids": users[:30], "limit": 4}
    a = on_cluster.post("/v1/recommendations/batch", json=batch, headers=AUTH)
    b = on_single.post("/v1/recommendations/batch", json=batch, headers=AUTH)
    assert a.status_code == 200 and _comparable(a.json) == _comparable(b.json)


def test_a_version_spreads_over_the_nodes(both, cluster):
    on_cluster, _ = both
    version = versions.current(on_cluster)
    per_node = [
        sum(1 for _ in node.scan_iter(match=keys.version_prefix(version) + "*", count=1000))
        for node in cluster.clients()
    ]
    assert sum(per_node) > 150
    assert max(per_node) < 0.5 * sum(per_node), per_node
    assert used_memory(on_cluster) > 0


def test_events_post_to_the_cluster_and_change_the_next_answer(both, cluster):
    client = _client(cluster.url)
    before = client.get("/v1/users/runner-1/recommendations?limit=12").json["items"]
    bought = before[0]["item_id"]
    event = {"user_id": "runner-1", "item_id": bought, "event": "purchase", "timestamp": "2024-02-22T12:00:00Z"}
    assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200
    after = client.get("/v1/users/runner-1/recommendations?limit=12").json["items"]
    assert bought not in [i["item_id"] for i in after]


def test_the_publish_lock_and_the_switch_work_on_the_cluster(both, cluster):
    on_cluster, _ = both
    served = versions.current(on_cluster)
    writer = VersionWriter(on_cluster, "half-written", lock_wait_s=0)
    writer.set(keys.user("half-written", "runner-1"), b"not a record")
    writer.flush()
    with pytest.raises(versions.LockBusy):
        VersionWriter(on_cluster, "second", lock_wait_s=0)
    assert _client(cluster.url).get("/v1/model").json["model_version"] == served  # never the half-written one
    writer.abort()
    assert versions.current(on_cluster) == served
    assert not any(on_cluster.scan_iter(match=keys.version_prefix("half-written") + "*"))
    assert versions.lock_holder(on_cluster)[0] is None


def test_train_rollback_and_catalog_update_from_the_command_line(both, cluster, shop_files, tmp_path, capsys):
    on_cluster, _ = both
    first = versions.current(on_cluster)
    files = ["--events", str(shop_files["events"]), "--catalog", str(shop_files["catalog"])]
    assert main(["--redis-url", cluster.url, "train", *files]) == 0
    second = versions.current(on_cluster)
    assert second != first and "Redis Cluster" in capsys.readouterr().out
    changes = tmp_path / "changes.csv"
    changes.write_text("item_id,available\nshirt-1,false\n")
    assert main(["--redis-url", cluster.url, "catalog", "update", str(changes)]) == 0
    client = _client(cluster.url)
    shown = [i["item_id"] for i in client.get("/v1/popular?limit=20").json["items"]]
    assert "shirt-1" not in shown
    changes.write_text("item_id,available\nshirt-1,true\n")  # back in stock: its triggers change in the transaction
    assert main(["--redis-url", cluster.url, "catalog", "update", str(changes)]) == 0
    assert "shirt-1" in [i["item_id"] for i in client.get("/v1/popular?limit=20").json["items"]]
    assert client.get("/v1/triggers/back-in-stock", headers=AUTH).status_code == 200
    assert main(["--redis-url", cluster.url, "rollback", first]) == 0
    assert client.get("/v1/model").json["model_version"] == first
    assert main(["--redis-url", cluster.url, "rollback", second]) == 0


def test_the_old_key_layout_is_upgraded_in_place():
    """A single Redis written before the keys had hash tags keeps serving its version after an upgrade."""
    with RedisServer() as server:
        r = redis.Redis(port=server.port)
        r.set("recsvc:current", "v1")
        r.zadd("recsvc:versions", {"v1": 1.0})
        r.set("recsvc:v:v1:meta", "{}")
        r.set("recsvc:v:v1:manifest", '{"keys": []}')
        r.hset("recsvc:v:v1:attrs", "0", "{}")
        r.set("recsvc:v:v1:catalog_rev", 3)
        assert versions.upgrade_layout(r) == 6
        assert versions.current(r) == "v1"
        assert r.get(keys.meta("v1")) == b"{}" and r.get(keys.catalog_rev("v1")) == b"3"
        assert r.hget(keys.attrs("v1"), "0") == b"{}"
        assert [v for v, _ in r.zrange(keys.VERSIONS, 0, -1, withscores=True)] == [b"v1"]
        assert versions.upgrade_layout(r) == 0  # done once


def test_export_reads_every_user_from_every_node(both, cluster, tmp_path):
    on_cluster, single = both
    out_cluster, out_single = tmp_path / "cluster.jsonl", tmp_path / "single.jsonl"
    single_url = f"redis://127.0.0.1:{single.connection_pool.connection_kwargs['port']}/0"
    assert main(["--redis-url", cluster.url, "export", "picks", "--out", str(out_cluster), "--no-progress"]) == 0
    assert main(["--redis-url", single_url, "export", "picks", "--out", str(out_single), "--no-progress"]) == 0

    def users(path: Path) -> set[str]:
        return {json.loads(line)["user_id"] for line in path.read_text().splitlines()}

    assert len(users(out_cluster)) > 100 and users(out_cluster) == users(out_single)


def test_records_gathered_by_slot_all_arrive(cluster):
    r = connect(cluster.url)
    records = ClusterRecords(r, batch=7)  # several sends, each with keys of many slots
    values = {f"recsvc:test:records:{n}": f"value-{n}".encode() for n in range(100)}
    for start in range(0, 100, 10):
        records.add(dict(list(values.items())[start : start + 10]))
    records.add({"recsvc:test:records:never": b"x"})
    records.discard()
    records.send()
    assert get_many(r, list(values)) == list(values.values())
    assert get_many(r, ["recsvc:test:records:never"]) == [None]


def test_rules_and_an_ab_test_run_on_the_cluster(both, cluster, shop_files):
    on_cluster, _ = both
    inputs = Inputs(events=shop_files["events"], catalog=shop_files["catalog"], categories=shop_files["categories"])
    older, newer = versions.current(on_cluster), train(on_cluster, inputs).version
    client = _client(cluster.url)
    rules = [{"name": "pin-coffee", "type": "pin", "item_id": "coffee-2", "lists": ["recommendations"]}]
    assert client.put("/v1/rules", json=rules, headers=AUTH).status_code == 200
    start = {"name": "on-cluster", "arms": {"a": older, "b": newer}}
    assert client.post("/v1/experiments", json=start, headers=AUTH).status_code == 201
    arms = {}
    for n in range(40):
        answer = client.get(f"/v1/users/runner-{n}/recommendations").json
        assert answer["items"][0]["item_id"] == "coffee-2" and answer["rules"] == ["pin-coffee"]
        arms[answer["experiment"]["arm"]] = answer["model_version"]
    assert arms == {"a": older, "b": newer}
    report = client.get("/v1/experiments/on-cluster", headers=AUTH).json
    assert sum(arm["users"] for arm in report["arms"]) == 40
    stopped = client.post("/v1/experiments/on-cluster/stop", json={"promote": "a"}, headers=AUTH)
    assert stopped.status_code == 200 and versions.current(on_cluster) == older
    assert client.put("/v1/rules", json=[], headers=AUTH).status_code == 200
    versions.rollback(on_cluster, newer)


def test_a_cluster_that_was_down_when_the_service_started_is_found_at_its_first_answer(both, cluster):
    """Regression: the cluster was detected only when the client was made; a service started while Redis was
    down took it for a single server and failed every request with MOVED or CROSSSLOT until restarted."""

    as_if_undetected = redis.Redis.from_url(cluster.url)  # what connect() returns when INFO cannot be asked
    client = create_app({"TESTING": True, "API_KEYS": API_KEY}, store=model_store(as_if_undetected)).test_client()
    detected = _client(cluster.url)
    for user in ("alice", "bob", "runner-3", "viewer-7"):
        answer = client.get(f"/v1/users/{user}/recommendations")
        assert answer.status_code == 200
        assert _comparable(answer.json) == _comparable(detected.get(f"/v1/users/{user}/recommendations").json)
    assert client.get("/dashboard/state.json", headers=AUTH).status_code == 200  # on the cluster client now

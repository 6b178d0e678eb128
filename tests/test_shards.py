"""Sharded scoring: a run fitted once, its users scored by N independent shards, served by the finish.

The shards' records are what one process computes for every user from the same fitted model, to the
last byte; nothing is served before the finish, and a shard of another run, on files or after its lock
was lost is refused.
"""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from cli.main import main
from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.store.commands import get_many
from recsvc.store.connect import connect
from tests.conftest import API_KEY, AUTH
from tests.gateways import model_store
from tests.retention_shop import write_retention_shop
from tests.shop import write_shop
from tests.test_ranker import noisy_views_shop, write
from tests.test_stream import newcomer_events
from training import interactions, pipeline, serialize, shards
from training import train as train_module
from training.config import TrainConfig
from training.inputs import dataset
from training.model import Factors
from training.private_redis import RedisClusterServers
from training.train import Inputs, finish, score_shard, stage, train

CONFIG = TrainConfig(factors=8, iterations=3)
CHUNK = 10
"""Users scored at a time in these tests, so that a small shop's users make several chunks to deal to shards."""


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(pipeline, "PICKS_CHUNK", CHUNK)
    monkeypatch.setattr(train_module, "USER_BLOCK", 2 * CHUNK)  # a shard scores and writes several blocks


def shop_inputs(folder: Path) -> Inputs:
    paths = write_shop(folder)
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def retention_inputs(folder: Path) -> Inputs:
    paths = write_retention_shop(folder)
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def learned_inputs(folder: Path) -> Inputs:
    """A shop whose picks a learned LightGBM model orders (``tests/test_ranker.py``)."""
    return write(folder, *noisy_views_shop())


SHOPS = {"shop": shop_inputs, "retention": retention_inputs, "learned": learned_inputs}
CONFIGS = {"learned": TrainConfig()}
"""A shop's own settings: with the small test model, ALS alone ties the learned order on the learned shop."""


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Inputs:
    return shop_inputs(tmp_path_factory.mktemp("shop"))


def user_records(r, version: str) -> dict[str, bytes]:
    """Every user record of a version, by user id."""
    prefix = keys.user(version, "")
    found = [k.decode() for k in r.scan_iter(match=prefix + "*", count=1000)]
    return {k[len(prefix) :]: v for k, v in zip(found, get_many(r, found))}


def one_process_records(state: Path, inputs: Inputs) -> dict[str, bytes]:
    """Every user record one process computes from the run's saved state (its ALS factors, pool, item-kNN and
    order), scoring every user of the inputs at once; the rest is recomputed from the inputs."""
    run = shards.load_run(state)
    config = run.train_config()
    data = dataset.read(inputs)
    inter = interactions.build(data.events, config, n_items=len(data.item_ids))
    owner = shards.shard_of(inter, config, run.shards, run.chunk)
    fitted, rows = [], []
    for k in range(run.shards):
        with np.load(state / f"shard-{k}.npz") as part:
            fitted.append(np.flatnonzero(owner == k)[part["fitted"]])
            rows.append(part["user_factors"])
    order = np.argsort(np.concatenate(fitted))
    with np.load(state / "model.npz") as model:
        n_items = len(model["item_factors"])
        factors = Factors(np.concatenate(fitted)[order], np.concatenate(rows)[order], model["item_factors"])
        parts = (model["neighbours.data"], model["neighbours.indices"], model["neighbours.indptr"])
        neighbours = sp.csr_matrix(parts, shape=(n_items, n_items))
        pool = model["pool"]
    picks_order: object = run.order
    if run.order == "learned":
        import lightgbm

        picks_order = lightgbm.Booster(model_str=(state / "booster.txt").read_text())
    scorer = pipeline.Scorer.of(data, inter, factors, pool, neighbours, picks_order, config)
    lists = pipeline.user_lists(dataclasses.replace(scorer, chunk=run.chunk), pipeline.active_users(inter, config))
    records = serialize.user_records(
        lists.picks, lists.because, inter.bought, inter.recent, lists.offers, lists.offer_reasons
    )
    return {data.events.user_ids[u]: record for u, record in records}


def train_command(redis_url: str, *args: str) -> int:
    return main(["--redis-url", redis_url, "train", *args])


def inputs_args(inputs: Inputs) -> list[str]:
    args = ["--events", str(inputs.events), "--catalog", str(inputs.catalog)]
    return args + (["--categories", str(inputs.categories)] if inputs.categories else [])


def service(redis_url: str):
    return create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY}).test_client()


@pytest.mark.parametrize("name", list(SHOPS))
def test_shards_run_in_any_order_publish_what_one_process_computes(r, tmp_path, name):
    inputs, state = SHOPS[name](tmp_path / "shop"), tmp_path / "state"
    staged = stage(r, inputs, state, 3, CONFIGS.get(name, CONFIG))
    for number in (2, 0, 1):
        score_shard(r, state, number, 3)
    done = finish(r, state)
    assert versions.current(r) == staged.version == done.version
    assert versions.missing(r, done.version) == []
    published = user_records(r, done.version)
    expected = one_process_records(state, inputs)
    assert published.keys() == expected.keys()
    assert [u for u in expected if published[u] != expected[u]] == []  # to the last byte
    run = shards.load_run(state)
    assert run.order == ("learned" if name == "learned" else "blend")
    sharding = done.summary["sharding"]
    assert sharding["shards"] == 3 and len(sharding["shard_s"]) == 3
    assert sharding["fingerprint"]["events"] == done.summary["counts"]["events"]
    assert done.summary["redis_memory"]["user_keys"] == len(published) == done.summary["counts"]["users"]


def test_a_sharded_run_publishes_exactly_what_a_plain_training_does(r, shop):
    plain = train(r, shop, CONFIG)
    state = Path(shop.events).parent / "state-plain"
    stage(r, shop, state, 4, CONFIG)
    for number in range(4):
        score_shard(r, state, number, 4)
    sharded = finish(r, state)
    assert user_records(r, sharded.version) == user_records(r, plain.version)
    item = keys.item(plain.version, "shoe-1"), keys.item(sharded.version, "shoe-1")
    assert r.get(item[0]) == r.get(item[1])


def test_the_service_answers_soundly_from_a_sharded_version(r, redis_url, shop, tmp_path):
    state = tmp_path / "state"
    stage(r, shop, state, 3, CONFIG)
    for number in range(3):
        score_shard(r, state, number, 3)
    version = finish(r, state).version
    client = service(redis_url)
    assert client.get("/readyz").status_code == 200
    for user in ("runner-1", "runner-2", "viewer-1", "alice"):
        answer = client.get(f"/v1/users/{user}/recommendations?limit=5").json
        assert answer["model_version"] == version and answer["source"] == "personalized", answer
        items = [i["item_id"] for i in answer["items"]]
        assert len(items) == len(set(items)) == 5 and "gone-1" not in items
        offers = client.get(f"/v1/users/{user}/category-offers").json
        assert offers["model_version"] == version and offers["offers"], offers
    runner = client.get("/v1/users/runner-1/recommendations?limit=3").json["items"]
    assert any(i["item_id"].startswith(("shirt", "sock")) for i in runner)  # runners get running clothes
    batch = client.post("/v1/recommendations/batch", json={"user_ids": ["runner-1", "nobody"]}, headers=AUTH).json
    assert [r["source"] for r in batch["results"]] == ["personalized", "popular"]
    assert client.get("/v1/model").json["sharding"]["shards"] == 3


def test_nothing_is_served_before_the_finish_and_an_early_finish_exits_2(r, redis_url, shop, tmp_path, capsys):
    served = train(r, shop, CONFIG).version
    client = service(redis_url)
    state = str(tmp_path / "state")
    assert train_command(redis_url, *inputs_args(shop), "--shards", "3", "--state", state) == 0
    staged = shards.load_run(Path(state)).version
    out = capsys.readouterr().out
    assert f"staged model {staged}" in out and f"--state {state} --shard 2/3" in out and "--finish" in out
    assert train_command(redis_url, "--state", state, "--shard", "1/3") == 0
    capsys.readouterr()
    assert train_command(redis_url, "--state", state, "--finish") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "shards 0, 2 of 3 not done" in error
    assert versions.current(r) == served
    assert client.get("/v1/users/runner-1/recommendations").json["model_version"] == served
    assert client.get("/v1/model").json["model_version"] == served
    assert r.sismember(keys.STAGING, staged)
    for number in (0, 2):
        assert train_command(redis_url, "--state", state, "--shard", f"{number}/3") == 0
    assert client.get("/v1/users/runner-1/recommendations").json["model_version"] == served  # still
    assert train_command(redis_url, "--state", state, "--finish") == 0
    assert client.get("/v1/users/runner-1/recommendations").json["model_version"] == staged
    assert versions.lock_holder(r)[0] is None and not r.sismember(keys.STAGING, staged)
    assert [v.version for v in versions.list_versions(r)] == [staged, served]  # the old one kept for rollback


def test_a_shard_run_twice_rewrites_the_same_keys(r, shop, tmp_path):
    state = tmp_path / "state"
    version = stage(r, shop, state, 2, CONFIG).version
    first = score_shard(r, state, 1, 2)
    written = user_records(r, version)
    again = score_shard(r, state, 1, 2)
    assert user_records(r, version) == written
    assert first["families"] == again["families"] and first["sample"] == again["sample"]
    score_shard(r, state, 0, 2)
    assert finish(r, state).summary["redis_memory"]["user_keys"] == len(user_records(r, version))


def test_a_shard_of_another_run_or_given_input_files_is_refused(r, redis_url, shop, tmp_path, capsys):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    assert train_command(redis_url, *inputs_args(shop), "--shards", "2", "--state", first) == 0
    assert train_command(redis_url, "--state", first, "--abandon") == 0
    assert train_command(redis_url, *inputs_args(shop), "--shards", "2", "--state", second) == 0
    shutil.copy(Path(first) / "shard-1.npz", Path(second) / "shard-1.npz")  # a file of the other run
    capsys.readouterr()
    assert train_command(redis_url, "--state", second, "--shard", "1/2") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "shard-1.npz belongs to version" in error
    assert train_command(redis_url, *inputs_args(shop), "--state", second, "--shard", "0/2") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "leave out --events, --catalog, --categories" in error
    assert train_command(redis_url, "--state", second, "--shard", "0/3") == 2  # N is the run's
    assert "is not one of this run's" in capsys.readouterr().err
    assert train_command(redis_url, "--state", first, "--shard", "0/2") == 2  # the abandoned run
    assert "lock" in capsys.readouterr().err
    assert versions.current(r) is None


def test_a_shard_or_finish_after_the_lock_was_lost_is_refused(r, redis_url, shop, tmp_path, capsys):
    served = train(r, shop, CONFIG).version
    state = str(tmp_path / "state")
    assert train_command(redis_url, *inputs_args(shop), "--shards", "2", "--state", state) == 0
    assert train_command(redis_url, "--state", state, "--shard", "0/2") == 0
    r.delete(keys.PUBLISH_LOCK)  # expired: no shard refreshed it in time
    r.set(keys.PUBLISH_LOCK, "another-run", px=60_000)  # and another run took it
    capsys.readouterr()
    assert train_command(redis_url, "--state", state, "--shard", "1/2") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "lock" in error and "another-run" in error
    assert train_command(redis_url, "--state", state, "--finish") == 2
    assert versions.current(r) == served
    assert r.get(keys.PUBLISH_LOCK) == b"another-run"  # untouched


def test_jobs_train_end_to_end_and_publish_what_one_process_does(r, redis_url, shop, tmp_path, capsys):
    plain = train(r, shop, CONFIG).version
    params = ["--param", "factors=8", "--param", "iterations=3"]
    assert train_command(redis_url, *inputs_args(shop), *params, "--jobs", "2", "--state", str(tmp_path / "s")) == 0
    version = versions.current(r)
    assert version != plain and f"published model {version}" in capsys.readouterr().out
    assert user_records(r, version) == user_records(r, plain)
    assert versions.missing(r, version) == [] and versions.lock_holder(r)[0] is None
    meta = versions.list_versions(r)[0].meta
    assert meta["sharding"]["shards"] == 2 and meta["timings_s"]["total"] > 0


def test_a_failed_shard_of_jobs_gives_the_run_up(r, redis_url, shop, tmp_path, capsys, monkeypatch):
    served = train(r, shop, CONFIG).version

    def stage_then_damage(*args, **kwargs):
        staged = stage(*args, **kwargs)
        (tmp_path / "state" / "shard-1.npz").write_bytes(b"damaged")  # what shard 1's process will read
        return staged

    monkeypatch.setattr("training.train.stage", stage_then_damage)  # the one --jobs calls
    assert train_command(redis_url, *inputs_args(shop), "--jobs", "2", "--state", str(tmp_path / "state")) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "shard 1/2 failed: cannot read" in error and "did not change the served" in error
    assert versions.current(r) == served and r.scard(keys.STAGING) == 0
    assert versions.lock_holder(r)[0] is None
    assert [v.version for v in versions.list_versions(r)] == [served]


def test_a_state_that_cannot_be_written_fails_the_coordinator_and_frees_the_lock(r, redis_url, shop, tmp_path):
    served = train(r, shop, CONFIG).version
    state = tmp_path / "state"
    state.mkdir()
    (state / "shard-1.npz").mkdir()  # in the way of the coordinator's file
    assert train_command(redis_url, *inputs_args(shop), "--shards", "2", "--state", str(state)) == 2
    assert versions.current(r) == served and r.scard(keys.STAGING) == 0
    assert versions.lock_holder(r)[0] is None


def test_the_stream_is_learned_by_the_shards_and_trimmed_by_the_finish(r, client, shop, tmp_path):
    client.post("/v1/events", json=newcomer_events(), headers=AUTH)
    state = tmp_path / "state"
    stage(r, dataclasses.replace(shop, stream=True), state, 2, CONFIG)
    assert r.xlen(keys.EVENTS_STREAM) == 9  # not before the version is served
    score_shard(r, state, 0, 2)
    score_shard(r, state, 1, 2)
    done = finish(r, state)
    assert done.summary["counts"]["stream_events_trimmed"] == 9 and r.xlen(keys.EVENTS_STREAM) == 0
    assert r.exists(keys.user(done.version, "newcomer-0"))


def test_abandon_deletes_the_staged_version_and_frees_the_lock(r, redis_url, shop, tmp_path):
    state = str(tmp_path / "state")
    assert train_command(redis_url, *inputs_args(shop), "--shards", "2", "--state", state) == 0
    version = shards.load_run(Path(state)).version
    assert versions.lock_holder(r)[0] is not None
    assert train_command(redis_url, "--state", state, "--shard", "0/2") == 0
    assert train_command(redis_url, "--state", state, "--abandon") == 0
    assert not list(r.scan_iter(match=keys.version_prefix(version) + "*"))
    assert versions.lock_holder(r)[0] is None and r.scard(keys.STAGING) == 0
    assert train(r, shop, CONFIG).version  # the next training is not kept waiting


def test_a_run_left_behind_is_cleaned_once_its_heartbeat_expires(r, shop, tmp_path):
    version = stage(r, shop, tmp_path / "state", 2, CONFIG).version
    score_shard(r, tmp_path / "state", 0, 2)
    r.delete(keys.PUBLISH_LOCK, keys.staging_alive(version))  # an hour without a shard: both expired
    served = train(r, shop, CONFIG).version
    assert versions.current(r) == served
    assert not list(r.scan_iter(match=keys.version_prefix(version) + "*"))


def test_state_arguments_are_checked(redis_url, tmp_path, capsys):
    assert train_command(redis_url, "--events", "x.csv", "--shards", "2") == 2
    assert "--shards N needs --state DIR" in capsys.readouterr().err
    assert train_command(redis_url, "--state", str(tmp_path), "--finish") == 2
    assert "no sharded run in" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_command(redis_url, "--state", str(tmp_path), "--shard", "3/3")


@pytest.fixture(scope="module")
def cluster():
    with RedisClusterServers(3) as servers:
        yield servers


@pytest.fixture
def on_cluster(cluster):
    """A client of the cluster, closed before the cluster stops."""
    r = connect(cluster.url)
    yield r
    r.close()


def test_a_sharded_run_on_a_cluster_spreads_the_version_over_the_nodes(cluster, on_cluster, shop, tmp_path):
    r, state = on_cluster, tmp_path / "state"
    stage(r, shop, state, 3, CONFIG)
    for number in (1, 2, 0):
        score_shard(r, state, number, 3)
    version = finish(r, state).version
    assert versions.current(r) == version and versions.missing(r, version) == []
    assert user_records(r, version) == one_process_records(state, shop)
    per_node = [
        sum(1 for _ in node.scan_iter(match=keys.version_prefix(version) + "*", count=1000))
        for node in cluster.clients()
    ]
    assert sum(per_node) > 150 and max(per_node) < 0.5 * sum(per_node), per_node
    client = create_app({"TESTING": True}, store=model_store(r)).test_client()
    answer = client.get("/v1/users/runner-1/recommendations?limit=5").json
    assert answer["model_version"] == version and answer["source"] == "personalized"

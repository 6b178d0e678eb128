"""The version's summary: what a run returns and prints is what Redis holds; older summaries still load whole."""

import json

import pytest
import redis

from cli.main import main
from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.contract.summary import VersionSummary
from tests.conftest import AUTH
from tests.shop import write_shop
from tests.test_stream import newcomer_events
from training.config import TrainConfig
from training.train import Inputs, finish, score_shard, stage, train

CONFIG = TrainConfig(factors=8, iterations=3)


def stored(r, version: str) -> dict:
    """The summary as Redis holds it, its keys in their stored order."""
    return json.loads(r.get(keys.meta(version)))


def test_what_a_run_returns_is_what_redis_holds_down_to_the_stream_and_the_total_time(r, client, tmp_path):
    """Regression: the run added the stream's counts and its total time to its summary after publishing it, so
    ``recsvc train`` printed figures the version did not hold."""
    paths = write_shop(tmp_path)
    client.post("/v1/events", json=newcomer_events(), headers=AUTH)
    result = train(r, Inputs(events=paths["events"], catalog=paths["catalog"], stream=True), CONFIG)
    held = stored(r, result.version)
    assert result.summary.to_json() == held and list(result.summary.to_json()) == list(held)
    assert held["counts"]["stream_events_consumed"] == 9 and held["counts"]["stream_events_skipped"] == 0
    assert held["timings_s"]["total"] >= held["timings_s"]["publish"] > 0
    model = client.get("/v1/model").json
    assert model.pop("exploration")["share"] == 0.1  # the service's setting, beside what the version holds
    assert model == {"model_version": result.version, **held}


def test_what_the_train_command_prints_is_what_redis_holds(r, redis_url, client, tmp_path, capsys):
    paths = write_shop(tmp_path)
    client.post("/v1/events", json=newcomer_events(), headers=AUTH)
    argv = ["--redis-url", redis_url, "train", "--events", str(paths["events"]), "--catalog", str(paths["catalog"])]
    assert main([*argv, "--stream", "--param", "factors=8", "--param", "iterations=3"]) == 0
    out = capsys.readouterr().out
    held = VersionSummary.from_json(stored(r, versions.current(r)))
    counts, memory = held.counts, held.redis_memory
    assert f"published model {held.version} " in out
    assert f"users {counts.users:,} ({counts.fitted_users:,} fitted); items {counts.items:,}" in out
    assert f"{memory.used_bytes / 2**20:.1f} MiB; {memory.bytes_per_user_key} bytes per user" in out
    assert f"time: {held.timings_s['total']:.1f} s" in out
    assert f"event stream: {counts.stream_events_consumed:,} entries consumed" in out


def test_a_sharded_run_returns_what_redis_holds(r, tmp_path):
    paths = write_shop(tmp_path / "shop")
    state = tmp_path / "state"
    stage(r, Inputs(events=paths["events"], catalog=paths["catalog"]), state, 2, CONFIG)
    for n in range(2):
        score_shard(r, state, n, 2)
    done = finish(r, state)
    held = stored(r, done.version)
    assert done.summary.to_json() == held and list(done.summary.to_json()) == list(held)
    assert held["sharding"]["shards"] == 2 and held["timings_s"]["total"] > 0


OLDER = {
    "trained_at": "2026-11-01T03:00:00+00:00",
    "counts": {"events": 10, "users": 3, "a_count_of_later": 7},
    "retention": {"now": 1_761_000_000, "triggers": {"replenishment": 2}},
    "version": "v-old",
    "redis_memory": {"used_bytes": 1_000},
    "a_key_of_an_older_release": {"kept": True},
}
"""A summary an older release wrote: fewer keys, and one this release no longer knows."""


def test_an_older_summary_loads_with_what_it_lacks_as_none_and_shows_whole():
    summary = VersionSummary.decode(json.dumps(OLDER))
    assert (
        summary.counts.users == 3 and summary.counts.items is None and summary.counts.extra == {"a_count_of_later": 7}
    )
    assert summary.retention.now == 1_761_000_000 and summary.retention.recency_days == 0.0
    assert summary.also_bought_fill is None and summary.parameters is None and summary.data.first_event is None
    assert summary.to_json() == OLDER and list(summary.to_json()) == list(OLDER)
    assert VersionSummary.decode(None).to_json() == {} and VersionSummary.decode(b"[1, 2]").to_json() == {}


@pytest.mark.parametrize("older", [OLDER, {}], ids=["fewer-keys", "empty"])
def test_the_service_answers_from_a_version_with_an_older_summary(shop_model, redis_url, older):
    r = redis.Redis.from_url(redis_url)
    held = r.get(keys.meta(shop_model.version))
    r.set(keys.meta(shop_model.version), json.dumps(older))
    try:
        client = create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": "k"}).test_client()
        model = client.get("/v1/model").json
        assert model.pop("exploration") == {"share": 0.1, "new_items": 0}
        assert model == {"model_version": shop_model.version, **older}
        for path in ("/v1/users/alice/recommendations", "/v1/users/alice/buy-again", "/v1/items/mount-1/also-bought"):
            assert client.get(path, headers={"X-API-Key": "k"}).status_code == 200, path
    finally:
        r.set(keys.meta(shop_model.version), held)

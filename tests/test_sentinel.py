"""recsvc on a Sentinel-managed primary: the primary dies while the service answers, the sentinel
promotes the replica, and the service answers from it by itself, reads and writes."""

import time

import pytest

from recsvc import create_app
from recsvc.contract import versions
from recsvc.store.connect import connect, describe
from tests.conftest import API_KEY, AUTH
from tests.shop import write_shop
from training.private_redis import SentinelServers
from training.train import Inputs, train

RECOVERY_S = 20.0
"""The longest the test waits for the failover (down-after 1 s, then the sentinel's election)."""


@pytest.fixture
def sentinel(tmp_path):
    with SentinelServers() as servers:
        paths = write_shop(tmp_path)
        r = connect(servers.url)
        train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
        r.wait(1, 5000)  # the replica has the version before the primary dies
        yield servers


def test_the_url_names_the_primary_through_the_sentinel(sentinel):
    r = connect(sentinel.url)
    assert r.connection_pool.get_master_address() == ("127.0.0.1", sentinel.primary.port)
    assert "Sentinel" in describe(r) and versions.current(r) is not None


def test_a_bad_sentinel_url_is_a_clear_error():
    with pytest.raises(ValueError, match="service name"):
        connect("redis+sentinel://127.0.0.1:26379")


def test_the_service_recovers_on_the_promoted_replica_by_itself(sentinel):
    client = create_app({"REDIS_URL": sentinel.url, "TESTING": True, "API_KEYS": API_KEY}).test_client()
    path = "/v1/users/runner-1/recommendations?limit=5"
    before = client.get(path)
    assert before.status_code == 200
    sentinel.primary.kill()
    statuses = []
    deadline = time.monotonic() + RECOVERY_S
    while time.monotonic() < deadline:
        answer = client.get(path)
        statuses.append(answer.status_code)
        assert answer.status_code in (200, 503), answer.json  # never a 500 while the primary is gone
        if answer.status_code == 200 and len(statuses) > 1 and 503 in statuses:
            break
        time.sleep(0.1)
    assert 503 in statuses and statuses[-1] == 200, statuses
    assert answer.json["items"] == before.json["items"]
    r = connect(sentinel.url)
    assert r.connection_pool.get_master_address() == ("127.0.0.1", sentinel.replica.port)
    event = {"user_id": "runner-1", "item_id": "tv-1", "event": "view", "timestamp": "2024-02-22T12:00:00Z"}
    assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200  # writes go to the new primary

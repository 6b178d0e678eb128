"""Two trainings at once: the publish lock, its fencing, the manifest check and readiness of a whole version.

Regression: a second run's writer deleted the first run's half-written version as leftovers, and
the first then served it anyway.
"""

import threading
import time

import pytest

from recsvc import create_app
from recsvc.contract import keys, versions
from recsvc.contract.summary import VersionSummary
from tests.conftest import API_KEY
from tests.shop import write_shop
from training import pipeline, serialize
from training.config import TrainConfig
from training.inputs import dataset
from training.publish import publish
from training.summary import summary_of
from training.train import Inputs
from training.version_writer import VersionWriter

CONFIG = TrainConfig(factors=8, iterations=3)
ENDPOINTS = [
    "/v1/users/alice/recommendations?limit=5",
    "/v1/users/alice/category-offers",
    "/v1/items/shoe-1/also-bought?limit=5",
    "/v1/items/shoe-1/similar?limit=5",
    "/v1/popular?category=sports",
    "/v1/model",
    "/readyz",
]


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    data = dataset.read(Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
    return pipeline.build(data, CONFIG)


@pytest.fixture
def client(redis_url):
    return create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY}).test_client()


def publish_lists(r, lists, **lock):
    return publish(r, lists, summary_of(lists), keep=5, **lock)[0]


def assert_served_whole(r, client, version):
    """``version`` is served, its manifest holds, and every endpoint answers from it."""
    assert versions.current(r) == version
    assert versions.missing(r, version) == []
    for url in ENDPOINTS:
        response = client.get(url)
        assert response.status_code == 200, (url, response.json)
        assert response.json.get("model_version") == version, url
    users = {"user_ids": ["alice", "bob"]}
    batch = client.post("/v1/recommendations/batch", json=users, headers={"X-API-Key": API_KEY})
    assert batch.status_code == 200 and batch.json["model_version"] == version


class Paused:
    """Replaces ``serialize.user_records`` so the first run to write user records stops half way until released."""

    def __init__(self, monkeypatch):
        self.reached, self.release = threading.Event(), threading.Event()
        self.calls = 0
        real = serialize.user_records

        def user_records(*args, **kwargs):
            self.calls += 1
            first = self.calls == 1
            for n, pair in enumerate(real(*args, **kwargs)):
                if first and n == 50:
                    self.reached.set()
                    assert self.release.wait(30)
                yield pair

        monkeypatch.setattr(serialize, "user_records", user_records)


class Reader(threading.Thread):
    """Asks every endpoint over and over; keeps any answer that is not a 200 from a whole, served version."""

    def __init__(self, r, redis_url):
        super().__init__(daemon=True)
        self.r, self.client = r, create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
        self.stop, self.problems, self.answers = threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            for url in ENDPOINTS:
                response = self.client.get(url)
                version = (response.json or {}).get("model_version")
                if response.status_code != 200 or not version or versions.missing(self.r, version):
                    self.problems.append((url, response.status_code, response.json))
                self.answers += 1

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(30)


class Run(threading.Thread):
    """A publish in a thread, keeping its version or its exception."""

    def __init__(self, r, lists, **lock):
        super().__init__(daemon=True)
        self.args, self.lock = (r, lists), lock
        self.version, self.error = None, None

    def run(self):
        try:
            self.version = publish_lists(*self.args, **self.lock)
        except BaseException as e:  # noqa: BLE001 (kept for the test to look at)
            self.error = e


def test_a_second_publish_waits_for_the_first_and_each_is_served_whole(r, lists, client, monkeypatch, redis_url):
    base = publish_lists(r, lists)
    paused = Paused(monkeypatch)
    with Reader(r, redis_url) as reader:
        first = Run(r, lists)
        first.start()
        assert paused.reached.wait(30)
        second = Run(r, lists)
        second.start()
        time.sleep(0.5)
        assert second.is_alive() and second.version is None  # waiting for the lock, deleting nothing
        assert_served_whole(r, client, base)
        paused.release.set()
        first.join(30)
        second.join(30)
    assert reader.answers and not reader.problems
    assert first.error is None and second.error is None
    assert versions.missing(r, first.version) == []
    assert_served_whole(r, client, second.version)
    assert {first.version, second.version, base} <= {v.version for v in versions.list_versions(r)}
    assert r.smembers(keys.STAGING) == set() and not r.exists(keys.PUBLISH_LOCK)


def test_a_run_that_lost_its_lock_raises_and_never_switches(r, lists, client, monkeypatch, redis_url):
    base = publish_lists(r, lists)
    paused = Paused(monkeypatch)
    with Reader(r, redis_url) as reader:
        stalled = Run(r, lists, lock_ttl_s=0.3)
        stalled.start()
        assert paused.reached.wait(30)
        deadline = time.monotonic() + 10
        while r.exists(keys.PUBLISH_LOCK) and time.monotonic() < deadline:
            time.sleep(0.05)
        later = publish_lists(r, lists)  # takes the expired lock and cleans up the stalled run's version
        assert_served_whole(r, client, later)
        paused.release.set()
        stalled.join(30)
    assert reader.answers and not reader.problems
    assert isinstance(stalled.error, versions.LockLost)
    assert "lock" in str(stalled.error) and "\n" not in str(stalled.error)
    assert stalled.version is None
    assert_served_whole(r, client, later)
    assert base in {v.version for v in versions.list_versions(r)}
    assert len(r.keys(keys.PREFIX + ":v:*:meta")) == 2  # the stalled run left nothing behind


def test_a_run_that_waits_too_long_gives_up_and_the_first_is_served(r, lists, client, monkeypatch):
    base = publish_lists(r, lists)
    paused = Paused(monkeypatch)
    first = Run(r, lists)
    first.start()
    assert paused.reached.wait(30)
    with pytest.raises(versions.LockBusy, match="another training"):
        publish_lists(r, lists, lock_wait_s=0.3)
    assert_served_whole(r, client, base)
    paused.release.set()
    first.join(30)
    assert first.error is None
    assert_served_whole(r, client, first.version)


def test_a_version_missing_keys_is_never_switched_to(r, lists, client):
    base = publish_lists(r, lists)
    writer = VersionWriter(r, "broken")
    writer.hash(keys.attrs("broken"), [("0", "{}"), ("1", "{}")])
    writer.set_many([(keys.user("broken", f"u{n}"), b"x") for n in range(3000)], family="users")
    writer.set(keys.categories("broken"), "{}")
    writer.flush()
    r.delete(keys.user("broken", "u1000"), keys.categories("broken"))  # lost, e.g. to another run's clean-up
    with pytest.raises(versions.IncompleteVersion, match="incomplete"):
        writer.commit(VersionSummary(version="broken"), keep=5)
    writer.abort()
    assert_served_whole(r, client, base)
    assert not r.exists(keys.PUBLISH_LOCK) and r.keys(keys.version_prefix("broken") + "*") == []


def test_a_leftover_of_a_live_run_is_kept_and_of_a_dead_one_cleaned(r):
    r.sadd(keys.STAGING, "alive", "dead")
    r.set(keys.staging_alive("alive"), "token", px=10_000)
    r.set(keys.user("alive", "u"), b"x")
    r.set(keys.user("dead", "u"), b"x")
    assert versions.clean_staging(r) == ["dead"]
    assert r.exists(keys.user("alive", "u")) and not r.exists(keys.user("dead", "u"))


@pytest.mark.parametrize("lost", ["meta", "categories", "item_ids"])
def test_readyz_is_503_while_the_served_version_is_incomplete(r, lists, client, lost):
    version = publish_lists(r, lists)
    assert client.get("/readyz").status_code == 200
    r.delete(getattr(keys, lost)(version))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.is_json
    assert "incomplete" in response.json["reason"]

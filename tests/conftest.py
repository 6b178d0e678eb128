"""Shared fixtures: a real Redis server (``REDIS_URL`` if set, else a private one), a test client of the
service on it, and the known-answer shops trained and published.

A test that reads a trained model asks for the model's fixture beside ``client`` (or names it in
``pytestmark = pytest.mark.usefixtures(...)``): the client reads whatever the test Redis holds.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from recsvc import create_app
from recsvc.contract import keys
from tests.retention_shop import write_retention_shop
from tests.shop import write_shop
from training.config import TrainConfig
from training.private_redis import RedisServer
from training.train import Inputs, TrainResult, train

API_KEY = "test-key-123"
"""The API key of ``client``. It accepts ``OTHER_KEY`` too, so a key that is not the first of the list is tested."""
OTHER_KEY = "other-key"
AUTH = {"X-API-Key": API_KEY}
"""The header of a request that needs a key."""

SHARED_DATA = Path(os.environ.get("RECSVC_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when set, else a private server for the session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture
def r(redis_url):
    """A client on an empty database, emptied again afterwards."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data sets (``RECSVC_SHARED_DATA``, else ``../shared/data``); the test is skipped without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set RECSVC_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def client(redis_url):
    """A Flask test client of the service on the test Redis, accepting ``API_KEY`` and ``OTHER_KEY``."""
    return create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": f"{OTHER_KEY},{API_KEY}"}).test_client()


@pytest.fixture
def tracked_r(shop_model, redis_url):
    """A client on the test Redis beside ``shop_model``; the events, live lists and browser reports of each test
    are deleted afterwards, the model stays."""
    client = redis.Redis.from_url(redis_url)
    yield client
    stale = [keys.EVENTS_STREAM, *client.scan_iter(match=keys.live("*")), *client.scan_iter(match="recsvc:tracking:*")]
    client.delete(*stale)
    client.close()


@pytest.fixture(scope="module")
def shop_model(redis_url, tmp_path_factory) -> Iterator[TrainResult]:
    """The known-answer shop of ``tests/shop.py``, trained and published once per module (default parameters)."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    yield train(r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]))
    r.flushdb()


RETENTION_CONFIG = TrainConfig(factors=8, iterations=3)
"""The retention shop is about rhythms, not factors: a small fit keeps its tests fast."""


def train_retention_shop(r: redis.Redis, paths: dict[str, Path]) -> TrainResult:
    """Train the retention shop's files and publish the model."""
    return train(
        r, Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"]), RETENTION_CONFIG
    )


@pytest.fixture(scope="module")
def retention_shop(tmp_path_factory) -> dict[str, Path]:
    """The files of the retention shop of ``tests/retention_shop.py`` (events, catalog, categories)."""
    return write_retention_shop(tmp_path_factory.mktemp("retention-shop"))


@pytest.fixture(scope="module")
def retention_model(redis_url, retention_shop) -> Iterator[TrainResult]:
    """The retention shop, trained and published once per module, for tests that only read it."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    yield train_retention_shop(r, retention_shop)
    r.flushdb()


@pytest.fixture
def fresh_retention_model(r, tmp_path) -> TrainResult:
    """The retention shop, trained and published for each test, for tests that change the published model."""
    return train_retention_shop(r, write_retention_shop(tmp_path / "shop"))

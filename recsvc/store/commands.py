"""Commands over many keys, the same on a single Redis and on a Redis Cluster.

A cluster answers a command only when all its keys hash to one slot, and a version's records
spread over every slot (see ``recsvc.contract.keys``). These helpers send one command on a single
Redis and group the keys by slot on a cluster, sending each node's share in one round trip.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

try:
    from hiredis import pack_command
except ImportError:  # redis without its hiredis extra: redis-py packs
    pack_command = None  # type: ignore[assignment]


def is_cluster(r: redis.Redis) -> bool:
    """Whether ``r`` is a Redis Cluster client."""
    return isinstance(r, RedisCluster)


def get_many(r: redis.Redis, names: Sequence[str]) -> list[bytes | None]:
    """GET of many keys, in order: one MGET, or an MGET per slot on a cluster."""
    if not names:
        return []
    if isinstance(r, RedisCluster):
        return r.mget_nonatomic(list(names))
    return r.mget(names)


def packed(connection, commands: Sequence[tuple]) -> list[bytes]:
    """The commands in the Redis protocol: by hiredis directly (their arguments are our str, bytes and int: redis-py's
    own packer checks and encodes each in Python, 6x slower: a tenth of a request's CPU), else by the connection."""
    if pack_command is None:
        return connection.pack_commands(commands)
    return [b"".join([pack_command(command) for command in commands])]


class PackedRecords:
    """SETs of many keys on a single Redis: one MSET a chunk, all sent at once on a connection of the client's pool.

    A pipeline checks and encodes each key and value in Python: most of the time a shard of a RetailRocket-sized run
    spent writing its 700,000 user records. ``send`` sends the MSETs waiting and reads every reply (an error reply
    raises once the connection is dropped, so it never falls out of step)."""

    def __init__(self, r: redis.Redis):
        self._r = r
        self._pending: list[tuple] = []

    @property
    def queued_commands(self) -> int:
        """MSETs waiting to be sent."""
        return len(self._pending)

    def add(self, pairs: Iterable[tuple[str, bytes | str]]) -> None:
        self._pending.append(("MSET", *(part for pair in pairs for part in pair)))

    def send(self) -> None:
        if not self._pending:
            return
        pool = self._r.connection_pool
        try:
            connection = pool.get_connection()
        except TypeError:  # redis-py before 5.3 names the command
            connection = pool.get_connection("MSET")
        try:
            connection.send_packed_command(packed(connection, self._pending))
            for _ in self._pending:
                connection.read_response()
        except BaseException:
            connection.disconnect()  # replies may be left unread
            raise
        finally:
            pool.release(connection)
            self._pending = []

    def discard(self) -> None:
        """Forget what is not sent yet."""
        self._pending = []


class ClusterRecords:
    """SETs of many keys on a cluster, gathered by slot: one MSET per slot and one pipeline per node.

    A cluster pipeline sends a command per key and costs about ten times what one MSET of a thousand
    keys costs on a single Redis; gathering ``batch`` keys first puts several in each slot's MSET and
    sends each node's share on a plain pipeline. A slot that moves meanwhile (resharding) fails the
    send with MOVED, and the publish with it: nothing half-written is served."""

    queued_commands = 0  # it sends by itself, ``batch`` keys at a time

    def __init__(self, r: RedisCluster, batch: int = 100_000):
        self._r = r
        self._batch = batch
        self._pending: dict[str, bytes | str] = {}

    def add(self, pairs: Iterable[tuple[str, bytes | str]]) -> None:
        self._pending.update(pairs)
        if len(self._pending) >= self._batch:
            self.send()

    def send(self) -> None:
        by_slot: dict[int, list] = defaultdict(list)
        for name, value in self._pending.items():
            by_slot[key_slot(name.encode())] += (name, value)
        pipes: dict[str, redis.client.Pipeline] = {}
        for slot, flat in by_slot.items():
            node = self._r.nodes_manager.get_node_from_slot(slot)
            if node.name not in pipes:
                pipes[node.name] = self._r.get_redis_connection(node).pipeline(transaction=False)
            pipes[node.name].execute_command("MSET", *flat)
        for pipe in pipes.values():
            pipe.execute()
        self._pending = {}

    def discard(self) -> None:
        """Forget what is not sent yet."""
        self._pending = {}


def used_memory(r: redis.Redis) -> int:
    """Bytes of data Redis holds (``INFO memory``'s used_memory), summed over the primaries of a cluster."""
    if isinstance(r, RedisCluster):
        per_node = r.info("memory", target_nodes=RedisCluster.PRIMARIES)
        return sum(int(info["used_memory"]) for info in per_node.values())
    return int(r.info("memory")["used_memory"])

"""Commands over many keys, the same on a single Redis and on a Redis Cluster.

A cluster answers a command only when all its keys hash to one slot, and a version's records
spread over every slot (see ``recsvc.contract.keys``). These helpers send one command on a single
Redis and group the keys by slot on a cluster, sending each node's share in one round trip.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot


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


class ClusterRecords:
    """SETs of many keys on a cluster, gathered by slot: one MSET per slot and one pipeline per node.

    A cluster pipeline sends a command per key and costs about ten times what one MSET of a thousand
    keys costs on a single Redis; gathering ``batch`` keys first puts several in each slot's MSET and
    sends each node's share on a plain pipeline. A slot that moves meanwhile (resharding) fails the
    send with MOVED, and the publish with it: nothing half-written is served."""

    def __init__(self, r: RedisCluster, batch: int = 100_000):
        self._r = r
        self._batch = batch
        self._pending: dict[str, bytes | str] = {}

    def add(self, values: Mapping[str, bytes | str]) -> None:
        self._pending.update(values)
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

"""Commands over many keys, the same on a single Redis and on a Redis Cluster.

A cluster answers a command only when all its keys hash to one slot, and a version's records
spread over every slot (see ``recsvc.contract.keys``). These helpers send one command on a single
Redis and group by slot on a cluster, where redis-py sends each node's share in one round trip.
"""

from collections.abc import Mapping, Sequence

import redis
from redis.cluster import ClusterPipeline, RedisCluster


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


def set_many(pipe, values: Mapping[str, bytes | str]) -> None:
    """Queue SETs of many keys on ``pipe``: one MSET, or a SET each on a cluster pipeline (grouped by node)."""
    if not values:
        return
    if isinstance(pipe, ClusterPipeline):
        for name, value in values.items():
            pipe.set(name, value)
    else:
        pipe.mset(values)


def used_memory(r: redis.Redis) -> int:
    """Bytes of data Redis holds (``INFO memory``'s used_memory), summed over the primaries of a cluster."""
    if isinstance(r, RedisCluster):
        per_node = r.info("memory", target_nodes=RedisCluster.PRIMARIES)
        return sum(int(info["used_memory"]) for info in per_node.values())
    return int(r.info("memory")["used_memory"])

"""The shop's rules and A/B tests as stored: read as one state, and changed as the operator's actions do.

Every change lands in one transaction (or script) on the ``{control}`` slot together with a bump of
``keys.STEERING_REV``, which every service process reads with each request. What the stored values mean is
the read models' (``recsvc.read.steering``); the decisions are the operator's actions' (``recsvc.admin.steering``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recsvc.contract import keys, versions
from recsvc.store.counters import ArmCounts
from recsvc.store.errors import StoreUnavailable
from recsvc.store.wire import Wire, guarded

_START = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local other = cjson.decode(raw)
  if other['stopped_at'] == cjson.null then return 'running:' .. other['name'] end
end
for i = 3, #ARGV do
  if not redis.call('ZSCORE', KEYS[4], ARGV[i]) then return 'unpublished:' .. ARGV[i] end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('INCR', KEYS[3])
return 'ok'
"""
"""Start an experiment only if its name is new, none runs, and its versions are published: all at once."""


@dataclass(frozen=True)
class StoredSteering:
    """The rules and experiments hashes at one revision, and the published versions when asked for."""

    rev: bytes | None
    rules: Mapping[bytes, bytes]
    experiments: Mapping[bytes, bytes]
    published: frozenset[str] | None = None  # None: not read


NOTHING_STORED = StoredSteering(None, {}, {})
"""The state before any rule or experiment is read."""


class SteeringRecords:
    """Reads and changes the stored rules and experiments; ``counts`` are what the experiments' arms earned."""

    def __init__(self, wire: Wire):
        self._wire = wire
        self.counts = ArmCounts(wire)

    @guarded
    def read(self, published: bool = False) -> StoredSteering:
        """The stored rules and experiments (and with ``published``, the published versions) as one state.

        Not a transaction: Redis refuses every command queued in a MULTI once it is at its maxmemory, reads too.
        Every change bumps ``keys.STEERING_REV`` in its own transaction, so the revision read before and after
        the rules and experiments tells whether they are one state."""
        for _ in range(3):
            pipe = self._wire.pipeline()
            pipe.get(keys.STEERING_REV)
            pipe.hgetall(keys.RULES)
            pipe.hgetall(keys.EXPERIMENTS)
            if published:
                pipe.zrange(keys.VERSIONS, 0, -1)
            pipe.get(keys.STEERING_REV)
            rev, rules, experiments, *versions_read, again = pipe.execute()
            if rev == again:
                known = frozenset(v.decode() for v in versions_read[0]) if published else None
                return StoredSteering(rev, rules, experiments, known)
        raise StoreUnavailable("the rules and experiments keep changing")

    @guarded
    def served(self) -> str | None:
        """The served version, None before the first publish."""
        return versions.current(self._wire.client)

    @guarded
    def has_item(self, version: str, item_id: str) -> bool:
        """Whether ``item_id`` is an item of ``version``."""
        return bool(self._wire.client.exists(keys.item(version, item_id)))

    @guarded
    def replace_rules(self, fields: Mapping[str, str]) -> None:
        """Replace every stored rule with ``fields`` (hash field -> rule JSON)."""
        pipe = self._wire.pipeline(transaction=True)
        pipe.delete(keys.RULES)
        if fields:
            pipe.hset(keys.RULES, mapping=dict(fields))
        pipe.incr(keys.STEERING_REV)
        pipe.execute()

    @guarded
    def add_rules(self, fields: Mapping[str, str]) -> None:
        """Store the rules ``fields``, each replacing the rule of its field."""
        pipe = self._wire.pipeline(transaction=True)
        pipe.hset(keys.RULES, mapping=dict(fields))
        pipe.incr(keys.STEERING_REV)
        pipe.execute()

    @guarded
    def remove_rule(self, field: str) -> bool:
        """Remove one rule; False when there is none of that field."""
        pipe = self._wire.pipeline(transaction=True)
        pipe.hdel(keys.RULES, field)
        pipe.incr(keys.STEERING_REV)
        removed, _ = pipe.execute()
        return bool(removed)

    @guarded
    def start_experiment(self, name: str, encoded: str, pinned: Sequence[str]) -> str:
        """Store a new experiment pinning ``pinned`` versions, all at once: "ok", or "exists", "running:<name>",
        "unpublished:<version>" when it may not start."""
        outcome = self._wire.client.eval(
            _START, 4, keys.EXPERIMENTS, keys.PINNED, keys.STEERING_REV, keys.VERSIONS, name, encoded, *pinned
        )
        return outcome.decode()

    @guarded
    def stop_experiment(
        self, name: str, encoded: str, unpin: Sequence[str], drop_rules: Sequence[str], rules: Mapping[str, str]
    ) -> None:
        """Store a stopped experiment, unpin its versions, drop and store rules (a promotion): one transaction."""
        pipe = self._wire.pipeline(transaction=True)
        pipe.hset(keys.EXPERIMENTS, name, encoded)
        if unpin:
            pipe.srem(keys.PINNED, *unpin)
        if drop_rules:
            pipe.hdel(keys.RULES, *drop_rules)
        if rules:
            pipe.hset(keys.RULES, mapping=dict(rules))
        pipe.incr(keys.STEERING_REV)
        pipe.execute()

    @guarded
    def serve(self, version: str) -> None:
        """Serve a published version again, through the served pointer's one writer (``versions.rollback``)."""
        versions.rollback(self._wire.client, version)

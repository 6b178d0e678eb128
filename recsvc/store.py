"""The service's one way to Redis: ``ModelStore`` reads the served model and records posted events.

A request resolves the served version and reads its record in one round trip: one MGET
reads ``current`` and the version's ``catalog_rev`` together with the records under the
version seen last (and the users' live lists ride in the same send), and only when a
publish or rollback has switched versions does it read again. So a publish, a rollback
or a catalog update is seen by the next request. Immutable parts of a version (popular
lists, the category tree) and item attributes are cached in the process; a catalog update
bumps the version's ``catalog_rev`` and drops that cache.

That round trip goes over a connection each thread keeps (``_round_trip``): redis-py's
pipeline and pool cost more CPU than the read itself (docs/benchmarks.md).

Every call passes the store's circuit breaker (``recsvc.breaker``): after a timeout or a refused
connection, calls fail at once with ``RedisStalled`` until a probe finds Redis answering again.
"""

import contextlib
import functools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import redis

from recsvc import budget
from recsvc.breaker import PROBE_S, Breaker
from recsvc.connection import as_cluster

try:
    from hiredis import pack_command
except ImportError:  # redis without its hiredis extra: redis-py packs
    pack_command = None  # type: ignore[assignment]

from recsvc.contract import keys, records, versions
from recsvc.contract.commands import get_many, is_cluster
from recsvc.contract.events import EVENTS
from recsvc.contract.records import BuyAgainRecord, ItemRecord, Profile, UserRecord
from recsvc.contract.units import ITEM_ATTRIBUTES
from recsvc.read import steering as steering_state
from recsvc.read.experiments import CURRENT, Arm, Experiment
from recsvc.read.live import LIVE_LENGTH, LIVE_TTL_S, Live
from recsvc.read.live import entry as live_entry
from recsvc.read.steering import NO_STEERING, Steering

if TYPE_CHECKING:  # numpy only in processes that serve session picks
    from recsvc.read.foldin import FoldIn

log = logging.getLogger(__name__)

CLUSTER_REPLIES = (redis.exceptions.MovedError, redis.exceptions.ClusterCrossSlotError)
"""Errors only a Redis Cluster node answers with."""

ATTRS_CACHE_LIMIT = 200_000
"""Items whose attributes a process keeps per version (the cache starts afresh past it)."""
ITEM_RECORDS_CACHE_LIMIT = 50_000
"""Item records (neighbour lists) a process keeps per version, for users served from their items' lists."""
VERSIONS_CACHED = 4
"""Versions a process keeps caches of: the served one and those an experiment's arms serve."""

Assignment = tuple[Experiment, Arm]
"""The running experiment and the arm a user or visitor sees in it."""


class StoreUnavailable(Exception):
    """Redis cannot be reached."""


class RedisStalled(StoreUnavailable):
    """The breaker is open: a recent call to Redis timed out or could not connect, and no probe answered since."""


@contextlib.contextmanager
def reachable() -> Iterator[None]:
    """Turn a Redis connection failure or timeout inside the block into ``StoreUnavailable`` (for the small
    gateways beside the store: the browser's reports, the dashboard's sessions)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as e:
        raise StoreUnavailable(str(e)) from e


class StoreFull(StoreUnavailable):
    """Redis refuses writes: it reached its maxmemory and evicts nothing (``noeviction``)."""


class NoModel(Exception):
    """No model has been published yet."""


@dataclass(frozen=True)
class ShownItem:
    """An item as every answer shows it, built once per version and catalog revision."""

    item_id: str
    category_id: str | None
    # the item as answers show it: id, score and reason to fill, category, then the catalog's ``ITEM_ATTRIBUTES`` it
    # has, in that order (``listing.entry`` copies it); never changed
    entry: dict
    facts: dict = field(compare=False, repr=False)  # every catalog attribute, shown or not: what rules match

    @classmethod
    def of(cls, attrs: dict) -> "ShownItem":
        """The item of its catalog attributes (``keys.attrs``)."""
        item_id, category_id = attrs["item_id"], attrs.get("category_id")
        shown = {k: attrs[k] for k in ITEM_ATTRIBUTES if k in attrs}
        entry = {"item_id": item_id, "score": 0.0, "category_id": category_id, "reason": None, **shown}
        return cls(item_id, category_id, entry, attrs)


@dataclass
class VersionCache:
    """What this process keeps of one served version."""

    version: str
    catalog_rev: bytes | None = None
    attrs: dict[int, dict | None] = field(default_factory=dict)
    shown: dict[int, ShownItem | None] = field(default_factory=dict)
    item_records: dict[int, ItemRecord | None] = field(default_factory=dict)  # by index; catalog updates keep them
    unavailable: frozenset[int] | None = None
    popular: dict[str | None, tuple[Sequence[int], Sequence[float]]] = field(default_factory=dict)
    popular_categories: list[str] | None = None  # categories of the popular items: catalog updates drop it
    category_ids: list[str] | None = None
    category_parents: dict[str, str | None] | None = None
    ancestors: dict[str, frozenset[str]] = field(default_factory=dict)
    foldin: "FoldIn | None" = None  # loaded when a request first needs it
    foldin_loaded: bool = False
    indices: dict[str, int | None] = field(default_factory=dict)  # item id -> index, for pinned items
    summary: dict | None = None  # the version's meta: it never changes
    trained_at: float | None = None  # unix seconds: when the version was trained (its summary's ``trained_at``)


def _guard(method):
    """Fail at once while the breaker is open; turn Redis connection failures into StoreUnavailable (opening the
    breaker); a cluster's reply (MOVED, CROSSSLOT) turns the store to a cluster client."""

    @functools.wraps(method)
    def wrapper(store, *args, **kwargs):
        store.check()
        try:
            return method(store, *args, **kwargs)
        except redis.exceptions.OutOfMemoryError as e:
            raise StoreFull(str(e)) from e
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise store.unreachable(e) from e
        except CLUSTER_REPLIES:
            if store._cluster:
                raise
        store.become_cluster()  # a cluster Redis was down when the service started: it could not tell then
        return wrapper(store, *args, **kwargs)

    return wrapper


class _HeldConnection:
    """A thread's own connection: closed when the thread ends (its holder goes), or with the store."""

    __slots__ = ("connection", "pid", "held")

    def __init__(self, connection, held: list):
        self.connection, self.pid, self.held = connection, os.getpid(), held
        held.append(connection)

    def __del__(self):
        if self.pid == os.getpid():  # a forked copy leaves the parent's socket alone
            self.connection.disconnect()
            with contextlib.suppress(ValueError):
                self.held.remove(self.connection)


def _packed(connection, commands: Sequence[tuple]) -> list:
    """The commands in the Redis protocol: by hiredis directly (its arguments are our str, bytes and int: redis-py's
    own packer checks and encodes each in Python, 6x slower, a tenth of a request's CPU)."""
    if pack_command is None:
        return connection.pack_commands(commands)
    return [b"".join([pack_command(command) for command in commands])]


def _own_connection(pool):
    """A connection made like the pool's own but not counted by it: a server that starts a thread per request
    (the development server) would otherwise reach the pool's ``max_connections`` and be refused for good."""
    return pool.connection_class(**pool.connection_kwargs)


def _disconnect_all(connections: list) -> None:
    """Close the connections the threads of a store hold (its finalizer: it runs before the collector
    finalizes the sockets themselves, so none is left open)."""
    for connection in list(connections):
        connection.disconnect()


def _exchange(connection, commands: Sequence[tuple]) -> list:
    """Send the commands at once and read every reply; a command's error is raised once all are read."""
    connection.connect()  # at once if connected; a Sentinel-managed connection asks the sentinels for the primary
    connection.send_packed_command(_packed(connection, commands))
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


class ModelStore:
    """Reads the served model's records from Redis, and appends the events the shop posts."""

    def __init__(self, r: redis.Redis, probe_s: float = PROBE_S):
        self._redis = r
        self._cluster = is_cluster(r)
        self.breaker = Breaker(self._ping, probe_s)
        self._caches: dict[str, VersionCache] = {}
        self._current: str | None = None  # the served version seen last
        self._steering: Steering = NO_STEERING
        self._clocks: dict[str, tuple[float, float]] = {}
        self._local = threading.local()  # this thread's connection for the request's round trip
        self._held: list = []  # every thread's connection, closed with the store
        weakref.finalize(self, _disconnect_all, self._held)

    @property
    def redis(self) -> redis.Redis:
        """The connection, for the service's own small writes beside the model (tracking, the dashboard); raises
        ``RedisStalled`` while the breaker is open. A timeout its callers map to ``StoreUnavailable`` opens the
        breaker too (``recsvc.http.errors``)."""
        self.check()
        return self._redis

    def check(self) -> None:
        """Raise ``RedisStalled`` while the breaker is open, ``budget.OverBudget`` past the request's time budget."""
        if self.breaker.is_open:
            raise RedisStalled("Redis did not answer; retry shortly")
        budget.check()

    def unreachable(self, error: BaseException) -> StoreUnavailable:
        """The error to raise for a Redis timeout or connection failure, after opening the breaker."""
        self.breaker.failed(error)
        return StoreUnavailable(str(error))

    def _ping(self) -> None:
        """The breaker's probe: the read every request starts with, with the service's timeout (on a cluster, a
        PING would ask every node, a dead replica included)."""
        with contextlib.suppress(*CLUSTER_REPLIES):  # a cluster node answered: the next request turns to it
            self._redis.get(keys.CURRENT)

    def become_cluster(self) -> None:
        """Talk to the cluster the server turned out to be part of (it answered MOVED or CROSSSLOT)."""
        log.warning("Redis answered as a Redis Cluster node: the service now uses a cluster client")
        self._redis, self._cluster = as_cluster(self._redis), True
        _disconnect_all(self._held)
        self._local = threading.local()

    # -- resolving the version and reading records in one round trip --

    def _read(
        self, key_of, live_ids: Sequence[str] = (), subject: str | None = None, pin: str | None = None
    ) -> tuple[VersionCache, list, Assignment | None]:
        """(version cache, values of the keys ``key_of(version)``, the subject's arm) read consistently with
        ``current`` and the stored rules and experiments.

        The version is ``pin`` if given, else the one the arm of ``subject`` (a user or visitor) serves in a
        running experiment, else the served one. With ``live_ids``, the values end with those users' live
        lists, read in the same round trip."""
        lives = [("LRANGE", keys.live(u), 0, LIVE_LENGTH - 1) for u in live_ids]
        steering, guess = self._steering, self._current
        for _ in range(4):
            target = pin or _arm_version(steering.assignment(subject)) or guess
            names = [keys.CURRENT, keys.STEERING_REV]
            if target is not None:
                names += [keys.catalog_rev(target), *key_of(target)]
            if self._cluster:  # the keys live on several nodes: an MGET per slot, the lists on a pipeline
                found, live = get_many(self._redis, names), self._on_pipeline(lives)
            else:
                found, *live = self._round_trip([("MGET", *names), *lives])
            if found[0] is None:
                raise NoModel("no model is published yet: run `recsvc train`")
            current = self._current = found[0].decode()
            if found[1] != steering.rev:  # rules or experiments changed since this process last looked
                steering = self._load_steering()
            assignment = steering.assignment(subject)
            if (pin or _arm_version(assignment) or current) == target:
                return self._cache_for(target, found[2]), found[3:] + live, assignment
            guess = current  # switched since last time: read again under the new version
        raise StoreUnavailable("the served version keeps changing")

    def _load_steering(self) -> Steering:
        """Read the rules and experiments; an arm whose version is no longer published serves the current one.

        Not a transaction: Redis refuses every command queued in a MULTI once it is at its maxmemory, reads too.
        Every change bumps ``keys.STEERING_REV`` in its own transaction, so the revision read before and after
        the rules and experiments tells whether they are one state."""
        for _ in range(3):
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(keys.STEERING_REV)
            pipe.hgetall(keys.RULES)
            pipe.hgetall(keys.EXPERIMENTS)
            pipe.zrange(keys.VERSIONS, 0, -1)
            pipe.get(keys.STEERING_REV)
            rev, rules, experiments, published, again = pipe.execute()
            if rev == again:
                break
        else:
            raise StoreUnavailable("the rules and experiments keep changing")
        loaded = steering_state.decode(rev, rules, experiments)
        known = {v.decode() for v in published}
        running = loaded.running
        if running is not None and any(a.version not in known and a.version != CURRENT for a in running.arms):
            arms = tuple(a if a.version in known else replace(a, version=CURRENT) for a in running.arms)
            kept = tuple(replace(e, arms=arms) if e is running else e for e in loaded.experiments)
            loaded = replace(loaded, experiments=kept)
        self._steering = loaded
        return loaded

    @property
    def served(self) -> str | None:
        """The served version as the latest request found it."""
        return self._current

    @property
    def steering(self) -> Steering:
        """The rules and experiments as the latest request found them."""
        return self._steering

    def _on_pipeline(self, commands: Sequence[tuple]) -> list:
        if not commands:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute()

    def _round_trip(self, commands: Sequence[tuple]) -> list:
        """The replies to ``commands``, sent at once over this thread's own connection.

        A dropped connection (Redis restarted) is retried once at once; a timeout is not."""
        held = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # first use in this thread, or a forked copy
            held = self._local.held = _HeldConnection(_own_connection(self._redis.connection_pool), self._held)
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

    def _cache_for(self, version: str, catalog_rev: bytes | None) -> VersionCache:
        cache = self._caches.get(version)
        if cache is None:
            cache = self._new_cache(version, catalog_rev)
        elif cache.catalog_rev != catalog_rev:  # a catalog update: attributes and availability changed
            cache.catalog_rev, cache.attrs, cache.shown, cache.unavailable = catalog_rev, {}, {}, None
            cache.popular_categories = None
        return cache

    def _new_cache(self, version: str, catalog_rev: bytes | None) -> VersionCache:
        """A fresh cache for ``version``, dropping the oldest other than the served one past ``VERSIONS_CACHED``."""
        caches = self._caches
        while len(caches) >= VERSIONS_CACHED:
            old = next((v for v in list(caches) if v != self._current), None)
            if old is None:
                break
            caches.pop(old, None)
        cache = caches[version] = VersionCache(version, catalog_rev)
        return cache

    @_guard
    def version(self) -> str:
        """The served version id."""
        return self._read(lambda v: [])[0].version

    @_guard
    def version_for(self, subject: str | None) -> tuple[str, Assignment | None]:
        """The version ``subject`` (a user, or ``visitor:<id>``) is served, and its arm in a running experiment."""
        cache, _, assignment = self._read(lambda v: [], subject=subject)
        return cache.version, assignment

    @_guard
    def missing(self, version: str) -> list[str]:
        """The keys the version's manifest lists that are gone; a version published before manifests needs its meta."""
        return [p for p in versions.missing(self._redis, version, sizes=False) if p != "manifest"]

    @_guard
    def user_live(self, user_id: str) -> tuple[str, UserRecord | None, Live, Assignment | None]:
        """The version the user is served, their record in it, their events since training and their arm in a
        running experiment, in one round trip."""
        cache, (data, live), assignment = self._read(lambda v: [keys.user(v, user_id)], [user_id], subject=user_id)
        return cache.version, records.decode_user(data) if data else None, Live.decode(live), assignment

    @_guard
    def users_live(
        self, user_ids: Sequence[str]
    ) -> tuple[list[str], list[UserRecord | None], list[Live], list[Assignment | None]]:
        """``user_live`` for many users: one round trip per version they are served (one without an experiment)."""
        for _ in range(3):
            steering = self._steering
            assigned = [steering.assignment(u) for u in user_ids]
            groups: dict[str | None, list[int]] = {}
            for n, assignment in enumerate(assigned):
                groups.setdefault(_arm_version(assignment), []).append(n)
            served: list[str] = [""] * len(user_ids)
            found: list[UserRecord | None] = [None] * len(user_ids)
            lives: list[Live] = [Live.decode([])] * len(user_ids)
            for pin, members in groups.items():
                ids = [user_ids[n] for n in members]
                cache, values, _ = self._read(functools.partial(_user_keys, ids), ids, pin=pin)
                for n, data, live in zip(members, values[: len(ids)], values[len(ids) :]):
                    served[n], lives[n] = cache.version, Live.decode(live)
                    found[n] = records.decode_user(data) if data else None
            if self._steering.rev == steering.rev:  # else the arms may have changed under the read: again
                return served, found, lives, assigned
        raise StoreUnavailable("the rules and experiments keep changing")

    @_guard
    def foldin(self, version: str) -> "FoldIn | None":
        """The version's fold-in tables (``recsvc.read.foldin.FoldIn``), None when not published; loaded once."""
        cache = self._version_cache(version)
        if not cache.foldin_loaded:
            from recsvc.read.foldin import FoldIn  # numpy only in processes that serve session picks

            cache.foldin = FoldIn.load(self._redis, version)
            cache.foldin_loaded = True
        return cache.foldin

    @_guard
    def item(self, item_id: str, subject: str | None = None) -> tuple[str, ItemRecord | None, Assignment | None]:
        """The version served (to ``subject``, if given: a user in an experiment may see another), an item's
        record in it (None for an unknown item) and the subject's arm."""
        cache, (data,), assignment = self._read(lambda v: [keys.item(v, item_id)], subject=subject)
        return cache.version, records.decode_item(data) if data else None, assignment

    @_guard
    def item_index(self, version: str, item_id: str) -> int | None:
        """An item's index in a version (None: not an item of it), kept in the process."""
        indices = self._version_cache(version).indices
        if item_id not in indices:
            raw = self._redis.get(keys.item(version, item_id))
            indices[item_id] = records.ITEM_HEADER.unpack_from(raw)[1] if raw else None
        return indices[item_id]

    @_guard
    def retention_user(self, user_id: str) -> tuple[str, UserRecord | None, BuyAgainRecord | None, Profile | None]:
        """The served version and a user's record, buy-again record and profile, in one round trip."""
        cache, (user, again, profile), _ = self._read(
            lambda v: [keys.user(v, user_id), keys.buy_again(v, user_id), keys.profile(v, user_id)]
        )
        return (
            cache.version,
            records.decode_user(user) if user else None,
            records.decode_buy_again(again) if again else None,
            records.decode_profile(profile) if profile else None,
        )

    # -- reads within a known version --

    @_guard
    def retention_users(
        self, version: str, user_ids: Sequence[str]
    ) -> list[tuple[UserRecord | None, BuyAgainRecord | None, Profile | None]]:
        """(user record, buy-again record, profile) of many users of one version, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for u in user_ids:
            pipe.get(keys.user(version, u))
            pipe.get(keys.buy_again(version, u))
            pipe.get(keys.profile(version, u))
        values = pipe.execute()
        return [
            (
                records.decode_user(a) if a else None,
                records.decode_buy_again(b) if b else None,
                records.decode_profile(c) if c else None,
            )
            for a, b, c in zip(values[::3], values[1::3], values[2::3])
        ]

    @_guard
    def users_by_id(self, version: str, user_ids: Sequence[str]) -> list[UserRecord | None]:
        """User records of one version (None for a user without one), in one round trip."""
        if not user_ids:
            return []
        values = get_many(self._redis, [keys.user(version, u) for u in user_ids])
        return [records.decode_user(d) if d else None for d in values]

    def user_ids(self, version: str, chunk: int = 1_000) -> Iterator[list[str]]:
        """The users with a record in a version, ``chunk`` at a time (SCAN: no full listing in memory)."""
        self.check()
        prefix = keys.user(version, "")
        batch = []
        try:
            for key in self._redis.scan_iter(match=keys.user(version, "*"), count=chunk):
                batch.append(key.decode()[len(prefix) :])
                if len(batch) >= chunk:
                    yield batch
                    batch = []
        except (redis.ConnectionError, redis.TimeoutError) as e:  # _guard cannot wrap a generator
            raise self.unreachable(e) from e
        if batch:
            yield batch

    @_guard
    def trigger_page(self, version: str, kind: str, low: float, high: float, offset: int, count: int) -> list[str]:
        """User ids of a trigger list scored within [low, high], from position ``offset``."""
        found = self._redis.zrangebyscore(keys.trigger(version, kind), low, high, start=offset, num=count)
        return [u.decode() for u in found]

    def data_time(self, version: str, wall_time: float) -> float:
        """The model's notion of now: its newest event plus the time passed since it was trained.

        A model trained on old data thus measures "days since the last purchase" the way it did at
        training, and time still moves on while it is served.
        """
        if version not in self._clocks:
            meta = self.meta(version)
            trained = meta.get("trained_at")
            trained_at = datetime.fromisoformat(trained).timestamp() if trained else wall_time
            self._clocks = {version: (meta.get("retention", {}).get("now", trained_at), trained_at)}
        data_now, trained_at = self._clocks[version]
        return data_now + max(0.0, wall_time - trained_at)

    @_guard
    def items_by_id(self, version: str, item_ids: Sequence[str]) -> list[ItemRecord | None]:
        """Item records of one version."""
        if not item_ids:
            return []
        values = get_many(self._redis, [keys.item(version, i) for i in item_ids])
        return [records.decode_item(d) if d else None for d in values]

    @_guard
    def item_records(self, version: str, indices: Sequence[int]) -> dict[int, ItemRecord]:
        """Item records by index (an index without one is left out), kept in the process: only a new
        version changes them."""
        cache = self._version_cache(version)
        kept = cache.item_records
        missing = [i for i in dict.fromkeys(indices) if i not in kept]
        if missing:
            if len(kept) > ITEM_RECORDS_CACHE_LIMIT:
                kept.clear()
            known = [(i, shown.item_id) for i, shown in zip(missing, self.shown(version, missing)) if shown]
            values = get_many(self._redis, [keys.item(version, item_id) for _, item_id in known])
            kept.update(dict.fromkeys(missing))
            kept.update((i, records.decode_item(raw)) for (i, _), raw in zip(known, values) if raw)
        return {i: rec for i in indices if (rec := kept.get(i)) is not None}

    @_guard
    def item_records_by_id(self, version: str, item_ids: Sequence[str]) -> dict[str, ItemRecord]:
        """Item records by id (an id the version does not know is left out), kept in the process like
        ``item_records``: one round trip for the ids this process has not read yet, none after."""
        cache = self._version_cache(version)
        indices, kept = cache.indices, cache.item_records
        unread = [i for i in dict.fromkeys(item_ids) if i not in indices]
        missing = unread + [i for i in dict.fromkeys(item_ids) if (n := indices.get(i)) is not None and n not in kept]
        if missing:
            if len(kept) > ITEM_RECORDS_CACHE_LIMIT:
                kept.clear()
            for item_id, raw in zip(missing, get_many(self._redis, [keys.item(version, i) for i in missing])):
                record = records.decode_item(raw) if raw else None
                indices[item_id] = record.index if record is not None else None
                if record is not None:
                    kept[record.index] = record
        found = {}
        for item_id in item_ids:
            index = indices.get(item_id)
            if index is not None and (record := kept.get(index)) is not None:
                found[item_id] = record
        return found

    def trained_at(self, version: str) -> float:
        """When the version was trained (unix seconds; 0 for a summary without the time), kept in the process."""
        cache = self._version_cache(version)
        if cache.trained_at is None:
            trained = self.summary_value(version, "trained_at", None)
            cache.trained_at = datetime.fromisoformat(trained).timestamp() if isinstance(trained, str) else 0.0
        return cache.trained_at

    @_guard
    def attrs(self, version: str, indices: Sequence[int]) -> list[dict | None]:
        """Catalog attributes of items by index (cached in the process)."""
        cache = self._version_cache(version)
        missing = [i for i in dict.fromkeys(indices) if i not in cache.attrs]
        if missing:
            if len(cache.attrs) > ATTRS_CACHE_LIMIT:
                cache.attrs.clear()
            for i, raw in zip(missing, self._redis.hmget(keys.attrs(version), [str(i) for i in missing])):
                cache.attrs[i] = json.loads(raw) if raw else None
        return [cache.attrs[i] for i in indices]

    def load_shown(self, version: str, indices: Iterable[int]) -> None:
        """Read the items of ``indices`` this process does not hold yet, in one round trip (what ``shown``
        would read one list at a time)."""
        missing = set(indices).difference(self._version_cache(version).shown)
        if missing:
            self.shown(version, sorted(missing))

    def shown(self, version: str, indices: Sequence[int]) -> list[ShownItem | None]:
        """Items by index as answers show them (None for an index without attributes), cached in the process."""
        cache = self._version_cache(version)
        shown = cache.shown
        try:
            return [shown[i] for i in indices]
        except KeyError:
            pass
        if len(shown) > ATTRS_CACHE_LIMIT:
            shown.clear()
        missing = [i for i in dict.fromkeys(indices) if i not in shown]
        for i, attrs in zip(missing, self.attrs(version, missing)):
            shown[i] = ShownItem.of(attrs) if attrs else None
        return [shown[i] for i in indices]

    @_guard
    def unavailable(self, version: str) -> frozenset[int]:
        """Indices of hidden items."""
        cache = self._version_cache(version)
        if cache.unavailable is None:
            cache.unavailable = frozenset(int(i) for i in self._redis.smembers(keys.unavailable(version)))
        return cache.unavailable

    @_guard
    def popular(self, version: str, category_id: str | None = None) -> tuple[Sequence[int], Sequence[float]]:
        """Popular items, overall or in a category; empty for an unknown category."""
        cache = self._version_cache(version)
        if category_id not in cache.popular:
            data = self._redis.get(keys.popular(version, category_id))
            cache.popular[category_id] = records.decode_scored(data) if data else ((), ())
        return cache.popular[category_id]

    def popular_categories(self, version: str) -> list[str]:
        """Categories of the most popular items, most popular first (kept until the catalog changes)."""
        cache = self._version_cache(version)
        if cache.popular_categories is None:
            items, _ = self.popular(version)
            found = self.shown(version, list(items))
            cache.popular_categories = list(dict.fromkeys(s.category_id for s in found if s and s.category_id))
        return cache.popular_categories

    @_guard
    def category_ids(self, version: str) -> list[str]:
        """Category ids by index, as the records refer to them."""
        cache = self._version_cache(version)
        if cache.category_ids is None:
            raw = self._redis.get(keys.categories(version))
            table = json.loads(raw) if raw else {"ids": [], "parents": []}
            ids = table["ids"]
            cache.category_parents = {c: (ids[p] if p >= 0 else None) for c, p in zip(ids, table["parents"])}
            cache.category_ids = ids
        return cache.category_ids

    def category_parents(self, version: str) -> dict[str, str | None]:
        """The category tree: id -> parent id."""
        self.category_ids(version)
        parents = self._version_cache(version).category_parents
        assert parents is not None  # loaded by category_ids
        return parents

    def ancestors(self, version: str, category_id: str | None) -> frozenset[str]:
        """A category and all its parents."""
        if category_id is None:
            return frozenset()
        cache = self._version_cache(version)
        if category_id not in cache.ancestors:
            parents = self.category_parents(version)
            chain: list[str] = []
            current: str | None = category_id
            while current is not None and current not in chain:
                chain.append(current)
                current = parents.get(current)
            cache.ancestors[category_id] = frozenset(chain)
        return cache.ancestors[category_id]

    @_guard
    def meta(self, version: str) -> dict:
        """The version's summary written by the trainer."""
        raw = self._redis.get(keys.meta(version))
        return json.loads(raw) if raw else {}

    def summary_value(self, version: str, name: str, default: object) -> object:
        """One field of the version's summary (``default`` where it has none), read once per process."""
        cache = self._version_cache(version)
        if cache.summary is None:
            cache.summary = self.meta(version)
        return cache.summary.get(name, default)

    # -- writes of the service: events as they come --

    @_guard
    def append_events(self, events: Sequence[dict[str, str]], maxlen: int) -> None:
        """Add events (stream fields, canonical names) to the stream and their users' live lists, in one round trip.

        The stream keeps about ``maxlen`` entries; each live list keeps ``LIVE_LENGTH`` and expires
        ``LIVE_TTL_S`` after its user's last event.
        """
        pipe = self._redis.pipeline(transaction=False)
        arrived = int(time.time())
        for fields in events:
            pipe.xadd(keys.EVENTS_STREAM, fields, maxlen=maxlen, approximate=True)
            code = EVENTS.index(fields["event"])
            pipe.lpush(keys.live(fields["user_id"]), live_entry(code, fields["item_id"], arrived))
        for user_id in {fields["user_id"] for fields in events}:
            pipe.ltrim(keys.live(user_id), 0, LIVE_LENGTH - 1)
            pipe.expire(keys.live(user_id), LIVE_TTL_S)
        pipe.execute()

    # -- retention figures, catalog changes and sends of trigger messages --

    @_guard
    def analytics(self, version: str) -> dict | None:
        """The version's retention figures (None for a version trained before they existed)."""
        raw = self._redis.get(keys.analytics(version))
        return json.loads(raw) if raw else None

    @_guard
    def catalog_changes(self, version: str, kind: str) -> dict[int, dict]:
        """Item index -> the change (``keys.catalog_changes``) of a back-in-stock or price-drop list."""
        return {int(i): json.loads(v) for i, v in self._redis.hgetall(keys.catalog_changes(version, kind)).items()}

    @_guard
    def sent_at(self, kind: str, user_ids: Sequence[str]) -> list[float | None]:
        """When a message of ``kind`` was last sent to each user (None: never, or long ago)."""
        if not user_ids:
            return []
        return list(self._redis.zmscore(keys.sent(kind), list(user_ids)))

    @_guard
    def record_sends(self, kind: str, user_ids: Sequence[str], at: float, forget_before: float) -> None:
        """Note that ``kind`` was sent to the users at ``at`` (a later send wins);
        forget sends before ``forget_before``."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(keys.sent(kind), {u: at for u in user_ids}, gt=True)
        pipe.zremrangebyscore(keys.sent(kind), "-inf", f"({forget_before}")
        pipe.execute()

    def _version_cache(self, version: str) -> VersionCache:
        cache = self._caches.get(version)
        if cache is None:
            cache = self._new_cache(version, self._redis.get(keys.catalog_rev(version)))
        return cache


def _user_keys(user_ids: Sequence[str], version: str) -> list[str]:
    return [keys.user(version, u) for u in user_ids]


def _arm_version(assignment: Assignment | None) -> str | None:
    """The version an arm pins (None: none, or the served one)."""
    if assignment is None or assignment[1].version == CURRENT:
        return None
    return assignment[1].version

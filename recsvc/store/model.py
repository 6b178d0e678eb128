"""``ModelStore``: the served model as the read models see it, read consistently with the served version.

A request resolves the served version and reads its record in one round trip: one MGET reads ``current`` and
the version's ``catalog_rev`` together with the records under the version seen last (and the users' live lists
ride in the same send), and only when a publish or rollback has switched versions does it read again. So a
publish, a rollback or a catalog update is seen by the next request. Immutable parts of a version (popular lists,
the category tree) and item attributes are kept in the process (``recsvc.store.cache``).

The rules and experiments are read again whenever ``keys.STEERING_REV`` moved; what they mean is the read models'
(``recsvc.read.steering``): the store is given their decoder, as it is given the fold-in tables' (the store reads
the bytes, the read model builds from them), and keeps what they built.
"""

import functools
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from recsvc.contract import keys, records, versions
from recsvc.contract.live import LIVE_LENGTH, Live
from recsvc.contract.records import BuyAgainRecord, ItemRecord, Profile, UserRecord
from recsvc.contract.summary import VersionSummary
from recsvc.store.cache import ShownItem, VersionCache, VersionCaches
from recsvc.store.catalog import CatalogReads
from recsvc.store.catalog_updates import CatalogRecords
from recsvc.store.commands import get_many
from recsvc.store.counters import ArmCounts, EventsAndSends
from recsvc.store.errors import NoModel, StoreUnavailable
from recsvc.store.reports import BrowserReports
from recsvc.store.retention import RetentionReads
from recsvc.store.sessions import DashboardSessions, TrackingSecret
from recsvc.store.steering import NOTHING_STORED, SteeringRecords, StoredSteering
from recsvc.store.versions import VersionRecords
from recsvc.store.wire import Wire, guarded


class Steering(Protocol):
    """What the store needs of the decoded rules and experiments: their revision, and which version a subject's
    arm pins (its assignment is handed back with the records, as the store found it)."""

    @property
    def rev(self) -> bytes | None: ...

    def assignment(self, subject: str | None) -> Any: ...

    def pinned(self, assignment: Any) -> str | None: ...


S = TypeVar("S", bound=Steering)
T = TypeVar("T")


class ModelStore(CatalogReads, RetentionReads, EventsAndSends, Generic[S]):
    """Reads the served model's records from Redis and appends the events the shop posts; holds the gateways to
    the service's other Redis state (``steering_records``, ``catalog_records``, ``versions``, ``arms``, ``reports``,
    ``sessions``)."""

    def __init__(self, wire: Wire, decode_steering: Callable[[StoredSteering], S]):
        self._wire = wire
        self.breaker = wire.breaker
        self._caches = VersionCaches()
        self._current: str | None = None  # the served version seen last
        self._decode_steering = decode_steering
        self._steering: S = decode_steering(NOTHING_STORED)
        self._clocks: dict[str, tuple[float, float]] = {}
        self.steering_records = SteeringRecords(wire)
        self.catalog_records = CatalogRecords(wire)
        self.versions = VersionRecords(wire)
        self.arms: ArmCounts = self.steering_records.counts
        self.reports = BrowserReports(wire)
        self.sessions = DashboardSessions(wire)
        self.tracking_secret = TrackingSecret(wire)

    def check(self) -> None:
        """Raise ``RedisStalled`` while the breaker is open, ``budget.OverBudget`` past the request's time budget."""
        self._wire.check()

    # -- resolving the version and reading records in one round trip --

    def _read(
        self, key_of, live_ids: Sequence[str] = (), subject: str | None = None, pin: str | None = None
    ) -> tuple[VersionCache, list, Any]:
        """(version cache, values of the keys ``key_of(version)``, the subject's arm) read consistently with
        ``current`` and the stored rules and experiments.

        The version is ``pin`` if given, else the one the arm of ``subject`` (a user or visitor) serves in a
        running experiment, else the served one. With ``live_ids``, the values end with those users' live
        lists, read in the same round trip."""
        lives = [("LRANGE", keys.live(u), 0, LIVE_LENGTH - 1) for u in live_ids]
        wire, steering, guess = self._wire, self._steering, self._current
        for _ in range(4):
            target = pin or steering.pinned(steering.assignment(subject)) or guess
            names = [keys.CURRENT, keys.STEERING_REV]
            if target is not None:
                names += [keys.catalog_rev(target), *key_of(target)]
            if wire.cluster:  # the keys live on several nodes: an MGET per slot, the lists on a pipeline
                found, live = get_many(wire.client, names), wire.on_pipeline(lives)
            else:
                found, *live = wire.round_trip([("MGET", *names), *lives])
            if found[0] is None:
                raise NoModel("no model is published yet: run `recsvc train`")
            current = self._current = found[0].decode()
            if found[1] != steering.rev:  # rules or experiments changed since this process last looked
                steering = self._load_steering()
            assignment = steering.assignment(subject)
            if (pin or steering.pinned(assignment) or current) == target:
                cache = self._caches.current(target, found[2], current)
                return cache, found[3:] + live, assignment
            guess = current  # switched since last time: read again under the new version
        raise StoreUnavailable("the served version keeps changing")

    def _load_steering(self) -> S:
        """Read the rules, experiments and published versions, and decode them."""
        self._steering = self._decode_steering(self.steering_records.read(published=True))
        return self._steering

    @property
    def served(self) -> str | None:
        """The served version as the latest request found it."""
        return self._current

    @property
    def steering(self) -> S:
        """The rules and experiments as the latest request found them."""
        return self._steering

    @guarded
    def version(self) -> str:
        """The served version id."""
        return self._read(lambda v: [])[0].version

    @guarded
    def version_for(self, subject: str | None) -> tuple[str, Any]:
        """The version ``subject`` (a user, or ``visitor:<id>``) is served, and its arm in a running experiment."""
        cache, _, assignment = self._read(lambda v: [], subject=subject)
        return cache.version, assignment

    @guarded
    def missing(self, version: str) -> list[str]:
        """The keys the version's manifest lists that are gone; a version published before manifests needs its meta."""
        return [p for p in versions.missing(self._wire.client, version, sizes=False) if p != "manifest"]

    @guarded
    def user_live(self, user_id: str) -> tuple[str, UserRecord | None, Live, Any]:
        """The version the user is served, their record in it, their events since training and their arm in a
        running experiment, in one round trip."""
        cache, (data, live), assignment = self._read(lambda v: [keys.user(v, user_id)], [user_id], subject=user_id)
        return cache.version, records.decode_user(data) if data else None, Live.decode(live), assignment

    @guarded
    def users_live(self, user_ids: Sequence[str]) -> tuple[list[str], list[UserRecord | None], list[Live], list]:
        """``user_live`` for many users: one round trip per version they are served (one without an experiment)."""
        for _ in range(3):
            steering = self._steering
            assigned = [steering.assignment(u) for u in user_ids]
            groups: dict[str | None, list[int]] = {}
            for n, assignment in enumerate(assigned):
                groups.setdefault(steering.pinned(assignment), []).append(n)
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

    @guarded
    def item(self, item_id: str, subject: str | None = None) -> tuple[str, ItemRecord | None, Any]:
        """The version served (to ``subject``, if given: a user in an experiment may see another), an item's
        record in it (None for an unknown item) and the subject's arm."""
        cache, (data,), assignment = self._read(lambda v: [keys.item(v, item_id)], subject=subject)
        return cache.version, records.decode_item(data) if data else None, assignment

    @guarded
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

    # -- what a version keeps for good --

    @guarded
    def foldin(self, version: str, decode: Callable[[bytes, bytes, bytes, bytes], T]) -> T | None:
        """The version's fold-in tables as ``decode`` builds them from (item factors, item ids, pool, fold-in meta),
        None when the trainer did not publish them; read once per process: the small values in one round trip,
        then the item factors a part at a time (each well within a request's timeout)."""
        cache = self._version_cache(version)
        if not cache.foldin_loaded:
            client = self._wire.client
            raw_meta, raw_ids, raw_pool = get_many(
                client, [keys.foldin(version), keys.item_ids(version), keys.pool(version)]
            )
            tables = None
            if raw_meta is not None and raw_ids is not None and raw_pool is not None:
                count = json.loads(raw_meta).get("factor_parts", 1)
                parts = [client.get(keys.item_factors(version, n)) for n in range(count)]
                if all(part is not None for part in parts):
                    tables = decode(b"".join(parts), raw_ids, raw_pool, raw_meta)
            cache.foldin, cache.foldin_loaded = tables, True
        return cache.foldin

    @guarded
    def summary(self, version: str) -> VersionSummary:
        """The version's summary written by the trainer (empty for a version without), read once per process: it
        never changes."""
        cache = self._version_cache(version)
        if cache.summary is None:
            cache.summary = VersionSummary.decode(self._wire.client.get(keys.meta(version)))
        return cache.summary

    @guarded
    def arrivals(self, version: str) -> list[tuple[int, ShownItem]]:
        """The items catalog updates added to the version (index, item), newest first (kept until the catalog
        changes): the indices after the trained items, up to ``keys.added_items``, that have attributes."""
        cache = self._version_cache(version)
        if cache.arrivals is None:
            trained = self.summary(version).counts.items or 0
            added = int(self._wire.client.get(keys.added_items(version)) or 0)
            indices = list(range(trained + added - 1, trained - 1, -1))
            cache.arrivals = [(i, item) for i, item in zip(indices, self.shown(version, indices)) if item]
        return cache.arrivals

    def learned_until(self, version: str) -> float:
        """When the version's training began to read its events (unix seconds; its ``trained_at`` for an older
        summary, 0 without either): events that arrived since are not in it. Kept in the process."""
        cache = self._version_cache(version)
        if cache.learned_until is None:
            summary = self.summary(version)
            moment = summary.learned_until or summary.trained_at
            cache.learned_until = datetime.fromisoformat(moment).timestamp() if isinstance(moment, str) else 0.0
        return cache.learned_until

    def data_time(self, version: str, wall_time: float) -> float:
        """The model's notion of now: its newest event plus the time passed since it was trained.

        A model trained on old data thus measures "days since the last purchase" the way it did at
        training, and time still moves on while it is served.
        """
        if version not in self._clocks:
            summary = self.summary(version)
            trained = summary.trained_at
            trained_at = datetime.fromisoformat(trained).timestamp() if trained else wall_time
            now = summary.retention.now
            self._clocks = {version: (now if now is not None else trained_at, trained_at)}
        data_now, trained_at = self._clocks[version]
        return data_now + max(0.0, wall_time - trained_at)


def _user_keys(user_ids: Sequence[str], version: str) -> list[str]:
    return [keys.user(version, u) for u in user_ids]

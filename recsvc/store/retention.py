"""The retention reads within a known version: users' buy-again records and profiles, trigger lists, the
retention figures and the catalog changes that set off triggers."""

import json
from collections.abc import Iterator, Sequence

from recsvc.contract import keys, records
from recsvc.contract.analytics import RetentionAnalytics
from recsvc.contract.records import BuyAgainRecord, Profile, UserRecord
from recsvc.store.commands import get_many
from recsvc.store.wire import Wire, guarded


class RetentionReads:
    """The retention reads of the service's model store (a part of ``ModelStore``)."""

    _wire: Wire

    @guarded
    def retention_users(
        self, version: str, user_ids: Sequence[str]
    ) -> list[tuple[UserRecord | None, BuyAgainRecord | None, Profile | None]]:
        """(user record, buy-again record, profile) of many users of one version, in one round trip."""
        pipe = self._wire.pipeline()
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

    @guarded
    def users_by_id(self, version: str, user_ids: Sequence[str]) -> list[UserRecord | None]:
        """User records of one version (None for a user without one), in one round trip."""
        if not user_ids:
            return []
        values = get_many(self._wire.client, [keys.user(version, u) for u in user_ids])
        return [records.decode_user(d) if d else None for d in values]

    def user_ids(self, version: str, chunk: int = 1_000) -> Iterator[list[str]]:
        """The users with a record in a version, ``chunk`` at a time (SCAN: no full listing in memory)."""
        prefix = keys.user(version, "")
        batch = []
        with self._wire.mapped():  # ``guarded`` cannot wrap a generator
            for key in self._wire.client.scan_iter(match=keys.user(version, "*"), count=chunk):
                batch.append(key.decode()[len(prefix) :])
                if len(batch) >= chunk:
                    yield batch
                    batch = []
        if batch:
            yield batch

    @guarded
    def trigger_page(self, version: str, kind: str, low: float, high: float, offset: int, count: int) -> list[str]:
        """User ids of a trigger list scored within [low, high], from position ``offset``."""
        found = self._wire.client.zrangebyscore(keys.trigger(version, kind), low, high, start=offset, num=count)
        return [u.decode() for u in found]

    @guarded
    def analytics(self, version: str) -> RetentionAnalytics | None:
        """The version's retention figures (None for a version trained before they existed)."""
        raw = self._wire.client.get(keys.analytics(version))
        return RetentionAnalytics.decode(raw) if raw else None

    @guarded
    def catalog_changes(self, version: str, kind: str) -> dict[int, dict]:
        """Item index -> the change (``keys.catalog_changes``) of a back-in-stock or price-drop list."""
        changes = self._wire.client.hgetall(keys.catalog_changes(version, kind))
        return {int(i): json.loads(v) for i, v in changes.items()}

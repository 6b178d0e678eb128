"""The version protocol both sides follow: staging, the published set and the served pointer.

A publish adds its version to ``keys.STAGING``, writes its keys, then moves it to
``keys.VERSIONS`` and points ``keys.CURRENT`` at it; these functions list, switch, trim and
clean up versions for the publisher and for the operator's commands.
"""

import json
from dataclasses import dataclass

import redis

from recsvc.contract import keys

DELETE_BATCH = 10_000


@dataclass
class VersionInfo:
    """One published version, as ``recsvc models`` lists it."""

    version: str
    published_at: float
    current: bool
    meta: dict


class UnknownVersion(LookupError):
    """The version is not among the published ones."""


def current(r: redis.Redis) -> str | None:
    """The served version, or None before the first publish."""
    value = r.get(keys.CURRENT)
    return value.decode() if value is not None else None


def list_versions(r: redis.Redis) -> list[VersionInfo]:
    """The published versions, newest first."""
    served = current(r)
    published = r.zrevrange(keys.VERSIONS, 0, -1, withscores=True)
    pipe = r.pipeline(transaction=False)
    for version, _ in published:
        pipe.get(keys.meta(version.decode()))
    metas = pipe.execute()
    return [
        VersionInfo(version.decode(), score, version.decode() == served, json.loads(meta) if meta else {})
        for (version, score), meta in zip(published, metas)
    ]


def rollback(r: redis.Redis, version: str) -> None:
    """Serve a previously published version."""
    if r.zscore(keys.VERSIONS, version) is None or not r.exists(keys.meta(version)):
        raise UnknownVersion(f"version {version!r} is not published; see `recsvc models`")
    r.set(keys.CURRENT, version)


def delete_version(r: redis.Redis, version: str) -> int:
    """Delete every key of a version (never the served one); returns how many keys went."""
    if version == current(r):
        raise ValueError(f"version {version!r} is being served")
    deleted = 0
    batch = []
    for key in r.scan_iter(match=keys.version_prefix(version) + "*", count=DELETE_BATCH):
        batch.append(key)
        if len(batch) >= DELETE_BATCH:
            deleted += r.unlink(*batch)
            batch = []
    if batch:
        deleted += r.unlink(*batch)
    r.zrem(keys.VERSIONS, version)
    r.srem(keys.STAGING, version)
    return deleted


def trim(r: redis.Redis, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (and never the served one)."""
    served = current(r)
    old = [v.decode() for v in r.zrevrange(keys.VERSIONS, keep, -1)]
    old = [v for v in old if v != served]
    for version in old:
        delete_version(r, version)
    return old


def clean_staging(r: redis.Redis) -> list[str]:
    """Delete what killed or failed publishes left behind."""
    served = current(r)
    left = [v.decode() for v in r.smembers(keys.STAGING)]
    left = [v for v in left if v != served and r.zscore(keys.VERSIONS, v) is None]
    for version in left:
        delete_version(r, version)
    return left

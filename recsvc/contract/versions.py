"""The version protocol both sides follow: staging, the published set and the served pointer.

A publish takes ``keys.PUBLISH_LOCK`` (a token with a TTL it refreshes while writing), adds its
version to ``keys.STAGING`` with a heartbeat (``keys.staging_alive``), writes its keys and a
manifest, checks the manifest, then in one script, only while it still holds the lock, moves the
version to ``keys.VERSIONS`` and points ``keys.CURRENT`` at it. That script (``_SERVE``) is the
pointer's one writer: a rollback and an experiment's promotion take the lock and run it too, so
neither is undone by a publish under way. A version is deleted only after a script that checks it
is neither served nor pinned has unpublished it. These functions lock, list, check, switch, trim
and clean up versions for the publisher and for the operator's commands."""

import contextlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from recsvc.contract import keys
from recsvc.contract.summary import VersionSummary

DELETE_BATCH = 10_000
ROLLBACK_WAIT_S = 2.0
"""Seconds a rollback or a promotion waits for a publish to release the lock before it is refused."""
ROLLBACK_LOCK_TTL_MS = 10_000
"""Milliseconds a rollback holds the publish lock at most (it holds it for one script)."""
ROLLBACK_POLL_S = 0.05
"""Seconds between a rollback's tries to take a busy lock."""

_REFRESH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
"""
"""Refresh the lock and the version's heartbeat, only while the lock holds this token."""

_SERVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[5], KEYS[6]) ~= 2 then return -1 end
if ARGV[3] == '' then
  if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return -2 end
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  redis.call('SREM', KEYS[4], ARGV[2])
  redis.call('DEL', KEYS[7])
end
redis.call('SET', KEYS[3], ARGV[2])
return 1
"""
"""The one writer of ``keys.CURRENT``: serve a version only while the lock holds this token and the version's meta
and manifest exist. With a publish time, publish the staged version first; without one (a rollback, a promotion),
only a version that is published already."""

_RETIRE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return -1 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1 + redis.call('DEL', KEYS[5], KEYS[6], KEYS[7])
"""
"""Unless the pointer names it or an experiment pins it: unpublish a version and delete its meta, manifest and
heartbeat, so no switch can serve it while the rest of its keys go (checked and done at the same instant); it stays
staged without a heartbeat until they are gone, so a deletion cut short is finished by the next ``clean_staging``.
Returns 1 + the keys deleted."""

_STAGED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 0 then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
if #KEYS > 3 then redis.call('HSET', KEYS[4], ARGV[4], ARGV[5]) end
return 1
"""
"""While the lock holds this token and the version is staged: refresh both, and record a shard's part if given."""

_MOVE = """
local moved = 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    moved = moved + 1
  end
end
return moved
"""
"""Rename each existing old key to its new name, unless the new one exists already."""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class VersionInfo:
    """One published version, as ``recsvc models`` lists it."""

    version: str
    published_at: float
    current: bool
    summary: VersionSummary


class UnknownVersion(LookupError):
    """The version is not among the published ones."""


class VersionInUse(ValueError):
    """The version is served, or pinned by a running experiment: it must not be deleted."""


class PublishFailed(RuntimeError):
    """A publish did not switch the served pointer; the message is one line for the operator."""


class LockBusy(PublishFailed):
    """Another live run held the publish lock for longer than this run would wait."""


class LockLost(PublishFailed):
    """The publish lock expired and may be another run's: this run must not switch the pointer."""


class StagingGone(PublishFailed):
    """A sharded run's version is no longer staged: it was served, or deleted after its run failed or expired."""


class IncompleteVersion(PublishFailed):
    """A version misses keys its manifest lists: it must not be (or is not fit to be) served."""


def acquire_lock(r: redis.Redis, token: str, ttl_ms: int) -> bool:
    """Take the publish lock for ``token`` if no live run holds it."""
    return bool(r.set(keys.PUBLISH_LOCK, token, nx=True, px=ttl_ms))


def lock_holder(r: redis.Redis) -> tuple[str | None, int]:
    """The token holding the publish lock (None if free) and its remaining TTL in ms."""
    pipe = r.pipeline(transaction=False)
    pipe.get(keys.PUBLISH_LOCK)
    pipe.pttl(keys.PUBLISH_LOCK)
    token, ttl = pipe.execute()
    return (token.decode() if token is not None else None), int(ttl)


def queue_refresh(pipe, version: str, token: str, ttl_ms: int) -> None:
    """Queue on ``pipe`` the refresh of the lock and of ``version``'s heartbeat (its result: 1 if held, else 0)."""
    # EVAL as a plain command: cluster pipelines have no eval(), and route it by its keys' one slot
    pipe.execute_command("EVAL", _REFRESH, 2, keys.PUBLISH_LOCK, keys.staging_alive(version), token, ttl_ms)


def check_staged(
    r: redis.Redis, version: str, token: str, ttl_ms: int, shard: int | None = None, part: str | None = None
) -> None:
    """Check that ``version`` is staged and ``token`` holds the publish lock, refreshing both for ``ttl_ms``;
    with ``shard``, record its ``part`` (JSON) in ``keys.shards`` in the same script. Raises LockLost or
    StagingGone."""
    names = [keys.PUBLISH_LOCK, keys.staging_alive(version), keys.STAGING]
    args: list = [token, ttl_ms, version]
    if shard is not None:
        names.append(keys.shards(version))
        args += [shard, part]
    done = r.eval(_STAGED, len(names), *names, *args)
    if done == 0:
        holder, _ = lock_holder(r)
        taken = f"is held by {holder}" if holder else "expired"
        raise LockLost(f"the publish lock of version {version} {taken}; not served")
    if done == -1:
        raise StagingGone(f"version {version} is no longer staged (served, or deleted after its run failed)")


def shard_parts(r: redis.Redis, version: str) -> dict[int, dict]:
    """The parts the finished shards of a sharded run recorded (``check_staged``), by shard number."""
    return {int(k): json.loads(v) for k, v in r.hgetall(keys.shards(version)).items()}


def release_lock(r: redis.Redis, token: str) -> bool:
    """Free the publish lock if ``token`` still holds it."""
    return bool(r.eval(_RELEASE, 1, keys.PUBLISH_LOCK, token))


def switch(r: redis.Redis, version: str, token: str, published_at: float) -> None:
    """Publish and serve ``version`` atomically, only if ``token`` still holds the publish lock."""
    done = _serve(r, version, token, published_at)
    if done == 0:
        raise LockLost(f"the publish lock of version {version} expired or was taken by another run; not served")
    if done == -1:
        raise IncompleteVersion(f"version {version} lost its meta or manifest before the switch; not served")


def _serve(r: redis.Redis, version: str, token: str, published_at: float | str) -> int:
    """Run the pointer's one writer (``_SERVE``); its outcome."""
    return int(
        r.eval(
            _SERVE,
            7,
            keys.PUBLISH_LOCK,
            keys.VERSIONS,
            keys.CURRENT,
            keys.STAGING,
            keys.meta(version),
            keys.manifest(version),
            keys.staging_alive(version),
            token,
            version,
            published_at,
        )
    )


def missing(r: redis.Redis, version: str, sample: Sequence[str] = (), sizes: bool = True) -> list[str]:
    """What ``version`` lacks by its manifest (and of the ``sample`` keys); empty when complete.

    The manifest is ``{"keys": [...], "sizes": {key: [type, n]}, "families": {...}}``: every listed key
    exists and, with ``sizes``, each sized hash, set or sorted set has n members (catalog updates
    change some of them in place later, so the service checks only that the listed keys exist)."""
    raw = r.get(keys.manifest(version))
    if raw is None:
        return ["manifest"] if r.exists(keys.meta(version)) else [keys.meta(version), "manifest"]
    manifest = json.loads(raw)
    listed = [*manifest.get("keys", []), *sample]
    sized = manifest.get("sizes", {}) if sizes else {}
    pipe = r.pipeline(transaction=False)
    for key in listed:
        pipe.exists(key)
    for key, (kind, _) in sized.items():
        {"hash": pipe.hlen, "set": pipe.scard, "zset": pipe.zcard}[kind](key)
    found = pipe.execute()
    problems = [key for key, ok in zip(listed, found) if not ok]
    for (key, (_, expected)), n in zip(sized.items(), found[len(listed) :]):
        if int(n) != expected:
            problems.append(f"{key} has {n} of {expected}")
    return problems


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
        VersionInfo(version.decode(), score, version.decode() == served, VersionSummary.decode(meta))
        for (version, score), meta in zip(published, metas)
    ]


def rollback(r: redis.Redis, version: str, wait_s: float = ROLLBACK_WAIT_S) -> None:
    """Serve a published version again (an operator's rollback, an experiment's promotion).

    Takes the publish lock (waiting up to ``wait_s`` for a publish to finish) and switches through the same
    fenced script as a publish, so a publish under way never undoes it seconds later and a trim never deletes
    the version it serves. Raises UnknownVersion, or LockBusy while a publish holds the lock."""
    token = f"rollback:{secrets.token_hex(8)}"
    deadline = time.monotonic() + wait_s
    while not acquire_lock(r, token, ROLLBACK_LOCK_TTL_MS):
        if time.monotonic() >= deadline:
            holder, ttl = lock_holder(r)
            raise LockBusy(
                f"a training ({holder}) is publishing: not switched to {version}, so that publish does not undo it; "
                f"try again once it is done (its lock expires in {max(ttl, 0) / 1000:.0f} s unless it is refreshed)"
            )
        time.sleep(ROLLBACK_POLL_S)
    try:
        done = _serve(r, version, token, "")
    finally:
        release_lock(r, token)
    if done == 0:
        raise LockLost(f"the lock of the rollback to {version} expired before its switch; not served")
    if done < 0:
        raise UnknownVersion(f"version {version!r} is not published; see `recsvc models`")


def delete_version(r: redis.Redis, version: str) -> int:
    """Delete every key of a version; returns how many keys went. Never the served version nor one a running
    experiment pins: whether it is one and its unpublishing are one script, so a rollback cannot slip between."""
    retired = r.eval(
        _RETIRE,
        7,
        keys.CURRENT,
        keys.PINNED,
        keys.VERSIONS,
        keys.STAGING,
        keys.staging_alive(version),
        keys.meta(version),
        keys.manifest(version),
        version,
    )
    if retired == 0:
        raise VersionInUse(f"version {version!r} is being served")
    if retired == -1:
        raise VersionInUse(f"version {version!r} is served by a running experiment")
    deleted = int(retired) - 1
    batch = []
    for key in r.scan_iter(match=keys.version_prefix(version) + "*", count=DELETE_BATCH):
        batch.append(key)
        if len(batch) >= DELETE_BATCH:
            deleted += r.unlink(*batch)
            batch = []
    if batch:
        deleted += r.unlink(*batch)
    r.srem(keys.STAGING, version)
    return deleted


def trim(r: redis.Redis, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (never the served one, nor one a running experiment serves)."""
    served = current(r)
    pinned = {v.decode() for v in r.smembers(keys.PINNED)}
    old = [v.decode() for v in r.zrevrange(keys.VERSIONS, keep, -1)]
    deleted = []
    for version in [v for v in old if v != served and v not in pinned]:
        with contextlib.suppress(VersionInUse):  # served or pinned since the listing: kept
            delete_version(r, version)
            deleted.append(version)
    return deleted


def upgrade_layout(r: redis.Redis) -> int:
    """Rename the keys of a Redis written before the keys had hash tags; returns how many moved.

    Releases before cluster support kept the version protocol's keys at ``recsvc:current``,
    ``recsvc:versions`` and ``recsvc:staging``, and a version's meta, manifest and catalog keys
    without tags. Those deployments ran on a single Redis, where one script renames them atomically,
    so an upgraded service or trainer finds the served version where it was. Idempotent and cheap
    once done (one EXISTS)."""
    old = f"{keys.PREFIX}:current"
    if not r.exists(old):
        return 0
    listed = {v.decode() for v in r.zrange(f"{keys.PREFIX}:versions", 0, -1)}
    listed |= {v.decode() for v in r.smembers(f"{keys.PREFIX}:staging")}
    pairs = [
        (old, keys.CURRENT),
        (f"{keys.PREFIX}:versions", keys.VERSIONS),
        (f"{keys.PREFIX}:staging", keys.STAGING),
    ]
    for version in sorted(listed):
        pairs += [
            (keys.version_prefix(version) + name, new)
            for name, new in (
                ("meta", keys.meta(version)),
                ("manifest", keys.manifest(version)),
                ("attrs", keys.attrs(version)),
                ("unavailable", keys.unavailable(version)),
                ("catalog_rev", keys.catalog_rev(version)),
            )
        ]
    names = [name for pair in pairs for name in pair]
    return int(r.eval(_MOVE, len(names), *names))


def clean_staging(r: redis.Redis) -> list[str]:
    """Delete what killed or failed publishes left behind: staging versions whose heartbeat expired."""
    served = current(r)
    left = [v.decode() for v in r.smembers(keys.STAGING)]
    left = [
        v for v in left if v != served and r.zscore(keys.VERSIONS, v) is None and not r.exists(keys.staging_alive(v))
    ]
    deleted = []
    for version in left:
        with contextlib.suppress(VersionInUse):
            delete_version(r, version)
            deleted.append(version)
    return deleted

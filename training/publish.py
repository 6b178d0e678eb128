"""Every write of a model version: the lists of one run into Redis, then the served pointer, last.

All keys of a version are queued on one non-transactional pipeline, sent a few thousand
commands at a time; ``recsvc:current`` switches only once everything is written, so a
reader never sees a half-written version. A failed or killed run leaves nothing served.

Two runs at once: the writer first takes the publish lock (``keys.PUBLISH_LOCK``, a token with a
TTL refreshed at every send), so a second run waits for the first to finish. A run that stalls past
the TTL loses the lock: its next send or its switch raises ``versions.LockLost`` and it deletes what
it wrote. Before the switch the writer stores a manifest of what it wrote and checks it
(``versions.missing``); the switch itself checks the token in the same script.

A sharded run (``training.shards``) splits this across processes: ``stage`` writes everything but the
user records and keeps the lock (``SHARDED_LOCK_TTL_S``); each shard resumes the version with the lock's
token, writes its users' records and keeps its part of the manifest in Redis; the finish merges the
parts, checks the whole version and switches, as ``commit`` does for a single process.
"""

import json
import logging
import random
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice

import numpy as np
import redis

from recsvc.contract import keys, versions
from recsvc.contract.records import encode_scored
from recsvc.contract.summary import VersionSummary
from recsvc.store.commands import ClusterRecords, PackedRecords, is_cluster, used_memory
from training import catalog_triggers, retention_records, serialize
from training.interactions import Interactions
from training.pipeline import Fitted, Lists, UserBlock, UserLists

log = logging.getLogger(__name__)

PIPELINE_COMMANDS = 200
"""Commands queued before the pipeline is sent (each an MSET of up to MSET_SIZE keys, or similar)."""
MSET_SIZE = 1_000
"""Keys per MSET: one command instead of a thousand is about 8x faster to send."""
CHUNK = 5_000
"""Members per HSET, SADD or ZADD."""
VALUE_PIECE = 16 * 2**20
"""Bytes of a large value sent at a time: the whole of one (600 MB of item factors at 10x RetailRocket) took
longer than the client's socket timeout to send."""
MEMORY_SAMPLE = 500
"""Keys sampled with MEMORY USAGE for the per-user and per-item figures."""
LOCK_TTL_S = 30.0
"""Seconds the publish lock (and the version's heartbeat) lives without a refresh; a send refreshes it."""
SHARDED_LOCK_TTL_S = 3600.0
"""Seconds the lock of a sharded run lives without a refresh: the coordinator takes it, every shard's send and
the finish refresh it, so shards may wait in a queue this long between them; an abandoned run frees it after."""
LOCK_WAIT_S = 600.0
"""Seconds a run waits for another run's publish to finish before it gives up."""
LOCK_POLL_S = 0.2
"""Seconds between tries to take a busy lock."""


def new_version(now: float | None = None) -> str:
    """A sortable, readable version id: UTC time and a random suffix."""
    moment = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def _chunks(values: Iterable, size: int) -> Iterator[list]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


class VersionWriter:
    """Queues one version's keys on a pipeline; ``commit`` makes it the served one, ``abort`` deletes it.

    Holds the publish lock from the start to the end of ``commit`` or ``abort``; records what it wrote
    (single keys, collection sizes, the first and last key of every MSET) for the manifest checked before the switch.
    Given the ``token`` of a staged version's lock (a shard of a sharded run, or its finish), it resumes that
    version instead: ``versions.StagingGone`` or ``versions.LockLost`` when it is no longer staged or the token lost
    the lock.
    """

    def __init__(
        self,
        r: redis.Redis,
        version: str,
        lock_ttl_s: float | None = None,
        lock_wait_s: float | None = None,
        token: str | None = None,
    ):
        self.r = r
        self.version = version
        self.token = token or f"{version}:{secrets.token_hex(8)}"
        self.ttl_ms = int(1000 * (LOCK_TTL_S if lock_ttl_s is None else lock_ttl_s))
        self.switched = False
        self.listed: list[str] = []
        self.sizes: dict[str, list] = {}
        self.families: dict[str, int] = {}
        self.sample: list[str] = []
        self.pipe = r.pipeline(transaction=False)
        self.records = ClusterRecords(r) if is_cluster(r) else PackedRecords(r)
        if token is not None:
            versions.check_staged(r, version, token, self.ttl_ms)
            return
        versions.upgrade_layout(r)
        self._lock(LOCK_WAIT_S if lock_wait_s is None else lock_wait_s)
        try:
            versions.queue_refresh(self.pipe, version, self.token, self.ttl_ms)  # the heartbeat, before staging
            self.pipe.sadd(keys.STAGING, version)
            self.pipe.execute()
            versions.clean_staging(r)
        except BaseException:
            self.abort()
            raise

    def _lock(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while not versions.acquire_lock(self.r, self.token, self.ttl_ms):
            if time.monotonic() >= deadline:
                holder, ttl = versions.lock_holder(self.r)
                raise versions.LockBusy(
                    f"another training ({holder}) is publishing; waited {wait_s:.0f} s "
                    f"(its lock expires in {max(ttl, 0) / 1000:.0f} s unless it is refreshed)"
                )
            time.sleep(LOCK_POLL_S)

    def _send(self) -> None:
        """Send the queued commands and refresh the lock; raise LockLost if another run has it."""
        self.records.send()
        versions.queue_refresh(self.pipe, self.version, self.token, self.ttl_ms)
        if self.pipe.execute()[-1] != 1:
            raise versions.LockLost(
                f"the publish lock of version {self.version} expired (not refreshed within {self.ttl_ms / 1000:.0f} s) "
                "and may be another run's; not served"
            )

    def _queued(self) -> None:
        if len(self.pipe) + self.records.queued_commands >= PIPELINE_COMMANDS:
            self._send()

    def set(self, key: str, value: bytes | str) -> None:
        """SET a value; a large one in pieces (SET, then APPENDs), each sent on its own within the client's
        timeout, so a large value is never queued whole beside itself (600 MB of factors at 10x RetailRocket)."""
        data = value.encode() if isinstance(value, str) else value
        self.pipe.set(key, data[:VALUE_PIECE])
        for start in range(VALUE_PIECE, len(data), VALUE_PIECE):
            self._send()
            self.pipe.append(key, data[start : start + VALUE_PIECE])
        self.listed.append(key)
        if len(data) > VALUE_PIECE:
            self._send()
        else:
            self._queued()

    def set_many(self, pairs: Iterable[tuple[str, bytes | str]], family: str = "records") -> int:
        """SET each (key, value), MSET_SIZE keys a command; returns how many."""
        count = 0
        for chunk in _chunks(pairs, MSET_SIZE):
            self.records.add(chunk)
            self.sample.append(chunk[0][0])
            self.sample.append(chunk[-1][0])
            self._queued()
            count += len(chunk)
        self.families[family] = self.families.get(family, 0) + count
        return count

    def hash(self, key: str, fields: Iterable[tuple[str, str]]) -> None:
        n = 0
        for chunk in _chunks(fields, CHUNK):
            mapping = dict(chunk)
            self.pipe.hset(key, mapping=mapping)
            n += len(mapping)
            self._queued()
        self.sizes[key] = ["hash", n]

    def set_members(self, key: str, members: Iterable) -> None:
        n = 0
        for chunk in _chunks(members, CHUNK):
            self.pipe.sadd(key, *chunk)
            n += len(set(chunk))
            self._queued()
        self.sizes[key] = ["set", n]

    def sorted_set(self, key: str, members: list[str], scores: list[float]) -> None:
        n = 0
        for chunk in _chunks(zip(members, scores), CHUNK):
            mapping = {m: float(s) for m, s in chunk}
            self.pipe.zadd(key, mapping)
            n += len(mapping)
            self._queued()
        self.sizes[key] = ["zset", n]

    def flush(self) -> None:
        self._send()

    def manifest(self) -> dict:
        """What this version holds, as ``versions.missing`` checks it."""
        return {"keys": self.listed, "sizes": self.sizes, "families": self.families}

    def part(self) -> dict:
        """What this writer wrote, for another process's ``merge``: the manifest and the sampled record keys."""
        return {**self.manifest(), "sample": self.sample}

    def merge(self, part: dict) -> None:
        """Count what another process wrote into this version (its ``part``) as written by this writer."""
        self.listed += part["keys"]
        self.sizes |= part["sizes"]
        for family, n in part["families"].items():
            self.families[family] = self.families.get(family, 0) + n
        self.sample += part["sample"]

    def commit(self, summary: VersionSummary, keep: int) -> list[str]:
        """Write the summary and the manifest, check the version is whole, then switch the served pointer.

        Returns the versions deleted by the trim; raises LockLost or IncompleteVersion without switching."""
        self.set(keys.meta(self.version), summary.encode())
        self.pipe.set(keys.manifest(self.version), json.dumps(self.manifest()))
        self.flush()
        problems = versions.missing(self.r, self.version, self.sample)
        if problems:
            shown = ", ".join(problems[:3]) + (f" and {len(problems) - 3} more" if len(problems) > 3 else "")
            raise versions.IncompleteVersion(f"version {self.version} is incomplete ({shown}); not served")
        versions.switch(self.r, self.version, self.token, time.time())
        self.switched = True
        try:
            return versions.trim(self.r, keep)
        finally:
            versions.release_lock(self.r, self.token)

    def detach(self) -> None:
        """Drop what is queued and leave the version and the lock as they are (a shard that failed: run it again)."""
        self.pipe.reset()
        self.records.discard()

    def abort(self) -> None:
        """Delete what was written and free the lock; the served version is untouched."""
        self.pipe.reset()
        self.records.discard()
        try:
            if not self.switched:
                versions.delete_version(self.r, self.version)
        finally:
            versions.release_lock(self.r, self.token)


def publish(
    r: redis.Redis,
    lists: Lists,
    summary: VersionSummary,
    keep: int,
    lock_ttl_s: float | None = None,
    lock_wait_s: float | None = None,
    run_started: float | None = None,
) -> tuple[str, VersionSummary]:
    """Write every list under a new version and serve it; returns the version and its summary, as stored.

    The summary stored is ``summary`` with the version, the trigger list sizes, Redis memory and the publish
    time added, and with ``run_started`` (``time.perf_counter`` at the run's start) the run's total time until
    the summary is written. Waits for another run's publish (up to ``lock_wait_s``); raises
    ``versions.PublishFailed`` when this one could not be served."""
    version = new_version()
    writer = VersionWriter(r, version, lock_ttl_s=lock_ttl_s, lock_wait_s=lock_wait_s)
    try:
        started = time.perf_counter()
        memory_before = used_memory(r)
        write_model(writer, lists, summary)
        user_ids = lists.dataset.events.user_ids
        n_users = write_users(writer, user_ids, lists.inter, lists)
        writer.flush()
        memory = summary.redis_memory
        memory.used_bytes = used_memory(r) - memory_before
        memory.bytes_per_user_key, memory.user_keys = memory_per_user(
            r, [keys.user(version, u) for u in _sampled(user_ids)], n_users
        )
        timings = summary.timings_s = summary.timings_s or {}
        timings["publish"] = round(time.perf_counter() - started, 3)
        if run_started is not None:
            timings["total"] = round(time.perf_counter() - run_started, 3)
        writer.commit(summary, keep=keep)
    except BaseException:
        writer.abort()
        raise
    return version, summary


@dataclass
class Staged:
    """A version a sharded run staged: everything but the user records is written, and its lock is held."""

    version: str
    token: str
    summary: VersionSummary  # the version's summary so far
    part: dict  # what the coordinator wrote (``VersionWriter.part``)
    memory_before: int  # Redis's used memory before the run wrote anything


def stage(r: redis.Redis, fitted: Fitted, summary: VersionSummary, lock_wait_s: float | None = None) -> Staged:
    """Write every list but the user records under a new staged version and keep its publish lock
    (``SHARDED_LOCK_TTL_S``) for the shards and the finish; nothing is served."""
    version = new_version()
    writer = VersionWriter(r, version, lock_ttl_s=SHARDED_LOCK_TTL_S, lock_wait_s=lock_wait_s)
    try:
        started = time.perf_counter()
        memory_before = used_memory(r)
        write_model(writer, fitted, summary)
        writer.flush()
        summary.timings_s = summary.timings_s or {}
        summary.timings_s["publish"] = round(time.perf_counter() - started, 3)
    except BaseException:
        writer.abort()
        raise
    return Staged(version, writer.token, summary, writer.part(), memory_before)


def publish_users(r: redis.Redis, version: str, token: str, user_ids: np.ndarray, blocks: Iterable[UserBlock]) -> dict:
    """Write the users' records into a staged version, resumed with its lock's token, a block of rows at a time
    (``pipeline.user_lists_in_blocks``: first row, interactions, lists); returns what was written
    (``VersionWriter.part``) and how many users got picks. A failure leaves the version staged and the lock held,
    so the shard can run again."""
    writer = VersionWriter(r, version, lock_ttl_s=SHARDED_LOCK_TTL_S, token=token)
    try:
        n_users = with_picks = 0
        for first, inter, users in blocks:
            n_users += write_users(writer, user_ids[first : first + inter.strength.shape[0]], inter, users)
            with_picks += int((users.picks.lengths() > 0).sum())
        writer.flush()
    except BaseException:
        writer.detach()
        raise
    per_key, n = memory_per_user(r, [keys.user(version, u) for u in _sampled(user_ids)], n_users)
    memory = {"bytes_per_user_key": per_key, "user_keys": n}
    return {**writer.part(), "memory": memory, "users_with_picks": with_picks}


def finish(r: redis.Redis, staged: Staged, parts: list[dict], keep: int) -> VersionSummary:
    """Merge the shards' parts into the staged version's manifest, check it whole and serve it; returns its summary.

    A failure deletes the staged version and frees the lock; the served version stays as it was."""
    started = time.perf_counter()
    writer = VersionWriter(r, staged.version, lock_ttl_s=SHARDED_LOCK_TTL_S, token=staged.token)
    try:
        writer.merge(staged.part)
        for part in parts:
            writer.merge(part)
        summary = staged.summary
        memory = [part["memory"] for part in parts]
        n_users = sum(m["user_keys"] for m in memory)
        per_user = sum(m["bytes_per_user_key"] * m["user_keys"] for m in memory) / max(n_users, 1)
        summary.redis_memory.used_bytes = used_memory(r) - staged.memory_before
        summary.redis_memory.bytes_per_user_key, summary.redis_memory.user_keys = round(per_user), n_users
        summary.timings_s = summary.timings_s or {}
        summary.timings_s["finish"] = round(time.perf_counter() - started, 3)
        writer.commit(summary, keep=keep)
    except BaseException:
        writer.abort()
        raise
    return summary


def hold(r: redis.Redis, version: str, token: str, done: tuple[int, dict] | None = None) -> None:
    """Check that a sharded run's version is still staged and its lock held by ``token``, and refresh both;
    with ``done``, (shard number, its part), record that shard as done in the same script.
    Raises ``versions.LockLost`` or ``versions.StagingGone``."""
    ttl_ms = int(SHARDED_LOCK_TTL_S * 1000)
    if done is None:
        versions.check_staged(r, version, token, ttl_ms)
    else:
        versions.check_staged(r, version, token, ttl_ms, shard=done[0], part=json.dumps(done[1]))


def abandon(r: redis.Redis, version: str, token: str) -> None:
    """Delete a staged version and free its lock, if ``token`` still holds it (``versions.LockLost`` if not)."""
    VersionWriter(r, version, lock_ttl_s=SHARDED_LOCK_TTL_S, token=token).abort()


def write_model(writer: VersionWriter, fitted: Fitted, summary: VersionSummary) -> None:
    """Every key of a version but the user records; adds to ``summary`` the version, the lists' chosen fill and
    order, the trigger list sizes and the memory of an item record."""
    write_catalog(writer, fitted)
    item_ids = fitted.dataset.item_ids
    n_items = writer.set_many(
        (
            (keys.item(writer.version, item_ids[i]), record)
            for i, record in serialize.item_records(len(item_ids), fitted.also_bought, fitted.similar)
        ),
        family="items",
    )
    write_foldin(writer, fitted)
    triggers = write_retention(writer, fitted)
    writer.flush()
    summary.version = writer.version
    summary.also_bought_fill = fitted.also_bought_order.order.fill
    summary.category_offers_order = fitted.offers_order.order
    summary.new_items_order = fitted.new_items.to_dict()
    summary.live_share = fitted.config.live_share
    summary.retention.triggers = triggers
    sample = [keys.item(writer.version, i) for i in _sampled(item_ids)]
    summary.redis_memory.bytes_per_item_key = round(memory_per_key(writer.r, sample) or 0)
    summary.redis_memory.item_keys = n_items


def write_users(writer: VersionWriter, user_ids: np.ndarray, inter: Interactions, users: UserLists) -> int:
    """The records of every user with any history (``user_ids`` by code); returns how many."""
    return writer.set_many(
        (
            (keys.user(writer.version, user_ids[u]), record)
            for u, record in serialize.user_records(
                users.picks, users.because, inter.bought, inter.recent, users.offers, users.offer_reasons
            )
        ),
        family="users",
    )


def write_catalog(writer: VersionWriter, lists: Fitted) -> None:
    """Item attributes and the types of the extra ones, hidden items, the category tree and the popular lists."""
    version, data = writer.version, lists.dataset
    writer.hash(keys.attrs(version), ((str(i), a) for i, a in enumerate(data.attrs)))
    writer.hash(keys.attribute_types(version), data.attribute_types.items())
    hidden = np.flatnonzero(~data.catalogue.available).tolist()
    if hidden:
        writer.set_members(keys.unavailable(version), hidden)
    writer.set(
        keys.categories(version),
        json.dumps({"ids": data.category_ids, "parents": data.catalogue.category_parent.tolist()}),
    )
    writer.set(keys.item_events(version), np.asarray(lists.item_events, dtype="<f4").tobytes())
    writer.set(keys.popular(version), encode_scored(*lists.popular.row(0)))
    per_category = lists.popular_in
    writer.set_many(
        (keys.popular(version, data.category_ids[c]), encode_scored(*per_category.row(c)))
        for c in range(per_category.rows)
        if per_category.indptr[c + 1] > per_category.indptr[c]
    )


YTY_ROWS = 262_144
"""Item factors summed into the fold-in's Gram matrix at a time."""


def write_foldin(writer: VersionWriter, lists: Fitted) -> None:
    """What the service needs to fold a new visitor's items into the model at request time."""
    version, config = writer.version, lists.config
    y = np.ascontiguousarray(lists.factors.item_factors, dtype="<f4")
    yty = np.zeros((y.shape[1], y.shape[1]))
    for start in range(0, len(y), YTY_ROWS):  # in float64 a block at a time: no float64 copy of every factor
        block = y[start : start + YTY_ROWS].astype(np.float64)
        yty += block.T @ block
    rows = max(1, keys.FACTORS_PART_BYTES // max(1, y.shape[1] * 4))  # items a part holds
    starts = range(0, max(len(y), 1), rows)
    for part, start in enumerate(starts):
        writer.set(keys.item_factors(version, part), y[start : start + rows].tobytes())
    writer.set(keys.item_ids(version), "\n".join(lists.dataset.item_ids.tolist()))
    writer.set(keys.pool(version), np.asarray(lists.pool, dtype="<u4").tobytes())
    writer.set(
        keys.foldin(version),
        json.dumps(
            {
                "factors": int(y.shape[1]),
                "factor_parts": len(starts),
                "regularization": config.regularization,
                "alpha": config.alpha,
                "event_weights": config.event_weights,
                "yty": yty.tolist(),
            }
        ),
    )


def write_retention(writer: VersionWriter, lists: Fitted) -> dict[str, int]:
    """Buy-again records, profiles and trigger lists; returns each trigger list's size."""
    version, data, retained = writer.version, lists.dataset, lists.retention
    user_ids = data.events.user_ids
    writer.set_many(retention_records.buy_again_records(version, user_ids, retained.buy_again))
    writer.set_many(retention_records.profile_records(version, user_ids, retained.profiles, data.category_ids))
    writer.set_many(retention_records.watcher_records(version, user_ids, data.item_ids, retained.profiles), "watched")
    writer.set(keys.analytics(version), json.dumps(retained.analytics))
    sizes = {}
    for kind, (users, scores) in retention_records.trigger_scores(retained.buy_again, retained.profiles).items():
        if len(users):
            writer.sorted_set(keys.trigger(version, kind), user_ids[users].tolist(), scores.tolist())
        sizes[kind] = len(users)
    config, watched = lists.config, retained.profiles.watched
    for kind, found in catalog_triggers.detect(
        writer.r, data, watched, config.price_drop_share, config.watch_days, time.time()
    ).items():
        if found.changes:
            writer.hash(
                keys.catalog_changes(version, kind), ((str(i), json.dumps(c)) for i, c in found.changes.items())
            )
        if len(found.users):
            writer.sorted_set(keys.trigger(version, kind), user_ids[found.users].tolist(), found.scores.tolist())
        sizes[kind] = len(found.users)
    return sizes


def memory_per_key(r: redis.Redis, keys_sample: list[str]) -> float | None:
    """Average bytes Redis uses for the sampled keys (MEMORY USAGE), None if none given."""
    if not keys_sample:
        return None
    pipe = r.pipeline(transaction=False)
    for key in keys_sample[:MEMORY_SAMPLE]:
        pipe.memory_usage(key, samples=0)
    sizes = [s for s in pipe.execute() if s]
    return sum(sizes) / len(sizes) if sizes else None


def memory_per_user(r: redis.Redis, sample: list[str], n_users: int) -> tuple[int, int]:
    """The memory of a user record (``MEMORY USAGE`` of the sampled keys) and how many were written."""
    return round(memory_per_key(r, sample) or 0), n_users


def _sampled(ids: np.ndarray) -> list:
    """Up to MEMORY_SAMPLE of the ids, drawn the same way every run."""
    rng = random.Random(0)
    return [ids[i] for i in rng.sample(range(len(ids)), min(MEMORY_SAMPLE, len(ids)))]

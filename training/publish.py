"""Every write of a model version: the lists of one run into Redis, then the served pointer, last.

The keys go through a ``VersionWriter`` (``training.version_writer``: batched, under the publish lock, the
version checked whole before the switch), what they hold is ``training.version_contents``. A failed or killed
run leaves nothing served.

A sharded run (``training.shards``) splits this across processes: ``stage`` writes everything but the
user records and keeps the lock (``SHARDED_LOCK_TTL_S``); each shard resumes the version with the lock's
token, writes its users' records and keeps its part of the manifest in Redis; the finish merges the
parts, checks the whole version and switches, as ``commit`` does for a single process.
"""

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import redis

from recsvc.contract import keys, versions
from recsvc.contract.summary import VersionSummary
from recsvc.store.commands import used_memory
from training.pipeline import Fitted, Lists, UserBlock
from training.version_contents import memory_per_user, sampled, write_model, write_users
from training.version_writer import VersionWriter

SHARDED_LOCK_TTL_S = 3600.0
"""Seconds the lock of a sharded run lives without a refresh: the coordinator takes it, every shard's send and
the finish refresh it, so shards may wait in a queue this long between them; an abandoned run frees it after."""


def new_version(now: float | None = None) -> str:
    """A sortable, readable version id: UTC time and a random suffix."""
    moment = datetime.fromtimestamp(now if now is not None else time.time(), tz=timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


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
            r, [keys.user(version, u) for u in sampled(user_ids)], n_users
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
    per_key, n = memory_per_user(r, [keys.user(version, u) for u in sampled(user_ids)], n_users)
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

"""The writer of one version's keys: batched on a pipeline, fenced by the publish lock, checked before the switch.

All keys of a version are queued on one non-transactional pipeline, sent a few thousand commands at a time;
``recsvc:current`` switches only once everything is written, so a reader never sees a half-written version.

Two runs at once: the writer first takes the publish lock (``keys.PUBLISH_LOCK``, a token with a
TTL refreshed at every send), so a second run waits for the first to finish. A run that stalls past
the TTL loses the lock: its next send or its switch raises ``versions.LockLost`` and it deletes what
it wrote. Before the switch the writer stores a manifest of what it wrote and checks it
(``versions.missing``); the switch itself checks the token in the same script.
"""

import json
import secrets
import time
from collections.abc import Iterable, Iterator
from itertools import islice

import redis

from recsvc.contract import keys, versions
from recsvc.contract.summary import VersionSummary
from recsvc.store.commands import ClusterRecords, PackedRecords, is_cluster

PIPELINE_COMMANDS = 200
"""Commands queued before the pipeline is sent (each an MSET of up to MSET_SIZE keys, or similar)."""
MSET_SIZE = 1_000
"""Keys per MSET: one command instead of a thousand is about 8x faster to send."""
CHUNK = 5_000
"""Members per HSET, SADD or ZADD."""
VALUE_PIECE = 16 * 2**20
"""Bytes of a large value sent at a time: the whole of one (600 MB of item factors at 10x RetailRocket) took
longer than the client's socket timeout to send."""
LOCK_TTL_S = 30.0
"""Seconds the publish lock (and the version's heartbeat) lives without a refresh; a send refreshes it."""
LOCK_WAIT_S = 600.0
"""Seconds a run waits for another run's publish to finish before it gives up."""
LOCK_POLL_S = 0.2
"""Seconds between tries to take a busy lock."""


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

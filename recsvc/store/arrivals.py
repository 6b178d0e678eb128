"""Items added to a published version by a catalog update, as Redis holds them.

What an arrival is and where its content places it is the operator's action's (``recsvc.admin.arrivals``); this
reads what placing needs (the version's summary, categories, attributes, hidden items and events per item) and
writes the arrivals: their records and their neighbours' similar lists, then their attributes in the catalog
transaction that bumps ``catalog_rev``. One update adds items to a version at a time (``exclusive``): each reads
and rewrites records another would rewrite too.
"""

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import redis

from recsvc.contract import content, keys
from recsvc.contract.records import decode_categories, decode_item, encode_item
from recsvc.contract.summary import VersionSummary
from recsvc.store.commands import get_many
from recsvc.store.wire import Wire, guarded

CHUNK = 1_000
LOCK_TTL_S = 600
"""How long the arrivals lock outlives an update that died holding it."""
LOCK_WAIT_S = 120
"""How long an update waits for another one on the same version before it gives up."""


class Busy(RuntimeError):
    """Another catalog update of the version held the arrivals lock too long."""


@dataclass
class Placing:
    """What placing arrivals in a version reads."""

    summary: VersionSummary
    parents: dict[str, str | None]  # category -> its parent
    trained_items: int  # items of the version at training (the first index an arrival may take)
    attrs: dict[int, dict]  # index -> catalog attributes, of every item
    events: np.ndarray  # events per item index at training
    hidden: set[int]


@dataclass
class ArrivalWrite:
    """Everything adding arrivals writes."""

    records: dict[str, bytes]  # arrival id -> its item record
    shown_by: dict[str, list[int]]  # neighbour id -> the arrivals that enter its similar list, nearest first
    entries: dict[int, dict]  # arrival index -> its attributes
    hidden: list[int]  # arrivals added as unavailable


class ArrivalRecords:
    """Reads a version for placing arrivals, and writes them."""

    def __init__(self, wire: Wire):
        self._wire = wire

    @contextmanager
    def exclusive(self, version: str) -> Iterator[None]:
        """Hold the version's arrivals lock (``keys.arrivals_lock``) while the block runs; Busy after
        ``LOCK_WAIT_S``."""
        lock = self._wire.client.lock(keys.arrivals_lock(version), timeout=LOCK_TTL_S, blocking_timeout=LOCK_WAIT_S)
        with self._wire.mapped():
            taken = lock.acquire()
        if not taken:
            raise Busy(f"another catalog update of version {version} is running; try again when it ends")
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:  # expired and taken by another: theirs now
                pass

    @guarded
    def placing(self, version: str) -> Placing:
        """The version's summary, categories, attributes, hidden items and events per item."""
        client = self._wire.client
        summary = VersionSummary.decode(client.get(keys.meta(version)))
        trained = summary.counts.items or 0
        return Placing(
            summary=summary,
            parents=decode_categories(client.get(keys.categories(version))),
            trained_items=trained,
            attrs={int(i): json.loads(v) for i, v in client.hgetall(keys.attrs(version)).items()},
            events=np.frombuffer(client.get(keys.item_events(version)) or b"", dtype="<f4"),
            hidden={int(i) for i in client.smembers(keys.unavailable(version))},
        )

    @guarded
    def reserve(self, version: str, count: int) -> int:
        """The first of ``count`` new item indices, reserved for this update alone."""
        return int(self._wire.client.incrby(keys.added_items(version), count)) - count

    @guarded
    def write(self, version: str, arrivals: ArrivalWrite) -> None:
        """The arrivals' records and their neighbours' similar lists, then their attributes and hidden state in the
        catalog transaction."""
        client = self._wire.client
        pipe = self._wire.pipeline(transaction=False)
        for item_id, record in arrivals.records.items():
            pipe.set(keys.item(version, item_id), record)
        neighbours = list(arrivals.shown_by)
        for start in range(0, len(neighbours), CHUNK):
            chunk = neighbours[start : start + CHUNK]
            for item_id, raw in zip(chunk, get_many(client, [keys.item(version, i) for i in chunk])):
                if raw:
                    rec = decode_item(raw)
                    similar = inserted(list(rec.similar), list(rec.similar_scores), arrivals.shown_by[item_id])
                    record = encode_item(rec.index, rec.also_bought, rec.also_bought_scores, *similar)
                    pipe.set(keys.item(version, item_id), record)
        pipe.execute()
        catalog = self._wire.pipeline(transaction=True)  # the keys of one hash slot: one transaction on a cluster too
        catalog.hset(keys.attrs(version), mapping=_as_json(arrivals.entries))
        if arrivals.hidden:
            catalog.sadd(keys.unavailable(version), *arrivals.hidden)
        catalog.incr(keys.catalog_rev(version))
        catalog.execute()


def inserted(items: list[int], scores: list[float], added: list[int]) -> tuple[list[int], list[float]]:
    """A ranked list with the added items at ``NEW_ITEM_SLOT`` (the last ones added highest), each scored as the
    entry it moves down (or the last score), so the list stays in order."""
    for index in reversed(added):
        if index in items:
            continue
        slot = min(content.NEW_ITEM_SLOT, len(items))
        score = scores[slot] if slot < len(scores) else (scores[-1] if scores else 0.0)
        items.insert(slot, index)
        scores.insert(slot, score)
    return items, scores


def _as_json(entries: Mapping[int, dict]) -> dict[str, str]:
    return {str(i): json.dumps(e, separators=(",", ":")) for i, e in entries.items()}

"""ModelStore's reads within a version and its one write (posted events), on a real Redis."""

import pytest
import redis

from recsvc.contract import keys, records
from recsvc.read.live import LIVE_LENGTH
from recsvc.store import ModelStore, StoreUnavailable


def test_user_ids_come_in_chunks_and_cover_every_user_of_the_version(r):
    for n in range(7):
        r.set(keys.user("v1", f"u{n}"), records.encode_user())
    r.set(keys.user("v2", "other"), records.encode_user())
    chunks = list(ModelStore(r).user_ids("v1", chunk=3))
    assert all(len(c) <= 3 for c in chunks)
    assert sorted(u for c in chunks for u in c) == [f"u{n}" for n in range(7)]


def test_users_by_id_reads_records_and_none_for_users_without_one(r):
    r.set(keys.user("v1", "known"), records.encode_user(bought=[4]))
    known, unknown = ModelStore(r).users_by_id("v1", ["known", "unknown"])
    assert list(known.bought) == [4] and unknown is None
    assert ModelStore(r).users_by_id("v1", []) == []


def test_append_events_writes_the_stream_and_bounded_live_lists(r):
    events = [
        {"user_id": "u", "item_id": f"i{n}", "event": "view", "timestamp": "1", "quantity": "1"}
        for n in range(LIVE_LENGTH + 5)
    ]
    ModelStore(r).append_events(events, maxlen=1_000)
    assert r.xlen(keys.EVENTS_STREAM) == LIVE_LENGTH + 5
    assert r.llen(keys.live("u")) == LIVE_LENGTH and r.ttl(keys.live("u")) > 0
    newest = r.lindex(keys.live("u"), 0)
    assert newest is not None and newest.startswith(f"0i{LIVE_LENGTH + 4}\t".encode())  # newest first, then arrival


def test_redis_down_is_store_unavailable():
    down = ModelStore(redis.Redis(port=1, socket_connect_timeout=0.1))
    with pytest.raises(StoreUnavailable):
        down.append_events([{"user_id": "u", "item_id": "i", "event": "view"}], maxlen=10)
    with pytest.raises(StoreUnavailable):
        list(down.user_ids("v1"))

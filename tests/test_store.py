"""ModelStore's reads within a version and its one write (posted events), on a real Redis."""

import pytest
import redis

from recsvc.contract import keys, records
from recsvc.contract.live import LIVE_LENGTH
from recsvc.store.errors import RedisStalled, StoreError, StoreFull, StoreUnavailable
from recsvc.store.wire import Wire
from tests.gateways import model_store, steering_records


def test_user_ids_come_in_chunks_and_cover_every_user_of_the_version(r):
    for n in range(7):
        r.set(keys.user("v1", f"u{n}"), records.encode_user())
    r.set(keys.user("v2", "other"), records.encode_user())
    chunks = list(model_store(r).user_ids("v1", chunk=3))
    assert all(len(c) <= 3 for c in chunks)
    assert sorted(u for c in chunks for u in c) == [f"u{n}" for n in range(7)]


def test_users_by_id_reads_records_and_none_for_users_without_one(r):
    r.set(keys.user("v1", "known"), records.encode_user(bought=[4]))
    known, unknown = model_store(r).users_by_id("v1", ["known", "unknown"])
    assert list(known.bought) == [4] and unknown is None
    assert model_store(r).users_by_id("v1", []) == []


def test_append_events_writes_the_stream_and_bounded_live_lists(r):
    events = [
        {"user_id": "u", "item_id": f"i{n}", "event": "view", "timestamp": "1", "quantity": "1"}
        for n in range(LIVE_LENGTH + 5)
    ]
    model_store(r).append_events(events, maxlen=1_000)
    assert r.xlen(keys.EVENTS_STREAM) == LIVE_LENGTH + 5
    assert r.llen(keys.live("u")) == LIVE_LENGTH and r.ttl(keys.live("u")) > 0
    newest = r.lindex(keys.live("u"), 0)
    assert newest is not None and newest.startswith(f"0i{LIVE_LENGTH + 4}\t".encode())  # newest first, then arrival


def test_redis_down_is_store_unavailable():
    down = model_store(redis.Redis(port=1, socket_connect_timeout=0.1))
    with pytest.raises(StoreUnavailable):
        down.append_events([{"user_id": "u", "item_id": "i", "event": "view"}], maxlen=10)
    with pytest.raises(StoreUnavailable):
        list(down.user_ids("v1"))


def test_a_redis_error_leaves_the_store_mapped_once():
    """One mapping (it was in four places): a write refused for memory, a script's too (Redis reports it as a
    script error), is full; a refused connection opens the breaker; any other refusal is the store's error."""
    wire = Wire(redis.Redis(port=1, socket_connect_timeout=0.1))
    script = redis.ResponseError("Error running script: -OOM command not allowed when used memory > 'maxmemory'.")
    assert type(wire.translate(script)) is StoreFull
    assert type(wire.translate(redis.exceptions.OutOfMemoryError("OOM"))) is StoreFull
    assert type(wire.translate(redis.ResponseError("WRONGTYPE Operation against a key"))) is StoreError
    assert not wire.breaker.is_open
    assert type(wire.translate(redis.ConnectionError("refused"))) is StoreUnavailable and wire.breaker.is_open


def test_every_gateway_of_a_store_shares_its_breaker():
    """A timeout met by the rules' gateway fails the model's reads at once too: one breaker per process."""
    store = model_store(redis.Redis(port=1, socket_connect_timeout=0.1))
    with pytest.raises(StoreUnavailable):
        store.steering_records.read()
    with pytest.raises(RedisStalled):
        store.version()
    with pytest.raises(RedisStalled):
        store.reports.counts()


def test_the_rules_gateway_reads_one_state_with_the_published_versions(r):
    records = steering_records(r)
    assert records.read() == records.read(published=False)
    assert records.read().published is None and records.read(published=True).published == frozenset()
    records.add_rules({"default/a": '{"name": "a", "type": "diversity"}'})
    r.zadd(keys.VERSIONS, {"v1": 1.0})
    stored = records.read(published=True)
    assert stored.rev == b"1" and stored.rules == {b"default/a": b'{"name": "a", "type": "diversity"}'}
    assert stored.published == frozenset({"v1"})

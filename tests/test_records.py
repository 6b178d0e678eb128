"""The binary records shared by trainer and service, and the key schema."""

import numpy as np
import pytest

from recsvc.contract import keys, records
from training import serialize
from training.ragged import Ragged, top_per_row


def test_user_record_round_trip():
    data = records.encode_user(
        picks=[5, 3],
        scores=[0.5, 0.25],
        because=[1, records.NO_ITEM],
        bought=[1],
        recent=[7, 8, 9],
        offer_categories=[2],
        offer_scores=[3.5],
        offer_reasons=[records.VIEWED_NOT_BOUGHT],
    )
    user = records.decode_user(data)
    assert list(user.picks) == [5, 3] and list(user.scores) == [0.5, 0.25]
    assert list(user.because) == [1, records.NO_ITEM] and list(user.bought) == [1]
    assert list(user.recent) == [7, 8, 9] and list(user.offer_categories) == [2]
    assert list(user.offer_reasons) == [0] and list(user.offer_scores) == [3.5]


def test_a_users_record_stays_small():
    data = records.encode_user(picks=range(50), scores=[0.1] * 50, because=range(50), bought=range(5), recent=range(20))
    assert len(data) <= 9 + 50 * 12 + 25 * 4


def test_item_and_list_round_trip():
    item = records.decode_item(records.encode_item(42, [1, 2], [0.9, 0.8], [3], [0.7]))
    assert item.index == 42 and list(item.also_bought) == [1, 2] and list(item.similar) == [3]
    items, scores = records.decode_scored(records.encode_scored(np.array([4, 5]), np.array([2.0, 1.0])))
    assert list(items) == [4, 5] and list(scores) == [2.0, 1.0]


def test_profile_round_trip():
    full = records.Profile(
        segment="repeat",
        at_risk=True,
        orders=3,
        spend=41.5,
        spend_unit="price",
        top_categories=("coffee", "tea"),
        first_order=100,
        last_order=900,
        usual_interval_days=12.5,
        at_risk_since=1_000,
        cart=(4, 7),
        cart_at=950,
        interest=("tv",),
        interest_at=960,
    )
    assert records.decode_profile(records.encode_profile(full)) == full
    cart_only = records.Profile(
        segment="new", at_risk=False, orders=0, spend=0.0, spend_unit="items", top_categories=(), cart=(2,), cart_at=5
    )
    assert records.decode_profile(records.encode_profile(cart_only)) == cart_only


def test_a_profile_is_json_without_its_unset_fields():
    profile = records.Profile(
        segment="new", at_risk=False, orders=0, spend=0.0, spend_unit="items", top_categories=(), cart=(2,), cart_at=5
    )
    assert records.encode_profile(profile) == (
        b'{"segment":"new","at_risk":false,"orders":0,"spend":0.0,'
        b'"spend_unit":"items","top_categories":[],"cart":[2],"cart_at":5}'
    )
    assert records.decode_profile(
        b'{"segment":"vip","at_risk":false,"orders":9,"spend":1.0,"spend_unit":"price",'
        b'"top_categories":["a"],"added_later":1}'
    ).top_categories == ("a",)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        records.encode_user(picks=[1, 2], scores=[0.5], because=[1, 2])


def test_the_trainers_fast_encoder_writes_the_same_bytes():
    rows = 4
    picks = top_per_row(np.array([0, 0, 2]), np.array([5, 6, 7]), np.array([0.9, 0.8, 0.7], np.float32), rows, 10)
    because = np.array([1, -1, 3])
    bought = top_per_row(np.array([0, 1]), np.array([1, 2]), np.array([2.0, 1.0]), rows, 10)
    recent = top_per_row(np.array([0, 2, 2]), np.array([8, 9, 3]), np.array([3.0, 2.0, 1.0]), rows, 10)
    offers = top_per_row(np.array([2]), np.array([4]), np.array([1.5], np.float32), rows, 10)
    reasons = np.array([1], np.uint8)
    out = dict(serialize.user_records(picks, because, bought, recent, offers, reasons))
    assert set(out) == {0, 1, 2}  # user 3 has no history
    assert out[0] == records.encode_user([5, 6], [0.9, 0.8], [1, records.NO_ITEM], [1], [8])
    assert out[2] == records.encode_user([7], [0.7], [3], [], [9, 3], [4], [1.5], [1])
    empty = Ragged.empty(2)
    items = dict(serialize.item_records(2, empty, empty))
    assert records.decode_item(items[1]).index == 1


def test_key_strings_are_pinned():
    # readers and writers of other versions depend on these exact strings
    assert keys.CURRENT == "recsvc:{control}:current"
    assert keys.VERSIONS == "recsvc:{control}:versions"
    assert keys.user("v1", "alice") == "recsvc:v:v1:u:alice"
    assert keys.item("v1", "sku-1") == "recsvc:v:v1:i:sku-1"
    assert keys.attrs("v1") == "recsvc:v:v1:{v1:catalog}:attrs"
    assert keys.attribute_types("v1") == "recsvc:v:v1:{v1:catalog}:attribute_types"
    assert keys.popular("v1") == "recsvc:v:v1:popular"
    assert keys.popular("v1", "shoes") == "recsvc:v:v1:popular:shoes"
    assert keys.meta("v1").startswith(keys.version_prefix("v1"))
    assert keys.EVENTS_STREAM == "recsvc:events"
    assert keys.live("alice") == "recsvc:live:alice"
    assert keys.item_factors("v1") == "recsvc:v:v1:item_factors"
    assert keys.item_ids("v1") == "recsvc:v:v1:item_ids"
    assert keys.pool("v1") == "recsvc:v:v1:pool"
    assert keys.item_events("v1") == "recsvc:v:v1:item_events"
    assert keys.added_items("v1") == "recsvc:v:v1:{v1:catalog}:added_items"
    assert keys.foldin("v1") == "recsvc:v:v1:foldin"
    assert keys.manifest("v1") == "recsvc:v:v1:{control}:manifest"
    assert keys.PUBLISH_LOCK == "recsvc:{control}:publish:lock"
    assert keys.staging_alive("v1") == "recsvc:{control}:staging:v1:alive"
    assert keys.shards("v1") == "recsvc:v:v1:{control}:shards"


def test_keys_seen_together_share_a_cluster_slot():
    from redis.crc import key_slot

    def slot(key: str) -> int:
        return key_slot(key.encode())

    control = {slot(k) for k in (keys.CURRENT, keys.VERSIONS, keys.STAGING, keys.PUBLISH_LOCK)}
    control |= {slot(keys.staging_alive("v1")), slot(keys.meta("v1")), slot(keys.manifest("v1"))}
    control.add(slot(keys.shards("v1")))
    assert len(control) == 1  # the switch script and a shard's record see them all
    catalog = (keys.attrs, keys.unavailable, keys.catalog_rev, keys.attribute_types)
    assert len({slot(key("v1")) for key in catalog}) == 1  # a catalog update changes them in one transaction
    assert slot(keys.attrs("v1")) != slot(keys.attrs("v2"))  # catalogs of versions spread
    assert len({slot(keys.user("v1", f"user-{n}")) for n in range(100)}) > 90  # records spread


def test_the_fast_encoder_matches_record_by_record_on_random_lists(monkeypatch):
    monkeypatch.setattr(serialize, "CHUNK_ROWS", 7)  # several chunks
    rng = np.random.default_rng(3)
    rows = 40

    def ragged(max_len, dtype=np.float32):
        counts = rng.integers(0, max_len + 1, rows)
        indptr = np.concatenate(([0], np.cumsum(counts)))
        return Ragged(indptr, rng.integers(0, 10_000, indptr[-1]), rng.random(indptr[-1]).astype(dtype))

    picks, bought, recent, offers = ragged(6), ragged(3), ragged(4), ragged(3)
    because = rng.integers(-1, 10_000, len(picks.values))
    reasons = rng.integers(0, 2, len(offers.values)).astype(np.uint8)
    out = dict(serialize.user_records(picks, because, bought, recent, offers, reasons))
    for u in range(rows):
        if not (bought.lengths()[u] or recent.lengths()[u]):
            assert u not in out
            continue
        p = slice(picks.indptr[u], picks.indptr[u + 1])
        o = slice(offers.indptr[u], offers.indptr[u + 1])
        expected = records.encode_user(
            picks.values[p],
            picks.scores[p],
            np.where(because[p] < 0, records.NO_ITEM, because[p]),
            bought.row(u)[0],
            recent.row(u)[0],
            offers.values[o],
            offers.scores[o],
            reasons[o],
        )
        assert out[u] == expected
    items = dict(serialize.item_records(rows, picks, bought))
    for i in range(rows):
        assert items[i] == records.encode_item(i, *picks.row(i), *bought.row(i))

"""A known user's views since training move their lists at the next request (recsvc/read/live_picks.py)."""

import random
import time

import pytest
import redis

from recsvc.contract import keys
from recsvc.contract.live import Live
from recsvc.read.live_picks import interleaved
from tests.conftest import AUTH
from tests.gateways import model_store
from tests.shop import CATALOG

ELECTRONICS = {item for item, category, *_ in CATALOG if category in ("tv", "tv-accessories")}
RUNNER = "runner-0"  # bought shoe-1, shirt-1 and socks: stored picks from sports, no electronics at the top
TODAY = [{"user_id": RUNNER, "item_id": item, "event": "view"} for item in ("tv-1", "tv-2", "mount-1")]

pytestmark = pytest.mark.usefixtures("tracked_r")  # the known shop; events and live lists deleted after each test


def ids(answer: dict) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def picks(client, user: str = RUNNER, limit: int = 4) -> dict:
    answer = client.get(f"/v1/users/{user}/recommendations?limit={limit}", headers=AUTH)
    assert answer.status_code == 200
    return {name: value for name, value in answer.json.items() if name != "rec_id"}  # signed anew every time


def offers(client, user: str = RUNNER) -> list[dict]:
    return client.get(f"/v1/users/{user}/category-offers?limit=3&items_per_category=2", headers=AUTH).json["offers"]


def test_views_of_a_new_department_bring_its_items_and_leave_when_the_events_expire(client, tracked_r):
    stored = picks(client)
    assert stored["source"] == "personalized" and not ELECTRONICS & set(ids(stored))
    assert client.post("/v1/events", headers=AUTH, json=TODAY).status_code == 200
    live = picks(client)
    assert live["source"] == "personalized"
    assert ELECTRONICS & set(ids(live))  # the department browsed today, at the next request
    assert set(ids(live)) & set(ids(stored))  # beside the stored picks, not instead of them
    assert "shoe-1" not in ids(live)  # bought before: never back
    tracked_r.pexpire(keys.live(RUNNER), 1)  # the list's time is up (30 days after the last event)
    deadline = time.monotonic() + 5
    while tracked_r.exists(keys.live(RUNNER)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert picks(client) == stored


def test_the_batch_and_the_category_offers_follow_the_same_views(client):
    stored_offers = [offer["category_id"] for offer in offers(client)]
    assert "tv" not in stored_offers
    client.post("/v1/events", headers=AUTH, json=TODAY)
    batch = client.post("/v1/recommendations/batch", headers=AUTH, json={"user_ids": [RUNNER], "limit": 4}).json
    assert ids(batch["results"][0]) == ids(picks(client))
    mine = {offer["category_id"]: offer for offer in offers(client)}
    assert "tv" in mine and mine["tv"]["reason"] == {"type": "viewed_not_bought"}
    assert set(ids(mine["tv"])) <= {"tv-1", "tv-2"}


def test_a_reason_names_the_item_viewed_today_only_for_the_user(client):
    client.post("/v1/events", headers=AUTH, json=[{"user_id": RUNNER, "item_id": "tv-1", "event": "view"}])
    named = client.get(f"/v1/users/{RUNNER}/recommendations?limit=10", headers=AUTH).json["items"]
    assert {"type": "because_you_viewed", "item_id": "tv-1"} in [i["reason"] for i in named]
    anonymous = client.get(f"/v1/users/{RUNNER}/recommendations?limit=10").json["items"]
    assert "tv-1" not in [i["item_id"] for i in anonymous]  # not offered again to a caller who is not the user
    assert all("item_id" not in i["reason"] for i in anonymous)


def test_a_user_without_events_since_training_gets_exactly_the_stored_answer(client, tracked_r):
    stored = picks(client, limit=10)
    stored_offers = offers(client)
    # an event that arrived before the version was trained (an entry without its arrival: as old as can be)
    tracked_r.lpush(keys.live(RUNNER), b"0tv-1")
    assert picks(client, limit=10) == stored and offers(client) == stored_offers
    client.post("/v1/events", headers=AUTH, json=[{"user_id": "someone-else", "item_id": "tv-1", "event": "view"}])
    assert picks(client, limit=10) == stored


def test_a_purchase_alone_only_removes_the_item():
    assert Live.decode([b"2shoe-1\t1700000000"]).browsed_since(0) == []


@pytest.mark.parametrize(
    "share, merged",
    [
        (0.0, "s1 s2 s3 s4"),
        (0.5, "l1 s1 l2 s2 l3 s3 s4"),
        (0.25, "s1 l1 s2 s3 s4 l2 l3"),
        (1.0, "l1 l2 l3 s1 s2 s3 s4"),
    ],
)
def test_interleaved_gives_the_live_candidates_their_share_of_the_places(share, merged):
    assert " ".join(interleaved(["s1", "s2", "s3", "s4"], ["l1", "l2", "l3"], share)) == merged


def test_live_entries_carry_their_arrival_and_read_old_ones():
    live = Live.decode([b"0tv-1\t1700000100", b"1tv-2\t1700000000", b"0shoe-1"])
    assert live.events == ((0, "tv-1"), (1, "tv-2"), (0, "shoe-1"))
    assert live.browsed_since(1_700_000_050) == [(0, "tv-1")]
    assert live.browsed_since(0) == [(0, "tv-1"), (1, "tv-2")]  # an entry without arrival is older than any version


def test_redis_entries_round_trip(r: redis.Redis):
    event = {"user_id": "u", "item_id": "tv-1", "event": "addtocart", "timestamp": "1", "quantity": "1"}
    before = int(time.time())
    model_store(r).append_events([event], maxlen=10)
    live = Live.decode(r.lrange(keys.live("u"), 0, -1))
    assert live.events == ((1, "tv-1"),) and before <= live.arrivals[0] <= time.time()


def test_interleaved_is_the_order_of_the_ranks_and_reads_no_further_than_it_gives():
    rng = random.Random(7)
    for _ in range(500):
        share = rng.choice((0.1, 0.25, 0.33, 0.5, 0.7, rng.random()))
        stored = [f"s{n}" for n in range(rng.randrange(8))]
        live = [f"l{n}" for n in range(rng.randrange(8))]
        keyed = [((n + 0.5) / share, 0, x) for n, x in enumerate(live)]
        keyed += [((n + 0.5) / (1 - share), 1, x) for n, x in enumerate(stored)]
        assert list(interleaved(stored, live, share)) == [x for *_, x in sorted(keyed)]
    read: list[str] = []
    taken = interleaved((read.append(x) or x for x in ("s0", "s1", "s2")), iter(["l0", "l1"]), 0.5)
    assert next(taken) == "l0" and read == ["s0"]  # each sequence's first entry, to compare
    assert next(taken) == "s0" and read == ["s0"]  # s1 only once the list asks for more

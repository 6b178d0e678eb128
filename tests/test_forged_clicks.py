"""Regression (issue 26, item 7): clicks could be injected without a key. A click is taken only on an item its
rec_id's answer showed, it is a user's view only on an answer given to that user (key or token), and the rate
limit counts each browser behind the shop's proxy (``RECSVC_PROXY_HOPS``)."""

import pytest

from recsvc import create_app
from recsvc.contract import keys
from tests.conftest import API_KEY, AUTH

VISITOR = "v0123456789abcdef"


def shown(answer: dict) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def click(client, answer: dict, item_id: str, **extra):
    body = {"rec_id": answer["rec_id"], "type": "click", "item_id": item_id, "shown": shown(answer), **extra}
    return client.post("/v1/track", json=body)


def refused(response) -> bool:
    return response.status_code == 400 and response.json["error"]["code"] == "invalid_argument"


def test_a_click_on_an_item_the_answer_did_not_show_is_refused(client, tracked_r):
    answer = client.get("/v1/items/shoe-1/similar?limit=2").json
    other = next(i for i in ("coffee-1", "tv-1", "shirt-1", "sock-1") if i not in shown(answer))
    assert refused(click(client, answer, other, visitor_id=VISITOR))
    padded = {"rec_id": answer["rec_id"], "type": "click", "item_id": other, "visitor_id": VISITOR}
    assert refused(client.post("/v1/track", json={**padded, "shown": [*shown(answer), other]}))  # not its digest
    assert refused(client.post("/v1/track", json={**padded, "shown": [other]}))
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 0 and tracked_r.llen(keys.live(f"visitor:{VISITOR}")) == 0
    assert click(client, answer, shown(answer)[1], visitor_id=VISITOR).json == {"counted": True}
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 1


def test_a_users_list_asked_for_without_a_key_gives_no_click_as_that_user(client, tracked_r):
    answer = client.get("/v1/users/alice/recommendations").json  # anyone may ask for alice's picks
    item = shown(answer)[0]
    assert refused(click(client, answer, item, user_id="alice"))  # no visitor: whose view would it be?
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 0
    assert click(client, answer, item, user_id="alice", visitor_id=VISITOR).json == {"counted": True}
    ((_, fields),) = tracked_r.xrange(keys.EVENTS_STREAM)
    assert fields[b"user_id"] == f"visitor:{VISITOR}".encode()
    assert tracked_r.llen(keys.live("alice")) == 0  # nothing written into alice's live list


def test_a_rec_id_given_to_one_user_takes_no_click_as_another(client, tracked_r):
    answer = client.get("/v1/users/alice/recommendations", headers=AUTH).json
    item = shown(answer)[0]
    assert refused(click(client, answer, item, user_id="bob", visitor_id=VISITOR))
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 0
    assert click(client, answer, item, user_id="alice").json == {"counted": True}
    ((_, fields),) = tracked_r.xrange(keys.EVENTS_STREAM)
    assert (fields[b"user_id"], fields[b"item_id"]) == (b"alice", item.encode())


def test_a_user_token_makes_the_click_the_users(redis_url, tracked_r):
    from recsvc.http.tokens import make_token

    config = {"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": API_KEY, "TOKEN_SECRET": "s"}
    client = create_app(config).test_client()
    token = {"Authorization": f"Bearer {make_token('s', 'alice', 300)}"}
    answer = client.get("/v1/users/alice/recommendations", headers=token).json
    assert click(client, answer, shown(answer)[0], user_id="alice").json == {"counted": True}
    ((_, fields),) = tracked_r.xrange(keys.EVENTS_STREAM)
    assert fields[b"user_id"] == b"alice"


def reports_from(client, rec_id: str, addresses: list[str]) -> list[int]:
    """Statuses of impressions on ``rec_id`` sent through one proxy (10.0.0.1) for the given browser addresses."""
    statuses = []
    for n, address in enumerate(addresses):
        body = {"rec_id": rec_id, "type": "impression", "visitor_id": f"visitor-{n:04d}"}
        environ = {"REMOTE_ADDR": "10.0.0.1"}
        statuses.append(
            client.post("/v1/track", json=body, headers={"X-Forwarded-For": address}, environ_base=environ).status_code
        )
    return statuses


def test_behind_one_proxy_the_rate_limit_counts_each_browser(redis_url, tracked_r):
    config = {"REDIS_URL": redis_url, "TESTING": True, "TRACK_RATE": 2}
    client = create_app({**config, "PROXY_HOPS": 1}).test_client()
    rec_id = client.get("/v1/popular").json["rec_id"]
    browsers = ["203.0.113.5", "203.0.113.5", "203.0.113.5", "198.51.100.7", "198.51.100.7"]
    assert reports_from(client, rec_id, browsers) == [200, 200, 429, 200, 200]


def test_without_trusted_proxies_a_forwarded_address_is_ignored(redis_url, tracked_r):
    client = create_app({"REDIS_URL": redis_url, "TESTING": True, "TRACK_RATE": 2}).test_client()
    rec_id = client.get("/v1/popular").json["rec_id"]
    # a client could write X-Forwarded-For itself: without RECSVC_PROXY_HOPS the connection's address counts
    assert reports_from(client, rec_id, ["203.0.113.5", "198.51.100.7", "192.0.2.9"]) == [200, 200, 429]


def test_proxy_hops_is_read_from_the_environment(redis_url, monkeypatch):
    monkeypatch.setenv("RECSVC_PROXY_HOPS", "2")
    app = create_app({"REDIS_URL": redis_url, "TESTING": True})
    assert app.wsgi_app.x_for == 2 and app.wsgi_app.x_proto == 2
    with pytest.raises(ValueError, match="RECSVC_PROXY_HOPS"):
        create_app({"REDIS_URL": redis_url, "TESTING": True, "PROXY_HOPS": -1})


def test_the_browser_reports_no_click_on_a_batch_answer(client, tracked_r):
    (result,) = client.post("/v1/recommendations/batch", json={"user_ids": ["alice"]}, headers=AUTH).json["results"]
    assert refused(click(client, result, shown(result)[0], user_id="alice"))  # emails' clicks come as keyed events
    assert tracked_r.xlen(keys.EVENTS_STREAM) == 0
